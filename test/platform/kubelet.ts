// The kubelet's (and the deployment controller's) part, for the controllers the platform knows.
// It watches Deployments; when one runs an image of a known controller (controller-catalog.ts), it
// starts that controller's real binary with the Deployment's own arguments and environment, under
// the identity of the Deployment's ServiceAccount (a TokenRequest token, so the RBAC of the
// installed manifests is enforced), and reports the Deployment available once the container's
// readiness probe answers. A changed pod template restarts it; deletion or replicas: 0 stops it.
//
// What differs from a cluster, on purpose: no Pod or ReplicaSet objects exist; one process stands
// for all replicas; a template change stops the old process before starting the new one (so the
// Deployment is briefly unavailable even with a RollingUpdate strategy); minReadySeconds is
// ignored unless asked for. Deployments of other images get the status a cluster without nodes
// would give them: never available.
//
// Trust: on AKS, dev.azure.com and other Azure endpoints have publicly trusted certificates; here
// the Azure emulators' certificates come from a local CA. Every controller gets SSL_CERT_FILE (which
// Go's crypto/x509 reads on Linux instead of the system bundle) pointing at the system bundle plus
// that CA, so Flux reaches the emulated Azure DevOps as it reaches the real one: no ca.crt anywhere.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ensureEmulatorCa } from '../emulators/ca.js';
import { platformBinaries } from './binaries.js';
import { controllerForImage, type KnownController } from './controller-catalog.js';
import { startInformer } from './informer.js';
import type { KubeApi, KubeObject } from './kube-api.js';
import { freePort, sleep, startProcess, tailOf, type ManagedProcess } from './processes.js';
import { ServiceProxy } from './service-proxy.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string; containerName?: string; divisor?: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
interface Probe { httpGet?: { path?: string; port: number | string; scheme?: string }; tcpSocket?: { port: number | string } }
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  ports?: { containerPort: number; name?: string }[];
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}
interface Volume { name: string; emptyDir?: object; secret?: { secretName: string }; configMap?: { name: string } }
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[]; serviceAccountName?: string; serviceAccount?: string; volumes?: Volume[]; terminationGracePeriodSeconds?: number };
}
interface DeploymentCondition { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string; lastTransitionTime?: string }
export interface Deployment extends KubeObject {
  spec: { replicas?: number; template: PodTemplate; minReadySeconds?: number; strategy?: { type?: string } };
  status?: {
    observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number;
    availableReplicas?: number; unavailableReplicas?: number; conditions?: DeploymentCondition[];
  };
}

/** What a test needs to know about a running controller (serializable). */
export interface ControllerRuntimeInfo {
  namespace: string;
  name: string;
  controller: string;
  image: string;
  serviceAccount: string;
  podName: string;
  pid?: number;
  ready: boolean;
  restarts: number;
  /** Why it is not running, e.g. an unknown image tag or a missing ServiceAccount. */
  waiting?: string;
  logFile: string;
  /** The service-account token the process uses (as mounted in a pod: <dir>/token, ca.crt, namespace). */
  serviceAccountDir: string;
  /** Container port -> local port on 127.0.0.1. */
  ports: Record<string, number>;
  /** Named container port -> local port. */
  namedPorts: Record<string, number>;
  /** Listen flag as passed to the process, e.g. {"--listen-addr": "127.0.0.1:41234"}. */
  addresses: Record<string, string>;
  /** The full command line the process was started with. */
  argv: string[];
}

export interface KubeletOptions {
  api: KubeApi;
  server: string;
  apiPort: number;
  caPem: string;
  /** Where controller folders, logs and kubelet.json go. */
  dir: string;
  /** Report availability only after minReadySeconds, as the deployment controller does (slower). */
  honorMinReadySeconds?: boolean;
  /**
   * CA certificates (PEM files) the controllers trust besides the system's: they go, after the
   * system bundle, into the file SSL_CERT_FILE names. Default: the Azure emulators' CA.
   */
  trustedCaFiles?: string[];
}

export interface Kubelet {
  /** Resolves once the first list of Deployments has been handled. */
  synced: Promise<void>;
  /** A JSON file with ControllerRuntimeInfo[], rewritten on every change (for other processes). */
  stateFile: string;
  runtimes(): ControllerRuntimeInfo[];
  runtime(namespace: string, name: string): ControllerRuntimeInfo | undefined;
  stop(): Promise<void>;
}

const TOKEN_SECONDS = 3600;
/** Debian's and Ubuntu's bundle of the system's trusted roots (Go's first choice on Linux). */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** What controllers trust besides the system's roots unless told otherwise: the Azure emulators' CA. */
export function defaultTrustedCaFiles(): string[] {
  return [ensureEmulatorCa().caPath];
}

/** Writes the system bundle plus the given CA files into one file, for SSL_CERT_FILE. */
export function writeCaBundle(file: string, caFiles: string[]): string {
  const system = existsSync(SYSTEM_CA_BUNDLE) ? [SYSTEM_CA_BUNDLE] : [];
  const pems = [...system, ...caFiles].map((f) => readFileSync(f, 'utf8').trimEnd());
  writeFileSync(file, `${pems.join('\n')}\n`);
  return file;
}

interface Runtime {
  key: string;
  namespace: string;
  name: string;
  templateHash: string;
  controller: KnownController;
  container: Container;
  template: PodTemplate;
  dir: string;
  info: ControllerRuntimeInfo;
  process?: ManagedProcess;
  abort: AbortController;
  loop?: Promise<void>;
  readySince?: number;
}

const stableJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x)
  ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
const hashOf = (template: PodTemplate) => createHash('sha256').update(stableJson(template)).digest('hex').slice(0, 10);

export function startKubelet(opts: KubeletOptions): Kubelet {
  const { api } = opts;
  const bins = platformBinaries();
  mkdirSync(opts.dir, { recursive: true });
  const stateFile = join(opts.dir, 'kubelet.json');
  const caBundle = writeCaBundle(join(opts.dir, 'ca-certificates.crt'), opts.trustedCaFiles ?? defaultTrustedCaFiles());
  const logFile = join(opts.dir, 'kubelet.log');
  const log = (message: string) => {
    try { appendFileSync(logFile, `${new Date().toISOString()} ${message}\n`); } catch { /* folder already removed */ }
  };
  const abort = new AbortController();
  const runtimes = new Map<string, Runtime>();
  /** Local ports stay with a Deployment across restarts, so addresses handed out stay valid. */
  const portsByKey = new Map<string, Map<number, number>>();
  const latest = new Map<string, Deployment>();
  const queued = new Map<string, Deployment | null>();
  const working = new Map<string, Promise<void>>();
  let stopped = false;

  const proxy = new ServiceProxy(api, (namespace, selector, targetPort) => {
    for (const rt of runtimes.values()) {
      if (rt.namespace !== namespace || !rt.info.ready) continue;
      const labels = rt.template.metadata?.labels ?? {};
      if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
      const port = typeof targetPort === 'number' ? targetPort
        : rt.container.ports?.find((p) => p.name === targetPort)?.containerPort;
      const local = port !== undefined ? rt.info.ports[String(port)] : undefined;
      if (local) return local;
    }
    return undefined;
  });

  const publish = () => {
    if (stopped) return;
    const tmp = `${stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify([...runtimes.values()].map((r) => r.info), null, 2));
    renameSync(tmp, stateFile);
  };
  publish();

  const recordEvent = (dep: Deployment, type: 'Normal' | 'Warning', reason: string, message: string) => {
    const now = new Date().toISOString();
    void api.post(`/api/v1/namespaces/${dep.metadata.namespace}/events`, {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: `${dep.metadata.name}.`, namespace: dep.metadata.namespace },
      involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name, namespace: dep.metadata.namespace, uid: dep.metadata.uid },
      type, reason, message, count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component: 'kubelet', host: 'local-node' },
    }).catch(() => { /* events are best effort, as in a cluster */ });
  };

  const reportStatus = async (key: string) => {
    const dep = latest.get(key);
    if (!dep || dep.metadata.deletionTimestamp) return;
    const rt = runtimes.get(key);
    const replicas = dep.spec.replicas ?? 1;
    const hash = hashOf(dep.spec.template);
    const minReady = opts.honorMinReadySeconds ? (dep.spec.minReadySeconds ?? 0) * 1000 : 0;
    const ready = !!rt && rt.templateHash === hash && rt.info.ready;
    const available = ready && Date.now() - (rt?.readySince ?? 0) >= minReady;
    const rsName = `${dep.metadata.name}-${hash}`;
    const status: Record<string, unknown> = replicas === 0
      ? { observedGeneration: dep.metadata.generation, replicas: null, updatedReplicas: null, readyReplicas: null, availableReplicas: null, unavailableReplicas: null }
      : {
        observedGeneration: dep.metadata.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: ready ? replicas : null,
        availableReplicas: available ? replicas : null,
        unavailableReplicas: available ? null : replicas,
      };
    const isAvailable = replicas === 0 || available;
    const wanted: DeploymentCondition[] = [
      isAvailable
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      isAvailable
        ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }
        : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` },
    ];
    const current = dep.status ?? {};
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const conditions = wanted.map((c) => {
      const old = current.conditions?.find((o) => o.type === c.type);
      const sameStatus = old?.status === c.status;
      const same = sameStatus && old?.reason === c.reason && old?.message === c.message;
      return { ...c, lastUpdateTime: same ? old!.lastUpdateTime : now, lastTransitionTime: sameStatus ? old!.lastTransitionTime : now };
    });
    const unchanged = Object.entries(status).every(([k, v]) => ((current as Record<string, unknown>)[k] ?? null) === v)
      && conditions.length === (current.conditions?.length ?? 0)
      && conditions.every((c) => current.conditions?.some((o) => o.type === c.type && o.status === c.status && o.reason === c.reason && o.message === c.message));
    if (unchanged) return;
    try {
      const updated = await api.patch<Deployment>(
        `/apis/apps/v1/namespaces/${dep.metadata.namespace}/deployments/${dep.metadata.name}/status`,
        { status: { ...status, conditions } });
      if (latest.get(key)?.metadata.uid === updated.metadata.uid) latest.set(key, updated);
    } catch (e) {
      // The Deployment went away or changed meanwhile; the next event reports again.
      log(`status of ${key} not written: ${(e as Error).message}`);
    }
    if (!available && ready && minReady) setTimeout(() => void reportStatus(key), minReady + 50).unref();
  };

  const localPort = async (key: string, containerPort: number) => {
    let ports = portsByKey.get(key);
    if (!ports) portsByKey.set(key, ports = new Map());
    let local = ports.get(containerPort);
    if (!local) ports.set(containerPort, local = await freePort());
    return local;
  };

  const stopRuntime = async (key: string, reason: string) => {
    const rt = runtimes.get(key);
    if (!rt) return;
    runtimes.delete(key);
    rt.abort.abort();
    // Capped: healthy controllers exit within a second of SIGTERM; a stuck one should not stall tests.
    const grace = Math.min(rt.template.spec.terminationGracePeriodSeconds ?? 30, 5) * 1000;
    await rt.process?.stop(grace);
    await rt.loop;
    rmSync(rt.dir, { recursive: true, force: true });
    const dep = latest.get(key);
    if (dep) recordEvent(dep, 'Normal', 'Killing', `Stopping controller ${rt.controller.id} (${reason})`);
    publish();
  };

  const reconcile = async (key: string, dep: Deployment | null) => {
    if (!dep || dep.metadata.deletionTimestamp) {
      await stopRuntime(key, 'Deployment deleted');
      portsByKey.delete(key);
      latest.delete(key);
      return;
    }
    latest.set(key, dep);
    const replicas = dep.spec.replicas ?? 1;
    const hash = hashOf(dep.spec.template);
    const existing = runtimes.get(key);
    if (existing && (replicas === 0 || existing.templateHash !== hash)) {
      await stopRuntime(key, replicas === 0 ? 'scaled to 0' : 'pod template changed');
    }
    if (replicas > 0 && !runtimes.has(key)) {
      const found = dep.spec.template.spec.containers
        .map((c) => ({ c, m: controllerForImage(c.image) }))
        .find((x) => x.m);
      if (found?.m) {
        const rt = createRuntime(key, dep, hash, found.m.controller, found.c);
        runtimes.set(key, rt);
        if (!found.m.tagKnown) {
          rt.info.waiting = `ErrImagePull: the local platform runs ${found.m.controller.id} only as ${found.m.controller.tags.join(' or ')}, not ${found.c.image}`;
          recordEvent(dep, 'Warning', 'Failed', rt.info.waiting);
          publish();
        } else {
          rt.loop = supervise(rt);
        }
      }
    }
    await reportStatus(key);
  };

  const createRuntime = (key: string, dep: Deployment, hash: string, controller: KnownController, container: Container): Runtime => {
    const namespace = dep.metadata.namespace ?? 'default';
    const name = dep.metadata.name;
    const dir = join(opts.dir, `${namespace}_${name}_${hash}`);
    mkdirSync(dir, { recursive: true });
    const template = dep.spec.template;
    return {
      key, namespace, name, templateHash: hash, controller, container, template, dir,
      abort: new AbortController(),
      info: {
        namespace, name, controller: controller.id, image: container.image,
        serviceAccount: template.spec.serviceAccountName ?? template.spec.serviceAccount ?? 'default',
        podName: `${name}-${hash}-${randomBytes(3).toString('hex').slice(0, 5)}`,
        ready: false, restarts: 0,
        logFile: join(opts.dir, `${namespace}_${name}.log`),
        serviceAccountDir: join(dir, 'serviceaccount'),
        ports: {}, namedPorts: {}, addresses: {}, argv: [],
      },
    };
  };

  /** Starts the process, probes it, restarts it with back-off when it exits, until aborted. */
  const supervise = async (rt: Runtime): Promise<void> => {
    const signal = rt.abort.signal;
    let backoff = 1_000;
    const dep = () => latest.get(rt.key);
    while (!signal.aborted) {
      let launch: Awaited<ReturnType<typeof prepare>>;
      try {
        launch = await prepare(rt);
        rt.info.waiting = undefined;
      } catch (e) {
        rt.info.waiting = (e as Error).message;
        log(`${rt.key}: ${rt.info.waiting}`);
        publish();
        await sleep(1_000);
        continue;
      }
      if (signal.aborted) break;
      const proc = startProcess({ name: `${rt.controller.id} (${rt.namespace}/${rt.name})`, ...launch, logFile: rt.info.logFile, cwd: rt.dir });
      rt.process = proc;
      rt.info.pid = proc.pid;
      log(`${rt.key}: started ${rt.controller.id} pid ${proc.pid}: ${rt.info.argv.join(' ')}`);
      publish();
      const d = dep();
      if (d) recordEvent(d, 'Normal', 'Started', `Started controller ${rt.controller.id} (pid ${proc.pid}) as ${rt.info.serviceAccount}`);
      const refresh = setInterval(() => void writeToken(rt).catch(() => {}), TOKEN_SECONDS * 800);
      const ready = await probeUntilReady(rt, proc, signal);
      if (ready) {
        rt.info.ready = true;
        rt.readySince = Date.now();
        backoff = 1_000;
        publish();
        await reportStatus(rt.key);
      }
      await Promise.race([proc.exited, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
      clearInterval(refresh);
      rt.info.ready = false;
      if (signal.aborted) break;
      rt.info.restarts += 1;
      rt.info.pid = undefined;
      // A port chosen as free can be taken (e.g. as the source port of a connection) before the
      // controller binds it; a controller that never bound its ports gets new ones.
      if (!ready && /address already in use/.test(tailOf(rt.info.logFile, 4000))) {
        log(`${rt.key}: a port was taken before the controller could bind it; choosing new ports`);
        portsByKey.delete(rt.key);
      }
      rt.info.waiting = `CrashLoopBackOff: exited with ${await proc.exited}`;
      publish();
      const dd = dep();
      if (dd) recordEvent(dd, 'Warning', 'BackOff', `Controller ${rt.controller.id} exited (${await proc.exited}); restarting in ${backoff / 1000} s`);
      await reportStatus(rt.key);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 30_000);
    }
    rt.info.pid = undefined;
  };

  const writeToken = async (rt: Runtime) => {
    const res = await api.post<{ status: { token: string } }>(
      `/api/v1/namespaces/${rt.namespace}/serviceaccounts/${rt.info.serviceAccount}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: TOKEN_SECONDS } });
    const saDir = rt.info.serviceAccountDir;
    mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, 'token.tmp'), res.status.token, { mode: 0o600 });
    renameSync(join(saDir, 'token.tmp'), join(saDir, 'token'));
    return saDir;
  };

  /** Everything the process needs: identity files, volumes, environment and remapped arguments. */
  const prepare = async (rt: Runtime): Promise<{ command: string; args: string[]; env: Record<string, string> }> => {
    const { container, template, controller } = rt;
    const podSpec = template.spec;
    let saDir: string;
    try {
      saDir = await writeToken(rt);
    } catch (e) {
      throw new Error(`FailedCreate: cannot get a token for service account ${rt.namespace}/${rt.info.serviceAccount}: ${(e as Error).message}`);
    }
    writeFileSync(join(saDir, 'ca.crt'), opts.caPem);
    writeFileSync(join(saDir, 'namespace'), rt.namespace);

    // Volumes: each mount path becomes a folder of the runtime; paths in args and env follow.
    const mounts: [string, string][] = [];
    for (const m of container.volumeMounts ?? []) {
      const local = join(rt.dir, 'volumes', m.name);
      mkdirSync(local, { recursive: true });
      const vol = podSpec.volumes?.find((v) => v.name === m.name);
      const source = vol?.secret ? { path: `secrets/${vol.secret.secretName}`, b64: true }
        : vol?.configMap ? { path: `configmaps/${vol.configMap.name}`, b64: false } : undefined;
      if (source) {
        const obj = await api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${rt.namespace}/${source.path}`);
        for (const [k, v] of Object.entries(obj.data ?? {})) writeFileSync(join(local, k), source.b64 ? Buffer.from(v, 'base64') : v);
      }
      mounts.push([m.mountPath.replace(/\/+$/, ''), local]);
    }
    mounts.sort((a, b) => b[0].length - a[0].length);
    const remapPath = (value: string) => {
      for (const [mp, local] of mounts) if (value === mp || value.startsWith(`${mp}/`)) return local + value.slice(mp.length);
      return value;
    };
    const tmpDir = remapPath('/tmp') === '/tmp' ? join(rt.dir, 'tmp') : remapPath('/tmp');
    mkdirSync(tmpDir, { recursive: true });
    mkdirSync(join(rt.dir, 'home'), { recursive: true });

    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: rt.info.podName,
      HOME: join(rt.dir, 'home'),
      TMPDIR: tmpDir,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(opts.apiPort),
      KUBERNETES_SERVICE_PORT_HTTPS: String(opts.apiPort),
      // Before the container's own env and envFrom, so a Deployment that sets it wins.
      SSL_CERT_FILE: caBundle,
    };
    const expand = (s: string) => s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string | undefined) => (v === undefined ? '$' : env[v] ?? m));
    for (const from of container.envFrom ?? []) {
      const ref = from.configMapRef ?? from.secretRef;
      if (!ref) continue;
      const path = from.configMapRef ? `configmaps/${ref.name}` : `secrets/${ref.name}`;
      const obj = await api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${rt.namespace}/${path}`);
      if (!obj && !ref.optional) throw new Error(`CreateContainerConfigError: ${path} not found`);
      for (const [k, v] of Object.entries(obj?.data ?? {})) env[`${from.prefix ?? ''}${k}`] = from.secretRef ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    for (const e of container.env ?? []) {
      const value = e.value !== undefined ? expand(e.value) : await resolveEnvFrom(rt, e);
      if (value !== undefined) env[e.name] = remapPath(value);
    }

    // Ports: every listen flag binds 127.0.0.1 on a port of its own.
    const args = [...(container.command?.slice(1) ?? []), ...(container.args ?? [])].map(expand);
    rt.info.ports = {};
    rt.info.addresses = {};
    for (const lf of controller.listenFlags) {
      const value = flagValue(args, lf.flag) ?? lf.default;
      if (value === '0' || value === '') continue;
      const port = Number(value.slice(value.lastIndexOf(':') + 1));
      const address = `127.0.0.1:${await localPort(rt.key, port)}`;
      setFlag(args, lf.flag, address);
      rt.info.ports[String(port)] = Number(address.split(':')[1]);
      rt.info.addresses[lf.flag] = address;
    }
    for (const af of controller.advertiseFlags) {
      const address = rt.info.addresses[af.of];
      if (address) setFlag(args, af.flag, address);
    }
    rt.info.namedPorts = Object.fromEntries((container.ports ?? [])
      .filter((p) => p.name && rt.info.ports[String(p.containerPort)])
      .map((p) => [p.name!, rt.info.ports[String(p.containerPort)]!]));
    // Paths and cluster-DNS names in the remaining values.
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
      const [prefix, value] = eq > 0 ? [arg.slice(0, eq + 1), arg.slice(eq + 1)] : ['', arg];
      args[i] = prefix + await proxy.rewrite(remapPath(value));
    }

    // The in-cluster environment of a pod: rest.InClusterConfig() (Sealed Secrets supports nothing
    // else) and controller-runtime's leader election (it reads the namespace file) both rely on it.
    // A private mount namespace shows the service-account folder at its well-known path, leaving
    // the host's /run untouched. Needs root (CAP_SYS_ADMIN), as the platform runs in CI.
    const binary = bins[controller.binary];
    const script = 'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount'
      + ' && mount --bind "$0" /run/secrets/kubernetes.io/serviceaccount && exec "$@"';
    rt.info.argv = [binary, ...args];
    return { command: 'unshare', args: ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, saDir, binary, ...args], env };
  };

  const resolveEnvFrom = async (rt: Runtime, e: EnvVar): Promise<string | undefined> => {
    const from = e.valueFrom;
    if (!from) return '';
    if (from.fieldRef) {
      const path = from.fieldRef.fieldPath;
      const meta = rt.template.metadata ?? {};
      const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      if (label) return (label[1] === 'labels' ? meta.labels : meta.annotations)?.[label[2]!] ?? '';
      const fields: Record<string, string> = {
        'metadata.name': rt.info.podName,
        'metadata.namespace': rt.namespace,
        'metadata.uid': `00000000-0000-0000-0000-${rt.templateHash.padStart(12, '0')}`,
        'spec.nodeName': 'local-node',
        'spec.serviceAccountName': rt.info.serviceAccount,
        'status.hostIP': '127.0.0.1', 'status.hostIPs': '127.0.0.1',
        'status.podIP': '127.0.0.1', 'status.podIPs': '127.0.0.1',
      };
      return fields[path] ?? '';
    }
    if (from.resourceFieldRef) {
      const c = rt.template.spec.containers.find((x) => x.name === (from.resourceFieldRef!.containerName ?? rt.container.name)) ?? rt.container;
      const [kind, resource] = from.resourceFieldRef.resource.split('.') as ['limits' | 'requests', string];
      const raw = c.resources?.[kind]?.[resource];
      // The API server defaults an unset divisor to "0", which means 1.
      const divisor = quantity(from.resourceFieldRef.divisor ?? '1') || 1;
      // Unset limits resolve to the node's allocatable, as the kubelet does; take the host's.
      if (resource === 'memory') {
        const bytes = raw ? quantity(raw) : (await import('node:os')).totalmem();
        return String(Math.ceil(bytes / divisor));
      }
      const cores = raw ? quantity(raw) : (await import('node:os')).cpus().length;
      return String(Math.ceil(cores / divisor));
    }
    const ref = from.secretKeyRef ?? from.configMapKeyRef;
    if (ref) {
      const path = from.secretKeyRef ? `secrets/${ref.name}` : `configmaps/${ref.name}`;
      const obj = await api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${rt.namespace}/${path}`);
      const v = obj?.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) return undefined;
        throw new Error(`CreateContainerConfigError: key ${ref.key} of ${path} not found`);
      }
      return from.secretKeyRef ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    return '';
  };

  /** Runs the container's readiness probe until it passes; false if the process exited first. */
  const probeUntilReady = async (rt: Runtime, proc: ManagedProcess, signal: AbortSignal): Promise<boolean> => {
    const probe = rt.container.readinessProbe;
    const portOf = (p: number | string) => {
      const containerPort = typeof p === 'number' ? p : rt.container.ports?.find((x) => x.name === p)?.containerPort;
      return containerPort !== undefined ? rt.info.ports[String(containerPort)] : undefined;
    };
    const target = probe?.httpGet ? portOf(probe.httpGet.port) : probe?.tcpSocket ? portOf(probe.tcpSocket.port) : undefined;
    const started = Date.now();
    while (proc.running && !signal.aborted) {
      if (!target) {
        // No probe the platform can run: ready once the process has stayed up for a moment.
        if (Date.now() - started > 2_000) return true;
      } else if (probe?.httpGet ? await httpOk(target, probe.httpGet.path ?? '/') : await tcpOk(target)) {
        return true;
      }
      await sleep(250);
    }
    return false;
  };

  const enqueue = (key: string, dep: Deployment | null) => {
    if (stopped) return;
    queued.set(key, dep);
    if (working.has(key)) return;
    working.set(key, (async () => {
      while (queued.has(key) && !stopped) {
        const next = queued.get(key)!;
        queued.delete(key);
        try {
          await reconcile(key, next);
        } catch (e) {
          // Retried on the next event for this Deployment.
          log(`reconcile ${key} failed: ${(e as Error).stack ?? e}`);
        }
      }
      working.delete(key);
    })());
  };

  const keyOf = (d: KubeObject) => `${d.metadata.namespace}/${d.metadata.name}`;
  const informer = startInformer<Deployment>(api, '/apis/apps/v1/deployments', {
    onUpsert: (d) => enqueue(keyOf(d), d),
    onDelete: (d) => enqueue(keyOf(d), null),
  }, abort.signal);

  return {
    synced: informer.synced,
    stateFile,
    runtimes: () => [...runtimes.values()].map((r) => r.info),
    runtime: (namespace, name) => runtimes.get(`${namespace}/${name}`)?.info,
    async stop() {
      // No new work, let work in progress finish (it may have started a process), then stop all.
      abort.abort();
      await informer.done;
      stopped = true;
      await Promise.all(working.values());
      await Promise.all([...runtimes.keys()].map((k) => stopRuntime(k, 'platform stopping')));
      await proxy.stop();
    },
  };
}

function flagValue(args: string[], flag: string): string | undefined {
  const names = [flag, flag.replace(/^--/, '-')];
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const n of names) {
      if (a.startsWith(`${n}=`)) value = a.slice(n.length + 1);
      else if (a === n && i + 1 < args.length) value = args[i + 1];
    }
  }
  return value;
}

/** Sets every occurrence of the flag (the last one wins in pflag anyway), or appends it. */
function setFlag(args: string[], flag: string, value: string): void {
  const names = [flag, flag.replace(/^--/, '-')];
  let found = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const n of names) {
      if (a.startsWith(`${n}=`)) { args[i] = `${n}=${value}`; found = true; }
      else if (a === n && i + 1 < args.length) { args[i + 1] = value; found = true; }
    }
  }
  if (!found) args.push(`${flag}=${value}`);
}

/** A Kubernetes quantity ("1Gi", "500m", "64Mi", "2") as a number. */
export function quantity(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return Number(q);
  const units: Record<string, number> = {
    '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
  };
  return Number(m[1]) * (units[m[2]!] ?? 1);
}

function httpOk(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', timeout: 1_000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
