// A Kubernetes control plane from the real binaries: etcd and kube-apiserver on free 127.0.0.1
// ports, with their own PKI, in a temp folder, and (with `controllers`) kube-controller-manager and
// kube-scheduler. Several may run at once (one per emulated AKS cluster).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformBinaries } from './binaries.js';
import { KubeApi } from './kube-api.js';
import { createCA, createSigningKeyPair, issueCert } from './pki.js';
import { freePort, pollUntil, removeAtExit, startProcess, tailOf, type ManagedProcess, type StartOptions } from './processes.js';

export interface ControlPlaneOptions {
  /** Cluster, context and user name in the kubeconfig. */
  name?: string;
  /** Parent folder of the control plane's temp folder (default: the OS temp folder). */
  baseDir?: string;
  /** How long to wait for /readyz; 60 s suits a busy 2-core machine. */
  startTimeoutMs?: number;
  /** Appended to kube-apiserver's arguments (later flags win). */
  extraApiServerArgs?: string[];
  /** Also run the real kube-controller-manager and kube-scheduler. */
  controllers?: boolean;
  /**
   * Unix socket of an HTTP CONNECT proxy into the cluster's network (cluster-network.ts): the
   * API server's egress selector for the "cluster" network (service and pod proxy, kubelet).
   */
  egressSocket?: string;
}

export interface ControlPlane {
  name: string;
  /** https://127.0.0.1:<port> */
  server: string;
  port: number;
  caPem: string;
  /** Bearer token of the admin user (group system:masters). */
  adminToken: string;
  /** Client certificate of the same admin, for clients that prefer certificates. */
  adminClientCert: { certPem: string; keyPem: string };
  kubeconfigPath: string;
  /** Self-contained (CA inline), so it can be handed to other processes as text. */
  kubeconfigYaml: string;
  /** The service-account token issuer (the `iss` of TokenRequest tokens). */
  serviceAccountIssuer: string;
  dir: string;
  /** Each component's output, and the audit log (JSON lines: audit-log.ts reads it). */
  logs: { etcd: string; apiserver: string; audit: string; controllerManager?: string; scheduler?: string };
  pids: { etcd: number; apiserver: number; controllerManager?: number; scheduler?: number };
  /** An admin REST client. */
  api: KubeApi;
  /** Stops the API server or etcd and starts it again with the same flags and data; resolves once the API server serves. */
  restart(component: 'apiserver' | 'etcd'): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Admission: kube-apiserver 1.36's default set stays on (NamespaceLifecycle, LimitRanger,
 * ServiceAccount, PodSecurity, Priority, ResourceQuota, MutatingAdmissionPolicy,
 * ValidatingAdmissionPolicy, the webhooks, ...), plus NodeRestriction as on AKS.
 * envtest disables ServiceAccount because no controller creates `default` accounts; here
 * kube-controller-manager creates them, so it stays on and behaves as in a real cluster.
 */
const ADMISSION_ADDITIONS = ['NodeRestriction'];

/**
 * Who changed what: every write (dry runs included, see audit-log.ts) at level Metadata, without
 * request or response bodies; reads and watches not at all, so the file stays small.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`;

/**
 * Starts a control plane; a port taken between choosing it and binding it (other test processes
 * start servers too) is retried with fresh ports.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startControlPlaneOnce(opts);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(String((error as Error).message))) throw error;
    }
  }
}

async function startControlPlaneOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const bins = platformBinaries(['etcd', 'kube-apiserver', ...(opts.controllers ? ['kube-controller-manager', 'kube-scheduler'] as const : [])]);
  const name = opts.name ?? 'local';
  const dir = mkdtempSync(join(opts.baseDir ?? tmpdir(), `k8s-${name.replace(/[^a-z0-9-]/gi, '')}-`));
  const forgetDir = removeAtExit(dir);
  const pki = join(dir, 'pki');
  mkdirSync(pki);
  const processes: ManagedProcess[] = [];
  let api: KubeApi | undefined;
  const stop = async () => {
    api?.close();
    // API server first, so it does not log storage errors while etcd goes away.
    for (const p of [...processes].reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
    forgetDir();
  };

  try {
    const [etcdClientPort, etcdPeerPort, port] = [await freePort(), await freePort(), await freePort()];
    const ca = createCA(pki, 'ca', `${name}-ca`);
    const serving = issueCert(pki, ca, 'apiserver', {
      commonName: 'kube-apiserver',
      usage: 'server',
      altNames: ['IP:127.0.0.1', 'DNS:localhost', 'IP:10.0.0.1', 'DNS:kubernetes', 'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local'],
    });
    const admin = issueCert(pki, ca, 'admin', { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    const sa = createSigningKeyPair(pki, 'sa');
    const adminToken = randomBytes(24).toString('hex');
    // kube-controller-manager and kube-scheduler authenticate as the users the bootstrap RBAC
    // policy names (system:kube-controller-manager, system:kube-scheduler), with tokens.
    const componentTokens = { controllerManager: randomBytes(24).toString('hex'), scheduler: randomBytes(24).toString('hex') };
    const tokenFile = join(pki, 'tokens.csv');
    writeFileSync(tokenFile, [
      `${adminToken},admin,admin-uid,"system:masters"`,
      `${componentTokens.controllerManager},system:kube-controller-manager,kube-controller-manager-uid`,
      `${componentTokens.scheduler},system:kube-scheduler,kube-scheduler-uid`,
      '',
    ].join('\n'), { mode: 0o600 });

    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
    const logs: ControlPlane['logs'] = { etcd: join(dir, 'logs', 'etcd.log'), apiserver: join(dir, 'logs', 'kube-apiserver.log'), audit: join(dir, 'logs', 'audit.log') };
    const auditPolicyFile = join(dir, 'audit-policy.yaml');
    writeFileSync(auditPolicyFile, AUDIT_POLICY);
    const egressArgs: string[] = [];
    if (opts.egressSocket) {
      const egressFile = join(dir, 'egress-selector.yaml');
      writeFileSync(egressFile, [
        'apiVersion: apiserver.k8s.io/v1beta1',
        'kind: EgressSelectorConfiguration',
        'egressSelections:',
        '- name: cluster',
        '  connection:',
        '    proxyProtocol: HTTPConnect',
        '    transport:',
        `      uds: {udsName: ${JSON.stringify(opts.egressSocket)}}`,
        '',
      ].join('\n'));
      egressArgs.push(`--egress-selector-config-file=${egressFile}`);
    }
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcdOptions: StartOptions = {
      name: `etcd (${name})`,
      command: bins.etcd,
      args: [
        '--name=default', `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        // Test data is disposable; fsync dominates etcd latency on shared disks.
        '--unsafe-no-fsync=true', '--log-level=warn',
      ],
      env,
      cwd: dir,
      logFile: logs.etcd,
    };
    let etcd = startProcess(etcdOptions);
    processes.push(etcd);
    const etcdHealthy = () => pollUntil('etcd /health', async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    }, { timeoutMs: opts.startTimeoutMs ?? 60_000, failIf: () => (etcd.running ? undefined : `etcd exited:\n${tailOf(logs.etcd)}`) });
    await etcdHealthy();

    const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';
    const apiserverOptions: StartOptions = {
      name: `kube-apiserver (${name})`,
      command: bins['kube-apiserver'],
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        // Without it the API server derives the address from the default route, which may not exist.
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${pki}`,
        `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=Node,RBAC',
        `--enable-admission-plugins=${ADMISSION_ADDITIONS.join(',')}`,
        `--service-account-issuer=${serviceAccountIssuer}`,
        `--service-account-key-file=${sa.pubFile}`,
        `--service-account-signing-key-file=${sa.keyFile}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        // The "kubernetes" Endpoints would carry 127.0.0.1, which Endpoints validation rejects
        // (loopback), so the reconciler would only log errors every few seconds.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        `--audit-policy-file=${auditPolicyFile}`,
        `--audit-log-path=${logs.audit}`,
        '--audit-log-format=json',
        // Events are written while the request is served, not batched, so they show up at once.
        '--audit-log-mode=blocking',
        ...egressArgs,
        ...(opts.extraApiServerArgs ?? []),
      ],
      env,
      cwd: dir,
      logFile: logs.apiserver,
    };
    let apiserver = startProcess(apiserverOptions);
    processes.push(apiserver);

    const server = `https://127.0.0.1:${port}`;
    api = new KubeApi({ server, caPem: ca.certPem, token: adminToken });
    const client = api;
    const apiserverReady = () => pollUntil('kube-apiserver /readyz', async () => {
      const res = await client.request('GET', '/readyz', { timeoutMs: 5_000 }).catch(() => ({ status: 0 }));
      return res.status === 200;
    }, {
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      intervalMs: 300,
      failIf: () => (apiserver.running ? undefined : `kube-apiserver exited:\n${tailOf(logs.apiserver)}`),
    });
    await apiserverReady();

    const kubeconfigYaml = kubeconfigFor({ name, server, caPem: ca.certPem, token: adminToken });
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml, { mode: 0o600 });

    const pids: ControlPlane['pids'] = { etcd: etcd.pid, apiserver: apiserver.pid };
    if (opts.controllers) {
      const componentKubeconfig = (file: string, token: string) => {
        const path = join(pki, file);
        writeFileSync(path, kubeconfigFor({ name, server, caPem: ca.certPem, token }), { mode: 0o600 });
        return path;
      };
      logs.controllerManager = join(dir, 'logs', 'kube-controller-manager.log');
      logs.scheduler = join(dir, 'logs', 'kube-scheduler.log');
      const controllerManager = startProcess({
        name: `kube-controller-manager (${name})`,
        command: bins['kube-controller-manager'],
        args: [
          `--kubeconfig=${componentKubeconfig('controller-manager.kubeconfig', componentTokens.controllerManager)}`,
          // No serving port: nothing scrapes it here, and free ports are a shared resource.
          '--secure-port=0',
          '--leader-elect=false',
          // Each controller acts as its own service account in kube-system, as on AKS.
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${sa.keyFile}`,
          `--root-ca-file=${ca.certFile}`,
          `--cluster-signing-cert-file=${ca.certFile}`,
          `--cluster-signing-key-file=${ca.keyFile}`,
          `--cluster-name=${name}`,
          '--profiling=false',
          '--v=1',
        ],
        env,
        cwd: dir,
        logFile: logs.controllerManager,
      });
      processes.push(controllerManager);
      const scheduler = startProcess({
        name: `kube-scheduler (${name})`,
        command: bins['kube-scheduler'],
        args: [
          `--kubeconfig=${componentKubeconfig('scheduler.kubeconfig', componentTokens.scheduler)}`,
          '--secure-port=0',
          '--leader-elect=false',
          '--profiling=false',
          '--v=1',
        ],
        env,
        cwd: dir,
        logFile: logs.scheduler,
      });
      processes.push(scheduler);
      pids.controllerManager = controllerManager.pid;
      pids.scheduler = scheduler.pid;
      // The serviceaccount and root-ca-cert-publisher controllers have run once `default` has both.
      await pollUntil('kube-controller-manager', async () => !!(await client.find('/api/v1/namespaces/default/serviceaccounts/default'))
        && !!(await client.find('/api/v1/namespaces/default/configmaps/kube-root-ca.crt')), {
        timeoutMs: opts.startTimeoutMs ?? 60_000,
        intervalMs: 200,
        failIf: () => (controllerManager.running ? undefined : `kube-controller-manager exited:\n${tailOf(logs.controllerManager!)}`)
          ?? (scheduler.running ? undefined : `kube-scheduler exited:\n${tailOf(logs.scheduler!)}`),
      });
    }

    let stopped: Promise<void> | undefined;
    // A process restarted as an upgrade or a crash would: stopped (SIGTERM), started again with the
    // same flags and data, and waited for until it serves.
    const restart = async (component: 'apiserver' | 'etcd') => {
      const old = component === 'etcd' ? etcd : apiserver;
      await old.stop();
      const next = startProcess(component === 'etcd' ? etcdOptions : apiserverOptions);
      processes[processes.indexOf(old)] = next;
      if (component === 'etcd') {
        etcd = next;
        pids.etcd = next.pid;
        await etcdHealthy();
      } else {
        apiserver = next;
        pids.apiserver = next.pid;
      }
      await apiserverReady();
    };
    return {
      name,
      server,
      port,
      caPem: ca.certPem,
      adminToken,
      adminClientCert: { certPem: admin.certPem, keyPem: admin.keyPem },
      kubeconfigPath,
      kubeconfigYaml,
      serviceAccountIssuer,
      dir,
      logs,
      pids,
      api,
      restart,
      stop: () => (stopped ??= stop()),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A kubeconfig with the CA inline and either a token or a token file (which clients re-read). */
export function kubeconfigFor(o: { name: string; server: string; caPem: string; token?: string; tokenFile?: string; namespace?: string }): string {
  const user = o.tokenFile ? `    tokenFile: ${JSON.stringify(o.tokenFile)}` : `    token: ${JSON.stringify(o.token ?? '')}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${JSON.stringify(o.name)}`,
    '  cluster:',
    `    server: ${JSON.stringify(o.server)}`,
    `    certificate-authority-data: ${Buffer.from(o.caPem).toString('base64')}`,
    'users:',
    `- name: ${JSON.stringify(o.name)}`,
    '  user:',
    user,
    'contexts:',
    `- name: ${JSON.stringify(o.name)}`,
    '  context:',
    `    cluster: ${JSON.stringify(o.name)}`,
    `    user: ${JSON.stringify(o.name)}`,
    ...(o.namespace ? [`    namespace: ${JSON.stringify(o.namespace)}`] : []),
    `current-context: ${JSON.stringify(o.name)}`,
    '',
  ].join('\n');
}
