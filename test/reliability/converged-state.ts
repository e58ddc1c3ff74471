// What the tasks manage, as a comparable snapshot: the cluster's objects (specs, key Secret data as
// hashes, the Flux revision applied), the platform repository's head tree and the ARM cluster
// resource. Two snapshots are equal when a re-run left everything as a run without faults does:
// nothing lost, nothing duplicated, nothing changed. Fields the API server or controllers set on
// their own (uids, resource versions, timestamps, rollout counters) are left out.
import { createHash } from 'node:crypto';
import type { KubeApi, KubeObject } from '../platform/kube-api';

export type Snapshot = Record<string, string>;

/** JSON with object keys sorted: the same content, whatever order a server wrote it in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

const hash = (value: unknown) => createHash('sha256').update(typeof value === 'string' ? value : JSON.stringify(value ?? null)).digest('hex').slice(0, 16);

const VOLATILE_ANNOTATIONS = /^(deployment\.kubernetes\.io\/revision|kubectl\.kubernetes\.io\/restartedAt|reconcile\.fluxcd\.io\/requestedAt|endpoints\.kubernetes\.io\/last-change-trigger-time)$/;

function stripped(o: KubeObject): Record<string, unknown> {
  const { metadata, status, ...rest } = o as KubeObject & { status?: Record<string, unknown>; spec?: Record<string, unknown> };
  const annotations = Object.fromEntries(Object.entries(metadata.annotations ?? {}).filter(([k]) => !VOLATILE_ANNOTATIONS.test(k)));
  const out: Record<string, unknown> = { ...rest, metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels ?? {}, annotations } };
  // Flux's sources and kustomizations: what they fetched and applied is part of the state.
  if (o.apiVersion?.includes('toolkit.fluxcd.io')) out.applied = { artifact: (status?.artifact as { revision?: string } | undefined)?.revision, lastApplied: status?.lastAppliedRevision };
  if (o.kind === 'Secret') {
    const secret = o as KubeObject & { data?: Record<string, string> };
    out.data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, hash(v)]));
  }
  if (o.kind === 'Service') {
    const spec = { ...(out.spec as Record<string, unknown>) };
    delete spec.clusterIP;
    delete spec.clusterIPs;
    out.spec = spec;
  }
  return out;
}

/** A list's items with their apiVersion and kind, which the API server leaves out of each item. */
async function list(api: KubeApi, path: string): Promise<KubeObject[]> {
  try {
    const found = await api.get<{ apiVersion: string; kind: string; items: KubeObject[] }>(path);
    return found.items.map((o) => ({ ...o, apiVersion: found.apiVersion, kind: found.kind.replace(/List$/, '') }));
  } catch {
    return [];
  }
}

const NAMESPACED = [
  ['apps/v1', 'deployments'], ['v1', 'services'], ['v1', 'serviceaccounts'], ['v1', 'secrets'], ['v1', 'configmaps'],
  ['rbac.authorization.k8s.io/v1', 'roles'], ['rbac.authorization.k8s.io/v1', 'rolebindings'], ['networking.k8s.io/v1', 'networkpolicies'],
  ['v1', 'resourcequotas'], ['v1', 'limitranges'],
  ['source.toolkit.fluxcd.io/v1', 'gitrepositories'], ['kustomize.toolkit.fluxcd.io/v1', 'kustomizations'],
  ['notification.toolkit.fluxcd.io/v1beta3', 'providers'], ['notification.toolkit.fluxcd.io/v1beta3', 'alerts'], ['bitnami.com/v1alpha1', 'sealedsecrets'],
] as const;

const base = (apiVersion: string) => (apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`);

/** The objects of the namespaces the tasks and Flux manage, and the cluster-scoped ones they own. */
export async function clusterSnapshot(api: KubeApi): Promise<Snapshot> {
  const snap: Snapshot = {};
  const namespaces = await list(api, '/api/v1/namespaces');
  const managed = namespaces.filter((n) => ['flux-system', 'kube-system'].includes(n.metadata.name) || Object.keys(n.metadata.labels ?? {}).some((k) => k.startsWith('kustomize.toolkit.fluxcd.io/') || k === 'app.kubernetes.io/managed-by'));
  for (const n of namespaces) snap[`Namespace/${n.metadata.name}`] = canonical(stripped(n));
  const owned = (o: KubeObject) => Object.keys(o.metadata.labels ?? {}).some((k) => k.startsWith('kustomize.toolkit.fluxcd.io/') || k === 'app.kubernetes.io/managed-by');
  for (const [apiVersion, plural] of NAMESPACED) {
    const items = await list(api, `${base(apiVersion)}/${plural}`);
    for (const o of items) {
      const ns = o.metadata.namespace ?? '';
      if (!managed.some((n) => n.metadata.name === ns)) continue;
      // Tokens and the CA bundle the cluster makes itself; kube-system's own objects when nobody of ours owns them.
      if ((o as { type?: string }).type === 'kubernetes.io/service-account-token' || o.metadata.name === 'kube-root-ca.crt') continue;
      if (ns === 'kube-system' && !owned(o) && !o.metadata.name.startsWith('sealed-secrets')) continue;
      snap[`${plural}/${ns}/${o.metadata.name}`] = canonical(stripped(o));
    }
  }
  for (const plural of ['clusterroles', 'clusterrolebindings']) {
    for (const o of await list(api, `/apis/rbac.authorization.k8s.io/v1/${plural}`)) if (owned(o) || o.metadata.name.includes('sealed-secrets')) snap[`${plural}/${o.metadata.name}`] = canonical(stripped(o));
  }
  for (const o of await list(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')) {
    snap[`crd/${o.metadata.name}`] = hash((o as { spec?: { versions?: { name: string }[] } }).spec?.versions?.map((v) => v.name));
  }
  return snap;
}

/** Each file of the repository's head, as a hash. */
export function gitSnapshot(tree: Record<string, string> | undefined): Snapshot {
  return Object.fromEntries(Object.entries(tree ?? {}).map(([path, content]) => [`git:${path}`, hash(content)]));
}

/** The ARM cluster resource, without what Azure sets on every write. */
export function armSnapshot(resource: unknown): Snapshot {
  if (!resource) return { 'arm:cluster': 'missing' };
  // Each write gives the cluster and its agent pools new eTags; the outbound IPs are Azure's to assign.
  const rest = JSON.parse(JSON.stringify(resource, (key, value: unknown) => (['etag', 'eTag', 'systemData', 'effectiveOutboundIPs'].includes(key) ? undefined : value))) as Record<string, unknown>;
  return { 'arm:cluster': canonical(rest), 'arm:provisioningState': String((rest.properties as { provisioningState?: string } | undefined)?.provisioningState) };
}

/** What differs between two snapshots, one line per key (missing, extra, changed). */
export function snapshotDiff(expected: Snapshot, actual: Snapshot): string[] {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return keys.flatMap((k) => {
    if (!(k in actual)) return [`missing ${k}`];
    if (!(k in expected)) return [`extra ${k}`];
    return expected[k] === actual[k] ? [] : [`changed ${k}${firstDifference(expected[k]!, actual[k]!)}`];
  });
}

/** Where two JSON values first differ, e.g. ` (.spec.replicas: 1 -> 2)`; empty for plain hashes. */
function firstDifference(a: string, b: string): string {
  let x: unknown;
  let y: unknown;
  try {
    x = JSON.parse(a);
    y = JSON.parse(b);
  } catch {
    return '';
  }
  const walk = (p: unknown, q: unknown, at: string): string | undefined => {
    if (p && q && typeof p === 'object' && typeof q === 'object') {
      for (const k of new Set([...Object.keys(p), ...Object.keys(q)])) {
        const found = walk((p as Record<string, unknown>)[k], (q as Record<string, unknown>)[k], `${at}.${k}`);
        if (found) return found;
      }
      return undefined;
    }
    return JSON.stringify(p) === JSON.stringify(q) ? undefined : `${at}: ${String(JSON.stringify(p)).slice(0, 80)} -> ${String(JSON.stringify(q)).slice(0, 80)}`;
  };
  const found = walk(x, y, '');
  return found ? ` (${found})` : '';
}
