import { timeoutSignal } from '../net/timeout-signal';
import { applyStaged, type ApplyOptions } from './apply';
import type { ChangeSet } from './changeset';
import { deleteObjects } from './delete';
import type { KubeClient } from './client';
import { Discovery, resourcePath } from './discovery';
import type { Engine } from './engine';
import { KubeApiError } from './errors';
import type { KubeObject } from './objects';
import { waitForReady, type WaitOptions } from './wait';

export interface ResourceManagerOptions {
  fieldManager?: string;
  concurrency?: number;
  defaultNamespace?: string;
  log?: (line: string) => void;
}

/**
 * The Kubernetes engine of the tasks, after Flux's ResourceManager: one concept, one file per
 * verb (apply.ts, wait.ts). Apply validates by dry-run, then applies in stages with server-side
 * apply and returns a change set; wait watches until objects are ready.
 */
export class ResourceManager {
  private readonly engine: Engine;

  constructor(client: KubeClient, options: ResourceManagerOptions = {}) {
    this.engine = {
      client,
      discovery: new Discovery(client),
      fieldManager: options.fieldManager ?? 'aks-gitops-tasks',
      concurrency: options.concurrency ?? 32,
      defaultNamespace: options.defaultNamespace ?? 'default',
      log: options.log ?? (() => undefined),
    };
  }

  applyAll(objects: KubeObject[], options?: ApplyOptions): Promise<ChangeSet> {
    return applyStaged(this.engine, objects, options);
  }

  waitForReady(objects: KubeObject[], options: WaitOptions): Promise<Map<string, KubeObject>> {
    return waitForReady(this.engine, objects, options);
  }

  /**
   * Sets annotations with a merge patch (not an apply, so the objects' applied fields keep their
   * owner), e.g. Flux's reconcile request.
   */
  async annotate(objects: KubeObject[], annotations: Record<string, string>, signal?: AbortSignal): Promise<void> {
    for (const o of objects) {
      const info = await this.engine.discovery.resourceFor(o.apiVersion, o.kind, signal);
      await this.engine.client.request({
        method: 'PATCH',
        path: resourcePath(info, o.metadata.namespace ?? this.engine.defaultNamespace, o.metadata.name),
        query: { fieldManager: `${this.engine.fieldManager}-annotate` },
        contentType: 'application/merge-patch+json',
        body: { metadata: { annotations } },
        signal,
      });
    }
  }

  /** Deletes the objects that exist; returns the refs of those deleted. */
  delete(objects: KubeObject[], signal?: AbortSignal): Promise<string[]> {
    return deleteObjects(this.engine, objects, signal);
  }

  /** The live object, or undefined when it does not exist. */
  async get(apiVersion: string, kind: string, name: string, namespace?: string, signal?: AbortSignal): Promise<KubeObject | undefined> {
    // Say what was being read: a bare "InternalError" names nothing.
    const named = (error: unknown) => (error instanceof KubeApiError && !error.ref ? error.about(`${kind}/${namespace ? `${namespace}/` : ''}${name}`) : error);
    const info = await this.engine.discovery.resourceFor(apiVersion, kind, signal).catch((error: unknown) => { throw named(error); });
    try {
      return await this.engine.client.request<KubeObject>({ method: 'GET', path: resourcePath(info, namespace ?? this.engine.defaultNamespace, name), signal });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw named(error);
    }
  }

  /**
   * A GET through the API server's service proxy, as `kubeseal --fetch-cert` reads the Sealed
   * Secrets certificate: `service` is "[scheme:]name[:port]"; returns the body's non-empty lines.
   */
  async serviceProxyGet(namespace: string, service: string, path: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
    const timed = timeoutSignal(options.timeoutMs ?? 10_000, options.signal);
    const lines: string[] = [];
    const proxyPath = `/api/v1/namespaces/${namespace}/services/${service}/proxy/${path.replace(/^\/+/, '')}`;
    try {
      await this.engine.client.stream(proxyPath, {}, timed.signal, (line) => lines.push(line));
    } finally {
      timed.clear();
    }
    return lines.join('\n');
  }

  close(): void {
    this.engine.client.close();
  }
}
