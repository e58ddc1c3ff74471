// RegisterSystem@1 end to end: a cluster of this file's own bootstrapped by the packaged
// InstallSealedSecrets and FluxBootstrap tasks from a platform repository in Azure Repos (the
// Azure DevOps emulator), then the packaged RegisterSystem onboarding a team. The team then pushes
// to its own repository as a team would, and the real Flux controllers apply it as the team's
// account; every tenant escape we know of is pushed and must fail or come to nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, makeKeyPair } from '../agent/fixtures';
import { runTask, visibleOutput, type RunResult } from '../agent/harness';
import { ensureEmulatorCa } from '../emulators/ca';
import { startDevOpsEmulator, type DevOpsEmulator } from '../emulators/devops/devops-emulator';
import { devopsRepos, type DevOpsRepos } from '../emulators/devops-repos';
import { filesOf } from '../pipeline/local-stack';
import { repoRoot } from '../pipeline/run-file';
import { auditEvents } from '../platform/audit-log';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import { startGitServer, type GitServer } from '../platform/git-server';
import { conditionOf, KubeApiError, type KubeObject } from '../platform/kube-api';
import { kubeseal } from '../platform/kubeseal';

const platform = usePlatform();
const cluster = useDedicatedCluster();
const work = mkdtempSync(join(tmpdir(), 'register-e2e-'));
const pair = makeKeyPair({ bits: 2048 });
const FLUX_NS = 'flux-system';
let devops: DevOpsEmulator;
let repos: DevOpsRepos;
let pat: string;
let webhook: { url: string; bodies: unknown[]; server: Server };
let publicGit: GitServer | undefined;

/** A kustomize base in a public repository, as a remote base would name it. */
async function publicBase(): Promise<string> {
  publicGit = await startGitServer({ anonymous: true });
  const { url } = await publicGit.createRepo('shared-bases', { files: {
    'base/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n',
    'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-remote}\ndata: {a: b}\n',
  } });
  return url;
}

const NODE_ENV = () => ({ NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '' });

beforeAll(async () => {
  writeFileSync(join(work, 'kubeconfig'), cluster.info.kubeconfigYaml);
  writeFileSync(join(work, 'dev.crt'), pair.certPem);
  devops = await startDevOpsEmulator();
  devops.addProject({ name: 'platform' });
  pat = devops.addPersonalAccessToken();
  repos = devopsRepos({ collectionUrl: devops.collectionUrl, project: 'platform', pat, token: devops.systemAccessToken });
  await repos.create('platform-components', { ...filesOf(join(repoRoot, 'examples', 'platform-components')), 'sealed-secrets/dev.crt': pair.certPem });
  webhook = await startWebhookReceiver();

  const installed = await runTask({
    task: 'InstallSealedSecrets', workingDirectory: work, env: NODE_ENV(),
    inputs: {
      connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', privateKey: b64(pair.keyPem), certificate: b64(pair.certPem),
      releaseBaseUrl: platform.info.releases.baseUrl, controllerVersion: platform.info.releases.sealedSecretsVersion, timeoutMinutes: '3',
    },
  });
  expect(installed.result, installed.stdout).toBe('Succeeded');
  const flux = await runTask({
    task: 'FluxBootstrap', workingDirectory: work, env: NODE_ENV(),
    inputs: {
      connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', gitUrl: repos.url('platform-components'), gitBranch: 'main', gitPath: './clusters/dev',
      gitToken: pat, components: 'source-controller,kustomize-controller,notification-controller',
      releaseBaseUrl: platform.info.releases.baseUrl, fluxVersion: platform.info.releases.fluxVersion, timeoutMinutes: '4',
    },
  });
  expect(flux.result, flux.stdout).toBe('Succeeded');
  await reconcile([['GitRepository', FLUX_NS, 'flux-system'], ['Kustomization', FLUX_NS, 'infrastructure'], ['Kustomization', FLUX_NS, 'systems']]);
}, 420_000);

afterAll(async () => {
  await publicGit?.stop();
  webhook?.server.close();
  await devops?.stop();
  rmSync(work, { recursive: true, force: true });
});

const register = (extra: Record<string, string> = {}) => runTask({
  task: 'RegisterSystem',
  workingDirectory: work,
  env: NODE_ENV(),
  inputs: {
    systemName: 'payments',
    clusterRole: 'system-tenant',
    entraGroupObjectId: '2d4f6a8c-1b3e-4d5f-8a7c-9e0b2c4d6f81',
    entraGroupClusterRole: 'view',
    syncInterval: '1m',
    organizationUrl: devops.collectionUrl,
    project: 'platform',
    accessToken: devops.systemAccessToken,
    createRepository: 'true',
    systemBranch: 'main',
    systemPath: './deploy/dev',
    systemReadToken: pat,
    platformRepository: 'platform-components',
    platformBranch: 'main',
    systemsFolder: 'systems/dev',
    changeMode: 'commit',
    sealingCertificate: 'dev.crt',
    sealingScope: 'strict',
    alertProvider: 'msteams',
    alertWebhookUrl: webhook.url,
    alertSeverity: 'error',
    ...extra,
  },
});

const writes = (since: number) => devops.requests.slice(since).filter((r) => !['GET', 'OPTIONS', 'HEAD'].includes(r.method) && !/git-upload-pack/.test(r.path));

const kinds: Record<string, string> = {
  GitRepository: '/apis/source.toolkit.fluxcd.io/v1/namespaces/%s/gitrepositories/%s',
  Kustomization: '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/%s/kustomizations/%s',
};
const pathOf = (kind: string, ns: string, name: string) => kinds[kind]!.replace('%s', ns).replace('%s', name);

/** `flux reconcile` for each object in order, waiting until each handled the request. */
async function reconcile(objects: [string, string, string][], opts: { expectReady?: boolean; timeoutMs?: number } = {}): Promise<KubeObject[]> {
  const done: KubeObject[] = [];
  for (const [kind, ns, name] of objects) {
    const token = new Date().toISOString();
    await cluster.api.patch(pathOf(kind, ns, name), { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': token } } });
    done.push(await cluster.api.waitFor<KubeObject>(`${kind} ${ns}/${name} to handle ${token}`, pathOf(kind, ns, name), (o) => {
      const status = o.status as { lastHandledReconcileAt?: string } | undefined;
      const ready = conditionOf(o, 'Ready');
      return status?.lastHandledReconcileAt === token && !!ready && ready.reason !== 'Progressing' && (opts.expectReady === false || ready.status === 'True');
    }, opts.timeoutMs ?? 90_000));
  }
  return done;
}

/** Pushes to the team repository and waits until the team's Kustomization attempted that commit. */
async function teamPush(files: Record<string, string | null>, message: string): Promise<{ sha: string; kustomization: KubeObject }> {
  const sha = await repos.commit('payments', files, message);
  await reconcile([['GitRepository', 'payments', 'payments']], { expectReady: false });
  const revision = `main@sha1:${sha}`;
  const k = await cluster.api.waitFor<KubeObject>(`payments Kustomization to apply or fail ${sha}`, pathOf('Kustomization', 'payments', 'payments'), (o) => {
    const s = o.status as { lastAttemptedRevision?: string; lastAppliedRevision?: string } | undefined;
    const ready = conditionOf(o, 'Ready')?.status;
    return (ready === 'True' && s?.lastAppliedRevision === revision) || (ready === 'False' && s?.lastAttemptedRevision === revision);
  }, 90_000).catch(async () => (await reconcile([['Kustomization', 'payments', 'payments']], { expectReady: false }))[0]!);
  return { sha, kustomization: k };
}

const exists = async (path: string) => (await cluster.api.find(path)) !== undefined;

describe('RegisterSystem@1', () => {
  let first: RunResult;

  it('refuses bad input and missing objects before anything is written', async () => {
    const since = devops.requests.length;
    const cases: [Record<string, string>, RegExp][] = [
      [{ clusterRole: 'no-such-role' }, /Input 'clusterRole': the ClusterRole 'no-such-role' exists neither in platform-components/],
      [{ project: 'nope' }, /Project 'nope' does not exist .*View project-level information/],
      [{ platformRepository: 'missing-repo' }, /Input 'platformRepository': repository 'missing-repo' does not exist/],
      [{ platformBranch: 'release' }, /Input 'platformBranch': branch 'release' does not exist/],
      [{ systemName: 'Payments!' }, /Input 'systemName'/],
      [{ alertWebhookUrl: 'http://hooks.example.com/x' }, /Input 'alertWebhookUrl': .* uses http/],
      [{ accessToken: 'not-a-token' }, /refused the access token .*\(401\)/],
      [{ action: 'deregister', confirmDeletion: 'paymnets' }, /Input 'confirmDeletion': 'paymnets' does not repeat the system name/],
    ];
    writeFileSync(join(work, 'not-a-cert.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    cases.push([{ sealingCertificate: 'not-a-cert.pem' }, /Input 'sealingCertificate': The file is not a PEM X.509 certificate/]);
    for (const [inputs, expected] of cases) {
      const run = await register(inputs);
      expect(run.result, run.stdout).toBe('Failed');
      expect(run.errors, JSON.stringify(inputs)).toHaveLength(1);
      expect(run.errors[0]).toMatch(expected);
      expect(run.stdout).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
    }
    expect(writes(since)).toEqual([]);
    expect(await repos.head('payments')).toBeUndefined();
  });

  it('names the missing Azure DevOps permission and writes nothing, not even the team repository', async () => {
    const since = devops.requests.length;
    devops.denyPermission({ permission: 'CreateRepository', project: 'platform' });
    const noCreate = await register();
    devops.allowPermission({ permission: 'CreateRepository', project: 'platform' });
    expect(noCreate.result).toBe('Failed');
    expect(noCreate.errors[0]).toMatch(/lacks 'Create repository' on project platform\. Nothing was written\. Grant them under Project settings > Repositories > Security/);
    devops.denyPermission({ permission: 'GenericContribute', project: 'platform', repository: 'platform-components' });
    const noPush = await register();
    devops.allowPermission({ permission: 'GenericContribute', project: 'platform', repository: 'platform-components' });
    expect(noPush.result).toBe('Failed');
    expect(noPush.errors[0]).toMatch(/lacks 'Contribute' on repository platform-components \(branch main\)\. Nothing was written/);
    expect(writes(since).filter((r) => r.path.endsWith('/permissionevaluationbatch') === false)).toEqual([]);
    expect(await repos.head('payments')).toBeUndefined();
  });

  it('creates the team repository and commits the system folder; in Git, secrets exist only sealed', async () => {
    const before = await repos.head('platform-components');
    first = await register();
    expect(first.result, first.stdout).toBe('Succeeded');
    expect(first.variables.changed.value).toBe('true');
    const commitId = first.variables.commitId.value;
    expect(await repos.head('platform-components')).toBe(commitId);
    expect((await repos.commitOf('platform-components', commitId)).parents).toEqual([before]);
    expect(first.variables.repositoryUrl.value).toContain('/platform/_git/payments');

    const platformTree = (await repos.tree('platform-components'))!;
    const folder = Object.keys(platformTree).filter((p) => p.startsWith('systems/dev/payments/')).sort();
    expect(folder).toEqual(['alert-webhook.sealed.yaml', 'alerts.yaml', 'git-credentials.sealed.yaml', 'kustomization.yaml', 'namespace.yaml', 'network-policy.yaml', 'rbac.yaml', 'sync.yaml']
      .map((f) => `systems/dev/payments/${f}`));
    expect(platformTree['systems/dev/kustomization.yaml']).toMatch(/resources:\n\s+- tenant-guardrails.yaml\n\s+- payments\n/);
    const teamTree = (await repos.tree('payments'))!;
    expect(Object.keys(teamTree).sort()).toEqual(['deploy/dev/README.md', 'deploy/dev/kustomization.yaml']);
    expect(teamTree['deploy/dev/README.md']).toContain('kubeseal --cert sealing.crt');
    expect(teamTree['deploy/dev/README.md']).toContain('deployments, statefulsets, replicasets (apps)');
    // No plain Secret anywhere, and neither value in any form in either repository or the log.
    for (const [path, text] of Object.entries({ ...platformTree, ...teamTree })) {
      expect(text, path).not.toMatch(/^kind:\s*Secret\s*$/m);
      for (const secret of [pat, webhook.url, b64(pat), b64(webhook.url)]) expect(text, path).not.toContain(secret);
    }
    for (const secret of [pat, webhook.url, b64(pat)]) expect(visibleOutput(first)).not.toContain(secret);
    expect(first.summaries[0]!.markdown).toContain('added Namespace/payments');
  });

  it('Flux applies the system: tenant namespace, account bound to the ClusterRole, sealed credential, team sync Ready', async () => {
    await reconcile([['GitRepository', FLUX_NS, 'flux-system'], ['Kustomization', FLUX_NS, 'systems']]);
    const ns = await cluster.api.get('/api/v1/namespaces/payments');
    expect(ns.metadata.labels).toMatchObject({ 'toolkit.fluxcd.io/tenant': 'payments', 'pod-security.kubernetes.io/enforce': 'baseline' });
    const rb = await cluster.api.get<{ roleRef: { name: string }; subjects: { kind: string; name: string }[] }>('/apis/rbac.authorization.k8s.io/v1/namespaces/payments/rolebindings/payments-reconciler');
    expect(rb.roleRef.name).toBe('system-tenant');
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'payments', namespace: 'payments' }]);
    // The controller unsealed both secrets into the namespace.
    const git = await cluster.api.waitFor<{ data: Record<string, string> }>('unsealed git credential', '/api/v1/namespaces/payments/secrets/payments-git', () => true);
    expect(Buffer.from(git.data.password!, 'base64').toString()).toBe(pat);
    const hook = await cluster.api.waitFor<{ data: Record<string, string> }>('unsealed webhook', '/api/v1/namespaces/payments/secrets/payments-alerts', () => true);
    expect(Buffer.from(hook.data.address!, 'base64').toString()).toBe(webhook.url);
    const [, k] = await reconcile([['GitRepository', 'payments', 'payments'], ['Kustomization', 'payments', 'payments']]);
    expect((k!.status as { lastAppliedRevision: string }).lastAppliedRevision).toBe(`main@sha1:${await repos.head('payments')}`);
  });

  it('applies what the team pushes as the team account: a Deployment, a Service and a SealedSecret sealed with kubeseal', async () => {
    const sealed = await kubeseal(platform.info.binaries.kubeseal, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'payments' }, data: { password: b64('s3cret-db') } }, join(work, 'dev.crt'));
    const { sha, kustomization } = await teamPush({
      'deploy/dev/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml, service.yaml, db.sealed.yaml]\n',
      'deploy/dev/deployment.yaml': deployment('web', {}),
      'deploy/dev/service.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n',
      'deploy/dev/db.sealed.yaml': JSON.stringify(sealed),
    }, 'web, its service and its database password');
    expect(conditionOf(kustomization, 'Ready')?.status, JSON.stringify(kustomization.status)).toBe('True');
    expect((kustomization.status as { lastAppliedRevision: string }).lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(await exists('/apis/apps/v1/namespaces/payments/deployments/web')).toBe(true);
    expect(await exists('/api/v1/namespaces/payments/services/web')).toBe(true);
    const db = await cluster.api.waitFor<{ data: Record<string, string> }>('unsealed db secret', '/api/v1/namespaces/payments/secrets/db', () => true);
    expect(Buffer.from(db.data.password!, 'base64').toString()).toBe('s3cret-db');
    // Who wrote them: kustomize-controller, impersonating the team's account.
    const events = auditEvents(cluster.info, (e) => !e.dryRun && e.objectRef?.namespace === 'payments' && !e.objectRef.subresource
      && e.user.username === 'system:serviceaccount:flux-system:kustomize-controller' && ['deployments/web', 'services/web', 'sealedsecrets/db'].includes(`${e.objectRef.resource}/${e.objectRef.name}`));
    expect(events.length).toBeGreaterThanOrEqual(3);
    for (const e of events) expect(e.impersonatedUser?.username, JSON.stringify(e)).toBe('system:serviceaccount:payments:payments');
  });

  it('stops every tenant escape: refused or without effect, nothing outside the namespace changes, the team is told', async () => {
    await cluster.api.apply('apiVersion: v1\nkind: Namespace\nmetadata: {name: victim}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: crown-jewels, namespace: victim}\nstringData: {key: value}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: victim}\ndata: {a: b}\n');
    const outside = await snapshotOutside();
    const remoteBase = await publicBase();
    const foreignSealed = await kubeseal(platform.info.binaries.kubeseal, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'stolen', namespace: 'victim' }, data: { key: b64('x') } }, join(work, 'dev.crt'));
    const forbidden = /forbidden|cannot|denied/i;
    const cases: { name: string; files: Record<string, string>; check: (k: KubeObject) => Promise<string | undefined> }[] = [
      { name: 'ClusterRole', files: { 'x.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: payments-admin}\nrules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]\n' }, check: refused(forbidden) },
      { name: 'ClusterRoleBinding', files: { 'x.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: payments-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: payments, namespace: payments}]\n' }, check: refused(forbidden) },
      { name: 'RoleBinding to cluster-admin', files: { 'x.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: escalate}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: payments, namespace: payments}]\n' }, check: refused(forbidden) },
      { name: 'Namespace', files: { 'x.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: payments-extra}\n' }, check: refused(forbidden) },
      { name: 'object in another namespace', files: { 'x.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: victim}\ndata: {a: hijacked}\n' },
        check: async () => ((await cluster.api.get<{ data: Record<string, string> }>('/api/v1/namespaces/payments/configmaps/settings')).data.a === 'hijacked' ? undefined : 'the ConfigMap did not land in payments') },
      { name: 'Kustomization using another namespace\'s source', files: { 'x.yaml': 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: steal}\nspec: {interval: 1m, path: ./, prune: false, sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}}\n' }, check: refused(forbidden) },
      { name: 'GitRepository', files: { 'x.yaml': 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: other}\nspec: {interval: 1m, url: "https://example.com/x.git", ref: {branch: main}}\n' }, check: refused(forbidden) },
      // kustomize still fetches a remote base with --no-remote-bases, then cannot read it: a base
      // that is really there (a public repository on a local git server) shows the refusal.
      { name: 'remote base', files: { 'kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: ["${remoteBase}//base?ref=main"]\n` },
        check: async (k) => (await exists('/api/v1/namespaces/payments/configmaps/from-remote') ? 'the remote base was applied' : refused(/not in or below|security|remote/i)(k)) },
      { name: 'Pod reading a Secret of another namespace', files: { 'x.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: thief, namespace: victim}\nspec: {containers: [{name: c, image: busybox, volumeMounts: [{name: s, mountPath: /s}]}], volumes: [{name: s, secret: {secretName: crown-jewels}}]}\n' }, check: refused(forbidden) },
      { name: 'LoadBalancer Service', files: { 'x.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: public}\nspec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}\n' }, check: refused(/ValidatingAdmissionPolicy 'tenant-no-external-services'.*Service type LoadBalancer is not allowed in tenant namespace payments/) },
      { name: 'NodePort Service', files: { 'x.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: nodeport}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}\n' }, check: refused(/Service type NodePort is not allowed in tenant namespace payments/) },
      { name: 'privileged pods', files: { 'x.yaml': deployment('priv', { privileged: true }) }, check: podsRefused('priv', /privileged/) },
      { name: 'hostPath pods', files: { 'x.yaml': deployment('hostpath', {}, { volumes: [{ name: 'root', hostPath: { path: '/' } }] }) }, check: podsRefused('hostpath', /hostPath volumes/) },
      { name: 'hostNetwork pods', files: { 'x.yaml': deployment('hostnet', {}, { hostNetwork: true }) }, check: podsRefused('hostnet', /host namespaces/) },
      { name: 'SealedSecret sealed for another namespace', files: { 'x.yaml': JSON.stringify({ ...foreignSealed, metadata: { ...foreignSealed.metadata, namespace: undefined } }) },
        check: async () => {
          const ss = await cluster.api.waitFor('the controller to judge the SealedSecret', '/apis/bitnami.com/v1alpha1/namespaces/payments/sealedsecrets/stolen', (o) => conditionOf(o, 'Synced') !== undefined);
          if (conditionOf(ss, 'Synced')?.status !== 'False') return 'the controller unsealed it';
          if (await exists('/api/v1/namespaces/payments/secrets/stolen') || await exists('/api/v1/namespaces/victim/secrets/stolen')) return 'a Secret appeared';
          return undefined;
        } },
    ];
    const results: { name: string; outcome: string; escaped: boolean }[] = [];
    for (const c of cases) {
      const files = Object.fromEntries(Object.entries(c.files).map(([p, t]) => [`deploy/dev/${p}`, t]));
      if (!files['deploy/dev/kustomization.yaml']) files['deploy/dev/kustomization.yaml'] = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [x.yaml]\n';
      const { kustomization } = await teamPush({ 'deploy/dev/x.yaml': null, ...files }, `try: ${c.name}`);
      const problem = await c.check(kustomization);
      const ready = conditionOf(kustomization, 'Ready');
      results.push({ name: c.name, outcome: problem ?? `${ready?.status === 'False' ? 'refused' : 'no effect'}: ${(ready?.message ?? '').split('\n')[0]!.slice(0, 160)}`, escaped: problem !== undefined });
    }
    process.stdout.write(`\nTenant escape matrix (${results.length} attempts, ${results.filter((r) => r.escaped).length} escapes):\n${results.map((r) => `  ${r.escaped ? 'ESCAPED' : 'stopped'}  ${r.name}: ${r.outcome}`).join('\n')}\n`);
    expect(results.filter((r) => r.escaped)).toEqual([]);
    expect(results).toHaveLength(15);
    expect(await snapshotOutside()).toEqual(outside);

    // The refusals reached the team's Teams channel through notification-controller.
    const cards = await waitForCards((texts) => texts.some((t) => /tenant-no-external-services/.test(t)));
    const card = cards.find((c) => /tenant-no-external-services/.test(c.items[1]!.text))!;
    expect(card.body.type).toBe('message');
    expect(card.body.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.items[0]!.text).toBe('kustomization/payments.payments');
    await teamPush({ 'deploy/dev/x.yaml': null, 'deploy/dev/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml, service.yaml, db.sealed.yaml]\n' }, 'back to normal');
  });

  it('changes nothing on an identical re-run, and makes one commit listing what changed', async () => {
    const since = devops.requests.length;
    const again = await register();
    expect(again.result, again.stdout).toBe('Succeeded');
    expect(again.variables.changed.value).toBe('false');
    expect(again.variables.commitId.value).toBe('');
    expect(writes(since)).toEqual([]);

    const head = await repos.head('platform-components');
    const changed = await register({ alertSeverity: 'info' });
    expect(changed.result, changed.stdout).toBe('Succeeded');
    const commit = await repos.commitOf('platform-components', changed.variables.commitId.value);
    expect(commit.parents).toEqual([head]);
    expect(commit.message).toContain('Alert/payments/payments spec.eventSeverity: error -> info');
    expect(commit.message.split('\n').filter((l) => l.startsWith('- '))).toHaveLength(1);
  });

  it('in pull-request mode opens exactly one pull request, and a re-run updates it', async () => {
    const system = { systemName: 'billing', changeMode: 'pullRequest' };
    const opened = await register(system);
    expect(opened.result, opened.stdout).toBe('Succeeded');
    const id = opened.variables.pullRequestId.value;
    expect(id).toMatch(/^\d+$/);
    const updated = await register({ ...system, alertSeverity: 'info' });
    expect(updated.result, updated.stdout).toBe('Succeeded');
    expect(updated.variables.pullRequestId.value).toBe(id);
    expect(updated.plainLines.join('\n')).toContain('spec.eventSeverity: error -> info');
    const same = await register({ ...system, alertSeverity: 'info' });
    expect(same.variables.changed.value).toBe('false');
    const prs = await (await fetch(`${devops.collectionUrl}platform/_apis/git/repositories/platform-components/pullrequests?searchCriteria.status=all&api-version=7.1`, { headers: { Authorization: `Bearer ${devops.systemAccessToken}` } })).json() as { value: { pullRequestId: number; status: string; sourceRefName: string }[] };
    expect(prs.value.filter((p) => p.sourceRefName === 'refs/heads/register-system/billing')).toEqual([expect.objectContaining({ pullRequestId: Number(id), status: 'active' })]);
    // Nothing reached the target branch yet.
    expect(Object.keys((await repos.tree('platform-components'))!).some((p) => p.startsWith('systems/dev/billing/'))).toBe(false);
  });

  it('deregisters only when confirmed; then Flux removes the namespace', async () => {
    const since = devops.requests.length;
    const unconfirmed = await register({ action: 'deregister', confirmDeletion: '' });
    expect(unconfirmed.result).toBe('Failed');
    expect(unconfirmed.errors[0]).toMatch(/confirmDeletion/);
    expect(writes(since)).toEqual([]);
    const gone = await register({ action: 'deregister', confirmDeletion: 'payments' });
    expect(gone.result, gone.stdout).toBe('Succeeded');
    expect(gone.variables.changed.value).toBe('true');
    const tree = (await repos.tree('platform-components'))!;
    expect(Object.keys(tree).some((p) => p.startsWith('systems/dev/payments/'))).toBe(false);
    expect(tree['systems/dev/kustomization.yaml']).not.toMatch(/- payments/);
    expect(await repos.head('payments')).toBeDefined();
    await reconcile([['GitRepository', FLUX_NS, 'flux-system'], ['Kustomization', FLUX_NS, 'systems']]);
    const deadline = Date.now() + 90_000;
    while (await exists('/api/v1/namespaces/payments') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(await exists('/api/v1/namespaces/payments')).toBe(false);
  });
});

function deployment(name: string, securityContext: object, podSpec: object = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas: 1, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { ...podSpec, containers: [{ name: 'app', image: 'nginx:1.27', securityContext }] } },
    },
  });
}

/** The Kustomization failed, and its message says why. */
function refused(why: RegExp) {
  return async (k: KubeObject) => {
    const ready = conditionOf(k, 'Ready');
    if (ready?.status !== 'False') return `applied (${ready?.message ?? 'no message'})`;
    return why.test(ready.message ?? '') ? undefined : `refused, but the message does not say why: ${ready.message}`;
  };
}

/**
 * Pod Security is enforced on Pods, not on their Deployments (pod-security-admission), so the
 * Deployment is applied and its Pods are refused when the ReplicaSet controller creates them.
 * This platform runs no ReplicaSet controller: the test asks the API server, as that controller
 * would, to create the Pod of the Deployment's template (dry-run) and expects the refusal.
 */
function podsRefused(name: string, why: RegExp) {
  return async () => {
    const d = await cluster.api.get<{ spec: { template: { metadata: object; spec: object } } }>(`/apis/apps/v1/namespaces/payments/deployments/${name}`);
    try {
      await cluster.api.post('/api/v1/namespaces/payments/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { ...d.spec.template.metadata, name: `${name}-probe` }, spec: d.spec.template.spec }, { dryRun: 'All' });
      return 'a Pod of the template would be admitted';
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 403 && /violates PodSecurity "baseline:latest"/.test(error.message) && why.test(error.message)) return undefined;
      return `unexpected answer: ${(error as Error).message}`;
    }
  };
}

/** Cluster-scoped RBAC, namespaces, and everything in the victim namespace, by resourceVersion. */
async function snapshotOutside(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of ['/api/v1/namespaces', '/apis/rbac.authorization.k8s.io/v1/clusterroles', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    '/api/v1/namespaces/victim/secrets', '/api/v1/namespaces/victim/configmaps', '/api/v1/namespaces/victim/pods', '/api/v1/namespaces/flux-system/secrets',
    '/apis/source.toolkit.fluxcd.io/v1/gitrepositories', '/api/v1/services']) {
    const list = await cluster.api.get<{ items: KubeObject[] }>(path);
    for (const o of list.items) {
      // The system's own namespace may change; others' objects may not (namespaces and sources only exist or not).
      const key = `${path} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (o.metadata.namespace === 'payments') continue;
      if (o.kind === 'Namespace' || path.endsWith('/gitrepositories')) out[key] = 'exists';
      else out[key] = String(o.metadata.resourceVersion);
    }
  }
  return out;
}

interface TeamsCard { body: { type: string; attachments: { contentType: string; content: { body: { items: { text: string }[] }[] } }[] }; items: { text: string }[] }

async function waitForCards(done: (texts: string[]) => boolean, timeoutMs = 60_000): Promise<TeamsCard[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cards = webhook.bodies.map((b) => {
      const body = b as TeamsCard['body'];
      return { body, items: body.attachments?.[0]?.content?.body?.[0]?.items ?? [] };
    });
    if (done(cards.map((c) => c.items[1]?.text ?? ''))) return cards;
    if (Date.now() > deadline) throw new Error(`no matching Teams card after ${timeoutMs} ms; received: ${JSON.stringify(webhook.bodies).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A local HTTPS endpoint standing in for a Teams Workflows webhook; records each JSON body. */
async function startWebhookReceiver(): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const ca = ensureEmulatorCa();
  const bodies: unknown[] = [];
  const server = createServer({ cert: readFileSync(ca.certPath), key: readFileSync(ca.keyPath) }, (req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => { data += c.toString(); });
    req.on('end', () => {
      try {
        bodies.push(JSON.parse(data));
      } catch {
        bodies.push(data);
      }
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `https://127.0.0.1:${port}/workflows/payments-alerts/triggers/manual/paths/invoke?sig=AbCdEf0123456789`, bodies, server };
}
