// Real Flux controllers, installed from the release server's install.yaml into a cluster of this
// file's own, reconciling from the platform's git server and from the Azure DevOps emulator.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDedicatedCluster, usePlatform } from './fixture.js';
import { conditionOf, type KubeObject } from './kube-api.js';
import { installRelease } from './platform.js';
import { pollUntil } from './processes.js';
import { startDevOpsEmulator, type DevOpsEmulator } from '../emulators/devops/devops-emulator.js';
import { trustEmulatorCa } from '../emulators/trust-emulator-ca.js';

// This process talks to the emulator's REST API; the controllers trust its CA through the kubelet.
trustEmulatorCa();

const platform = usePlatform();
const cluster = useDedicatedCluster();
const FLUX = ['source-controller', 'kustomize-controller', 'notification-controller'];

beforeAll(async () => {
  await installRelease(cluster.api, platform.info.releases.fluxInstallUrl);
});

// As kstatus reads it: Flux patches conditions and the rest of the status in separate requests,
// so Ready counts only once the status is of the current generation.
const observed = (o: unknown) => {
  const x = o as { metadata?: { generation?: number }; status?: { observedGeneration?: number } };
  return x.status?.observedGeneration === x.metadata?.generation;
};
const ready = (o: unknown) => observed(o) && conditionOf(o, 'Ready')?.status === 'True';
const failed = (o: unknown) => conditionOf(o, 'Ready')?.status === 'False';
const gitRepositoryPath = (ns: string, name: string) => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories/${name}`;
const kustomizationPath = (ns: string, name: string) => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations/${name}`;

interface Artifact { status?: { artifact?: { revision: string; url: string }; lastAppliedRevision?: string } }

/** A git repository with an app folder and a GitRepository (with basic-auth secret) pointing at it. */
async function gitSource(ns: string, files: Record<string, string>, password = platform.git.password!) {
  const repo = `${ns}-app`;
  const { head } = await platform.git.createRepo(repo, { files });
  await cluster.api.apply([
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-auth', namespace: ns }, stringData: { username: platform.git.username, password } },
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'app', namespace: ns },
      spec: { interval: '10m', url: platform.git.url(repo), ref: { branch: 'main' }, secretRef: { name: 'git-auth' }, timeout: '30s' },
    },
  ] as KubeObject[]);
  return { repo, head: head! };
}

/** A repository in the Azure DevOps emulator with one commit on main, pushed through its REST API; returns the commit. */
async function azureReposCommit(devops: DevOpsEmulator, project: string, name: string, files: Record<string, string>): Promise<string> {
  const call = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${devops.collectionUrl}${project}/_apis/git/${path}?api-version=7.1`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { authorization: `Bearer ${devops.systemAccessToken}`, 'content-type': 'application/json' },
    });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const repository = await call<{ id: string }>('repositories', { name });
  const push = await call<{ commits: { commitId: string }[] }>(`repositories/${repository.id}/pushes`, {
    refUpdates: [{ name: 'refs/heads/main', oldObjectId: '0'.repeat(40) }],
    commits: [{
      comment: 'Add apps',
      changes: Object.entries(files).map(([path, content]) => ({ changeType: 'add', item: { path: `/${path}` }, newContent: { content, contentType: 'rawtext' } })),
    }],
  });
  return push.commits[0]!.commitId;
}

const configMapYaml = (ns: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n  namespace: ${ns}\ndata:\n  greeting: ${value}\n`;

/** A tenant namespace with a service account; bound to the built-in admin role when allowed. */
async function tenant(ns: string, account: string, allowed: boolean) {
  await cluster.api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: account } });
  if (!allowed) return;
  await cluster.api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${account}-admin` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: ns }],
  });
}

async function kustomization(ns: string, name: string, serviceAccountName: string) {
  await cluster.api.apply([{
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name, namespace: ns },
    // No workloads run here (no pods), so never wait for health.
    spec: { interval: '10m', path: './apps', prune: true, wait: false, timeout: '1m', serviceAccountName, sourceRef: { kind: 'GitRepository', name: 'app' } },
  }] as KubeObject[]);
}

describe('Flux from install.yaml', () => {
  it('runs each controller from its Deployment, as its own service account', async () => {
    for (const name of FLUX) {
      const c = await cluster.waitForController('flux-system', name);
      expect(c.controller).toBe(name);
      const token = readFileSync(`${c.serviceAccountDir}/token`, 'utf8');
      const who = await cluster.api.as(token).post<{ status: { userInfo: { username: string } } }>(
        '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
      expect(who.status.userInfo.username).toBe(`system:serviceaccount:flux-system:${name}`);
      const d = await cluster.api.get(`/apis/apps/v1/namespaces/flux-system/deployments/${name}`);
      expect(conditionOf(d, 'Available')?.status).toBe('True');
    }
  });

  it('makes a GitRepository on the local git server Ready, using its basic-auth secret', async () => {
    const ns = await cluster.freshNamespace('gitrepo');
    const { head } = await gitSource(ns, { 'apps/cm.yaml': configMapYaml(ns, 'hi') });
    const repo = await cluster.api.waitFor<Artifact>('GitRepository Ready', gitRepositoryPath(ns, 'app'), ready);
    expect(repo.status?.artifact?.revision).toBe(`main@sha1:${head}`);
    // The artifact URL names source-controller's Service, as on a cluster; the API server's
    // service proxy reaches it (kustomize-controller resolves the name in its Pod).
    const url = new URL(repo.status!.artifact!.url);
    expect(url.host).toBe('source-controller.flux-system.svc.cluster.local.');
    const tarball = await cluster.api.request('GET', `/api/v1/namespaces/flux-system/services/source-controller:http/proxy${url.pathname}`);
    expect(tarball.status).toBe(200);
  });

  it('fetches from the Azure DevOps emulator over HTTPS with a PAT, trusting its CA without ca.crt', async () => {
    const devops = await startDevOpsEmulator({ organization: 'contoso' });
    try {
      devops.addProject({ name: 'Platform' });
      const ns = await cluster.freshNamespace('azdo');
      const head = await azureReposCommit(devops, 'Platform', 'apps', { 'apps/cm.yaml': configMapYaml(ns, 'hi') });
      const pat = devops.addPersonalAccessToken();
      await cluster.api.apply([
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'azdo-auth', namespace: ns }, stringData: { username: 'git', password: pat } },
        {
          apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'app', namespace: ns },
          spec: { interval: '10m', url: devops.gitUrl('Platform', 'apps'), ref: { branch: 'main' }, secretRef: { name: 'azdo-auth' }, timeout: '30s' },
        },
      ] as KubeObject[]);
      const repo = await cluster.api.waitFor<Artifact>('GitRepository Ready', gitRepositoryPath(ns, 'app'), (o) => ready(o) || failed(o));
      expect(conditionOf(repo, 'Ready')?.message).not.toMatch(/certificate/);
      expect(repo.status?.artifact?.revision).toBe(`main@sha1:${head}`);
      expect(devops.requests.some((r) => r.path.endsWith('/_git/apps/info/refs') && r.status === 200)).toBe(true);
    } finally {
      await devops.stop();
    }
  });

  it('reports an authentication failure when the secret holds a wrong password', async () => {
    const ns = await cluster.freshNamespace('gitauth');
    await gitSource(ns, { 'apps/cm.yaml': configMapYaml(ns, 'hi') }, 'wrong-password');
    const repo = await cluster.api.waitFor('GitRepository failing', gitRepositoryPath(ns, 'app'), failed);
    expect(conditionOf(repo, 'Ready')?.message).toMatch(/authentication required|401/i);
  });

  it('applies a Kustomization as its service account, and follows new commits', async () => {
    const ns = await cluster.freshNamespace('tenant');
    await tenant(ns, 'deployer', true);
    const { repo, head } = await gitSource(ns, { 'apps/cm.yaml': configMapYaml(ns, 'hi') });
    await cluster.api.waitFor('GitRepository Ready', gitRepositoryPath(ns, 'app'), ready);
    await kustomization(ns, 'apps', 'deployer');
    const k = await cluster.api.waitFor<Artifact>('Kustomization Ready', kustomizationPath(ns, 'apps'), ready);
    expect(k.status?.lastAppliedRevision).toBe(`main@sha1:${head}`);
    const cm = await cluster.api.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/hello`);
    expect(cm.data.greeting).toBe('hi');
    expect((cm as unknown as KubeObject).metadata.labels?.['kustomize.toolkit.fluxcd.io/name']).toBe('apps');

    const next = await platform.git.commit(repo, { files: { 'apps/cm.yaml': configMapYaml(ns, 'changed') } });
    await cluster.api.patch(gitRepositoryPath(ns, 'app'), { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': String(Date.now()) } } });
    await cluster.api.waitFor<Artifact>('new revision applied', kustomizationPath(ns, 'apps'),
      (o) => o.status?.lastAppliedRevision === `main@sha1:${next}`);
    expect((await cluster.api.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/hello`)).data.greeting).toBe('changed');
  });

  it('deletes a tenant namespace once Flux has let go of its objects (finalizers)', async () => {
    const ns = await cluster.freshNamespace('offboard');
    await tenant(ns, 'deployer', true);
    await gitSource(ns, { 'apps/cm.yaml': configMapYaml(ns, 'hi') });
    await cluster.api.waitFor('GitRepository Ready', gitRepositoryPath(ns, 'app'), ready);
    await kustomization(ns, 'apps', 'deployer');
    const k = await cluster.api.waitFor<KubeObject>('Kustomization Ready', kustomizationPath(ns, 'apps'), ready);
    expect(k.metadata.finalizers).toContain('finalizers.fluxcd.io');

    await cluster.api.delete(`/api/v1/namespaces/${ns}`);
    await pollUntil(`namespace ${ns} gone`, async () => !(await cluster.api.find(`/api/v1/namespaces/${ns}`)), { timeoutMs: 60_000 });
    expect(await cluster.api.find(gitRepositoryPath(ns, 'app'))).toBeUndefined();
    expect(await cluster.api.find(kustomizationPath(ns, 'apps'))).toBeUndefined();
    expect(await cluster.api.find(`/api/v1/namespaces/${ns}/configmaps/hello`)).toBeUndefined();
  });

  it("refuses a Kustomization whose service account lacks the RBAC, with Flux's Forbidden message", async () => {
    const ns = await cluster.freshNamespace('tenant');
    await tenant(ns, 'nobody', false);
    await gitSource(ns, { 'apps/cm.yaml': configMapYaml(ns, 'hi') });
    await cluster.api.waitFor('GitRepository Ready', gitRepositoryPath(ns, 'app'), ready);
    await kustomization(ns, 'apps', 'nobody');
    const k = await cluster.api.waitFor('Kustomization failing', kustomizationPath(ns, 'apps'),
      (o) => failed(o) && !!conditionOf(o, 'Ready')?.message?.includes('Forbidden'));
    const message = conditionOf(k, 'Ready')?.message ?? '';
    expect(message).toContain(`ConfigMap/${ns}/hello dry-run failed (Forbidden)`);
    expect(message).toContain(`User "system:serviceaccount:${ns}:nobody" cannot`);
    expect(await cluster.api.find(`/api/v1/namespaces/${ns}/configmaps/hello`)).toBeUndefined();
  });

  it('delivers Flux events through notification-controller to a webhook', async () => {
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { received.push(body); res.writeHead(200).end(); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (hook.address() as { port: number }).port;
      const ns = await cluster.freshNamespace('alerts');
      await cluster.api.apply([
        { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', metadata: { name: 'hook', namespace: ns },
          spec: { type: 'generic', address: `http://127.0.0.1:${port}/hook` } },
        { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', metadata: { name: 'all', namespace: ns },
          spec: { providerRef: { name: 'hook' }, eventSeverity: 'info', eventSources: [{ kind: 'GitRepository', name: '*' }] } },
      ] as KubeObject[]);
      // The Alert must be in notification-controller's cache before the event is sent.
      await new Promise((r) => setTimeout(r, 2_000));
      const { head } = await gitSource(ns, { 'apps/cm.yaml': configMapYaml(ns, 'hi') });
      await cluster.api.waitFor('GitRepository Ready', gitRepositoryPath(ns, 'app'), ready);
      await expect.poll(() => received.join('\n'), { timeout: 30_000, interval: 250 }).toContain(head);
      expect(JSON.parse(received[0]!).involvedObject).toMatchObject({ kind: 'GitRepository', name: 'app', namespace: ns });
    } finally {
      hook.closeAllConnections();
      await new Promise<void>((r) => hook.close(() => r()));
    }
  });
});
