// List-then-watch with a local cache, as client-go's informers do: a real watch on the API server,
// re-listed when the watch expires (410 Gone) or breaks, with deletions missed meanwhile detected.
import type { KubeApi, KubeObject } from './kube-api.js';

export interface InformerHandlers<T extends KubeObject> {
  onUpsert(obj: T): void;
  onDelete(obj: T): void;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Runs until the signal aborts. `synced` resolves after the first list has been delivered. */
export function startInformer<T extends KubeObject>(
  api: KubeApi,
  collectionPath: string,
  handlers: InformerHandlers<T>,
  signal: AbortSignal,
): { synced: Promise<void>; done: Promise<void>; cache: Map<string, T> } {
  const cache = new Map<string, T>();
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => { markSynced = r; });

  const relist = async (): Promise<string> => {
    const list = await api.get<{ metadata: { resourceVersion: string }; items: T[] }>(collectionPath);
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      const old = cache.get(key);
      cache.set(key, item);
      if (old?.metadata.resourceVersion !== item.metadata.resourceVersion) handlers.onUpsert(item);
    }
    for (const [key, old] of [...cache]) {
      if (!seen.has(key)) {
        cache.delete(key);
        handlers.onDelete(old);
      }
    }
    markSynced();
    return list.metadata.resourceVersion;
  };

  const done = (async () => {
    let rv: string | undefined;
    while (!signal.aborted) {
      try {
        rv ??= await relist();
        const outcome = await api.watch<T>(collectionPath, rv, (event) => {
          const obj = event.object;
          if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          if (event.type === 'BOOKMARK') return;
          const key = keyOf(obj);
          if (event.type === 'DELETED') {
            cache.delete(key);
            handlers.onDelete(obj);
          } else {
            cache.set(key, obj);
            handlers.onUpsert(obj);
          }
        }, signal);
        if (outcome === 'gone') rv = undefined;
      } catch {
        if (signal.aborted) break;
        rv = undefined;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  })();
  return { synced, done, cache };
}
