// The network of one local cluster: a network namespace of its own (held by netns-helper.mjs)
// where Pods listen on their own IPs (10.244.0.0/16, on the namespace's lo), Services have their
// ClusterIPs (10.0.0.0/24) and the node its InternalIP. Nothing in it can reach beyond it except
// through the relays below, and nothing here dials an address outside the host's loopback:
// - into the namespace: `dial(ip, port)` (HTTP CONNECT over a Unix socket, the same way the
//   kube-apiserver's egress selector reaches Pods) and `forward(ip, port)`, a host 127.0.0.1 port
//   for a Pod port (what `kubectl port-forward` gives);
// - out of it: host.sock, to which the helper relays the Service `kubernetes` (10.0.0.1:443) and
//   its mirrors of the host's loopback listeners; each connection names a port on 127.0.0.1.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil, startProcess, tailOf, type ManagedProcess } from './processes.js';

export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.0.0.0/24';
/** The node's InternalIP (AKS's default node subnet is 10.224.0.0/12). */
export const NODE_IP = '10.224.0.4';
export const KUBERNETES_SERVICE_IP = '10.0.0.1';

const helperPath = join(dirname(fileURLToPath(import.meta.url)), 'netns-helper.mjs');

export interface ServiceRoute {
  ip: string;
  port: number;
  /** Ready endpoints (Pod IP and target port). */
  targets?: { ip: string; port: number }[];
  /** A port on the host's 127.0.0.1 instead (the API server behind the Service `kubernetes`). */
  hostPort?: number;
}

export interface ClusterNetwork {
  /** PID of the process holding the namespace (`nsenter --net=/proc/<pid>/ns/net`). */
  pid: number;
  /** Command prefix that runs a program inside the namespace. */
  enter: string[];
  /** The Unix socket of the HTTP CONNECT proxy (kube-apiserver --egress-selector-config-file). */
  egressSocket: string;
  logFile: string;
  /** A new Pod IP, on the namespace's lo once the promise resolves. */
  allocatePodIp(): Promise<string>;
  releasePodIp(ip: string): Promise<void>;
  setServices(routes: ServiceRoute[]): Promise<void>;
  /** A connection to ip:port inside the namespace. */
  dial(ip: string, port: number, timeoutMs?: number): Promise<Socket>;
  /** A port on the host's 127.0.0.1 that leads to ip:port inside the namespace. */
  forward(ip: string, port: number): Promise<{ port: number; close(): void }>;
  stop(): Promise<void>;
}

/** A network namespace for one cluster; its folder holds the sockets. Needs root (unshare --net). */
export async function startClusterNetwork(dir: string): Promise<ClusterNetwork> {
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'netns.log');
  const sockets = new Set<Socket>();
  const track = (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); return s; };

  // Out of the namespace: only ever to the host's loopback.
  const hostRelay = createServer((conn) => {
    track(conn);
    conn.on('error', () => conn.destroy());
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0) { if (head.length > 16) conn.destroy(); return; }
      conn.off('data', onData);
      conn.pause();
      const port = Number(head.slice(0, nl));
      const rest = Buffer.from(head.slice(nl + 1), 'latin1');
      if (!Number.isInteger(port) || port <= 0 || port > 65535) { conn.destroy(); return; }
      const upstream = track(connect(port, '127.0.0.1'));
      upstream.on('error', () => conn.destroy());
      conn.on('close', () => upstream.destroy());
      upstream.on('close', () => conn.destroy());
      if (rest.length) upstream.write(rest);
      upstream.pipe(conn);
      conn.pipe(upstream);
      conn.resume();
    };
    conn.on('data', onData);
  });
  const hostSock = join(dir, 'host.sock');
  rmSync(hostSock, { force: true });
  await new Promise<void>((resolve, reject) => { hostRelay.once('error', reject); hostRelay.listen(hostSock, resolve); });

  let helper: ManagedProcess | undefined;
  const forwards = new Set<Server>();
  const stop = async () => {
    for (const s of forwards) s.close();
    for (const s of sockets) s.destroy();
    control?.destroy();
    await helper?.stop(2_000);
    await new Promise<void>((r) => hostRelay.close(() => r()));
  };

  let control: Socket | undefined;
  try {
    helper = startProcess({
      name: 'network namespace',
      command: 'unshare',
      args: ['--net', '--', process.execPath, helperPath, dir, String(process.pid)],
      // `ip` lives in /usr/sbin, which a non-login PATH may lack.
      env: { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` },
      cwd: dir,
      logFile,
    });
    const proc = helper;
    await pollUntil('the network namespace', () => existsSync(join(dir, 'control.sock')) && /network namespace ready/.test(readFileSync(logFile, 'utf8')),
      { timeoutMs: 20_000, intervalMs: 50, failIf: () => (proc.running ? undefined : `its helper exited:\n${tailOf(logFile)}`) });
    control = track(connect(join(dir, 'control.sock')));
    await new Promise<void>((resolve, reject) => { control!.once('connect', resolve); control!.once('error', reject); });
  } catch (e) {
    await stop();
    throw e;
  }

  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let buffer = '';
  control.setEncoding('utf8');
  control.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const reply = JSON.parse(buffer.slice(0, nl)) as { id: number; ok?: boolean; error?: string };
      buffer = buffer.slice(nl + 1);
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.error) p?.reject(new Error(`network namespace: ${reply.error}`)); else p?.resolve();
    }
  });
  control.on('close', () => { for (const p of pending.values()) p.reject(new Error('the network namespace helper went away')); pending.clear(); });
  const send = (msg: object) => new Promise<void>((resolve, reject) => {
    if (!control || control.destroyed) { reject(new Error('the network namespace helper went away')); return; }
    const id = nextId++;
    pending.set(id, { resolve, reject });
    control.write(`${JSON.stringify({ ...msg, id })}\n`);
  });

  const addresses = new Set<string>([NODE_IP]);
  await send({ op: 'addresses', ips: [...addresses] });
  let nextPodIp = 2; // 10.244.0.1 would be the node's bridge on a real node
  const egressSocket = join(dir, 'egress.sock');

  const dial = (ip: string, port: number, timeoutMs = 5_000) => new Promise<Socket>((resolve, reject) => {
    const s = connect(egressSocket);
    const timer = setTimeout(() => s.destroy(new Error(`dial ${ip}:${port}: timed out`)), timeoutMs);
    let head = '';
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
    s.once('connect', () => s.write(`CONNECT ${ip}:${port} HTTP/1.1\r\nHost: ${ip}:${port}\r\n\r\n`));
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      clearTimeout(timer);
      if (!/^HTTP\/1\.[01] 200/.test(head)) {
        s.destroy();
        reject(new Error(`dial ${ip}:${port}: ${head.slice(end + 4).trim() || head.split('\r\n')[0]}`));
        return;
      }
      s.pause();
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length) s.unshift(rest);
      resolve(track(s));
    };
    s.on('data', onData);
  });

  return {
    pid: helper.pid,
    enter: ['nsenter', `--net=/proc/${helper.pid}/ns/net`, '--'],
    egressSocket,
    logFile,
    async allocatePodIp() {
      const n = nextPodIp++;
      if (n > 65_534) throw new Error(`the pod network ${POD_CIDR} is exhausted`);
      const ip = `10.244.${Math.floor(n / 256)}.${n % 256}`;
      addresses.add(ip);
      await send({ op: 'addresses', ips: [...addresses] });
      return ip;
    },
    async releasePodIp(ip) {
      if (!addresses.delete(ip)) return;
      await send({ op: 'addresses', ips: [...addresses] }).catch(() => { /* stopping */ });
    },
    setServices: (routes) => send({ op: 'services', services: routes }),
    dial,
    async forward(ip, port) {
      const server = createServer((client) => {
        track(client);
        client.on('error', () => client.destroy());
        client.pause();
        dial(ip, port).then((upstream) => {
          upstream.on('error', () => client.destroy());
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
          upstream.pipe(client);
          client.pipe(upstream);
          upstream.resume();
          client.resume();
        }, () => client.resetAndDestroy());
      });
      forwards.add(server);
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
      const address = server.address();
      return {
        port: typeof address === 'object' && address ? address.port : 0,
        close: () => { forwards.delete(server); server.close(); },
      };
    },
    stop,
  };
}
