import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCert } from '../platform/pki';

export type Fault = { kind: 'status'; status: 403 | 429 | 500 | 502 | 503 | 504; retryAfter?: number } | { kind: 'reset' }
  /** Answers 200 and then nothing, never ending: a watch whose proxy lost the server behind it. */
  | { kind: 'silent' }
  /** Not a fault of the answer: something else happens first (another client's write), then the request goes through. */
  | { kind: 'before'; run: () => Promise<unknown> };

/**
 * An HTTPS proxy in front of a real API server that injects faults: throttling, server errors,
 * dropped connections. Faults are taken from a queue (one per request) or applied to every request.
 */
export class FaultProxy {
  readonly queue: Fault[] = [];
  always?: Fault;
  /** Only requests whose path matches get faults (default: all). */
  only?: RegExp;
  requests = 0;
  faultsInjected = 0;
  private server!: Server;
  private readonly sockets = new Set<Duplex>();
  private dir!: string;
  caPem!: string;
  url!: string;

  constructor(private readonly upstream: { server: string; caPem: string }) {}

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'fault-proxy-'));
    const ca = createCA(this.dir, 'ca', 'fault-proxy-ca');
    const cert = issueCert(this.dir, ca, 'server', { commonName: '127.0.0.1', altNames: ['IP:127.0.0.1'], usage: 'server' });
    this.caPem = ca.certPem;
    this.server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const fault = this.only && !this.only.test(req.url ?? '') ? undefined : this.queue.shift() ?? this.always;
    if (fault) {
      this.faultsInjected++;
      if (fault.kind === 'before') {
        req.pause();
        void fault.run().finally(() => this.forward(req, res));
        return;
      }
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'silent') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        return;
      }
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: fault.status === 429 ? 'TooManyRequests' : fault.status === 403 ? 'Forbidden' : 'ServiceUnavailable', message: `injected ${fault.status}`, code: fault.status }));
      return;
    }
    this.forward(req, res);
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const target = new URL(req.url!, this.upstream.server);
    const up = request(target, { method: req.method, headers: { ...req.headers, host: target.host }, ca: this.upstream.caPem }, (upRes) => {
      res.writeHead(upRes.statusCode!, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  }
}
