import { conditionsOf, type KubeObject } from './objects';

export type ReadinessState = 'ready' | 'pending' | 'failed';

export interface Readiness {
  state: ReadinessState;
  message: string;
}

/**
 * kstatus-like readiness: whether an object has done what was asked of it, judged from its
 * status the way Flux's health checks judge it. Objects without a status are ready once they exist.
 */
export function readinessOf(o: KubeObject): Readiness {
  const status = (o.status ?? {}) as Record<string, unknown>;
  const generation = o.metadata.generation;
  const observed = status.observedGeneration as number | undefined;

  if (o.kind === 'CustomResourceDefinition') {
    const names = condition(o, 'NamesAccepted');
    if (names?.status === 'False') return { state: 'failed', message: `names not accepted: ${names.message ?? names.reason}` };
    const established = condition(o, 'Established');
    return established?.status === 'True' ? ready('established') : { state: 'pending', message: 'waiting to be established' };
  }
  if (o.kind === 'Namespace') {
    return status.phase === 'Terminating' ? { state: 'pending', message: 'namespace is terminating' } : ready('active');
  }
  if (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'ReplicaSet') return workload(o, status, generation, observed);

  const conds = conditionsOf(o);
  if (conds.length === 0 && observed === undefined) return ready('exists');
  if (generation !== undefined && observed !== undefined && observed < generation) {
    return { state: 'pending', message: `waiting for generation ${generation} to be reconciled (observed ${observed})` };
  }
  const stalled = condition(o, 'Stalled');
  if (stalled?.status === 'True') return { state: 'failed', message: describe(stalled) };
  const main = condition(o, 'Ready') ?? condition(o, 'Available');
  if (!main) return conds.length ? { state: 'pending', message: 'no Ready condition yet' } : ready('exists');
  if (main.observedGeneration !== undefined && generation !== undefined && main.observedGeneration < generation) {
    return { state: 'pending', message: `waiting for generation ${generation} to be reconciled` };
  }
  if (main.status === 'True') return ready(main.message ?? main.type);
  // Ready=False is often transient (a source not fetched yet); callers decide when it is final.
  return { state: main.status === 'False' ? 'failed' : 'pending', message: describe(main) };
}

function workload(o: KubeObject, status: Record<string, unknown>, generation?: number, observed?: number): Readiness {
  if (generation !== undefined && (observed ?? 0) < generation) return { state: 'pending', message: 'waiting for the rollout to be observed' };
  const progressing = condition(o, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') return { state: 'failed', message: describe(progressing) };
  const spec = (o.spec ?? {}) as { replicas?: number };
  const want = spec.replicas ?? 1;
  const updated = (status.updatedReplicas as number | undefined) ?? 0;
  const available = (status.availableReplicas as number | undefined) ?? (status.readyReplicas as number | undefined) ?? 0;
  if (updated < want) return { state: 'pending', message: `${updated} of ${want} replicas updated` };
  if (available < want) return { state: 'pending', message: `${available} of ${want} replicas available` };
  return ready(`${available} of ${want} replicas available`);
}

function condition(o: KubeObject, type: string) {
  return conditionsOf(o).find((c) => c.type === type);
}

function describe(c: { type: string; status: string; reason?: string; message?: string }): string {
  return `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`;
}

const ready = (message: string): Readiness => ({ state: 'ready', message });
