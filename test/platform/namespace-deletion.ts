// The namespace controller of kube-controller-manager: a Namespace marked for deletion keeps the
// `kubernetes` finalizer (spec.finalizers) until everything in it is gone, so it stays Terminating
// until then. Like the real one, it finds what to delete through discovery (every namespaced type
// that can be listed and deleted, in the preferred version of each group, CRDs included), deletes
// it, waits until it is gone (objects with finalizers, e.g. Flux's, go when their controller lets
// them) and then removes the finalizer through the namespace's `finalize` subresource.
// Differs on purpose: empty collections are listed rather than deleted (fewer writes in the audit
// log), and no status conditions are written on the Namespace.
import { KubeApiError, type KubeApi, type KubeObject } from './kube-api.js';
import { sleep } from './processes.js';

export interface NamespaceDeletionOptions {
  /** How long one pass waits for deleted objects to disappear before trying again later. */
  waitMs?: number;
  /** Pause before the next pass when objects remained or a request failed. */
  retryMs?: number;
}

export interface NamespaceDeletion {
  /** Called for every event of a Namespace with a deletionTimestamp; passes never overlap. */
  enqueue(name: string): void;
  /** Resolves when the passes in progress have ended (after the signal aborted). */
  done(): Promise<void>;
}

/** A namespaced type the controller empties, e.g. { prefix: '/api/v1', plural: 'configmaps' }. */
export interface NamespacedResource {
  prefix: string;
  plural: string;
  deleteCollection: boolean;
}

interface ApiResourceList { resources: { name: string; namespaced: boolean; verbs?: string[] }[] }
interface ApiGroupList { groups: { name: string; preferredVersion?: { groupVersion: string } }[] }
interface NamespaceObject extends KubeObject { spec?: { finalizers?: string[] } }

const collectionOf = (r: NamespacedResource, ns: string) => `${r.prefix}/namespaces/${ns}/${r.plural}`;

/** Discovery as the namespace controller does it: namespaced, listable and deletable types. */
export async function namespacedResources(api: KubeApi): Promise<NamespacedResource[]> {
  const groups = await api.get<ApiGroupList>('/apis');
  const prefixes = ['/api/v1', ...groups.groups
    .filter((g) => g.preferredVersion)
    .map((g) => `/apis/${g.preferredVersion!.groupVersion}`)];
  // A group whose discovery fails would leave its objects behind: fail the pass, as Kubernetes does.
  const lists = await Promise.all(prefixes.map((p) => api.get<ApiResourceList>(p)));
  return lists.flatMap((list, i) => list.resources
    .filter((r) => r.namespaced && !r.name.includes('/') && r.verbs?.includes('list') && r.verbs.includes('delete'))
    .map((r) => ({ prefix: prefixes[i]!, plural: r.name, deleteCollection: r.verbs!.includes('deletecollection') })));
}

export function startNamespaceDeletion(api: KubeApi, signal: AbortSignal, opts: NamespaceDeletionOptions = {}): NamespaceDeletion {
  const waitMs = opts.waitMs ?? 15_000;
  const retryMs = opts.retryMs ?? 2_000;
  const queued = new Set<string>();
  const working = new Map<string, Promise<void>>();
  const retries = new Map<string, NodeJS.Timeout>();
  signal.addEventListener('abort', () => {
    for (const t of retries.values()) clearTimeout(t);
    retries.clear();
  }, { once: true });

  const scheduleRetry = (name: string) => {
    if (signal.aborted) return;
    clearTimeout(retries.get(name));
    retries.set(name, setTimeout(() => { retries.delete(name); enqueue(name); }, retryMs));
  };

  const enqueue = (name: string) => {
    if (signal.aborted) return;
    queued.add(name);
    if (working.has(name)) return;
    working.set(name, (async () => {
      while (queued.has(name) && !signal.aborted) {
        queued.delete(name);
        const finished = await deleteNamespace(api, name, waitMs, signal).catch(() => false);
        if (!finished) scheduleRetry(name);
      }
      working.delete(name);
    })());
  };

  return { enqueue, done: async () => { await Promise.all(working.values()); } };
}

/** One pass; true when the namespace no longer needs this controller. */
async function deleteNamespace(api: KubeApi, name: string, waitMs: number, signal: AbortSignal): Promise<boolean> {
  const path = `/api/v1/namespaces/${name}`;
  const ns = await api.find<NamespaceObject>(path);
  if (!ns?.metadata.deletionTimestamp || !ns.spec?.finalizers?.includes('kubernetes')) return true;
  const resources = await namespacedResources(api);
  const remaining = await deleteContent(api, name, resources, waitMs, signal);
  if (remaining.length) return false;
  return removeKubernetesFinalizer(api, name);
}

/** Deletes every object in the namespace and waits for them to go; returns those still there. */
async function deleteContent(api: KubeApi, ns: string, resources: NamespacedResource[], waitMs: number, signal: AbortSignal): Promise<string[]> {
  const found = await Promise.all(resources.map(async (r) => ({ r, items: await listIn(api, r, ns) })));
  const occupied = found.filter((f) => f.items.length).map((f) => f.r);
  await Promise.all(found.filter((f) => f.items.length).map(({ r, items }) => deleteAll(api, r, ns, items)));
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = (await Promise.all(occupied.map(async (r) => (await listIn(api, r, ns)).map((o) => `${r.plural}/${o.metadata.name}`)))).flat();
    if (!left.length || Date.now() > deadline || signal.aborted) return left;
    await sleep(250);
  }
}

async function listIn(api: KubeApi, r: NamespacedResource, ns: string): Promise<KubeObject[]> {
  try {
    return (await api.get<{ items: KubeObject[] }>(collectionOf(r, ns))).items;
  } catch (e) {
    // A CRD deleted since discovery has taken its objects with it.
    if (e instanceof KubeApiError && (e.status === 404 || e.status === 405)) return [];
    throw e;
  }
}

/** DeleteCollection where the type supports it, else one DELETE per object (background propagation). */
async function deleteAll(api: KubeApi, r: NamespacedResource, ns: string, items: KubeObject[]): Promise<void> {
  const query = { propagationPolicy: 'Background' };
  if (r.deleteCollection) {
    await ignoringGone(api.json('DELETE', collectionOf(r, ns), { query }));
    return;
  }
  await Promise.all(items
    .filter((o) => !o.metadata.deletionTimestamp)
    .map((o) => ignoringGone(api.json('DELETE', `${collectionOf(r, ns)}/${o.metadata.name}`, { query }))));
}

async function ignoringGone(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (e) {
    // 404: already gone; 409: being deleted with preconditions that changed meanwhile.
    if (!(e instanceof KubeApiError && (e.status === 404 || e.status === 409))) throw e;
  }
}

/** PUT .../finalize with spec.finalizers minus `kubernetes`; the API server then removes the namespace. */
async function removeKubernetesFinalizer(api: KubeApi, name: string): Promise<boolean> {
  const path = `/api/v1/namespaces/${name}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const ns = await api.find<NamespaceObject>(path);
    if (!ns?.spec?.finalizers?.includes('kubernetes')) return true;
    const finalizers = ns.spec.finalizers.filter((f) => f !== 'kubernetes');
    try {
      await api.put(`${path}/finalize`, { ...ns, spec: { ...ns.spec, finalizers } });
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return true;
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    }
  }
  return false;
}
