// The kubelet stand-in: Deployments created through the API start real controller processes;
// changes to them restart or stop those processes, as a node would.
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEmulatorCa } from '../emulators/ca.js';
import { useDedicatedCluster, usePlatform } from './fixture.js';
import { conditionOf, parseYamlObjects, type KubeObject } from './kube-api.js';
import type { Deployment } from './kubelet.js';
import { installRelease, waitForDeploymentAvailable } from './platform.js';
import { pollUntil, rssKiB } from './processes.js';

const platform = usePlatform();
const cluster = useDedicatedCluster();
let installYaml = '';

beforeAll(async () => {
  installYaml = await (await fetch(platform.info.releases.fluxInstallUrl)).text();
  await installRelease(cluster.api, platform.info.releases.fluxInstallUrl);
});

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
};
const deploymentPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

/** A Deployment of install.yaml, moved to another namespace (and optionally changed). */
function fluxDeployment(name: string, namespace: string): Deployment {
  const d = structuredClone(parseYamlObjects(installYaml).find((o) => o.kind === 'Deployment' && o.metadata.name === name)) as Deployment;
  d.metadata = { name, namespace, labels: d.metadata.labels };
  return d;
}

describe('kubelet stand-in', () => {
  it('starts the controllers of Deployments created through the API and reports them available', async () => {
    for (const name of ['source-controller', 'kustomize-controller', 'notification-controller']) {
      const c = await cluster.waitForController('flux-system', name);
      expect(alive(c.pid)).toBe(true);
      expect(rssKiB(c.pid!)).toBeGreaterThan(0);
      const d = await cluster.api.get<Deployment>(deploymentPath('flux-system', name));
      expect(d.status).toMatchObject({ observedGeneration: d.metadata.generation, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 });
      expect(conditionOf(d, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
      expect(conditionOf(d, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    }
  });

  it('restarts a controller when its pod template changes', async () => {
    const before = await cluster.waitForController('flux-system', 'kustomize-controller');
    const d = await cluster.api.get<Deployment>(deploymentPath('flux-system', 'kustomize-controller'));
    const container = d.spec.template.spec.containers[0]!;
    container.args = [...(container.args ?? []).filter((a) => !a.startsWith('--log-level')), '--log-level=debug'];
    await cluster.api.put(deploymentPath('flux-system', 'kustomize-controller'), d);
    const after = await pollUntil('a new kustomize-controller process', () => {
      const c = cluster.controller('flux-system', 'kustomize-controller');
      return c?.ready && c.pid !== before.pid ? c : undefined;
    });
    expect(after.argv).toContain('--log-level=debug');
    expect(alive(before.pid)).toBe(false);
    await waitForDeploymentAvailable(cluster.api, 'flux-system', 'kustomize-controller', 30_000);
  });

  it('stops a controller scaled to 0 and starts it again when scaled back', async () => {
    const before = await cluster.waitForController('flux-system', 'notification-controller');
    await cluster.api.patch(deploymentPath('flux-system', 'notification-controller'), { spec: { replicas: 0 } });
    await pollUntil('notification-controller stopped', () => !cluster.controller('flux-system', 'notification-controller') && !alive(before.pid));
    const scaled = await waitForDeploymentAvailable(cluster.api, 'flux-system', 'notification-controller', 30_000);
    expect(scaled.status?.replicas).toBeUndefined();
    await cluster.api.patch(deploymentPath('flux-system', 'notification-controller'), { spec: { replicas: 1 } });
    const again = await cluster.waitForController('flux-system', 'notification-controller');
    expect(again.pid).not.toBe(before.pid);
  });

  it('restarts a controller process that dies, on the same local addresses', async () => {
    // kustomize-controller: its readiness does not wait for the leader lease that a killed process
    // leaves behind (source-controller's does, for the lease duration, as on a real node).
    const before = await cluster.waitForController('flux-system', 'kustomize-controller');
    process.kill(before.pid!, 'SIGKILL');
    const after = await pollUntil('kustomize-controller restarted', () => {
      const c = cluster.controller('flux-system', 'kustomize-controller');
      return c?.ready && c.pid !== before.pid ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(after.restarts).toBeGreaterThanOrEqual(1);
    expect(after.addresses).toEqual(before.addresses);
  });

  it('stops a controller when its Deployment is deleted', async () => {
    const ns = await cluster.freshNamespace('delete');
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
    await pollUntil('the process to stop', () => !cluster.controller(ns, 'notification-controller') && !alive(c.pid), { timeoutMs: 20_000 });
    const events = await cluster.api.get<{ items: { reason: string }[] }>(`/api/v1/namespaces/${ns}/events`);
    expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Started', 'Killing']));
  });

  it("runs a controller with its Deployment's service account, so that account's RBAC applies", async () => {
    const ns = await cluster.freshNamespace('limited');
    await cluster.api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'limited' } });
    const d = fluxDeployment('notification-controller', ns);
    d.spec.template.spec.serviceAccountName = 'limited';
    await cluster.api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d);
    const c = await pollUntil('the controller to start', () => cluster.controller(ns, 'notification-controller')?.pid ? cluster.controller(ns, 'notification-controller') : undefined);
    await expect.poll(() => readFileSync(c.logFile, 'utf8'), { timeout: 30_000, interval: 500 })
      .toContain(`User \\"system:serviceaccount:${ns}:limited\\" cannot`);
    await cluster.api.delete(deploymentPath(ns, 'notification-controller'));
  });

  it('gives controllers SSL_CERT_FILE: the system roots plus the emulator CA, unless the Deployment sets its own', async () => {
    const envOf = (pid: number) => Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
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
    const own = await pollUntil('the controller to start', () => cluster.controller(ns, 'notification-controller')?.pid);
    expect(envOf(own).SSL_CERT_FILE).toBe('/etc/ssl/certs/own.pem');
    await cluster.api.delete(deploymentPath(ns, 'notification-controller'));
  });

  it('leaves Deployments of images it cannot run unavailable, with the reason', async () => {
    const ns = await cluster.freshNamespace('images');
    const oldTag = fluxDeployment('source-controller', ns);
    oldTag.spec.template.spec.containers[0]!.image = 'ghcr.io/fluxcd/source-controller:v1.0.0';
    const web: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
    };
    await cluster.api.apply([oldTag, web] as KubeObject[]);
    for (const name of ['source-controller', 'web']) {
      const d = await cluster.api.waitFor<Deployment>(`status of ${name}`, deploymentPath(ns, name),
        (o) => o.status?.observedGeneration === o.metadata.generation);
      expect(conditionOf(d, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
      expect(d.status?.unavailableReplicas).toBe(1);
    }
    const c = cluster.controller(ns, 'source-controller');
    expect(c?.pid).toBeUndefined();
    expect(c?.waiting).toContain('ErrImagePull');
    const events = await cluster.api.get<{ items: { reason: string; message: string }[] }>(`/api/v1/namespaces/${ns}/events`);
    expect(events.items.some((e) => e.reason === 'Failed' && e.message.includes('v1.0.0'))).toBe(true);
  });

  it('stops every controller process when the cluster stops', async () => {
    const pids = cluster.controllers().map((c) => c.pid).filter((p): p is number => !!p);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    await cluster.cluster().stop();
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
