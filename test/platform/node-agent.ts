// The kubelet's part: one Node, and the Pods the real kube-scheduler binds to it, run as local
// processes. Deployments, ReplicaSets, rollouts, EndpointSlices and garbage collection are the
// real kube-controller-manager's; this agent only does what a kubelet does:
// - registers its Node (Ready, capacity, addresses) and renews its Lease in kube-node-lease;
// - for each Pod bound to it: gives it an IP of its own in the cluster's network namespace
//   (cluster-network.ts), starts each container whose image it knows (controller-catalog.ts) as
//   the real binary, with the Pod's service-account token (TokenRequest bound to the Pod) at
//   /run/secrets/kubernetes.io/serviceaccount, /etc/hosts and /etc/resolv.conf of the Pod's own,
//   and the container's args and environment; images it does not know stay in ErrImagePull;
// - reports phase, conditions, container states and restarts, and readiness from the container's
//   own readiness probe; restarts exited containers with back-off per restartPolicy;
// - on deletion sends SIGTERM, waits for the grace period, then SIGKILL, and removes the Pod;
// - plays kube-proxy and cluster DNS for its Pods: Service ClusterIPs forward to ready
//   endpoints of the EndpointSlices, and Service names resolve through each Pod's hosts file.
//
// What differs from a kubelet, on purpose, is in README.md ("What differs from AKS").
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ensureEmulatorCa } from '../emulators/ca.js';
import { platformBinaries } from './binaries.js';
import { NODE_IP, type ClusterNetwork, type ServiceRoute } from './cluster-network.js';
import { controllerForImage, type KnownController } from './controller-catalog.js';
import { startInformer } from './informer.js';
import { KubeApiError, type KubeApi, type KubeObject } from './kube-api.js';
import { sleep, startProcess, type ManagedProcess } from './processes.js';

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
interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string; host?: string };
  tcpSocket?: { port: number | string; host?: string };
  exec?: object;
  grpc?: object;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  ports?: { containerPort: number; name?: string; protocol?: string }[];
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}
interface Volume { name: string; emptyDir?: object; secret?: { secretName: string }; configMap?: { name: string }; projected?: object }
export interface Pod extends KubeObject {
  metadata: KubeObject['metadata'] & {
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    deletionGracePeriodSeconds?: number;
    creationTimestamp?: string;
  };
  spec: {
    nodeName?: string;
    containers: Container[];
    initContainers?: Container[];
    serviceAccountName?: string;
    volumes?: Volume[];
    terminationGracePeriodSeconds?: number;
    restartPolicy?: 'Always' | 'OnFailure' | 'Never';
    enableServiceLinks?: boolean;
    hostname?: string;
  };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
interface Service extends KubeObject {
  spec: { clusterIP?: string; type?: string; selector?: Record<string, string>; ports?: { name?: string; port: number; protocol?: string }[] };
}
interface EndpointSlice extends KubeObject {
  addressType: string;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
}

/** What a test needs to know about a Pod the agent runs (serializable). */
export interface ControllerRuntimeInfo {
  namespace: string;
  /** The Deployment (through its ReplicaSet), or the Pod's own name. */
  name: string;
  /** The catalog id of the program its first known container runs ('' for an image the platform does not know). */
  controller: string;
  image: string;
  serviceAccount: string;
  podName: string;
  pid?: number;
  ready: boolean;
  restarts: number;
  /** Why it is not running, e.g. ErrImagePull for an image tag the platform does not build. */
  waiting?: string;
  logFile: string;
  /** The Pod's service-account folder (token, ca.crt, namespace), mounted at /run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir: string;
  /** Container port -> a port on the host's 127.0.0.1 forwarded to it (as `kubectl port-forward` gives). */
  ports: Record<string, number>;
  /** Named container port -> forwarded host port. */
  namedPorts: Record<string, number>;
  /** Listen flag -> host address forwarded to it, e.g. {"--listen-addr": "127.0.0.1:41234"}. */
  addresses: Record<string, string>;
  /** The command line the container's process was started with (inside the Pod). */
  argv: string[];
}

export interface PodRuntimeInfo extends ControllerRuntimeInfo {
  /** The Pod's own IP in the cluster's network namespace. */
  podIP?: string;
  podUid: string;
  createdAt: string;
  /** Being deleted (SIGTERM sent, waiting for the grace period). */
  terminating: boolean;
}

export interface NodeAgentOptions {
  api: KubeApi;
  caPem: string;
  /** The API server's port on the host's loopback (behind the Service `kubernetes`). */
  apiPort: number;
  network: ClusterNetwork;
  /** Where Pod folders, logs and node-agent.json go. */
  dir: string;
  nodeName?: string;
  /** CA files the containers trust besides the system's (SSL_CERT_FILE); default: the Azure emulators' CA. */
  trustedCaFiles?: string[];
}

export interface NodeAgent {
  nodeName: string;
  /** Resolves once the Node is registered and the first lists have been handled. */
  synced: Promise<void>;
  /** A JSON file with PodRuntimeInfo[], rewritten on every change (for other processes). */
  stateFile: string;
  runtimes(): PodRuntimeInfo[];
  /** The Pod of a Deployment (or the Pod of that name) that serves: see pickRuntime(). */
  runtime(namespace: string, name: string): PodRuntimeInfo | undefined;
  stop(): Promise<void>;
}

/**
 * The Pod a test most likely means by a Deployment's name: one not being deleted, ready before
 * not ready, newest first (during a rollout, the new Pod once it is ready).
 */
export function pickRuntime<T extends ControllerRuntimeInfo & Partial<PodRuntimeInfo>>(all: T[], namespace: string, name: string): T | undefined {
  const candidates = all.filter((r) => r.namespace === namespace && (r.name === name || r.podName === name));
  const score = (r: T) => (r.terminating ? 0 : 2) + (r.ready ? 1 : 0);
  return candidates.sort((a, b) => score(b) - score(a) || (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))[0];
}

const TOKEN_SECONDS = 3607;
/** Debian's and Ubuntu's bundle of the system's trusted roots (Go's first choice on Linux). */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** What containers trust besides the system's roots unless told otherwise: the Azure emulators' CA. */
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

/** A Kubernetes quantity ("1Gi", "500m", "64Mi", "2") as a number. */
export function quantity(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return Number(q);
  const units: Record<string, number> = {
    '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
  };
  return Number(m[1]) * (units[m[2]!] ?? 1);
}
const DEFAULT_RESTART_BACKOFF_MS = 1_000;
const MAX_RESTART_BACKOFF_MS = 30_000;
const CLUSTER_DOMAIN = 'cluster.local';

interface ContainerRun {
  spec: Container;
  controller?: KnownController;
  /** Why it cannot run (unknown image or tag). */
  imageError?: string;
  process?: ManagedProcess;
  started: boolean;
  ready: boolean;
  restarts: number;
  state: Record<string, unknown>;
  lastState: Record<string, unknown>;
  logFile: string;
  argv: string[];
  loop?: Promise<void>;
}

interface PodRun {
  key: string;
  uid: string;
  namespace: string;
  name: string;
  pod: Pod;
  owner: string;
  dir: string;
  ip?: string;
  containers: ContainerRun[];
  forwards: Map<number, { port: number; close(): void }>;
  abort: AbortController;
  started?: Promise<void>;
  terminating?: Promise<void>;
  hostsFile: string;
  saDir: string;
  startTime: string;
  statusChain: Promise<void>;
  lastStatus?: string;
  gone: boolean;
}

const stable = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x)
  ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const { api, network } = opts;
  const nodeName = opts.nodeName ?? 'aks-nodepool1-00000000-vmss000000';
  const bins = platformBinaries();
  mkdirSync(opts.dir, { recursive: true });
  const stateFile = join(opts.dir, 'node-agent.json');
  const caBundle = writeCaBundle(join(opts.dir, 'ca-certificates.crt'), opts.trustedCaFiles ?? defaultTrustedCaFiles());
  const logFile = join(opts.dir, 'node-agent.log');
  const log = (message: string) => {
    try { appendFileSync(logFile, `${new Date().toISOString()} ${message}\n`); } catch { /* folder already removed */ }
  };
  const abort = new AbortController();
  const pods = new Map<string, PodRun>(); // by uid
  let stopping = false;

  const publish = () => {
    if (stopping) return;
    const tmp = `${stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify([...pods.values()].map(infoOf), null, 2));
    renameSync(tmp, stateFile);
  };

  // ---- the Node and its heartbeat
  const nodeStatus = () => {
    const cpu = String(Math.max(cpus().length, 8));
    const memory = `${Math.floor(totalmem() / 1024)}Ki`;
    const capacity = { cpu, memory, pods: '110', 'ephemeral-storage': '128Gi' };
    const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now(), lastTransitionTime: startedAt });
    return {
      capacity,
      allocatable: capacity,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status (local platform node agent)'),
      ],
      addresses: [{ type: 'InternalIP', address: NODE_IP }, { type: 'Hostname', address: nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: createHash('md5').update(nodeName).digest('hex'), systemUUID: createHash('md5').update(`uuid-${nodeName}`).digest('hex'),
        bootID: createHash('md5').update(startedAt).digest('hex'),
        kernelVersion: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), osImage: 'Local platform node agent',
        containerRuntimeVersion: 'local-process://1.0.0', kubeletVersion: 'v1.36.3', kubeProxyVersion: 'v1.36.3',
        operatingSystem: 'linux', architecture: 'amd64',
      },
    };
  };
  const startedAt = now();
  const registerNode = async () => {
    const labels = {
      'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'Standard_D4s_v5', agentpool: 'nodepool1', 'kubernetes.azure.com/mode': 'system',
    };
    try {
      await api.post('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels }, spec: {} });
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    }
    await api.patch(`/api/v1/nodes/${nodeName}/status`, { status: nodeStatus() }, 'strategic');
  };
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`;
  const renewLease = async () => {
    const spec = { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') };
    try {
      await api.patch(leasePath, { spec }, 'merge');
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
      await api.post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name: nodeName }, spec,
      });
    }
  };
  await registerNode();
  await renewLease();
  let beats = 0;
  const heartbeat = setInterval(() => {
    beats += 1;
    void renewLease().catch((e) => log(`lease: ${(e as Error).message}`));
    // The Node's status is re-posted now and then as a kubelet does (its conditions' heartbeat).
    if (beats % 6 === 0) void api.patch(`/api/v1/nodes/${nodeName}/status`, { status: nodeStatus() }, 'strategic').catch((e) => log(`node status: ${(e as Error).message}`));
  }, 10_000);

  // ---- Services, EndpointSlices: kube-proxy routes, hosts files, service links
  const services = startInformer<Service>(api, '/api/v1/services', { onUpsert: () => scheduleNetwork(), onDelete: () => scheduleNetwork() }, abort.signal);
  const slices = startInformer<EndpointSlice>(api, '/apis/discovery.k8s.io/v1/endpointslices', { onUpsert: () => scheduleNetwork(), onDelete: () => scheduleNetwork() }, abort.signal);
  let networkTimer: NodeJS.Timeout | undefined;
  let networkChain = Promise.resolve();
  let lastRoutes = '';
  const scheduleNetwork = () => {
    clearTimeout(networkTimer);
    networkTimer = setTimeout(() => { networkChain = networkChain.then(syncNetwork).catch((e) => log(`network: ${(e as Error).stack ?? e}`)); }, 30);
  };
  const readyEndpoints = (svc: Service) => {
    const ns = svc.metadata.namespace;
    const mine = [...slices.cache.values()].filter((s) => s.metadata.namespace === ns
      && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name && s.addressType === 'IPv4');
    return mine.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false)
      .flatMap((e) => e.addresses.map((ip) => ({ ip, ports: s.ports ?? [] }))));
  };
  const syncNetwork = async () => {
    const routes: ServiceRoute[] = [];
    for (const svc of services.cache.values()) {
      const ip = svc.spec.clusterIP;
      if (!ip || ip === 'None') continue;
      for (const p of svc.spec.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        if (svc.metadata.namespace === 'default' && svc.metadata.name === 'kubernetes') {
          routes.push({ ip, port: p.port, hostPort: opts.apiPort });
          continue;
        }
        const targets = readyEndpoints(svc).flatMap((e) => e.ports.filter((sp) => (sp.name ?? '') === (p.name ?? '') && sp.port)
          .map((sp) => ({ ip: e.ip, port: sp.port! })));
        routes.push({ ip, port: p.port, targets });
      }
    }
    const key = stable(routes);
    if (key !== lastRoutes) {
      await network.setServices(routes);
      lastRoutes = key;
    }
    for (const run of pods.values()) if (run.ip && !run.gone) writeHosts(run);
  };

  /** The names a Pod of `namespace` resolves, as cluster DNS would answer them (search domains included). */
  const hostsLines = (namespace: string): string[] => {
    const lines: string[] = [];
    for (const svc of services.cache.values()) {
      const { name, namespace: ns } = svc.metadata;
      const names = [`${name}.${ns}.svc.${CLUSTER_DOMAIN}`, `${name}.${ns}.svc`, `${name}.${ns}`, ...(ns === namespace ? [name] : [])];
      const ip = svc.spec.clusterIP;
      const ips = ip && ip !== 'None' ? [ip] : [...new Set(readyEndpoints(svc).map((e) => e.ip))];
      for (const a of ips) lines.push(`${a}\t${names.join(' ')}`);
    }
    return lines.sort();
  };
  const writeHosts = (run: PodRun) => {
    const text = [
      '# Kubernetes-managed hosts file (local platform: Service names, following Services and EndpointSlices).',
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      `${run.ip}\t${hostnameOf(run.pod)}`,
      ...hostsLines(run.namespace),
      '',
    ].join('\n');
    // In place (same inode): the file is bind-mounted into the Pod's mount namespace.
    try { if (!existsSync(run.hostsFile) || readFileSync(run.hostsFile, 'utf8') !== text) writeFileSync(run.hostsFile, text); } catch { /* pod going away */ }
  };

  /** Docker-link style variables of the Services in the Pod's namespace, and always those of `kubernetes`. */
  const serviceEnv = (pod: Pod): Record<string, string> => {
    const env: Record<string, string> = {};
    const links = pod.spec.enableServiceLinks !== false;
    for (const svc of services.cache.values()) {
      const master = svc.metadata.namespace === 'default' && svc.metadata.name === 'kubernetes';
      if (!master && !(links && svc.metadata.namespace === pod.metadata.namespace)) continue;
      const ip = svc.spec.clusterIP;
      if (!ip || ip === 'None' || !svc.spec.ports?.length) continue;
      const prefix = svc.metadata.name.toUpperCase().replace(/-/g, '_');
      const first = svc.spec.ports[0]!;
      env[`${prefix}_SERVICE_HOST`] = ip;
      env[`${prefix}_SERVICE_PORT`] = String(first.port);
      env[`${prefix}_PORT`] = `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`;
      for (const p of svc.spec.ports) {
        const proto = (p.protocol ?? 'TCP');
        if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
        const base = `${prefix}_PORT_${p.port}_${proto}`;
        env[base] = `${proto.toLowerCase()}://${ip}:${p.port}`;
        env[`${base}_PROTO`] = proto.toLowerCase();
        env[`${base}_PORT`] = String(p.port);
        env[`${base}_ADDR`] = ip;
      }
    }
    return env;
  };

  // ---- events
  const recordEvent = (run: PodRun, type: 'Normal' | 'Warning', reason: string, message: string, container?: string) => {
    const ts = new Date().toISOString();
    void api.post(`/api/v1/namespaces/${run.namespace}/events`, {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: `${run.name}.`, namespace: run.namespace },
      involvedObject: {
        apiVersion: 'v1', kind: 'Pod', name: run.name, namespace: run.namespace, uid: run.uid,
        ...(container ? { fieldPath: `spec.containers{${container}}` } : {}),
      },
      type, reason, message, count: 1, firstTimestamp: ts, lastTimestamp: ts,
      source: { component: 'kubelet', host: nodeName }, reportingComponent: 'kubelet', reportingInstance: nodeName,
    }).catch(() => { /* events are best effort, as in a cluster */ });
  };

  // ---- status
  const statusOf = (run: PodRun) => {
    const containers = run.containers;
    const allReady = containers.length > 0 && containers.every((c) => c.ready);
    const allStarted = containers.every((c) => c.started || 'terminated' in c.state);
    const restartPolicy = run.pod.spec.restartPolicy ?? 'Always';
    const terminated = containers.every((c) => 'terminated' in c.state) && restartPolicy !== 'Always';
    const failed = terminated && containers.some((c) => ((c.state.terminated as { exitCode?: number }).exitCode ?? 0) !== 0);
    const phase = terminated ? (failed ? 'Failed' : 'Succeeded') : allStarted && run.ip ? 'Running' : 'Pending';
    const notReady = containers.filter((c) => !c.ready).map((c) => c.spec.name);
    const cond = (type: string, ok: boolean, reason?: string, message?: string) => {
      const old = run.pod.status?.conditions?.find((c) => c.type === type) as Record<string, unknown> | undefined;
      const status = ok ? 'True' : 'False';
      return {
        type, status, ...(reason && !ok ? { reason, message } : {}),
        lastProbeTime: null,
        lastTransitionTime: old?.status === status ? old.lastTransitionTime : now(),
      };
    };
    return {
      phase,
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      ...(run.ip ? { podIP: run.ip, podIPs: [{ ip: run.ip }] } : {}),
      startTime: run.startTime,
      conditions: [
        cond('PodReadyToStartContainers', !!run.ip),
        cond('Initialized', true),
        cond('ContainersReady', allReady, 'ContainersNotReady', `containers with unready status: [${notReady.join(' ')}]`),
        cond('Ready', allReady, 'ContainersNotReady', `containers with unready status: [${notReady.join(' ')}]`),
      ],
      containerStatuses: containers.map((c) => ({
        name: c.spec.name,
        image: c.spec.image,
        imageID: c.controller && !c.imageError ? `local-platform://${c.controller.binary}@${c.spec.image}` : '',
        ...(c.process ? { containerID: `local-process://${c.process.pid}` } : {}),
        ready: c.ready,
        started: c.started,
        restartCount: c.restarts,
        state: c.state,
        lastState: c.lastState,
      })),
    };
  };
  const syncStatus = (run: PodRun) => {
    run.statusChain = run.statusChain.then(async () => {
      if (run.gone || stopping) return;
      const status = statusOf(run);
      const key = stable({ ...status, conditions: status.conditions.map(({ lastTransitionTime: _t, ...c }) => c) });
      if (key === run.lastStatus) return;
      try {
        const updated = await api.patch<Pod>(`/api/v1/namespaces/${run.namespace}/pods/${run.name}/status`, { status }, 'strategic');
        run.lastStatus = key;
        if (updated.metadata.uid === run.uid) run.pod = updated;
      } catch (e) {
        if (!(e instanceof KubeApiError && (e.status === 404 || e.status === 409))) log(`status of ${run.key}: ${(e as Error).message}`);
      }
    });
    publish();
    return run.statusChain;
  };

  const infoOf = (run: PodRun): PodRuntimeInfo => {
    const c = run.containers.find((x) => x.controller) ?? run.containers[0];
    const ports: Record<string, number> = {};
    for (const [p, f] of run.forwards) ports[String(p)] = f.port;
    const addresses: Record<string, string> = {};
    const listen = c?.controller?.listenFlags ?? [];
    for (const lf of listen) {
      const value = flagValue(c!.argv.slice(1), lf.flag);
      const port = value ? Number(value.slice(value.lastIndexOf(':') + 1)) : NaN;
      if (ports[String(port)]) addresses[lf.flag] = `127.0.0.1:${ports[String(port)]}`;
    }
    const namedPorts = Object.fromEntries((c?.spec.ports ?? []).filter((p) => p.name && ports[String(p.containerPort)])
      .map((p) => [p.name!, ports[String(p.containerPort)]!]));
    const waiting = c?.state.waiting as { reason?: string; message?: string } | undefined;
    return {
      namespace: run.namespace,
      name: run.owner,
      podName: run.name,
      podUid: run.uid,
      podIP: run.ip,
      createdAt: run.pod.metadata.creationTimestamp ?? '',
      terminating: !!run.terminating,
      controller: c?.controller?.id ?? '',
      image: c?.spec.image ?? '',
      serviceAccount: run.pod.spec.serviceAccountName ?? 'default',
      pid: c?.process?.running ? c.process.pid : undefined,
      ready: !!c?.ready && !run.terminating,
      restarts: c?.restarts ?? 0,
      waiting: waiting ? `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` : undefined,
      logFile: c?.logFile ?? '',
      serviceAccountDir: run.saDir,
      ports,
      namedPorts,
      addresses,
      argv: c?.argv ?? [],
    };
  };

  // ---- running a Pod
  const writeToken = async (run: PodRun) => {
    const sa = run.pod.spec.serviceAccountName ?? 'default';
    const res = await api.post<{ status: { token: string } }>(`/api/v1/namespaces/${run.namespace}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: { expirationSeconds: TOKEN_SECONDS, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: run.name, uid: run.uid } },
    });
    mkdirSync(run.saDir, { recursive: true });
    writeFileSync(join(run.saDir, 'token.tmp'), res.status.token, { mode: 0o600 });
    renameSync(join(run.saDir, 'token.tmp'), join(run.saDir, 'token'));
    writeFileSync(join(run.saDir, 'ca.crt'), opts.caPem);
    writeFileSync(join(run.saDir, 'namespace'), run.namespace);
  };

  const forwardPort = async (run: PodRun, port: number) => {
    if (run.forwards.has(port) || !run.ip) return;
    const f = await network.forward(run.ip, port);
    if (run.gone) { f.close(); return; }
    run.forwards.set(port, f);
  };

  const startPod = async (run: PodRun) => {
    await Promise.all([services.synced, slices.synced]);
    run.ip = await network.allocatePodIp();
    if (run.abort.signal.aborted) return;
    mkdirSync(run.dir, { recursive: true });
    writeHosts(run);
    writeFileSync(join(run.dir, 'resolv.conf'), [
      `search ${run.namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}`,
      // Nothing answers there: names resolve through the Pod's hosts file or not at all.
      'nameserver 127.0.0.53',
      'options ndots:5',
      '',
    ].join('\n'));
    for (const c of run.containers) {
      for (const p of c.spec.ports ?? []) if ((p.protocol ?? 'TCP') === 'TCP') await forwardPort(run, p.containerPort);
    }
    await syncStatus(run);
    for (;;) {
      try {
        await writeToken(run);
        break;
      } catch (e) {
        for (const c of run.containers) c.state = { waiting: { reason: 'CreateContainerConfigError', message: `cannot get a token for service account ${run.pod.spec.serviceAccountName ?? 'default'}: ${(e as Error).message}` } };
        await syncStatus(run);
        // Retried as a kubelet would, on its next sync.
        await sleep(2_000);
        if (run.abort.signal.aborted) return;
      }
    }
    for (const c of run.containers) if (!c.imageError) c.state = { waiting: { reason: 'ContainerCreating' } };
    const refresh = setInterval(() => void writeToken(run).catch((e) => log(`token of ${run.key}: ${(e as Error).message}`)), TOKEN_SECONDS * 800);
    run.abort.signal.addEventListener('abort', () => clearInterval(refresh), { once: true });
    for (const c of run.containers) {
      if (c.imageError) {
        c.state = { waiting: { reason: 'ErrImagePull', message: c.imageError } };
        recordEvent(run, 'Warning', 'Failed', `Failed to pull image "${c.spec.image}": ${c.imageError}`, c.spec.name);
        continue;
      }
      recordEvent(run, 'Normal', 'Pulled', `Container image "${c.spec.image}" already present on machine`, c.spec.name);
      c.loop = supervise(run, c);
    }
    await syncStatus(run);
  };

  /** Starts the container, probes it, restarts it with back-off as restartPolicy says, until the Pod goes. */
  const supervise = async (run: PodRun, c: ContainerRun): Promise<void> => {
    const signal = run.abort.signal;
    let backoff = DEFAULT_RESTART_BACKOFF_MS;
    const restartPolicy = run.pod.spec.restartPolicy ?? 'Always';
    while (!signal.aborted) {
      let launch: Awaited<ReturnType<typeof prepare>>;
      try {
        launch = await prepare(run, c);
      } catch (e) {
        c.state = { waiting: { reason: 'CreateContainerConfigError', message: (e as Error).message } };
        log(`${run.key}/${c.spec.name}: ${(e as Error).message}`);
        await syncStatus(run);
        await sleep(1_000);
        continue;
      }
      if (signal.aborted) break;
      const proc = startProcess({ name: `${c.spec.name} (${run.namespace}/${run.name})`, ...launch, logFile: c.logFile, cwd: run.dir });
      c.process = proc;
      c.started = true;
      c.state = { running: { startedAt: now() } };
      log(`${run.key}/${c.spec.name}: started pid ${proc.pid}: ${c.argv.join(' ')}`);
      recordEvent(run, 'Normal', 'Created', `Created container: ${c.spec.name}`, c.spec.name);
      recordEvent(run, 'Normal', 'Started', `Started container ${c.spec.name} (${c.controller!.id}, pid ${proc.pid})`, c.spec.name);
      await syncStatus(run);
      const probing = probeWhileRunning(run, c, proc, signal);
      const code = await proc.exited;
      await probing;
      c.ready = false;
      c.process = undefined;
      if (signal.aborted) break;
      const exitCode = typeof code === 'number' ? code : 137;
      const terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: (c.state.running as { startedAt: string }).startedAt, finishedAt: now() };
      const restart = restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && exitCode !== 0);
      if (!restart) {
        c.state = { terminated };
        await syncStatus(run);
        break;
      }
      c.lastState = { terminated };
      c.restarts += 1;
      c.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoff / 1000}s restarting failed container=${c.spec.name} pod=${run.name}_${run.namespace}(${run.uid})` } };
      recordEvent(run, 'Warning', 'BackOff', `Back-off restarting failed container ${c.spec.name} in pod ${run.name}_${run.namespace}(${run.uid}) (exit ${code})`, c.spec.name);
      await syncStatus(run);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, MAX_RESTART_BACKOFF_MS);
    }
  };

  /**
   * Readiness from the container's probe: until the first success every 250 ms (a kubelet waits
   * periodSeconds, 10 s by default, between tries), then every periodSeconds, Unready after
   * failureThreshold failures in a row. Without a probe (or with an exec/grpc one, which the
   * agent cannot run), ready once started.
   */
  const probeWhileRunning = async (run: PodRun, c: ContainerRun, proc: ManagedProcess, signal: AbortSignal) => {
    const probe = c.spec.readinessProbe;
    const runnable = probe && (probe.httpGet || probe.tcpSocket);
    const exited = proc.exited.then(() => undefined);
    const aborted = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    const wait = (ms: number) => Promise.race([sleep(ms), exited, aborted]);
    if (!runnable) {
      c.ready = true;
      await syncStatus(run);
      return;
    }
    await wait((probe.initialDelaySeconds ?? 0) * 1000);
    let failures = 0;
    let successes = 0;
    while (proc.running && !signal.aborted) {
      const ok = await runProbe(run, c, probe);
      if (!proc.running || signal.aborted) break;
      if (ok) {
        failures = 0;
        successes += 1;
        if (!c.ready && successes >= (probe.successThreshold ?? 1)) {
          c.ready = true;
          await syncStatus(run);
        }
      } else {
        successes = 0;
        failures += 1;
        if (c.ready && failures >= (probe.failureThreshold ?? 3)) {
          c.ready = false;
          recordEvent(run, 'Warning', 'Unhealthy', 'Readiness probe failed', c.spec.name);
          await syncStatus(run);
        }
      }
      await wait(c.ready ? (probe.periodSeconds ?? 10) * 1000 : 250);
    }
  };

  const runProbe = async (run: PodRun, c: ContainerRun, probe: Probe): Promise<boolean> => {
    const portOf = (p: number | string) => (typeof p === 'number' ? p : /^\d+$/.test(p) ? Number(p) : c.spec.ports?.find((x) => x.name === p)?.containerPort);
    const target = probe.httpGet ?? probe.tcpSocket!;
    const port = portOf(target.port);
    if (!port || !run.ip) return false;
    const timeoutMs = Math.max(probe.timeoutSeconds ?? 1, 2) * 1000;
    let socket;
    try {
      socket = await network.dial(target.host ?? run.ip, port, timeoutMs);
    } catch {
      return false;
    }
    if (!probe.httpGet) { socket.destroy(); return true; }
    const http = probe.httpGet;
    const stream = http.scheme === 'HTTPS' ? tlsConnect({ socket, rejectUnauthorized: false, servername: undefined }) : socket;
    return new Promise<boolean>((resolve) => {
      let head = '';
      const timer = setTimeout(() => { stream.destroy(); resolve(false); }, timeoutMs);
      stream.on('error', () => { clearTimeout(timer); resolve(false); });
      stream.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (m || head.length > 64) {
          clearTimeout(timer);
          stream.destroy();
          const code = m ? Number(m[1]) : 0;
          resolve(code >= 200 && code < 400);
        }
      });
      stream.on('close', () => { clearTimeout(timer); resolve(false); });
      stream.write(`GET ${http.path ?? '/'} HTTP/1.1\r\nHost: ${run.ip}:${port}\r\nUser-Agent: kube-probe/1.36\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
      socket.resume();
    });
  };

  /** Everything the process needs: volumes, environment, arguments and the in-Pod view of the filesystem. */
  const prepare = async (run: PodRun, c: ContainerRun): Promise<{ command: string; args: string[]; env: Record<string, string> }> => {
    const container = c.spec;
    const podSpec = run.pod.spec;
    const controller = c.controller!;
    // Volumes: each mount path becomes a folder of the Pod; paths in args and env follow.
    const mounts: [string, string][] = [];
    for (const m of container.volumeMounts ?? []) {
      const vol = podSpec.volumes?.find((v) => v.name === m.name);
      if (vol?.projected) continue; // the service-account volume: mounted at its path below
      const local = join(run.dir, 'volumes', m.name);
      mkdirSync(local, { recursive: true });
      const source = vol?.secret ? { path: `secrets/${vol.secret.secretName}`, b64: true }
        : vol?.configMap ? { path: `configmaps/${vol.configMap.name}`, b64: false } : undefined;
      if (source) {
        const obj = await api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${run.namespace}/${source.path}`);
        for (const [k, v] of Object.entries(obj.data ?? {})) writeFileSync(join(local, k), source.b64 ? Buffer.from(v, 'base64') : v);
      }
      mounts.push([m.mountPath.replace(/\/+$/, ''), local]);
    }
    mounts.sort((a, b) => b[0].length - a[0].length);
    const remapPath = (value: string) => {
      for (const [mp, local] of mounts) if (value === mp || value.startsWith(`${mp}/`)) return local + value.slice(mp.length);
      return value;
    };
    const tmpDir = remapPath('/tmp') === '/tmp' ? join(run.dir, 'tmp') : remapPath('/tmp');
    mkdirSync(tmpDir, { recursive: true });
    mkdirSync(join(run.dir, 'home'), { recursive: true });

    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: hostnameOf(run.pod),
      HOME: join(run.dir, 'home'),
      TMPDIR: tmpDir,
      ...serviceEnv(run.pod),
      // Before the container's own env and envFrom, so a Pod that sets it wins.
      SSL_CERT_FILE: caBundle,
    };
    const expand = (s: string) => s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string | undefined) => (v === undefined ? '$' : env[v] ?? m));
    for (const from of container.envFrom ?? []) {
      const ref = from.configMapRef ?? from.secretRef;
      if (!ref) continue;
      const path = from.configMapRef ? `configmaps/${ref.name}` : `secrets/${ref.name}`;
      const obj = await api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${run.namespace}/${path}`);
      if (!obj && !ref.optional) throw new Error(`${path} not found`);
      for (const [k, v] of Object.entries(obj?.data ?? {})) env[`${from.prefix ?? ''}${k}`] = from.secretRef ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    for (const e of container.env ?? []) {
      const value = e.value !== undefined ? expand(e.value) : await resolveEnvFrom(run, c, e);
      if (value !== undefined) env[e.name] = remapPath(value);
    }

    // Every Pod shares the node's network namespace here, each on its own IP: a listen address
    // without a host (":8080", all interfaces in a Pod of its own) is bound to the Pod's IP.
    const args = [...(container.command?.slice(1) ?? []), ...(container.args ?? [])].map(expand);
    for (const lf of controller.listenFlags) {
      const value = flagValue(args, lf.flag) ?? lf.default;
      if (value === '0' || value === '') continue;
      const port = Number(value.slice(value.lastIndexOf(':') + 1));
      setFlag(args, lf.flag, `${run.ip}:${port}`);
      await forwardPort(run, port);
    }
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
      args[i] = eq > 0 ? arg.slice(0, eq + 1) + remapPath(arg.slice(eq + 1)) : remapPath(arg);
    }

    // The Pod's view of the filesystem: a private mount namespace with the service-account
    // folder at its well-known path (rest.InClusterConfig() reads it; Sealed Secrets supports
    // nothing else), the Pod's /etc/hosts and /etc/resolv.conf, and its hostname.
    const binary = bins[controller.binary];
    const script = 'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount'
      + ' && mount --bind "$0" /run/secrets/kubernetes.io/serviceaccount && mount --bind "$1" /etc/hosts'
      + ' && mount --bind "$2" /etc/resolv.conf && hostname "$3" && shift 3 && exec "$@"';
    c.argv = [binary, ...args];
    const [enter, ...enterArgs] = network.enter;
    return {
      command: enter!,
      args: [...enterArgs, 'unshare', '--mount', '--uts', '--propagation', 'private', '--', 'sh', '-c', script,
        run.saDir, run.hostsFile, join(run.dir, 'resolv.conf'), hostnameOf(run.pod), binary, ...args],
      env,
    };
  };

  const resolveEnvFrom = async (run: PodRun, c: ContainerRun, e: EnvVar): Promise<string | undefined> => {
    const from = e.valueFrom;
    if (!from) return '';
    if (from.fieldRef) {
      const path = from.fieldRef.fieldPath;
      const meta = run.pod.metadata;
      const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      if (label) return (label[1] === 'labels' ? meta.labels : meta.annotations)?.[label[2]!] ?? '';
      const fields: Record<string, string> = {
        'metadata.name': run.name,
        'metadata.namespace': run.namespace,
        'metadata.uid': run.uid,
        'spec.nodeName': nodeName,
        'spec.serviceAccountName': run.pod.spec.serviceAccountName ?? 'default',
        'status.hostIP': NODE_IP, 'status.hostIPs': NODE_IP,
        'status.podIP': run.ip ?? '', 'status.podIPs': run.ip ?? '',
      };
      return fields[path] ?? '';
    }
    if (from.resourceFieldRef) {
      const cs = run.pod.spec.containers.find((x) => x.name === (from.resourceFieldRef!.containerName ?? c.spec.name)) ?? c.spec;
      const [kind, resource] = from.resourceFieldRef.resource.split('.') as ['limits' | 'requests', string];
      const raw = cs.resources?.[kind]?.[resource];
      // The API server defaults an unset divisor to "0", which means 1.
      const divisor = quantity(from.resourceFieldRef.divisor ?? '1') || 1;
      // Unset limits resolve to the node's allocatable, as the kubelet does.
      if (resource === 'memory') return String(Math.ceil((raw ? quantity(raw) : totalmem()) / divisor));
      return String(Math.ceil((raw ? quantity(raw) : Math.max(cpus().length, 8)) / divisor));
    }
    const ref = from.secretKeyRef ?? from.configMapKeyRef;
    if (ref) {
      const path = from.secretKeyRef ? `secrets/${ref.name}` : `configmaps/${ref.name}`;
      const obj = await api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${run.namespace}/${path}`);
      const v = obj?.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) return undefined;
        throw new Error(`key ${ref.key} of ${path} not found`);
      }
      return from.secretKeyRef ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    return '';
  };

  // ---- stopping a Pod
  /** SIGTERM to every container, SIGKILL after the grace period; then the Pod is removed (when deleted through the API). */
  const terminate = (run: PodRun, graceSeconds: number, removeFromApi: boolean) => {
    if (run.terminating) return run.terminating;
    run.terminating = (async () => {
      await null;
      run.abort.abort();
      await run.started?.catch(() => {});
      await Promise.all(run.containers.map(async (c) => {
        if (c.process?.running) recordEvent(run, 'Normal', 'Killing', `Stopping container ${c.spec.name}`, c.spec.name);
        await c.process?.stop(graceSeconds * 1000);
        await c.loop?.catch(() => {});
        if (c.started) {
          const startedAt = (c.state.running as { startedAt?: string } | undefined)?.startedAt;
          c.state = { terminated: { exitCode: 0, reason: 'Completed', ...(startedAt ? { startedAt } : {}), finishedAt: now() } };
        }
        c.ready = false;
      }));
      if (removeFromApi && !stopping) {
        await syncStatus(run);
        try {
          await api.json('DELETE', `/api/v1/namespaces/${run.namespace}/pods/${run.name}`, {
            body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: run.uid } },
          });
        } catch (e) {
          if (!(e instanceof KubeApiError && (e.status === 404 || e.status === 409))) log(`delete of ${run.key}: ${(e as Error).message}`);
        }
      }
      run.gone = true;
      for (const f of run.forwards.values()) f.close();
      run.forwards.clear();
      if (run.ip) await network.releasePodIp(run.ip);
      pods.delete(run.uid);
      rmSync(run.dir, { recursive: true, force: true });
      publish();
    })();
    publish();
    return run.terminating;
  };

  // ---- the Pods bound to this node
  const onPod = (pod: Pod) => {
    const uid = pod.metadata.uid!;
    let run = pods.get(uid);
    if (!run) {
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      if (pod.metadata.deletionTimestamp) {
        // Never started here (e.g. deleted before this agent saw it): nothing to stop.
        void api.json('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
        }).catch(() => {});
        return;
      }
      run = newRun(pod);
      pods.set(uid, run);
      const r = run;
      run.started = startPod(run).catch((e) => log(`start of ${r.key}: ${(e as Error).stack ?? e}`));
      publish();
    } else {
      run.pod = pod;
    }
    if (pod.metadata.deletionTimestamp) {
      void terminate(run, pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30, true);
    }
  };
  const onPodGone = (pod: Pod) => {
    const run = pods.get(pod.metadata.uid!);
    if (run) void terminate(run, pod.spec.terminationGracePeriodSeconds ?? 30, false);
  };

  const newRun = (pod: Pod): PodRun => {
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name;
    const uid = pod.metadata.uid!;
    const dir = join(opts.dir, 'pods', `${namespace}_${name}_${uid}`);
    mkdirSync(dir, { recursive: true });
    const rs = pod.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'ReplicaSet');
    const hash = pod.metadata.labels?.['pod-template-hash'];
    const owner = rs && hash && rs.name.endsWith(`-${hash}`) ? rs.name.slice(0, -hash.length - 1) : rs?.name ?? name;
    const containers: ContainerRun[] = pod.spec.containers.map((spec) => {
      const m = controllerForImage(spec.image);
      const imageError = !m ? `the local platform has no binary for image ${spec.image} (it runs ${knownImages()})`
        : !m.tagKnown ? `the local platform runs ${m.controller.id} only as ${m.controller.tags.join(' or ')}, not ${spec.image}` : undefined;
      return {
        spec, controller: m?.controller, imageError, started: false, ready: false, restarts: 0,
        state: { waiting: { reason: 'ContainerCreating' } }, lastState: {},
        logFile: join(opts.dir, 'logs', `${namespace}_${name}_${spec.name}.log`), argv: [],
      };
    });
    if (pod.spec.initContainers?.length) {
      for (const c of containers) c.imageError ??= 'init containers are not supported by the local platform';
    }
    return {
      key: `${namespace}/${name}`, uid, namespace, name, pod, owner, dir, containers,
      forwards: new Map(), abort: new AbortController(), hostsFile: join(dir, 'hosts'), saDir: join(dir, 'serviceaccount'),
      startTime: now(), statusChain: Promise.resolve(), gone: false,
    };
  };

  const podInformer = startInformer<Pod>(api, `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`, {
    onUpsert: onPod,
    onDelete: onPodGone,
  }, abort.signal);
  publish();

  return {
    nodeName,
    synced: Promise.all([podInformer.synced, services.synced, slices.synced]).then(() => networkChain),
    stateFile,
    runtimes: () => [...pods.values()].map(infoOf),
    runtime: (namespace, name) => pickRuntime([...pods.values()].map(infoOf), namespace, name),
    async stop() {
      abort.abort();
      clearInterval(heartbeat);
      clearTimeout(networkTimer);
      await Promise.all([podInformer.done, services.done, slices.done]);
      stopping = true;
      // Capped: a platform that stops does not wait out 30-second grace periods.
      await Promise.all([...pods.values()].map((run) => terminate(run, Math.min(run.pod.spec.terminationGracePeriodSeconds ?? 30, 3), false)));
      await networkChain.catch(() => {});
    },
  };
}

const knownImages = () => 'Flux, Sealed Secrets';

function hostnameOf(pod: Pod): string {
  return (pod.spec.hostname ?? pod.metadata.name).slice(0, 63).replace(/[-.]+$/, '');
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
