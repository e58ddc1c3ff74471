import type { KubeObject } from '../kube/objects';
import type { Readiness } from '../kube/readiness';

export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

interface FluxStatus {
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  artifact?: { revision?: string };
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

const statusOf = (o: KubeObject) => (o.status ?? {}) as FluxStatus;
const ready = (o: KubeObject) => statusOf(o).conditions?.find((c) => c.type === 'Ready');

/**
 * Readiness of a Flux object after a reconcile request (`flux reconcile` sets the requestedAt
 * annotation; the controller echoes it in lastHandledReconcileAt): ready when it handled our
 * request at the current generation and Ready=True, failed when it handled it and Ready=False.
 * Before that, earlier failures do not count: they are what the request retries. A request made
 * after ours (another pipeline's, on the same cluster) replaces it in the annotation, and the
 * controller may handle only that one: as it came later, handling it answers ours too.
 */
export function reconciledSince(token: string, extra?: (o: KubeObject) => Readiness | undefined) {
  return (o: KubeObject): Readiness => {
    const s = statusOf(o);
    const cond = ready(o);
    const message = cond ? `${cond.reason ?? cond.status}${cond.message ? `: ${cond.message.trim()}` : ''}` : 'waiting for the controller';
    const current = o.metadata.annotations?.[REQUESTED_AT];
    const handled = s.lastHandledReconcileAt !== undefined && (s.lastHandledReconcileAt === token || (current !== token && s.lastHandledReconcileAt === current));
    if (!handled) return { state: 'pending', message: `waiting for the reconcile request to be handled (${message})` };
    // The caller's rule comes first: a Kustomization may handle the request before its source
    // has the new revision, and fail on the old one.
    const verdict = extra?.(o);
    if (verdict) return verdict;
    // A failed attempt leaves status.observedGeneration behind; the condition says which
    // generation it judged.
    const judged = (cond as { observedGeneration?: number } | undefined)?.observedGeneration ?? s.observedGeneration ?? 0;
    if (cond?.status === 'False' && judged >= (o.metadata.generation ?? 0) && !TRANSIENT.includes(cond.reason ?? '')) return { state: 'failed', message };
    if ((s.observedGeneration ?? 0) < (o.metadata.generation ?? 0)) return { state: 'pending', message };
    if (cond?.status === 'True') return { state: 'ready', message };
    return { state: 'pending', message };
  };
}

// Reasons Flux reports while it waits for something else, not a failure of this attempt.
// SourceNotReady: a HelmRelease whose HelmChart has no artifact yet; helm-controller tries again
// when source-controller stores one (a chart that cannot be built keeps it there until the timeout).
const TRANSIENT = ['Progressing', 'DependencyNotReady', 'ArtifactFailed', 'SourceNotReady'];

/**
 * The Kustomization is done when it applied the source's revision; failed if it attempted it and
 * failed. The revision may be one string, or a judge of revisions (true: take it, false: wait past
 * it, undefined: not known yet, reported as failed with `toJudge` before the revision so the
 * caller can judge it and wait again).
 */
export function appliedRevision(revision: string | ((r: string) => boolean | undefined), toJudge?: string) {
  const verdict = typeof revision === 'string' ? (r: string) => r === revision : revision;
  const wanted = typeof revision === 'string' ? revision : 'the head of the branch';
  return (o: KubeObject): Readiness | undefined => {
    const s = statusOf(o);
    const cond = ready(o);
    // An attempt that waits for something else (a dependency, its source) has not settled yet.
    const settled = cond?.status === 'True' ? s.lastAppliedRevision : cond?.status === 'False' && !TRANSIENT.includes(cond.reason ?? '') ? s.lastAttemptedRevision : undefined;
    const taken = settled ? verdict(settled) : false;
    if (settled && taken === undefined && toJudge) return { state: 'failed', message: `${toJudge}${settled}` };
    if (taken && cond?.status === 'True') return { state: 'ready', message: `applied revision ${settled}` };
    if (taken) return { state: 'failed', message: `${cond!.reason}: ${(cond!.message ?? '').trim()}` };
    return { state: 'pending', message: `waiting to apply ${wanted}${cond?.message ? ` (${cond.message})` : ''}` };
  };
}

/** The revision of a source's artifact (e.g. main@sha1:...), if it has one. */
export function artifactRevisionOf(source: KubeObject): string | undefined {
  return statusOf(source).artifact?.revision || undefined;
}

/** Objects the Kustomization applied, from its inventory (ids are namespace_name_group_kind). */
export function inventoryOf(kustomization: KubeObject): string[] {
  const entries = ((kustomization.status as { inventory?: { entries?: { id: string }[] } })?.inventory?.entries) ?? [];
  return entries.map(({ id }) => {
    const [ns, name, group, kind] = id.split('_');
    return `${kind}/${ns ? `${ns}/` : ''}${name}${group ? ` (${group})` : ''}`;
  });
}
