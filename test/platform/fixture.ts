// What test files use: the shared platform (usePlatform) and, for tests that must own a whole
// cluster (install a controller, delete it), a dedicated one (useDedicatedCluster).
import { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { gitClient, type GitClient } from './git-server.js';
import { KubeApi } from './kube-api.js';
import { pickRuntime, type PodRuntimeInfo as ControllerRuntimeInfo } from './node-agent.js';
import { startCluster, type Cluster, type ClusterInfo, type ClusterOptions, type PlatformInfo } from './platform.js';
import { pollUntil, tailOf } from './processes.js';
import './vitest-context.js';

/** Helpers bound to one cluster. */
export interface ClusterHandle {
  info: ClusterInfo;
  /** Admin REST client (system:masters). */
  api: KubeApi;
  /** @kubernetes/client-node configuration for the same admin. */
  kubeConfig: KubeConfig;
  /**
   * Creates a namespace with a unique name, so tests never share one. Deleting it is optional
   * (kube-controller-manager's namespace controller empties and removes it within seconds).
   */
  freshNamespace(prefix?: string, labels?: Record<string, string>): Promise<string>;
  /** The Pod the node agent runs for a Deployment (or the Pod of that name), or undefined: see pickRuntime(). */
  controller(namespace: string, name: string): ControllerRuntimeInfo | undefined;
  controllers(): ControllerRuntimeInfo[];
  /** Waits until the controller of a Deployment is running and ready. */
  waitForController(namespace: string, name: string, timeoutMs?: number): Promise<ControllerRuntimeInfo>;
  /** Last lines of the control plane's and every controller's log, for failure reports. */
  logTails(lines?: number): string;
}

export interface PlatformFixture extends ClusterHandle {
  info: PlatformInfo;
  /** Create repositories and push commits on the platform's git server. */
  git: GitClient;
}

let shared: PlatformFixture | undefined;

/** The platform global-setup.ts started for this test run. */
export function usePlatform(): PlatformFixture {
  if (!shared) {
    const info = inject('platform');
    if (!info) throw new Error('no platform was provided: run this file in the vitest "platform" project');
    shared = { ...handleFor(info), info, git: gitClient(info.git) };
  }
  printLogsOnFailure(() => shared!.logTails());
  return shared;
}

/**
 * A cluster of the test file's own (control plane, controllers and node agent), started before its tests
 * and stopped after them. The returned handle is usable once beforeAll has run.
 */
export function useDedicatedCluster(opts: ClusterOptions = {}): ClusterHandle & { cluster(): Cluster } {
  let cluster: Cluster | undefined;
  let handle: ClusterHandle | undefined;
  beforeAll(async () => {
    cluster = await startCluster({ name: `dedicated-${randomBytes(2).toString('hex')}`, ...opts });
    handle = handleFor(cluster.info);
  });
  afterAll(async () => {
    handle?.api.close();
    await cluster?.stop();
  });
  printLogsOnFailure(() => handle?.logTails() ?? '');
  const get = () => {
    if (!handle) throw new Error('the dedicated cluster is not started yet (use it inside tests or hooks)');
    return handle;
  };
  return {
    get info() { return get().info; },
    get api() { return get().api; },
    get kubeConfig() { return get().kubeConfig; },
    freshNamespace: (...a) => get().freshNamespace(...a),
    controller: (...a) => get().controller(...a),
    controllers: () => get().controllers(),
    waitForController: (...a) => get().waitForController(...a),
    logTails: (...a) => get().logTails(...a),
    cluster: () => cluster!,
  };
}

function handleFor(info: ClusterInfo): ClusterHandle {
  const api = new KubeApi({ server: info.server, caPem: info.caPem, token: info.adminToken });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(info.kubeconfigYaml);
  const controllers = (): ControllerRuntimeInfo[] => {
    try {
      return JSON.parse(readFileSync(info.kubeletStateFile, 'utf8')) as ControllerRuntimeInfo[];
    } catch {
      return []; // being rewritten; the next read sees it
    }
  };
  const controller = (namespace: string, name: string) => pickRuntime(controllers(), namespace, name);
  return {
    info,
    api,
    kubeConfig,
    async freshNamespace(prefix = 'test', labels = {}) {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63);
      await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
      // As in a real cluster, the `default` ServiceAccount shows up shortly after the namespace.
      await api.waitFor('default ServiceAccount', `/api/v1/namespaces/${name}/serviceaccounts/default`, () => true, 10_000);
      return name;
    },
    controller,
    controllers,
    waitForController: (namespace, name, timeoutMs = 60_000) => pollUntil(`controller of Deployment ${namespace}/${name} ready`,
      () => { const c = controller(namespace, name); return c?.ready && c.pid ? c : undefined; }, { timeoutMs }),
    logTails(lines = 40) {
      const parts = [
        `--- kube-apiserver (${info.logs.apiserver})\n${tailOf(info.logs.apiserver, Math.min(lines, 15))}`,
        ...controllers().map((c) => `--- ${c.namespace}/${c.name} (${c.logFile})${c.waiting ? ` waiting: ${c.waiting}` : ''}\n${tailOf(c.logFile, lines)}`),
      ];
      const agentLog = `${info.logs.controllers}/node-agent.log`;
      if (existsSync(agentLog)) parts.push(`--- node agent (${agentLog})\n${tailOf(agentLog, lines)}`);
      if (info.logs.controllerManager) parts.push(`--- kube-controller-manager (${info.logs.controllerManager})\n${tailOf(info.logs.controllerManager, Math.min(lines, 15))}`);
      return parts.join('\n');
    },
  };
}

const registered = new Set<() => string>();
function printLogsOnFailure(logs: () => string): void {
  if (registered.has(logs)) return;
  registered.add(logs);
  try {
    afterEach((ctx) => {
      if (ctx.task.result?.state === 'fail') process.stderr.write(`\n[platform] logs after failed test "${ctx.task.name}":\n${logs()}\n`);
    });
    // A failing beforeAll fails no test (they are skipped): print the logs for the file then.
    afterAll((suite) => {
      const failedHook = (suite as { result?: { state?: string } }).result?.state === 'fail';
      if (failedHook) process.stderr.write(`\n[platform] logs after a failed set-up of ${(suite as { name?: string }).name ?? 'this file'}:\n${logs()}\n`);
    });
  } catch {
    // Called from inside a test: no hook then (call usePlatform() at the top of the file for one).
  }
}
