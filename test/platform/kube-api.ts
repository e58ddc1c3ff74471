// A deliberately small Kubernetes REST client for the platform itself (node agent, waits,
// test set-up). The project's own engine lives in shared/kube; the platform must not depend on the
// code it is meant to verify, so it talks HTTP to the API server directly.
import { Agent, request as httpsRequest } from 'node:https';
import { parseAllDocuments } from 'yaml';

export interface KubeCredentials {
  server: string;
  caPem: string;
  token: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export type PatchType = keyof typeof PATCH_TYPES;

interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

interface ResourceInfo { plural: string; namespaced: boolean }

export class KubeApi {
  private readonly agent: Agent;
  private readonly base: URL;
  private readonly discovery = new Map<string, Map<string, ResourceInfo>>();

  /** `headers` go with every request (Impersonate-User and -Group, see impersonate()). */
  constructor(readonly credentials: KubeCredentials, private readonly headers: Record<string, string | string[]> = {}) {
    this.agent = new Agent({ ca: credentials.caPem, keepAlive: true, maxSockets: 16 });
    this.base = new URL(credentials.server);
  }

  /** A client for the same server acting as someone else (e.g. a service-account token). */
  as(token: string): KubeApi {
    return new KubeApi({ ...this.credentials, token });
  }

  /**
   * The same credentials asking to act as another user, as `kubectl --as` does (the caller needs
   * the `impersonate` verb; the admin has it). For a service account pass
   * `system:serviceaccount:<namespace>:<name>`.
   */
  impersonate(username: string, groups: string[] = []): KubeApi {
    return new KubeApi(this.credentials, { 'impersonate-user': username, ...(groups.length ? { 'impersonate-group': groups } : {}) });
  }

  close(): void {
    this.agent.destroy();
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined
      : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, {
        method,
        agent: this.agent,
        headers: {
          ...this.headers,
          authorization: `Bearer ${this.credentials.token}`,
          accept: 'application/json',
          // With a length: Node sends a DELETE's body unframed otherwise, and the server reads it
          // as the next request on the kept-alive connection.
          ...(payload !== undefined ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
        timeout: opts.timeoutMs ?? 30_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async json<T = KubeObject>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const { status, text } = await this.request(method, path, opts);
    let body: unknown = text;
    try { body = text ? JSON.parse(text) : undefined; } catch { /* keep the text */ }
    if (status >= 400) {
      const s = body as { message?: string; reason?: string } | undefined;
      throw new KubeApiError(status, s?.reason ?? String(status), `${method} ${path}: ${status} ${s?.message ?? text}`, body);
    }
    return body as T;
  }

  get<T = KubeObject>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.json<T>('GET', path, { query });
  }

  /** GET, or undefined when the object does not exist. */
  async find<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  post<T = KubeObject>(path: string, body: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.json<T>('POST', path, { body, query });
  }

  put<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.json<T>('PUT', path, { body });
  }

  patch<T = KubeObject>(path: string, body: unknown, type: PatchType = 'merge', query?: RequestOptions['query']): Promise<T> {
    return this.json<T>('PATCH', path, { body, contentType: PATCH_TYPES[type], query });
  }

  async delete(path: string): Promise<void> {
    try {
      await this.json('DELETE', path);
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
    }
  }

  /**
   * One watch request: calls onEvent for each event until the server closes the stream, the
   * signal aborts, or the resource version is too old ("gone": re-list and watch again).
   */
  watch<T = KubeObject>(
    path: string,
    resourceVersion: string,
    onEvent: (e: WatchEvent<T>) => void,
    signal?: AbortSignal,
  ): Promise<'closed' | 'gone'> {
    const url = new URL(path, this.base);
    url.searchParams.set('watch', '1');
    url.searchParams.set('allowWatchBookmarks', 'true');
    url.searchParams.set('resourceVersion', resourceVersion);
    url.searchParams.set('timeoutSeconds', String(240 + Math.floor(Math.random() * 60)));
    return new Promise((resolve, reject) => {
      let gone = false;
      const req = httpsRequest(url, {
        method: 'GET',
        agent: this.agent,
        signal,
        headers: { ...this.headers, authorization: `Bearer ${this.credentials.token}`, accept: 'application/json' },
      }, (res) => {
        if ((res.statusCode ?? 0) === 410) { res.resume(); resolve('gone'); return; }
        if ((res.statusCode ?? 0) >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new KubeApiError(res.statusCode ?? 0, 'WatchFailed',
            `watch ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8')}`, undefined)));
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (!line) continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === 'ERROR') {
              const status = event.object as unknown as { code?: number };
              if (status.code === 410) gone = true;
              continue;
            }
            onEvent(event);
          }
        });
        res.on('end', () => resolve(gone ? 'gone' : 'closed'));
        res.on('error', (e) => (signal?.aborted ? resolve('closed') : reject(e)));
      });
      req.on('error', (e) => (signal?.aborted ? resolve('closed') : reject(e)));
      req.end();
    });
  }

  private async resources(apiVersion: string, refresh = false): Promise<Map<string, ResourceInfo>> {
    let known = this.discovery.get(apiVersion);
    if (known && !refresh) return known;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const list = await this.get<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(path);
    known = new Map();
    for (const r of list.resources) if (!r.name.includes('/')) known.set(r.kind, { plural: r.name, namespaced: r.namespaced });
    this.discovery.set(apiVersion, known);
    return known;
  }

  /** The REST path of an object (or of its collection when name is omitted), found by discovery. */
  async pathOf(ref: { apiVersion: string; kind: string; namespace?: string; name?: string }): Promise<string> {
    let info = (await this.resources(ref.apiVersion).catch(() => undefined))?.get(ref.kind);
    if (!info) info = (await this.resources(ref.apiVersion, true)).get(ref.kind);
    if (!info) throw new Error(`the server does not know ${ref.kind} in ${ref.apiVersion}`);
    const prefix = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = info.namespaced ? `/namespaces/${ref.namespace ?? 'default'}` : '';
    return `${prefix}${ns}/${info.plural}${ref.name ? `/${ref.name}` : ''}`;
  }

  /**
   * Server-side apply of YAML text or objects, CRDs and Namespaces first (then waiting until the
   * CRDs are established), like `kubectl apply --server-side` in two passes.
   */
  async apply(input: string | KubeObject[], { fieldManager = 'platform-test', force = true } = {}): Promise<KubeObject[]> {
    const objects = typeof input === 'string' ? parseYamlObjects(input) : input;
    const first = objects.filter((o) => o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace');
    const rest = objects.filter((o) => !first.includes(o));
    const applied: KubeObject[] = [];
    for (const obj of first) applied.push(await this.applyOne(obj, fieldManager, force));
    for (const crd of first.filter((o) => o.kind === 'CustomResourceDefinition')) {
      await this.waitFor(`CRD ${crd.metadata.name} established`,
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        (o) => conditionOf(o, 'Established')?.status === 'True');
    }
    for (const obj of rest) applied.push(await this.applyOne(obj, fieldManager, force));
    return applied;
  }

  private async applyOne(obj: KubeObject, fieldManager: string, force: boolean): Promise<KubeObject> {
    const path = await this.pathOf({ ...obj, namespace: obj.metadata.namespace, name: obj.metadata.name });
    return this.patch(path, obj, 'apply', { fieldManager, force });
  }

  /** Poll an object until the predicate holds; returns the object. */
  async waitFor<T = KubeObject>(what: string, path: string, predicate: (o: T) => boolean, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    for (;;) {
      last = await this.find<T>(path);
      if (last !== undefined && predicate(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last)?.slice(0, 2000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export function parseYamlObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`invalid YAML: ${d.errors[0]!.message}`);
      return d.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => !!o && typeof o === 'object' && 'kind' in o);
}

export interface Condition { type: string; status: string; reason?: string; message?: string; [k: string]: unknown }

export function conditionOf(obj: unknown, type: string): Condition | undefined {
  const conditions = (obj as { status?: { conditions?: Condition[] } })?.status?.conditions;
  return conditions?.find((c) => c.type === type);
}
