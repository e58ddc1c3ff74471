import { timeoutSignal } from '../net/timeout-signal';
import type { KubeClient } from './client';
import { KubeApiError } from './errors';
import type { KubeObject } from './objects';
import { isRetryable, sleep } from './retry';

interface ObjectList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string };
  items: KubeObject[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

/**
 * Lists a collection, then watches it from that point, calling `onObject` with the current state
 * of each object (and `onDeleted`) until the signal aborts. A dropped watch resumes from the last
 * resourceVersion; an expired one ("410 Gone") lists again. The server ends each watch after
 * `client.watchSeconds`; one that outlives that by half again has gone silent (a proxy or load
 * balancer kept the connection after the API server behind it went away) and is opened anew.
 */
export async function listAndWatch(
  client: KubeClient,
  collectionPath: string,
  options: { fieldSelector?: string; signal: AbortSignal; onObject: (o: KubeObject) => void; onDeleted?: (o: KubeObject) => void },
): Promise<void> {
  const { signal } = options;
  while (!signal.aborted) {
    let rv: string;
    try {
      const list = await client.request<ObjectList>({ method: 'GET', path: collectionPath, query: { fieldSelector: options.fieldSelector }, signal });
      // List items carry no apiVersion and kind; the list says what they are.
      const kind = list.kind.replace(/List$/, '');
      for (const item of list.items) options.onObject({ ...item, apiVersion: list.apiVersion, kind });
      rv = list.metadata.resourceVersion;
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    let gone = false;
    while (!signal.aborted && !gone) {
      const silent = timeoutSignal(Math.round(client.watchSeconds * 1500) + 5000, signal);
      try {
        await client.stream(collectionPath, { watch: '1', resourceVersion: rv, allowWatchBookmarks: 'true', fieldSelector: options.fieldSelector, timeoutSeconds: String(client.watchSeconds) }, silent.signal, (line) => {
          const event = JSON.parse(line) as WatchEvent;
          if (event.type === 'ERROR') {
            const status = event.object as unknown as { code?: number };
            if (status.code === 410) gone = true;
            return;
          }
          rv = event.object.metadata?.resourceVersion ?? rv;
          if (event.type === 'DELETED') options.onDeleted?.(event.object);
          else if (event.type !== 'BOOKMARK') options.onObject(event.object);
        });
      } catch (error) {
        if (signal.aborted) return;
        if (silent.signal.aborted) continue;
        if (error instanceof KubeApiError && error.status === 410) gone = true;
        else if (!isRetryable(error)) throw error;
        else await sleep(200, signal).catch(() => undefined);
      } finally {
        silent.clear();
      }
    }
  }
}
