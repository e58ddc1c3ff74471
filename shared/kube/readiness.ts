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
  if (o.metadata.deletionTimestamp && WORKLOADS.has(o.kind)) return { state: 'pending', message: 'being deleted' };
  if (o.kind === 'Deployment') return deployment(o, status, generation, observed);
  if (o.kind === 'StatefulSet') return statefulSet(o, status, generation, observed);
  if (o.kind === 'DaemonSet') return daemonSet(status, generation, observed);
  if (o.kind === 'ReplicaSet') return replicaSet(o, status, generation, observed);

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

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

// The workload rules are kstatus's (sigs.k8s.io/cli-utils pkg/kstatus/status/core.go), which Flux's
// health checks use: the controller has seen the latest spec, every replica runs the latest
// template, enough of them are ready and available, and none of an older template is left.
const num = (status: Record<string, unknown>, field: string, fallback = 0) => (typeof status[field] === 'number' ? status[field] as number : fallback);
const replicasOf = (o: KubeObject) => ((o.spec ?? {}) as { replicas?: number }).replicas ?? 1;
const pending = (message: string): Readiness => ({ state: 'pending', message });

function generationObserved(kind: string, generation?: number, observed?: number): Readiness | undefined {
  if (generation !== undefined && observed !== undefined && observed !== generation) {
    return pending(`${kind} generation is ${generation}, but latest observed generation is ${observed}`);
  }
  return undefined;
}

function deployment(o: KubeObject, status: Record<string, unknown>, generation?: number, observed?: number): Readiness {
  if (generation !== undefined && observed === undefined) return pending('waiting for the rollout to be observed');
  const unobserved = generationObserved('Deployment', generation, observed);
  if (unobserved) return unobserved;
  const progressing = condition(o, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return { state: 'failed', message: describe(progressing) };
  const want = replicasOf(o);
  const replicas = num(status, 'replicas');
  const updated = num(status, 'updatedReplicas');
  const readyReplicas = num(status, 'readyReplicas');
  const available = num(status, 'availableReplicas');
  if (want > replicas) return pending(`Replicas: ${replicas}/${want}`);
  if (want > updated) return pending(`Updated: ${updated}/${want}`);
  if (replicas > want) return pending(`Pending termination: ${replicas - want} old replica${replicas - want === 1 ? '' : 's'}`);
  if (updated > available) return pending(`Available: ${available}/${updated}`);
  if (want > readyReplicas) return pending(`Ready: ${readyReplicas}/${want}`);
  // Without a progress deadline the controller sets no Progressing condition.
  const deadline = ((o.spec ?? {}) as { progressDeadlineSeconds?: number }).progressDeadlineSeconds;
  const progressed = deadline === undefined || deadline === 2147483647
    || (progressing?.status === 'True' && progressing.reason === 'NewReplicaSetAvailable');
  if (!progressed) return pending('ReplicaSet not Available');
  if (condition(o, 'Available')?.status !== 'True') return pending('Deployment not Available');
  return ready(`Deployment is available. Replicas: ${replicas}`);
}

function statefulSet(o: KubeObject, status: Record<string, unknown>, generation?: number, observed?: number): Readiness {
  const unobserved = generationObserved('StatefulSet', generation, observed);
  if (unobserved) return unobserved;
  const strategy = ((o.spec ?? {}) as { updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } } }).updateStrategy;
  if (strategy?.type === 'OnDelete') return ready('StatefulSet is using the OnDelete update strategy');
  const want = replicasOf(o);
  const replicas = num(status, 'replicas');
  const readyReplicas = num(status, 'readyReplicas');
  const current = num(status, 'currentReplicas');
  const updated = num(status, 'updatedReplicas');
  if (want > replicas) return pending(`Replicas: ${replicas}/${want}`);
  if (want > readyReplicas) return pending(`Ready: ${readyReplicas}/${want}`);
  if (replicas > want) return pending(`Pending termination: ${replicas - want}`);
  const partition = strategy?.rollingUpdate?.partition;
  if (partition !== undefined && partition > 0) {
    if (updated < want - partition) return pending(`updated: ${updated}/${want - partition}`);
    return ready(`Partition rollout complete. updated: ${updated}`);
  }
  if (want > current) return pending(`current: ${current}/${want}`);
  if ((status.currentRevision ?? '') !== (status.updateRevision ?? '')) return pending('Waiting for updated revision to match current');
  return ready(`All replicas scheduled as expected. Replicas: ${replicas}`);
}

function daemonSet(status: Record<string, unknown>, generation?: number, observed?: number): Readiness {
  // The daemon set controller always writes these: unset means it has not acted yet.
  if (generation !== undefined && observed === undefined) return pending('waiting for the rollout to be observed');
  const unobserved = generationObserved('DaemonSet', generation, observed);
  if (unobserved) return unobserved;
  const desired = num(status, 'desiredNumberScheduled', -1);
  if (desired === -1) return pending('Missing .status.desiredNumberScheduled');
  const current = num(status, 'currentNumberScheduled');
  const updated = num(status, 'updatedNumberScheduled');
  const available = num(status, 'numberAvailable');
  const readyPods = num(status, 'numberReady');
  if (desired > current) return pending(`Current: ${current}/${desired}`);
  if (desired > updated) return pending(`Updated: ${updated}/${desired}`);
  if (desired > available) return pending(`Available: ${available}/${desired}`);
  if (desired > readyPods) return pending(`Ready: ${readyPods}/${desired}`);
  return ready(`All replicas scheduled as expected. Replicas: ${desired}`);
}

function replicaSet(o: KubeObject, status: Record<string, unknown>, generation?: number, observed?: number): Readiness {
  const unobserved = generationObserved('ReplicaSet', generation, observed);
  if (unobserved) return unobserved;
  if (condition(o, 'ReplicaFailure')?.status === 'True') return pending('Replica Failure condition. Check Pods');
  const want = replicasOf(o);
  const replicas = num(status, 'replicas');
  const labelled = num(status, 'fullyLabeledReplicas');
  const available = num(status, 'availableReplicas');
  const readyPods = num(status, 'readyReplicas');
  if (want > labelled) return pending(`Labelled: ${labelled}/${want}`);
  if (want > available) return pending(`Available: ${available}/${want}`);
  if (want > readyPods) return pending(`Ready: ${readyPods}/${want}`);
  if (replicas > want) return pending(`Pending termination: ${replicas - want}`);
  return ready(`ReplicaSet is available. Replicas: ${replicas}`);
}

function condition(o: KubeObject, type: string) {
  return conditionsOf(o).find((c) => c.type === type);
}

function describe(c: { type: string; status: string; reason?: string; message?: string }): string {
  return `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`;
}

const ready = (message: string): Readiness => ({ state: 'ready', message });
