// A seeded fault injector for every hop the tasks make. It is the agent's proxy (Agent.ProxyUrl):
// the tasks send every request through it, it terminates TLS with a certificate the task trusts
// (the emulators' CA for Entra ID, ARM, Azure DevOps, Git and the release server; the cluster's own
// CA for the API server), and for each request it draws from a seeded generator whether to pass it
// on or to answer with a fault: connection reset, 5xx, 429 with or without Retry-After, latency, a
// truncated body or a stalled response. It counts what it injected, by kind and by hop.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEmulatorCa } from '../emulators/ca';
import { issueCert } from '../platform/pki';

export const HTTP_FAULTS = ['reset', '5xx', '429-retry-after', '429', 'latency', 'truncated', 'stall'] as const;
export type HttpFault = (typeof HTTP_FAULTS)[number];
/** A serving certificate and its key (PEM). */
type ServingPair = { cert: string; key: string };
export type Hop = 'entra' | 'arm' | 'devops' | 'git' | 'releases' | 'apiserver' | 'other';

/** A small, fast, seeded generator (mulberry32): the same seed gives the same draws. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultCounts {
  byKind: Record<string, number>;
  byHop: Record<string, number>;
  requests: number;
}

export function emptyCounts(): FaultCounts {
  return { byKind: {}, byHop: {}, requests: 0 };
}

export function addCounts(into: FaultCounts, from: FaultCounts): void {
  into.requests += from.requests;
  for (const [k, n] of Object.entries(from.byKind)) into.byKind[k] = (into.byKind[k] ?? 0) + n;
  for (const [k, n] of Object.entries(from.byHop)) into.byHop[k] = (into.byHop[k] ?? 0) + n;
}

export interface FaultPlan {
  seed: number;
  /** Share of requests that get a fault (0..1). */
  rate: number;
  kinds?: readonly HttpFault[];
  /** Hops that get faults (default: all). */
  hops?: readonly Hop[];
  /** How long a latency fault delays (upper bound; default 3 s). */
  maxLatencyMs?: number;
  /** How long a stalled response hangs before its connection drops (default 20 s). */
  stallMs?: number;
}

export interface FaultProxy {
  url: string;
  counts: FaultCounts;
  /** Faults from now on follow this plan (undefined: pass everything). */
  setPlan(plan: FaultPlan | undefined): void;
  stop(): Promise<void>;
}

const recordHop = (counts: FaultCounts, hop: Hop, kind: string) => {
  counts.byKind[kind] = (counts.byKind[kind] ?? 0) + 1;
  counts.byHop[hop] = (counts.byHop[hop] ?? 0) + 1;
};

/** What a host:port is: its hop, and for an API server the CA that issues its serving certificate. */
export type HopIdentifier = (hostPort: string) => { hop: Hop; ca?: { certFile: string; keyFile: string } } | undefined;

/** Starts the fault-injecting proxy; without a plan it is a plain TLS-terminating forward proxy. */
export async function startFaultProxy(identify: HopIdentifier): Promise<FaultProxy> {
  const emulatorCa = readEmulatorCa();
  const emulatorContext: ServingPair = { cert: emulatorCa.certPem, key: emulatorCa.keyPem };
  const certDir = mkdtempSync(join(tmpdir(), 'fault-proxy-'));
  const hops = new Map<string, { hop: Hop; context: ServingPair }>();
  const counts = emptyCounts();
  const upstreamAgent = new HttpsAgent({ keepAlive: true, rejectUnauthorized: false });
  let plan: FaultPlan | undefined;
  let random = seededRandom(0);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };

  const hopEntry = (hostPort: string) => {
    let entry = hops.get(hostPort);
    if (entry) return entry;
    const found = identify(hostPort);
    if (!found) return { hop: 'other' as Hop, context: emulatorContext };
    let context = emulatorContext;
    if (found.ca) {
      const issued = issueCert(certDir, { ...found.ca, certPem: readFileSync(found.ca.certFile, 'utf8') }, `serving-${randomUUID().slice(0, 8)}`, { commonName: 'kube-apiserver', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server' });
      context = { cert: issued.certPem, key: issued.keyPem };
    }
    entry = { hop: found.hop, context };
    hops.set(hostPort, entry);
    return entry;
  };

  const hopOf = (hostPort: string, path: string): Hop => {
    const hop = hopEntry(hostPort).hop;
    return hop === 'devops' && /\/_git\/[^/]+\/(info\/refs|git-upload-pack|git-receive-pack)/.test(path) ? 'git' : hop;
  };

  const draw = (hop: Hop): HttpFault | undefined => {
    if (!plan || (plan.hops && !plan.hops.includes(hop))) return undefined;
    if (random() >= plan.rate) return undefined;
    const kinds = plan.kinds ?? HTTP_FAULTS;
    return kinds[Math.floor(random() * kinds.length)];
  };

  /** Passes the request on; `cut` decides what happens to the answer (truncate or stall). */
  const forward = (req: IncomingMessage, res: ServerResponse, target: { host: string; port: number; tls: boolean }, cut?: 'truncated' | 'stall') => {
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const options = { host: target.host, port: target.port, method: req.method, path: req.url, headers };
    const upstream = (target.tls ? httpsRequest({ ...options, agent: upstreamAgent }) : httpRequest(options));
    upstream.on('response', (up) => {
      const { 'transfer-encoding': _te, ...rest } = up.headers;
      if (!cut) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        // The server went away mid-answer (an API server restarted under a watch): so does the
        // connection to the client, as a real proxy drops it.
        up.on('aborted', () => res.socket?.destroy());
        up.on('error', () => res.socket?.destroy());
        up.pipe(res);
        return;
      }
      // Headers promise more than will come: a body cut half-way, or one that stops flowing.
      res.writeHead(up.statusCode ?? 502, rest);
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      const finish = () => {
        const body = Buffer.concat(chunks);
        res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
        if (cut === 'truncated') res.socket?.destroy();
        else later(plan?.stallMs ?? 20_000, () => res.socket?.destroy());
      };
      // Long-lived answers (watches) end never: cut after what came in the first moment.
      const watch = /[?&]watch=(1|true)/.test(req.url ?? '');
      if (watch) later(300, () => { up.destroy(); finish(); });
      else up.on('end', finish);
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  };

  const handle = (target: { host: string; port: number; tls: boolean }) => (req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    const hop = hopOf(`${target.host}:${target.port}`, req.url ?? '');
    const fault = draw(hop);
    if (!fault) return forward(req, res, target);
    recordHop(counts, hop, fault);
    const json = (status: number, extra: Record<string, string> = {}) => {
      req.resume();
      const reason = status === 429 ? 'TooManyRequests' : status === 500 ? 'InternalError' : status === 504 ? 'Timeout' : 'ServiceUnavailable';
      const body = hop === 'apiserver'
        ? JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `injected ${status}`, reason, code: status })
        : JSON.stringify({ error: { code: reason, message: `injected ${status}` } });
      res.writeHead(status, { 'content-type': 'application/json', ...extra }).end(body);
    };
    switch (fault) {
      case 'reset': return void req.socket.destroy();
      case '5xx': return json([500, 502, 503, 504][Math.floor(random() * 4)]!);
      case '429-retry-after': return json(429, { 'retry-after': String(1 + Math.floor(random() * 2)) });
      case '429': return json(429);
      case 'latency': return later(Math.floor(random() * (plan?.maxLatencyMs ?? 3000)), () => forward(req, res, target));
      case 'truncated': case 'stall': return forward(req, res, target, fault);
    }
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/');
    req.url = `${url.pathname}${url.search}`;
    handle({ host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname, port: Number(url.port || 80), tls: false })(req, res);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('connect', (req, socket: Socket, head) => {
    const [host = '', port = '443'] = (req.url ?? '').split(':');
    const address = host === 'localhost' ? '127.0.0.1' : host;
    if (address !== '127.0.0.1') return void socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const begin = (first: Buffer) => {
      // Paused first: in flowing mode the chunk put back would be emitted to nobody.
      socket.pause();
      socket.unshift(first);
      const entry = hopEntry(`${address}:${port}`);
      // Each tunnel is served by its own HTTP parser, over TLS when the client starts a handshake.
      const tls = first[0] === 0x16;
      const serve = handle({ host: address, port: Number(port), tls });
      const inner = tls ? createHttpsServer({ ...entry.context, ALPNProtocols: ['http/1.1'] }, serve) : createServer(serve);
      inner.keepAliveTimeout = 30_000;
      inner.on('tlsClientError', () => socket.destroy());
      inner.emit('connection', socket);
      if (!tls) socket.resume();
    };
    socket.on('error', () => socket.destroy());
    if (head.length) begin(head);
    else socket.once('data', begin);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));

  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    counts,
    setPlan(next) {
      plan = next;
      random = seededRandom(next?.seed ?? 0);
    },
    stop: () => new Promise<void>((r) => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      upstreamAgent.destroy();
      rmSync(certDir, { recursive: true, force: true });
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** The cluster CA's files in a control plane's folder (the API server's serving certificate is issued by it). */
export function clusterCaFiles(controlPlaneDir: string): { certFile: string; keyFile: string } {
  for (const dir of [join(controlPlaneDir, 'pki'), controlPlaneDir]) {
    const certFile = join(dir, 'ca.crt');
    const keyFile = join(dir, 'ca.key');
    if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  }
  throw new Error(`no ca.crt and ca.key in ${controlPlaneDir}`);
}
