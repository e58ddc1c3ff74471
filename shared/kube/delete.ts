import { resourcePath } from './discovery';
import type { Engine } from './engine';
import { KubeApiError } from './errors';
import { refOf, type KubeObject } from './objects';
import { forEachLimited } from './pool';

/** Deletes objects (background propagation); ones already gone are fine. Returns what was deleted. */
export async function deleteObjects(engine: Engine, objects: KubeObject[], signal?: AbortSignal): Promise<string[]> {
  const deleted: string[] = [];
  await forEachLimited(objects, engine.concurrency, async (o) => {
    const info = await engine.discovery.resourceFor(o.apiVersion, o.kind, signal);
    try {
      await engine.client.request({
        method: 'DELETE',
        path: resourcePath(info, o.metadata.namespace ?? engine.defaultNamespace, o.metadata.name),
        query: { propagationPolicy: 'Background' },
        signal,
      });
      deleted.push(refOf(o));
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error instanceof KubeApiError ? error.about(refOf(o)) : error;
    }
  });
  return deleted;
}
