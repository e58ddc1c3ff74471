// The inside of a local cluster's network namespace (started by cluster-network.ts as
// `unshare --net node netns-helper.mjs ...`, so this process holds the namespace). It plays the
// parts of the node's network that must listen or dial inside it:
// - egress: an HTTP CONNECT proxy on a Unix socket, the kube-apiserver's egress selector for the
//   "cluster" network (service and pod proxy, kubelet), as AKS's konnectivity agent is; the node
//   agent uses it for probes and for the host-side port forwards;
// - kube-proxy: one listener per Service ClusterIP and port, forwarding each connection to a ready
//   endpoint of the Service's EndpointSlices (the table comes from the node agent);
// - the outside world: each TCP port listening on the host's loopback (in the host's ephemeral
//   range: test servers, emulators, the git server) is mirrored on this namespace's 127.0.0.1 and
//   relayed to the host through a Unix socket, so Pods reach them at the same URL as the tests.
// Addresses (Pod IPs, ClusterIPs, the node's IP) live on this namespace's own lo.
//
// Usage: node netns-helper.mjs <dir> <host-pid>
//   <dir>/control.sock  JSON lines from the node agent: {id, op: 'addresses'|'services', ...} -> {id, ok|error}
//   <dir>/egress.sock   HTTP CONNECT <ip>:<port>
//   <dir>/host.sock     served by the host side: "<port>\n" then the bytes of a connection to 127.0.0.1:<port>
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const [dir, hostPidArg] = process.argv.slice(2);
const hostPid = Number(hostPidArg);
const log = (m) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);

execFileSync('ip', ['link', 'set', 'lo', 'up']);
// Outgoing connections in here take source ports outside the host's ephemeral range, which the
// mirrored host ports use.
const hostRange = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
writeFileSync('/proc/sys/net/ipv4/ip_local_port_range', '61000 64999');

/** Pipes two sockets together; either closing closes the other. */
function join2(a, b) {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

function toHost(port) {
  const s = connect(join(dir, 'host.sock'));
  s.write(`${port}\n`);
  return s;
}

// ---- addresses on lo: those the node agent asks for (Pod IPs, the node's) and the ClusterIPs
const addresses = new Set();
const wantedAddresses = new Set();
let serviceIps = new Set();
const refreshAddresses = () => setAddresses([...new Set([...wantedAddresses, ...serviceIps])]);
function setAddresses(ips) {
  const wanted = new Set(ips);
  for (const ip of wanted) {
    if (addresses.has(ip)) continue;
    execFileSync('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
    addresses.add(ip);
  }
  for (const ip of [...addresses]) {
    if (wanted.has(ip)) continue;
    try { execFileSync('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo'], { stdio: 'ignore' }); } catch { /* already gone */ }
    addresses.delete(ip);
  }
}

// ---- egress: HTTP CONNECT over a Unix socket
const egress = createServer((client) => {
  client.on('error', () => client.destroy());
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 8192) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    const m = /^CONNECT \[?([^\]\s]+?)\]?:(\d+) HTTP\/1\.[01]\r\n/.exec(head.toString('latin1'));
    if (!m) { client.end('HTTP/1.1 400 Bad Request\r\n\r\n'); return; }
    const rest = head.subarray(end + 4);
    const upstream = connect({ host: m[1], port: Number(m[2]) });
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (rest.length) upstream.write(rest);
      join2(client, upstream);
      client.resume();
    });
    upstream.once('error', (e) => {
      if (!client.destroyed) client.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\ndial ${m[1]}:${m[2]}: ${e.code ?? e.message}\n`);
    });
  };
  client.on('data', onData);
});

// ---- kube-proxy: ClusterIP:port -> a ready endpoint (or the host's API server)
/** key "ip:port" -> { server, entry } */
const serviceListeners = new Map();
let rr = 0;
function forwardService(client, entry) {
  client.on('error', () => client.destroy());
  client.pause();
  if (entry.hostPort) {
    join2(client, toHost(entry.hostPort));
    client.resume();
    return;
  }
  const targets = entry.targets ?? [];
  if (!targets.length) { client.resetAndDestroy(); return; }
  const start = rr++;
  const attempt = (i) => {
    if (i >= targets.length) { client.resetAndDestroy(); return; }
    const t = targets[(start + i) % targets.length];
    const upstream = connect({ host: t.ip, port: t.port });
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      join2(client, upstream);
      client.resume();
    });
    upstream.once('error', () => attempt(i + 1));
  };
  attempt(0);
}

async function setServices(services) {
  const wanted = new Map(services.map((s) => [`${s.ip}:${s.port}`, s]));
  for (const [key, l] of [...serviceListeners]) {
    if (wanted.has(key)) continue;
    l.server.close();
    serviceListeners.delete(key);
  }
  serviceIps = new Set(services.map((s) => s.ip));
  refreshAddresses();
  for (const [key, s] of wanted) {
    const existing = serviceListeners.get(key);
    if (existing) { existing.entry = s; continue; }
    const l = { entry: s, server: undefined };
    l.server = createServer((c) => forwardService(c, l.entry));
    serviceListeners.set(key, l);
    await new Promise((resolve) => {
      l.server.once('error', (e) => { log(`service ${key}: ${e.message}`); serviceListeners.delete(key); resolve(); });
      l.server.listen(s.port, s.ip, resolve);
    });
  }
}

// ---- mirrors of the host's loopback listeners
const mirrors = new Map();
function hostListeningPorts() {
  const ports = new Set();
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try { text = readFileSync(`/proc/${hostPid}/net/${file}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // LISTEN
      const [addr, portHex] = f[1].split(':');
      const port = parseInt(portHex, 16);
      if (port < hostRange[0] || port > hostRange[1]) continue;
      const loopbackOrAny = file === 'tcp'
        ? (addr === '0100007F' || addr === '00000000')
        : (/^0{32}$/.test(addr) || addr === '00000000000000000000000001000000' || addr === '0000000000000000FFFF00000100007F');
      if (loopbackOrAny) ports.add(port);
    }
  }
  return ports;
}
function syncMirrors() {
  const ports = hostListeningPorts();
  for (const [port, server] of [...mirrors]) {
    if (ports.has(port)) continue;
    server.close();
    mirrors.delete(port);
  }
  for (const port of ports) {
    if (mirrors.has(port)) continue;
    const server = createServer((c) => {
      c.on('error', () => c.destroy());
      join2(c, toHost(port));
    });
    server.on('error', () => { /* taken in here: leave it */ });
    server.listen(port, '127.0.0.1');
    mirrors.set(port, server);
  }
}
const mirrorTimer = setInterval(syncMirrors, 100);
syncMirrors();

// ---- control channel
const control = createServer((conn) => {
  let buffer = '';
  let chain = Promise.resolve();
  conn.setEncoding('utf8');
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      chain = chain.then(async () => {
        let msg;
        try {
          msg = JSON.parse(line);
          if (msg.op === 'addresses') {
            wantedAddresses.clear();
            for (const ip of msg.ips) wantedAddresses.add(ip);
            refreshAddresses();
          } else if (msg.op === 'services') {
            await setServices(msg.services);
          } else if (msg.op === 'mirrors') {
            syncMirrors();
          } else {
            throw new Error(`unknown op ${msg.op}`);
          }
          conn.write(`${JSON.stringify({ id: msg.id, ok: true })}\n`);
        } catch (e) {
          log(`control: ${e.stack ?? e}`);
          conn.write(`${JSON.stringify({ id: msg?.id, error: String(e.message ?? e) })}\n`);
        }
      });
    }
  });
});

for (const name of ['egress.sock', 'control.sock']) rmSync(join(dir, name), { force: true });
egress.listen(join(dir, 'egress.sock'));
control.listen(join(dir, 'control.sock'), () => log(`network namespace ready (pid ${process.pid})`));

const shutdown = () => {
  clearInterval(mirrorTimer);
  for (const s of [egress, control, ...mirrors.values(), ...[...serviceListeners.values()].map((l) => l.server)]) s.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
