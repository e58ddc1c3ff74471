// The local platform put together: clusters (a network namespace, the control plane with the real
// kube-controller-manager and kube-scheduler, and the node agent running the Pods), a git server
// and a release server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformBinaries, type BinaryPaths } from './binaries.js';
import { startClusterNetwork, type ClusterNetwork } from './cluster-network.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { startGitServer, type GitServer, type GitServerInfo } from './git-server.js';
import { conditionOf, type KubeApi } from './kube-api.js';
import { startNodeAgent, type NodeAgent } from './node-agent.js';
import { removeAtExit } from './processes.js';
import { startReleaseServer, type ReleaseServer } from './release-server.js';

/** Connection facts of one cluster; plain data, so it can cross process boundaries. */
export interface ClusterInfo {
  name: string;
  server: string;
  caPem: string;
  adminToken: string;
  kubeconfigPath: string;
  kubeconfigYaml: string;
  dir: string;
  /** JSON file of PodRuntimeInfo[] (node-agent.ts): each Pod the node agent runs, its IP and forwarded ports. */
  kubeletStateFile: string;
  /** Log files; `audit` is the API server's audit log (every write; read it with audit-log.ts). */
  logs: { etcd: string; apiserver: string; audit: string; controllers: string; controllerManager?: string; scheduler?: string };
}

export interface ClusterOptions extends Omit<ControlPlaneOptions, 'controllers' | 'egressSocket'> {
  /** CA files the containers trust besides the system's (SSL_CERT_FILE); default: the Azure emulators' CA. */
  trustedCaFiles?: string[];
}

export interface Cluster {
  info: ClusterInfo;
  controlPlane: ControlPlane;
  /** The node agent (the kubelet's part): runtime(namespace, deployment) tells where a controller's Pod runs. */
  kubelet: NodeAgent;
  network: ClusterNetwork;
  api: KubeApi;
  stop(): Promise<void>;
}

/**
 * A cluster of its own: a network namespace, the control plane with the real
 * kube-controller-manager and kube-scheduler, and a node agent running the Pods.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  platformBinaries(); // fail early and clearly when a binary is missing
  // Unix socket paths are short (108 bytes): the network's folder is in the OS temp folder.
  const netDir = mkdtempSync(join(tmpdir(), 'k8s-net-'));
  const forgetNetDir = removeAtExit(netDir);
  let network: ClusterNetwork | undefined;
  let controlPlane: ControlPlane | undefined;
  let agent: NodeAgent | undefined;
  const stop = async () => {
    await agent?.stop();
    await controlPlane?.stop();
    await network?.stop();
    rmSync(netDir, { recursive: true, force: true });
    forgetNetDir();
  };
  try {
    network = await startClusterNetwork(netDir);
    controlPlane = await startControlPlane({ ...opts, controllers: true, egressSocket: network.egressSocket });
    const agentDir = join(controlPlane.dir, 'node');
    agent = await startNodeAgent({
      api: controlPlane.api,
      caPem: controlPlane.caPem,
      apiPort: controlPlane.port,
      network,
      dir: agentDir,
      trustedCaFiles: opts.trustedCaFiles,
    });
    await agent.synced;
    let stopped: Promise<void> | undefined;
    return {
      info: {
        name: controlPlane.name,
        server: controlPlane.server,
        caPem: controlPlane.caPem,
        adminToken: controlPlane.adminToken,
        kubeconfigPath: controlPlane.kubeconfigPath,
        kubeconfigYaml: controlPlane.kubeconfigYaml,
        dir: controlPlane.dir,
        kubeletStateFile: agent.stateFile,
        logs: { ...controlPlane.logs, controllers: agentDir },
      },
      controlPlane,
      kubelet: agent,
      network,
      api: controlPlane.api,
      stop: () => (stopped ??= stop()),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface PlatformInfo extends ClusterInfo {
  git: GitServerInfo;
  releases: {
    baseUrl: string;
    fluxVersion: string;
    sealedSecretsVersion: string;
    fluxInstallUrl: string;
    sealedSecretsControllerUrl: string;
    fluxInstallSha256: string;
    sealedSecretsControllerSha256: string;
  };
  binaries: BinaryPaths;
}

export interface PlatformOptions extends ClusterOptions {
  git?: { username?: string; password?: string; anonymous?: boolean; tls?: boolean };
  /** Install from the release server once the cluster is up (for `npm start`; tests install themselves). */
  install?: { flux?: boolean; sealedSecrets?: boolean };
}

export interface Platform {
  info: PlatformInfo;
  cluster: Cluster;
  git: GitServer;
  releases: ReleaseServer;
  stop(): Promise<void>;
}

export async function startPlatform(opts: PlatformOptions = {}): Promise<Platform> {
  const binaries = platformBinaries();
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
  };
  try {
    const releases = await startReleaseServer();
    started.push(releases);
    const git = await startGitServer({ username: 'git', password: 'local-git-password', ...opts.git });
    started.push(git);
    const cluster = await startCluster({ name: 'local', ...opts });
    started.push(cluster);
    if (opts.install?.sealedSecrets) await installRelease(cluster.api, releases.urls.sealedSecretsController);
    if (opts.install?.flux) await installRelease(cluster.api, releases.urls.fluxInstall);
    let stopped: Promise<void> | undefined;
    return {
      info: {
        ...cluster.info,
        git: git.info,
        releases: {
          baseUrl: releases.baseUrl,
          fluxVersion: releases.assets.fluxVersion,
          sealedSecretsVersion: releases.assets.sealedSecretsVersion,
          fluxInstallUrl: releases.urls.fluxInstall,
          sealedSecretsControllerUrl: releases.urls.sealedSecretsController,
          fluxInstallSha256: releases.assets.fluxInstall.sha256,
          sealedSecretsControllerSha256: releases.assets.sealedSecretsController.sha256,
        },
        binaries,
      },
      cluster,
      git,
      releases,
      stop: () => (stopped ??= stop()),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Downloads a release manifest, applies it server-side and waits until its Deployments are available. */
export async function installRelease(api: KubeApi, url: string, timeoutMs = 120_000): Promise<void> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  const applied = await api.apply(await res.text(), { fieldManager: 'platform-install' });
  await Promise.all(applied.filter((o) => o.kind === 'Deployment').map((d) => waitForDeploymentAvailable(api, d.metadata.namespace!, d.metadata.name, timeoutMs)));
}

/**
 * Waits as `kubectl rollout status` does: observed generation, all replicas updated and available,
 * no old replica left. On timeout the error carries the events of the Deployment and its Pods (the
 * node agent records why a container is not running, e.g. an image the platform does not know).
 */
export async function waitForDeploymentAvailable(api: KubeApi, namespace: string, name: string, timeoutMs = 120_000) {
  try {
    return await waitForAvailable(api, namespace, name, timeoutMs);
  } catch (error) {
    const events = await api.get<{ items: { reason?: string; message?: string; involvedObject: { name: string } }[] }>(`/api/v1/namespaces/${namespace}/events`).catch(() => ({ items: [] }));
    const related = events.items.filter((e) => e.involvedObject.name === name || e.involvedObject.name.startsWith(`${name}-`));
    throw new Error(`${(error as Error).message.slice(0, 300)}\nevents: ${related.slice(-12).map((e) => `${e.involvedObject.name} ${e.reason}: ${e.message}`).join(' | ') || 'none'}`);
  }
}

function waitForAvailable(api: KubeApi, namespace: string, name: string, timeoutMs: number) {
  return api.waitFor<{ metadata: { generation?: number }; spec: { replicas?: number }; status?: Record<string, number> }>(
    `Deployment ${namespace}/${name} available`,
    `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
    (d) => d.status?.observedGeneration === d.metadata.generation
      && (d.status?.updatedReplicas ?? 0) === (d.spec.replicas ?? 1)
      && (d.status?.replicas ?? 0) === (d.spec.replicas ?? 1)
      && (d.status?.availableReplicas ?? 0) === (d.spec.replicas ?? 1)
      && conditionOf(d, 'Available')?.status === 'True',
    timeoutMs,
  );
}
