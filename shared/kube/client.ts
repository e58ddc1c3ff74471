import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { HttpsProxyAgent } from 'hpagent';
import type { ClusterAccess } from './access';
import { KubeApiError } from './errors';
import { isRetryable, isRetryableDryRun, isRetryableRead, type RetryOptions, withRetries } from './retry';

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Overall time for this request including retries. */
  deadlineMs?: number;
}

export interface KubeClientOptions {
  /** Parallel connections to the API server. */
  maxSockets?: number;
  /** Time limit of one attempt. */
  attemptTimeoutMs?: number;
  retry?: Partial<RetryOptions>;
  userAgent?: string;
  onRetry?: (what: string, error: unknown, delayMs: number, attempt: number) => void;
  /** How long the server keeps one watch open before it is opened again (default 60 s). */
  watchSeconds?: number;
}

/**
 * A small REST client for the Kubernetes API: keep-alive connections, bearer/basic/client-cert
 * auth, proxies, per-attempt timeouts, retries of throttling and transient failures within a
 * deadline, and abort signals. Errors are KubeApiError with the server's reason.
 */
export class KubeClient {
  private readonly agent: HttpsAgent;
  private readonly base: URL;

  constructor(
    readonly access: ClusterAccess,
    private readonly options: KubeClientOptions = {},
  ) {
    this.base = new URL(access.server);
    const tls = {
      ca: access.caPem,
      cert: access.clientCertPem,
      key: access.clientKeyPem,
      rejectUnauthorized: !access.insecureSkipTlsVerify,
      servername: access.tlsServerName,
      keepAlive: true,
      maxSockets: options.maxSockets ?? 32,
    };
    this.agent = access.proxyUrl ? new HttpsProxyAgent({ ...tls, proxy: access.proxyUrl }) : new HttpsAgent(tls);
  }

  async request<T = unknown>(spec: RequestSpec): Promise<T> {
    const text = await withRetries(
      () => this.attempt(spec),
      { deadlineMs: spec.deadlineMs ?? 60_000, ...this.options.retry, retryable: spec.method === 'GET' ? isRetryableRead : spec.query?.dryRun ? isRetryableDryRun : isRetryable },
      spec.signal,
      (error, delay, n) => this.options.onRetry?.(`${spec.method} ${spec.path}`, error, delay, n),
    ).catch((error: unknown) => {
      // A server that never answered, or not with TLS we trust: say which one, and where its address came from.
      if (!(error instanceof KubeApiError) && !spec.signal?.aborted && (isRetryable(error) || typeof (error as { code?: unknown }).code === 'string')) {
        (error as Error).message = `The connection to the API server ${this.base.origin}${this.access.origin ? ` (${this.access.origin})` : ''} failed: ${(error as Error).message}`;
      }
      // Credentials of another cluster, or expired ones: say whose they are.
      if (error instanceof KubeApiError && error.status === 401) throw error.withNote(` (the API server ${this.base.origin} did not accept the credentials${this.access.origin ? ` of ${this.access.origin}` : ''})`);
      throw error;
    });
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Opens a streaming GET (a watch); lines are handed over as they arrive. */
  async stream(path: string, query: Record<string, string | undefined>, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
    const res = await this.open({ method: 'GET', path, query, signal }, 0);
    if (res.statusCode! >= 300) throw await this.failure(res, await readAll(res), signal);
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) onLine(line);
        }
      });
      res.on('end', resolve);
      res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      res.on('aborted', () => resolve());
    });
  }

  close(): void {
    this.agent.destroy();
  }

  get watchSeconds(): number {
    return this.options.watchSeconds ?? 60;
  }

  private async attempt(spec: RequestSpec): Promise<string> {
    const res = await this.open(spec, this.options.attemptTimeoutMs ?? 30_000);
    const body = await readAll(res);
    if (res.statusCode! >= 300) throw await this.failure(res, body, spec.signal);
    return body;
  }

  /** The error of an answer that is not a success. */
  private async failure(res: IncomingMessage, body: string, signal?: AbortSignal): Promise<KubeApiError> {
    const error = KubeApiError.fromResponse(res.statusCode!, body, header(res, 'retry-after'));
    // Not a final refusal: authorization ran before its caches were filled, and nothing was changed.
    if (error.status === 403 && await this.starting(signal)) {
      return new KubeApiError(503, 'ServiceUnavailable', `the API server is still starting (not ready) and answered Forbidden: ${error.apiMessage}`);
    }
    return error;
  }

  /**
   * Whether the API server is still starting: right after a restart it serves requests before its
   * authorizer's caches are filled, and refuses with 403 what it will allow a moment later.
   */
  private async starting(signal?: AbortSignal): Promise<boolean> {
    try {
      const res = await this.open({ method: 'GET', path: '/readyz', signal }, 5000);
      await readAll(res);
      return res.statusCode !== 200;
    } catch {
      return false;
    }
  }

  private async open(spec: RequestSpec, timeoutMs: number): Promise<IncomingMessage> {
    const url = new URL(spec.path, this.base);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.options.userAgent ?? 'aks-gitops-tasks' };
    const token = this.access.tokenSource ? await this.access.tokenSource(spec.signal) : this.access.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (this.access.username) headers.Authorization = `Basic ${Buffer.from(`${this.access.username}:${this.access.password ?? ''}`).toString('base64')}`;
    let payload: string | undefined;
    if (spec.body !== undefined) {
      payload = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
      headers['Content-Type'] = spec.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const options: RequestOptions = { method: spec.method, headers, agent: this.agent, signal: spec.signal };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, options, resolve);
      req.on('error', reject);
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`${spec.method} ${url.pathname} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      }
      req.end(payload);
    });
  }
}

function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  });
}
