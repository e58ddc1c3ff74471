import type { ChangeSet } from '../kube/changeset';
import { ObjectFailedError } from '../kube/errors';
import { refOf, type KubeObject } from '../kube/objects';
import type { ResourceManager } from '../kube/resource-manager';
import { REQUESTED_AT, reconciledSince } from '../flux/reconcile';

export interface ApplyNowOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/**
 * Applies a system's objects directly (what Flux will apply from Git anyway), then asks Flux to
 * reconcile the system's GitRepository and Kustomization at once and waits until both are Ready:
 * the team's repository is then really applied, as the team's account.
 */
export async function applySystemNow(manager: ResourceManager, objects: KubeObject[], o: ApplyNowOptions): Promise<{ changes: ChangeSet; revision?: string }> {
  const changes = await manager.applyAll(objects, { signal: o.signal, timeoutMs: o.timeoutMs, force: true });
  for (const line of changes.lines()) o.log(line);
  // The GitRepository needs its credential: wait until the controller has unsealed it.
  const sealed = objects.filter((x) => x.kind === 'SealedSecret');
  if (sealed.length) {
    try {
      await manager.waitForReady(sealed, { timeoutMs: o.timeoutMs, signal: o.signal, readiness: unsealed, failFast: () => true, onChange: (ref, r) => o.log(`${ref}: ${r.message}`) });
    } catch (error) {
      if (error instanceof ObjectFailedError) throw new Error(`The Sealed Secrets controller could not unseal ${error.ref}: ${error.detail} (was it sealed with this cluster's certificate?)`);
      throw error;
    }
  }
  const sync = objects.filter((x) => x.kind === 'GitRepository' || (x.kind === 'Kustomization' && x.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/')));
  if (!changes.changed) {
    const live = await Promise.all(sync.map((x) => manager.get(x.apiVersion, x.kind, x.metadata.name, x.metadata.namespace, o.signal)));
    const revision = upToDate(live);
    if (revision) {
      o.log(`Flux has already applied ${revision} for this system; nothing to do.`);
      return { changes, revision };
    }
  }
  const token = new Date().toISOString();
  await manager.annotate(sync, { [REQUESTED_AT]: token }, o.signal);
  try {
    const done = await manager.waitForReady(sync, {
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      readiness: reconciledSince(token),
      failFast: () => true,
      onChange: (ref, r) => o.log(`${ref}: ${r.message}`),
    });
    const kustomization = sync.find((x) => x.kind === 'Kustomization');
    const live = kustomization && done.get(refOf(kustomization));
    return { changes, revision: (live?.status as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision };
  } catch (error) {
    if (error instanceof ObjectFailedError) throw new Error(`Flux could not sync the system: ${error.ref}: ${error.detail}`);
    throw error;
  }
}

/** A SealedSecret is done when the controller reports Synced=True for its current generation. */
function unsealed(o: KubeObject) {
  const status = (o.status ?? {}) as { observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] };
  const synced = status.conditions?.find((c) => c.type === 'Synced');
  if ((status.observedGeneration ?? o.metadata.generation ?? 0) < (o.metadata.generation ?? 0) || !synced) return { state: 'pending' as const, message: 'waiting for the Sealed Secrets controller' };
  if (synced.status === 'True') return { state: 'ready' as const, message: 'unsealed' };
  return { state: 'failed' as const, message: synced.message ?? 'not unsealed' };
}

/** The applied revision when the source is Ready and the Kustomization applied what it fetched. */
function upToDate(live: (KubeObject | undefined)[]): string | undefined {
  const status = (o?: KubeObject) => (o?.status ?? {}) as { artifact?: { revision?: string }; lastAppliedRevision?: string; conditions?: { type: string; status: string }[] };
  const ready = (o?: KubeObject) => status(o).conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const source = live.find((x) => x?.kind === 'GitRepository');
  const kustomization = live.find((x) => x?.kind === 'Kustomization');
  const revision = status(source).artifact?.revision;
  return ready(source) && ready(kustomization) && revision && status(kustomization).lastAppliedRevision === revision ? revision : undefined;
}
