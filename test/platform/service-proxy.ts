// kube-proxy's part for cluster-DNS names in controller arguments: a URL such as
// http://notification-controller.flux-system.svc.cluster.local./ is rewritten to a local TCP
// listener that, per connection, follows the real Service (port -> targetPort, selector) to the
// controller process backing it. Resolving per connection means start order does not matter,
// and a Service that does not exist behaves like one without endpoints (connection refused).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { KubeApi } from './kube-api.js';

/** Finds the local port of a ready process whose pod labels match the selector and that serves targetPort. */
export type EndpointResolver = (namespace: string, selector: Record<string, string>, targetPort: number | string) => number | undefined;

interface ServiceSpec {
  spec?: { selector?: Record<string, string>; ports?: { port: number; targetPort?: number | string; name?: string }[] };
}

const CLUSTER_HOST = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?\.?$/;

export class ServiceProxy {
  private readonly listeners = new Map<string, { server: Server; address: Promise<string> }>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly api: KubeApi, private readonly resolve: EndpointResolver) {}

  /** Rewrites every cluster-DNS host (with optional port) in a flag value to a local proxy address. */
  async rewrite(value: string): Promise<string> {
    const pattern = /(\/\/|^)([a-z0-9.-]+\.svc(?:\.cluster\.local)?\.?)(?::(\d+))?/g;
    let out = '';
    let last = 0;
    for (const m of value.matchAll(pattern)) {
      const host = CLUSTER_HOST.exec(m[2]!);
      if (!host) continue;
      const port = m[3] ? Number(m[3]) : (value.startsWith('https://') ? 443 : 80);
      const local = await this.addressFor(host[3]!, host[1]!, port);
      out += value.slice(last, m.index) + m[1] + local;
      last = m.index! + m[0].length;
    }
    return out + value.slice(last);
  }

  addressFor(namespace: string, service: string, port: number): Promise<string> {
    const key = `${namespace}/${service}:${port}`;
    let entry = this.listeners.get(key);
    if (!entry) {
      const server = createServer((client) => this.forward(client, namespace, service, port));
      const address = new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const a = server.address();
          resolve(`127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
        });
      });
      entry = { server, address };
      this.listeners.set(key, entry);
    }
    return entry.address;
  }

  private forward(client: Socket, namespace: string, service: string, port: number): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    void (async () => {
      const svc = await this.api.find<ServiceSpec>(`/api/v1/namespaces/${namespace}/services/${service}`).catch(() => undefined);
      const sp = svc?.spec?.ports?.find((p) => p.port === port);
      const local = sp && svc?.spec?.selector ? this.resolve(namespace, svc.spec.selector, sp.targetPort ?? sp.port) : undefined;
      if (!local) { client.destroy(); return; }
      const upstream = connect(local, '127.0.0.1');
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      upstream.pipe(client);
      client.pipe(upstream);
      client.resume();
    })();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.listeners.values()].map((l) => new Promise<void>((r) => l.server.close(() => r()))));
    this.listeners.clear();
  }
}
