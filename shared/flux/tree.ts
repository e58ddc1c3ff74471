import { ObjectFailedError } from '../kube/errors';
import { refOf, type KubeObject } from '../kube/objects';
import type { Readiness } from '../kube/readiness';
import type { ResourceManager } from '../kube/resource-manager';
import { REQUESTED_AT, appliedRevision, reconciledSince } from './reconcile';

/** One Flux object below the root, as the run saw it. */
export interface TreeNode {
  ref: string;
  /** Parent's ref (the object whose inventory holds it). */
  parent: string;
  depth: number;
  state: 'ready' | 'failed' | 'pending' | 'suspended';
  message: string;
  /** Milliseconds from the start of the wait to Ready. */
  readyAfterMs?: number;
}

export interface TreeOptions {
  /** The revision the root applied, e.g. main@sha1:abc. */
  revision: string;
  timeoutMs: number;
  signal?: AbortSignal;
  log: (line: string) => void;
  /** Only read the state of what the root applied; do not ask or wait. */
  readOnly?: boolean;
}

const APPLIERS: Record<string, string> = {
  'kustomize.toolkit.fluxcd.io_Kustomization': 'kustomize.toolkit.fluxcd.io/v1',
  'helm.toolkit.fluxcd.io_HelmRelease': 'helm.toolkit.fluxcd.io/v2',
};

/**
 * Follows what the root Kustomization applied (its inventory) to the Kustomizations and
 * HelmReleases it created, level by level, asks each to reconcile at once and waits until each is
 * Ready at the root's revision (when it reads the same source) or has failed. A dependent that
 * waits for a dependency (DependencyNotReady) is asked again as soon as the dependency is Ready,
 * instead of sitting out Flux's requeue interval. Suspended objects are reported, not waited for.
 */
export async function waitForTree(manager: ResourceManager, root: KubeObject, o: TreeOptions): Promise<TreeNode[]> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  const nodes: TreeNode[] = [];
  const rootSource = sourceOf(root);
  let level: { object: KubeObject; parent: string }[] = childrenOf(root);
  for (let depth = 1; level.length; depth++) {
    const live: { object: KubeObject; parent: string }[] = [];
    for (const { object, parent } of level) {
      const current = await manager.get(object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace, o.signal);
      if (!current) continue;
      if ((current.spec as { suspend?: boolean } | undefined)?.suspend) {
        nodes.push({ ref: refOf(current), parent, depth, state: 'suspended', message: 'suspended: not waited for' });
        o.log(`${refOf(current)}: suspended, not waited for.`);
        continue;
      }
      live.push({ object: current, parent });
    }
    if (!live.length) break;
    const sameSource = (x: KubeObject) => sourceOf(x) === rootSource && x.kind === 'Kustomization';
    // The root's revision, or what the source holds now if the branch moved on during the run (a
    // push while waiting): either is the platform as Git says it is.
    const now = o.readOnly ? undefined : await sourceRevision(manager, root, o.signal);
    const atRevision = (x: KubeObject) => (sameSource(x) ? appliedRevision((r) => r === o.revision || r === now) : undefined);

    if (o.readOnly) {
      for (const { object, parent } of live) {
        const r = atRevision(object)?.(object) ?? plainReady(object);
        nodes.push({ ref: refOf(object), parent, depth, state: r.state === 'ready' ? 'ready' : r.state, message: r.message });
      }
    } else {
      const tokens = new Map<string, string>();
      const request = async (x: KubeObject) => {
        const token = new Date().toISOString();
        tokens.set(refOf(x), token);
        await manager.annotate([x], { [REQUESTED_AT]: token }, o.signal);
      };
      for (const { object } of live) await request(object);
      const readyAt = new Map<string, number>();
      const latest = new Map<string, KubeObject>();
      const askedAgain = new Map<string, number>();
      const readiness = (x: KubeObject): Readiness => {
        const r = reconciledSince(tokens.get(refOf(x)) ?? '', atRevision(x))(x);
        const times = askedAgain.get(refOf(x)) ?? 0;
        if (r.state !== 'failed' || times >= 2 || !waitedForWhatWasGoing(r.message)) return r;
        // The next attempt applies them anew: ask for it now instead of failing on what heals.
        askedAgain.set(refOf(x), times + 1);
        o.log(`${refOf(x)}: what it waits for was being deleted when it applied it; asking it to reconcile again.`);
        void request(x).catch(() => undefined);
        return { state: 'pending', message: `asked to reconcile again (${r.message})` };
      };
      try {
        await manager.waitForReady(live.map((l) => l.object), {
          timeoutMs: Math.max(1000, deadline - Date.now()),
          signal: o.signal,
          readiness,
          failFast: () => true,
          onChange: (ref, r, x) => {
            latest.set(ref, x);
            o.log(`${ref}: ${r.message}`);
            if (r.state !== 'ready') return;
            readyAt.set(ref, Date.now() - started);
            // Dependents told to wait for this one are asked again now.
            for (const dependent of latest.values()) {
              if (waitsFor(dependent, x) && readyReason(dependent) === 'DependencyNotReady') {
                o.log(`${refOf(dependent)}: ${refOf(x)} is Ready; asking it to reconcile now.`);
                void request(dependent).catch(() => undefined);
              }
            }
          },
        });
      } catch (error) {
        if (error instanceof ObjectFailedError) {
          throw new Error(`Flux could not apply ${error.ref} (applied by ${live.find((l) => refOf(l.object) === error.ref)?.parent ?? refOf(root)}): ${error.detail}`);
        }
        throw error;
      }
      for (const { object, parent } of live) {
        nodes.push({ ref: refOf(object), parent, depth, state: 'ready', message: 'Ready', readyAfterMs: readyAt.get(refOf(object)) });
      }
    }
    const next: { object: KubeObject; parent: string }[] = [];
    for (const { object } of live) {
      const current = o.readOnly ? object : await manager.get(object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace, o.signal);
      if (current) next.push(...childrenOf(current));
    }
    level = next;
  }
  return nodes;
}

/**
 * A health check that timed out on objects that were gone or going when Flux applied them: team
 * namespaces still terminating after a prune (the root Kustomization was deleted and everything it
 * applied with it) are NotFound by the time the check looks. Flux's next attempt creates them anew.
 */
export function waitedForWhatWasGoing(message: string): boolean {
  const waited = /timeout waiting for: \[(.*)\]/.exec(message)?.[1];
  if (!waited) return false;
  const states = [...waited.matchAll(/status: '([^']+)'/g)].map((m) => m[1]);
  return states.length > 0 && states.every((state) => state === 'NotFound' || state === 'Terminating');
}

/** The Flux appliers in an object's inventory (ids are namespace_name_group_kind). */
function childrenOf(parent: KubeObject): { object: KubeObject; parent: string }[] {
  const entries = ((parent.status as { inventory?: { entries?: { id: string }[] } } | undefined)?.inventory?.entries) ?? [];
  const out: { object: KubeObject; parent: string }[] = [];
  for (const { id } of entries) {
    const [namespace, name, group, kind] = id.split('_');
    const apiVersion = APPLIERS[`${group}_${kind}`];
    if (!apiVersion || !name || !kind) continue;
    out.push({ object: { apiVersion, kind, metadata: { name, namespace: namespace || undefined } }, parent: refOf(parent) });
  }
  return out;
}

async function sourceRevision(manager: ResourceManager, root: KubeObject, signal?: AbortSignal): Promise<string | undefined> {
  const ref = (root.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } } | undefined)?.sourceRef;
  if (ref?.kind !== 'GitRepository' || !ref.name) return undefined;
  const source = await manager.get('source.toolkit.fluxcd.io/v1', 'GitRepository', ref.name, ref.namespace ?? root.metadata.namespace, signal);
  return (source?.status as { artifact?: { revision?: string } } | undefined)?.artifact?.revision;
}

function sourceOf(o: KubeObject): string {
  const ref = (o.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } } | undefined)?.sourceRef;
  return ref ? `${ref.kind}/${ref.namespace ?? o.metadata.namespace}/${ref.name}` : '';
}

export function waitsFor(dependent: KubeObject, dependency: KubeObject): boolean {
  const deps = (dependent.spec as { dependsOn?: { name: string; namespace?: string }[] } | undefined)?.dependsOn ?? [];
  return deps.some((d) => d.name === dependency.metadata.name && (d.namespace ?? dependent.metadata.namespace) === dependency.metadata.namespace);
}

export function readyReason(o: KubeObject): string | undefined {
  return ((o.status as { conditions?: { type: string; reason?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready')?.reason;
}

function plainReady(o: KubeObject): Readiness {
  const ready = ((o.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { state: 'ready', message: 'Ready' };
  return { state: ready?.status === 'False' ? 'failed' : 'pending', message: ready ? `${ready.reason ?? ''}: ${ready.message ?? ''}` : 'not reconciled yet' };
}
