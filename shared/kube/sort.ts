import type { KubeObject } from './objects';
import { groupOf } from './objects';

// The order Flux's ResourceManager applies kinds in (fluxcd/pkg ssa sort.go): what others refer
// to comes first; webhooks come last so they cannot block the objects applied with them.
const FIRST = [
  'CustomResourceDefinition', 'Namespace', 'ResourceQuota', 'StorageClass', 'ServiceAccount', 'PodSecurityPolicy', 'Role',
  'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Service', 'LimitRange', 'PriorityClass',
  'Deployment', 'StatefulSet', 'CronJob', 'PodDisruptionBudget',
];
const LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

function rank(kind: string): number {
  const first = FIRST.indexOf(kind);
  if (first >= 0) return first - FIRST.length;
  const last = LAST.indexOf(kind);
  return last >= 0 ? last + 1 : 0;
}

/** Sorts in apply order; ties by group, kind, namespace and name, so the order is stable. */
export function sortForApply(objects: KubeObject[]): KubeObject[] {
  return [...objects].sort((a, b) =>
    rank(a.kind) - rank(b.kind)
    || groupOf(a.apiVersion).localeCompare(groupOf(b.apiVersion))
    || a.kind.localeCompare(b.kind)
    || (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '')
    || a.metadata.name.localeCompare(b.metadata.name));
}
