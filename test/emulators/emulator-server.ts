// The HTTP(S) plumbing every emulator shares: a loopback server with the emulator CA's serving
// certificate, a log of the requests it saw (tests assert on retries and token requests), and
// injectable faults (throttling, 5xx, connection resets) that apply before any route runs.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { readEmulatorCa } from './ca.js';

export interface EmulatorRequest {
  method: string;
  /** Absolute URL as the client addressed it (scheme, 127.0.0.1:port, path, query). */
  url: URL;
  /** Decoded path without query. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  raw: http.IncomingMessage;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  status?: number;
}

export interface Fault {
  method?: string;
  /** Substring of, or pattern for, the request path. */
  path?: string | RegExp;
  /** How many matching requests it affects (default 1). */
  times?: number;
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Destroy the connection without answering (ECONNRESET on the client). */
  reset?: boolean;
  /** Answer as the emulator would, but drop the connection half-way through the body. */
  cut?: boolean;
}

export class FaultInjector {
  private readonly faults: Array<Fault & { remaining: number }> = [];

  add(fault: Fault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.faults.length = 0;
  }

  take(method: string, path: string): Fault | undefined {
    const index = this.faults.findIndex((fault) =>
      (!fault.method || fault.method.toUpperCase() === method) &&
      (!fault.path || (typeof fault.path === 'string' ? path.includes(fault.path) : fault.path.test(path))));
    if (index < 0) return undefined;
    const fault = this.faults[index];
    if (--fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }
}

export type RouteHandler = (request: EmulatorRequest, response: http.ServerResponse) => Promise<void> | void;

export interface EmulatorServer {
  /** Base URL without trailing slash, e.g. https://127.0.0.1:41234 */
  url: string;
  port: number;
  requests: RecordedRequest[];
  faults: FaultInjector;
  stop(): Promise<void>;
}

export interface EmulatorServerOptions {
  name: string;
  handler: RouteHandler;
  /** Plain HTTP (only the IMDS endpoint, which is HTTP in Azure too). */
  insecure?: boolean;
  /** What an unexpected exception turns into. */
  onError?: (error: unknown, response: http.ServerResponse) => void;
}

export function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function sendEmpty(response: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Length': 0, ...headers });
  response.end();
}

export function parseJsonBody<T>(request: EmulatorRequest): T | undefined {
  if (request.body.length === 0) return undefined;
  return JSON.parse(request.body.toString('utf8')) as T;
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startEmulatorServer(options: EmulatorServerOptions): Promise<EmulatorServer> {
  const requests: RecordedRequest[] = [];
  const faults = new FaultInjector();
  const sockets = new Set<Socket>();
  const debug = process.env.EMULATOR_DEBUG === '1';
  let baseUrl = '';

  const listener = async (raw: http.IncomingMessage, response: http.ServerResponse) => {
    const method = (raw.method ?? 'GET').toUpperCase();
    const url = new URL(raw.url ?? '/', baseUrl);
    const body = await readBody(raw);
    const record: RecordedRequest = {
      method, path: decodeURIComponent(url.pathname), query: url.search, headers: raw.headers, body: body.toString('utf8'),
    };
    requests.push(record);
    response.on('finish', () => {
      record.status = response.statusCode;
      if (debug) console.error(`[${options.name}] ${method} ${url.pathname}${url.search} -> ${response.statusCode}`);
    });

    const fault = faults.take(method, record.path);
    if (fault?.reset) {
      raw.socket.destroy();
      return;
    }
    if (fault?.cut) {
      response.end = ((chunk?: string | Buffer) => {
        const all = Buffer.from(chunk ?? '');
        // The headers promise the whole body; half of it is flushed, then the connection goes.
        response.write(all.subarray(0, Math.floor(all.length / 2)), () => raw.socket.destroy());
        return response;
      }) as typeof response.end;
    } else if (fault) {
      if (fault.body === undefined) sendEmpty(response, fault.status ?? 500, fault.headers);
      else sendJson(response, fault.status ?? 500, fault.body, fault.headers);
      return;
    }

    try {
      await options.handler({ method, url, path: record.path, query: url.searchParams, headers: raw.headers, body, raw }, response);
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
      } else if (options.onError) {
        options.onError(error, response);
      } else {
        sendJson(response, 500, { error: { code: 'InternalServerError', message: String((error as Error)?.stack ?? error) } });
      }
    }
  };

  const server = options.insecure
    ? http.createServer(listener)
    : https.createServer({ cert: readEmulatorCa().certPem, key: readEmulatorCa().keyPem }, listener);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `${options.insecure ? 'http' : 'https'}://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    port,
    requests,
    faults,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // SDK clients keep connections alive; the emulator must not wait for them.
        for (const socket of sockets) socket.destroy();
      }),
  };
}
