// The kube-controller-manager controllers that API clients notice even with no workloads running,
// played by the platform:
// - serviceaccount: a `default` ServiceAccount in each namespace (without it Pods are refused by
//   the ServiceAccount admission plugin);
// - root-ca-cert-publisher: ConfigMap `kube-root-ca.crt` in each namespace;
// - clusterrole-aggregation: the rules of aggregated ClusterRoles (admin, edit, view, and any
//   role with an aggregationRule), so a RoleBinding to `admin` grants what it grants on AKS;
// - namespace: a deleted namespace is emptied (every namespaced type, CRDs included) and then
//   finalized, so it disappears as on a cluster (namespace-deletion.ts).
// Not played: garbage collection (ownerReferences are not followed), ReplicaSets and Pods
// (kubelet.ts reports Deployments itself).
import { KubeApiError, type KubeApi, type KubeObject } from './kube-api.js';
import { startInformer } from './informer.js';
import { startNamespaceDeletion } from './namespace-deletion.js';

export interface ControllerManager {
  synced: Promise<void>;
  stop(): Promise<void>;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface PolicyRule { [k: string]: unknown }
interface ClusterRole extends KubeObject {
  rules?: PolicyRule[] | null;
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
}

export function matchesSelector(labels: Record<string, string> = {}, selector: LabelSelector): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(labels[e.key]!);
      case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key]!);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: return false;
    }
  });
  return byLabels && byExpressions;
}

export function startControllerManager(api: KubeApi, caPem: string): ControllerManager {
  const abort = new AbortController();
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const q = p.catch(() => { /* retried on the next event or re-list */ }).finally(() => pending.delete(q));
    pending.add(q);
  };
  const createIgnoringConflicts = async (path: string, body: unknown) => {
    try {
      await api.post(path, body);
    } catch (e) {
      // AlreadyExists is normal after a re-list; Forbidden means the namespace is terminating.
      if (!(e instanceof KubeApiError && (e.status === 409 || e.status === 403))) throw e;
    }
  };

  const ensureNamespaceDefaults = async (ns: KubeObject) => {
    if (ns.metadata.deletionTimestamp) return;
    const name = ns.metadata.name;
    if (!(await api.find(`/api/v1/namespaces/${name}/serviceaccounts/default`))) {
      await createIgnoringConflicts(`/api/v1/namespaces/${name}/serviceaccounts`, {
        apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name },
      });
    }
    if (!(await api.find(`/api/v1/namespaces/${name}/configmaps/kube-root-ca.crt`))) {
      await createIgnoringConflicts(`/api/v1/namespaces/${name}/configmaps`, {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: { name: 'kube-root-ca.crt', namespace: name, annotations: { 'kubernetes.io/description':
          'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } },
        data: { 'ca.crt': caPem },
      });
    }
  };

  const deletion = startNamespaceDeletion(api, abort.signal);
  const namespaces = startInformer(api, '/api/v1/namespaces', {
    onUpsert: (ns) => (ns.metadata.deletionTimestamp ? deletion.enqueue(ns.metadata.name) : track(ensureNamespaceDefaults(ns))),
    onDelete: () => {},
  }, abort.signal);

  // Aggregation is recomputed for all aggregated roles after any ClusterRole change (debounced);
  // there are a few dozen roles, so this stays cheap.
  let timer: NodeJS.Timeout | undefined;
  const aggregate = async () => {
    const roles = [...clusterRoles.cache.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    for (const role of roles) {
      const selectors = role.aggregationRule?.clusterRoleSelectors;
      if (!selectors?.length) continue;
      const rules: PolicyRule[] = [];
      const seen = new Set<string>();
      for (const source of roles) {
        if (source.metadata.name === role.metadata.name) continue;
        if (!selectors.some((s) => matchesSelector(source.metadata.labels, s))) continue;
        for (const rule of source.rules ?? []) {
          const key = JSON.stringify(rule);
          if (!seen.has(key)) { seen.add(key); rules.push(rule); }
        }
      }
      if (JSON.stringify(role.rules ?? []) === JSON.stringify(rules)) continue;
      await api.patch(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${role.metadata.name}`, { rules }).catch(() => {});
    }
  };
  const scheduleAggregation = () => {
    clearTimeout(timer);
    timer = setTimeout(() => track(aggregate()), 100);
  };
  const clusterRoles = startInformer<ClusterRole>(api, '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    onUpsert: scheduleAggregation,
    onDelete: scheduleAggregation,
  }, abort.signal);

  return {
    synced: Promise.all([namespaces.synced, clusterRoles.synced])
      .then(() => aggregate())
      .then(() => Promise.all(pending))
      .then(() => undefined),
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await Promise.all([namespaces.done, clusterRoles.done]);
      await Promise.all([...pending, deletion.done()]);
    },
  };
}
