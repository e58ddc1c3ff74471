// A forward proxy as a corporate network has one: CONNECT tunnels for HTTPS, absolute-form
// requests for HTTP, optional basic credentials. It records every request and resolves the names
// it is given (e.g. management.azure.test) to loopback; nothing else on this machine resolves
// them, so a request that skips the proxy fails.
import { connect } from 'node:net';
import { createServer, request, type Server } from 'node:http';

export interface ProxiedRequest {
  method: string;
  /** host:port of a tunnel, or the absolute URL of a plain HTTP request. */
  target: string;
  host: string;
  authorized: boolean;
}

export interface ForwardProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Hosts that went through it (from tunnels and plain requests). */
  hosts(): string[];
  stop(): Promise<void>;
}

export async function startForwardProxy(o: { names: string[]; username?: string; password?: string }): Promise<ForwardProxy> {
  const requests: ProxiedRequest[] = [];
  const expected = o.username ? `Basic ${Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64')}` : undefined;
  const resolve = (host: string) => (o.names.includes(host) || host === '127.0.0.1' || host === 'localhost' ? '127.0.0.1' : undefined);
  const server: Server = createServer((req, res) => {
    const target = new URL(req.url ?? '/');
    const authorized = !expected || req.headers['proxy-authorization'] === expected;
    requests.push({ method: req.method ?? 'GET', target: target.toString(), host: target.hostname, authorized });
    const address = resolve(target.hostname);
    if (!authorized) return void res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="proxy"' }).end();
    if (!address) return void res.writeHead(502).end(`cannot resolve ${target.hostname}`);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = request({ host: address, port: target.port || 80, path: `${target.pathname}${target.search}`, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const tunnels = new Set<{ destroy(): void }>();
  server.on('connect', (req, socket, head) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    const [host = '', port = '443'] = (req.url ?? '').split(':');
    const authorized = !expected || req.headers['proxy-authorization'] === expected;
    requests.push({ method: 'CONNECT', target: req.url ?? '', host, authorized });
    const address = resolve(host);
    if (!authorized) return void socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n');
    if (!address) return void socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    const upstream = connect(Number(port), address, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    hosts: () => [...new Set(requests.map((r) => r.host))].sort(),
    stop: () => new Promise<void>((r) => {
      // Tunnels left the HTTP server's hands at CONNECT: closed here, or close() would wait on them.
      for (const t of tunnels) t.destroy();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
