import type { KubeClient } from './client';
import { KubeApiError } from './errors';

export interface ResourceInfo {
  /** The group-version path, e.g. /apis/apps/v1. */
  groupVersionPath: string;
  plural: string;
  namespaced: boolean;
}

interface APIResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

/**
 * Maps apiVersion + kind to the REST resource, reading the API server's discovery documents one
 * group-version at a time, on demand, and re-reading once when a kind is missing (a CRD may just
 * have been established).
 */
export class Discovery {
  private readonly lists = new Map<string, Promise<APIResourceList | undefined>>();

  constructor(private readonly client: KubeClient) {}

  async resourceFor(apiVersion: string, kind: string, signal?: AbortSignal, deadlineMs?: number): Promise<ResourceInfo> {
    const hit = await this.find(apiVersion, kind, signal, deadlineMs);
    if (hit) return hit;
    this.lists.delete(apiVersion);
    const retry = await this.find(apiVersion, kind, signal, deadlineMs);
    if (retry) return retry;
    throw new KubeApiError(404, 'NotFound', `the server does not serve kind ${kind} in ${apiVersion}; is its CustomResourceDefinition installed?`);
  }

  /** Forgets what was read, e.g. after CRDs changed. */
  reset(): void {
    this.lists.clear();
  }

  private async find(apiVersion: string, kind: string, signal?: AbortSignal, deadlineMs?: number): Promise<ResourceInfo | undefined> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let list = this.lists.get(apiVersion);
    if (!list) {
      list = this.client.request<APIResourceList>({ method: 'GET', path, signal, deadlineMs }).catch((error) => {
        if (error instanceof KubeApiError && error.status === 404) return undefined;
        this.lists.delete(apiVersion);
        throw error;
      });
      this.lists.set(apiVersion, list);
    }
    const resource = (await list)?.resources.find((r) => r.kind === kind && !r.name.includes('/'));
    return resource && { groupVersionPath: path, plural: resource.name, namespaced: resource.namespaced };
  }
}

/** The REST path of a collection (namespace given for namespaced kinds) or of one object. */
export function resourcePath(info: ResourceInfo, namespace: string | undefined, name?: string): string {
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${info.groupVersionPath}${ns}/${info.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
