// The node agent (the kubelet's part) with the real kube-controller-manager and kube-scheduler:
// Deployments become ReplicaSets and Pods, the scheduler binds them to the node, the agent runs
// them as processes on their own IPs and reports them; Services lead to them.
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEmulatorCa } from '../emulators/ca.js';
import { useDedicatedCluster, usePlatform } from './fixture.js';
import { conditionOf, parseYamlObjects, type KubeObject } from './kube-api.js';
import type { Pod } from './node-agent.js';
import { installRelease, waitForDeploymentAvailable } from './platform.js';
import { pollUntil, rssKiB } from './processes.js';

const platform = usePlatform();
const cluster = useDedicatedCluster();
let installYaml = '';

beforeAll(async () => {
  installYaml = await (await fetch(platform.info.releases.fluxInstallUrl)).text();
  await installRelease(cluster.api, platform.info.releases.fluxInstallUrl);
});

interface Deployment extends KubeObject {
  spec: { replicas?: number; template: { metadata?: { annotations?: Record<string, string> }; spec: Pod['spec'] } };
  status?: Record<string, number>;
}
const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
};
const deploymentPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
const podsOf = async (ns: string, app: string) => (await cluster.api.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: `app=${app}` })).items;
const isReady = (p: Pod) => conditionOf(p, 'Ready')?.status === 'True';
const envOf = (pid: number) => Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
  .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

/** A Deployment of install.yaml, moved to another namespace (and optionally changed). */
function fluxDeployment(name: string, namespace: string): Deployment {
  const d = structuredClone(parseYamlObjects(installYaml).find((o) => o.kind === 'Deployment' && o.metadata.name === name)) as Deployment;
  d.metadata = { name, namespace, labels: d.metadata.labels };
  return d;
}
/** Changes a Deployment's pod template (as `kubectl rollout restart` does) and returns the old Pod. */
async function restart(ns: string, name: string, app: string): Promise<Pod> {
  const [old] = await podsOf(ns, app);
  await cluster.api.patch(deploymentPath(ns, name), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } });
  return old!;
}

describe('node agent', () => {
  it('registers a Ready node and renews its lease', async () => {
    const nodes = await cluster.api.get<{ items: KubeObject[] }>('/api/v1/nodes');
    expect(nodes.items).toHaveLength(1);
    const node = nodes.items[0]!;
    expect(conditionOf(node, 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect((node.status as { nodeInfo: { kubeletVersion: string } }).nodeInfo.kubeletVersion).toBe('v1.36.3');
    const lease = async () => (await cluster.api.get<{ spec: { renewTime: string } }>(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node.metadata.name}`)).spec.renewTime;
    const first = await lease();
    await expect.poll(lease, { timeout: 25_000, interval: 1_000 }).not.toBe(first);
    // No taint: the node lifecycle controller sees it healthy.
    expect((node.spec as { taints?: unknown[] }).taints ?? []).toEqual([]);
  });

  it('runs each Deployment as ReplicaSet and Pod of the real controllers, on its own IP, as its service account', async () => {
    for (const name of ['source-controller', 'kustomize-controller', 'notification-controller']) {
      const c = await cluster.waitForController('flux-system', name);
      expect(alive(c.pid)).toBe(true);
      expect(rssKiB(c.pid!)).toBeGreaterThan(0);
      const d = await cluster.api.get<Deployment>(deploymentPath('flux-system', name));
      expect(d.status).toMatchObject({ observedGeneration: d.metadata.generation, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 });
      expect(conditionOf(d, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
      const [pod] = await podsOf('flux-system', name);
      const rs = pod!.metadata.ownerReferences!.find((o) => o.kind === 'ReplicaSet')!;
      expect(rs.name).toBe(`${name}-${pod!.metadata.labels!['pod-template-hash']}`);
      expect(pod!.spec.nodeName).toBe(cluster.cluster().kubelet.nodeName);
      expect(pod!.status).toMatchObject({ phase: 'Running', podIP: c.podIP, hostIP: '10.224.0.4' });
      expect(c.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
      // It listens on the Pod's IP, at the port the Deployment declares.
      expect(c.argv.some((a) => a === `--health-addr=${c.podIP}:9440`)).toBe(true);
      const token = readFileSync(`${c.serviceAccountDir}/token`, 'utf8');
      const who = await cluster.api.as(token).post<{ status: { userInfo: { username: string; extra?: Record<string, string[]> } } }>(
        '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
      expect(who.status.userInfo.username).toBe(`system:serviceaccount:flux-system:${name}`);
      // A token bound to the Pod, as the kubelet asks for.
      expect(who.status.userInfo.extra?.['authentication.kubernetes.io/pod-name']).toEqual([pod!.metadata.name]);
    }
  });

  it('publishes ready Pods in EndpointSlices; the API server reaches them through the service proxy', async () => {
    const c = await cluster.waitForController('flux-system', 'source-controller');
    const slices = await cluster.api.get<{ items: { endpoints: { addresses: string[]; conditions: { ready: boolean } }[] }[] }>(
      '/apis/discovery.k8s.io/v1/namespaces/flux-system/endpointslices', { labelSelector: 'kubernetes.io/service-name=source-controller' });
    expect(slices.items.flatMap((s) => s.endpoints).map((e) => [e.addresses[0], e.conditions.ready])).toEqual([[c.podIP, true]]);
    const res = await cluster.api.request('GET', '/api/v1/namespaces/flux-system/services/source-controller:http/proxy/');
    expect(res.status).toBe(200);
    const missing = await cluster.api.request('GET', '/api/v1/namespaces/flux-system/services/no-such-service:http/proxy/');
    expect(missing.status).toBe(404);
  });

  it("resolves Service names through the Pod's own hosts file, to ClusterIPs that lead to ready endpoints", async () => {
    const c = await cluster.waitForController('flux-system', 'kustomize-controller');
    const svc = await cluster.api.get<{ spec: { clusterIP: string } }>('/api/v1/namespaces/flux-system/services/notification-controller');
    // What the process sees at /etc/hosts (its mount namespace), not the host's file.
    const hosts = readFileSync(`/proc/${c.pid}/root/etc/hosts`, 'utf8');
    expect(hosts).toMatch(new RegExp(`^${svc.spec.clusterIP.replace(/\./g, '\\.')}\\s.*notification-controller\\.flux-system\\.svc\\.cluster\\.local\\b`, 'm'));
    expect(hosts).toMatch(new RegExp(`^${c.podIP!.replace(/\./g, '\\.')}\\s+${c.podName}$`, 'm'));
    expect(readFileSync('/etc/hosts', 'utf8')).not.toContain('svc.cluster.local');
    // Docker-link variables and the in-cluster API address, as the kubelet sets them.
    expect(envOf(c.pid!)).toMatchObject({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', NOTIFICATION_CONTROLLER_SERVICE_HOST: svc.spec.clusterIP });
  });

  it('rolls out a new template as the Deployment controller does: the old Pod serves until the new one is ready', async () => {
    const before = await cluster.waitForController('flux-system', 'kustomize-controller');
    const old = await restart('flux-system', 'kustomize-controller', 'kustomize-controller');
    // Every 100 ms: while the new Pod is not ready, the old one is there, ready and not terminating.
    const seen: { oldServing: boolean; fresh: boolean; freshReady: boolean }[] = [];
    await pollUntil('the new Pod ready and the old one gone', async () => {
      const pods = await podsOf('flux-system', 'kustomize-controller');
      const fresh = pods.find((p) => p.metadata.uid !== old.metadata.uid);
      const stale = pods.find((p) => p.metadata.uid === old.metadata.uid);
      seen.push({ oldServing: !!stale && isReady(stale) && !stale.metadata.deletionTimestamp && alive(before.pid), fresh: !!fresh, freshReady: !!fresh && isReady(fresh) });
      return !!fresh && isReady(fresh) && !stale;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    expect(seen.some((x) => x.fresh && !x.freshReady && x.oldServing), JSON.stringify(seen)).toBe(true);
    expect(seen.filter((x) => !x.freshReady).every((x) => x.oldServing), JSON.stringify(seen)).toBe(true);
    expect(alive(before.pid)).toBe(false);
    // SIGTERM, not SIGKILL: the controller shut down on its own (its log says so).
    expect(readFileSync(before.logFile, 'utf8')).toMatch(/Stopping and waiting|shutdown|Wait completed/i);
    const events = await cluster.api.get<{ items: { reason: string; involvedObject: { name: string } }[] }>('/api/v1/namespaces/flux-system/events');
    expect(events.items.filter((e) => e.involvedObject.name === old.metadata.name).map((e) => e.reason)).toContain('Killing');
    await waitForDeploymentAvailable(cluster.api, 'flux-system', 'kustomize-controller', 60_000);
  });

  it('with the Recreate strategy stops the old Pod before it starts the new one', async () => {
    const before = await cluster.waitForController('flux-system', 'source-controller');
    const old = await restart('flux-system', 'source-controller', 'source-controller');
    let both = false;
    await pollUntil('the new Pod ready', async () => {
      const pods = await podsOf('flux-system', 'source-controller');
      if (pods.some((p) => p.metadata.uid === old.metadata.uid) && pods.some((p) => p.metadata.uid !== old.metadata.uid && p.status?.phase === 'Running')) both = true;
      return pods.length === 1 && pods[0]!.metadata.uid !== old.metadata.uid && isReady(pods[0]!);
    }, { timeoutMs: 90_000, intervalMs: 100 });
    expect(both).toBe(false);
    expect(alive(before.pid)).toBe(false);
  });

  it('restarts a container that dies, in the same Pod on the same IP, and counts the restart', async () => {
    const before = await cluster.waitForController('flux-system', 'notification-controller');
    process.kill(before.pid!, 'SIGKILL');
    const after = await pollUntil('notification-controller restarted', () => {
      const c = cluster.controller('flux-system', 'notification-controller');
      return c?.ready && c.pid && c.pid !== before.pid ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(after.podName).toBe(before.podName);
    expect(after.podIP).toBe(before.podIP);
    expect(after.addresses).toEqual(before.addresses);
    const [pod] = await podsOf('flux-system', 'notification-controller');
    const status = (pod!.status as unknown as { containerStatuses: { restartCount: number; lastState: { terminated?: { exitCode: number } } }[] }).containerStatuses[0]!;
    expect(status.restartCount).toBeGreaterThanOrEqual(1);
    expect(status.lastState.terminated?.exitCode).toBe(137);
  });

  it('honours the grace period of a deleted Pod: SIGTERM, then SIGKILL once it is over', async () => {
    const c = await cluster.waitForController('flux-system', 'notification-controller');
    // A stopped process does not act on SIGTERM: only the SIGKILL after the grace period ends it.
    process.kill(c.pid!, 'SIGSTOP');
    const started = Date.now();
    await cluster.api.json('DELETE', `/api/v1/namespaces/flux-system/pods/${c.podName}`, { body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 3 } });
    await pollUntil('the Pod gone', async () => !(await cluster.api.find(`/api/v1/namespaces/flux-system/pods/${c.podName}`)), { timeoutMs: 30_000, intervalMs: 100 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(3_000);
    expect(took).toBeLessThan(10_000);
    expect(alive(c.pid)).toBe(false);
    await cluster.waitForController('flux-system', 'notification-controller');
  });

  it('replaces a deleted Pod (ReplicaSet) and stops a scaled-down one', async () => {
    const before = await cluster.waitForController('flux-system', 'notification-controller');
    await cluster.api.delete(`/api/v1/namespaces/flux-system/pods/${before.podName}`);
    const replaced = await pollUntil('a replacement Pod', () => {
      const c = cluster.controller('flux-system', 'notification-controller');
      return c?.ready && c.podName !== before.podName ? c : undefined;
    }, { timeoutMs: 60_000 });
    expect(alive(before.pid)).toBe(false);
    await cluster.api.patch(deploymentPath('flux-system', 'notification-controller'), { spec: { replicas: 0 } });
    await pollUntil('notification-controller stopped', async () => !alive(replaced.pid) && (await podsOf('flux-system', 'notification-controller')).length === 0, { timeoutMs: 30_000 });
    await cluster.api.patch(deploymentPath('flux-system', 'notification-controller'), { spec: { replicas: 1 } });
    const again = await cluster.waitForController('flux-system', 'notification-controller');
    expect(again.pid).not.toBe(replaced.pid);
  });

  it('removes the ReplicaSets and Pods of a deleted Deployment (garbage collection), and stops its process', async () => {
    const ns = await cluster.freshNamespace('gc');
    await cluster.api.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `crd-controller-${ns}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'crd-controller' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
    });
    const d = fluxDeployment('notification-controller', ns);
    d.spec.template.spec.serviceAccountName = 'default';
    await cluster.api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d);
    const c = await cluster.waitForController(ns, 'notification-controller');
    expect(alive(c.pid)).toBe(true);
    await cluster.api.delete(deploymentPath(ns, 'notification-controller'));
    await pollUntil('ReplicaSet, Pod and process gone', async () => !alive(c.pid)
      && (await cluster.api.get<{ items: unknown[] }>(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items.length === 0
      && (await cluster.api.get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/pods`)).items.length === 0, { timeoutMs: 60_000 });
    const events = await cluster.api.get<{ items: { reason: string }[] }>(`/api/v1/namespaces/${ns}/events`);
    expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scheduled', 'Started', 'Killing']));
  });

  it("runs a container with its Pod's service account, so that account's RBAC applies", async () => {
    const ns = await cluster.freshNamespace('limited');
    await cluster.api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'limited' } });
    const d = fluxDeployment('notification-controller', ns);
    d.spec.template.spec.serviceAccountName = 'limited';
    await cluster.api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d);
    const c = await pollUntil('the container to start', () => cluster.controller(ns, 'notification-controller')?.pid ? cluster.controller(ns, 'notification-controller') : undefined);
    await expect.poll(() => readFileSync(c.logFile, 'utf8'), { timeout: 30_000, interval: 500 })
      .toContain(`User \\"system:serviceaccount:${ns}:limited\\" cannot`);
    await cluster.api.delete(deploymentPath(ns, 'notification-controller'));
  });

  it('gives containers SSL_CERT_FILE: the system roots plus the emulator CA, unless the Pod sets its own', async () => {
    const source = await cluster.waitForController('flux-system', 'source-controller');
    const bundle = readFileSync(envOf(source.pid!).SSL_CERT_FILE!, 'utf8');
    expect(bundle).toContain(readFileSync(ensureEmulatorCa().caPath, 'utf8').trim());
    if (existsSync('/etc/ssl/certs/ca-certificates.crt')) {
      expect(bundle.startsWith(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8').trimEnd())).toBe(true);
    }
    const ns = await cluster.freshNamespace('certs');
    const d = fluxDeployment('notification-controller', ns);
    d.spec.template.spec.serviceAccountName = 'default';
    d.spec.template.spec.containers[0]!.env = [...(d.spec.template.spec.containers[0]!.env ?? []), { name: 'SSL_CERT_FILE', value: '/etc/ssl/certs/own.pem' }];
    await cluster.api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d);
    const own = await pollUntil('the container to start', () => cluster.controller(ns, 'notification-controller')?.pid);
    expect(envOf(own).SSL_CERT_FILE).toBe('/etc/ssl/certs/own.pem');
    await cluster.api.delete(deploymentPath(ns, 'notification-controller'));
  });

  it('leaves Pods of images it cannot run in ErrImagePull, and their Deployments unavailable', async () => {
    const ns = await cluster.freshNamespace('images');
    const oldTag = fluxDeployment('source-controller', ns);
    oldTag.spec.template.spec.containers[0]!.image = 'ghcr.io/fluxcd/source-controller:v1.0.0';
    oldTag.spec.template.spec.serviceAccountName = 'default';
    const web: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
    };
    await cluster.api.apply([oldTag, web] as KubeObject[]);
    for (const name of ['source-controller', 'web']) {
      const d = await cluster.api.waitFor<Deployment>(`status of ${name}`, deploymentPath(ns, name),
        (o) => o.status?.observedGeneration === o.metadata.generation && o.status?.unavailableReplicas === 1);
      expect(conditionOf(d, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
      const [pod] = await podsOf(ns, name === 'web' ? 'web' : 'source-controller');
      const waiting = await cluster.api.waitFor<{ status: { phase: string; containerStatuses?: { state: { waiting?: { reason: string } } }[] } }>('ErrImagePull',
        `/api/v1/namespaces/${ns}/pods/${pod!.metadata.name}`, (p) => p.status.containerStatuses?.[0]?.state.waiting?.reason === 'ErrImagePull');
      expect(waiting.status.phase).toBe('Pending');
    }
    const c = cluster.controller(ns, 'source-controller');
    expect(c?.pid).toBeUndefined();
    expect(c?.waiting).toContain('ErrImagePull');
    const events = await cluster.api.get<{ items: { reason: string; message: string }[] }>(`/api/v1/namespaces/${ns}/events`);
    expect(events.items.some((e) => e.reason === 'Failed' && e.message.includes('v1.0.0'))).toBe(true);
  });

  it('stops every process and the network namespace when the cluster stops', async () => {
    const pids = cluster.controllers().map((c) => c.pid).filter((p): p is number => !!p);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    const { controlPlane, network } = cluster.cluster();
    await cluster.cluster().stop();
    for (const pid of [...pids, network.pid, ...Object.values(controlPlane.pids)]) expect(alive(pid)).toBe(false);
  });
});
