// FluxBootstrap@1 end to end: the packaged task against a cluster of this file's own, with the
// real Flux controllers and a platform repository on the local git server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, visibleOutput } from '../agent/harness';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import type { KubeObject } from '../platform/kube-api';

const platform = usePlatform();
const cluster = useDedicatedCluster();
const work = mkdtempSync(join(tmpdir(), 'flux-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const repo = `platform-${Date.now().toString(36)}`;
const COMPONENTS = 'source-controller,kustomize-controller,notification-controller';

beforeAll(async () => {
  writeFileSync(join(work, 'kubeconfig'), cluster.info.kubeconfigYaml);
  await platform.git.createRepo(repo, {
    files: {
      'clusters/dev/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: platform-dev}\n',
      'clusters/dev/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: platform-dev}\ndata: {environment: dev}\n',
      'clusters/test/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {environment: test}\n',
    },
  });
});

const bootstrap = (extra: Record<string, string> = {}, run: { cancelWhen?: RegExp } = {}) => runTask({
  ...run,
  task: 'FluxBootstrap',
  workingDirectory: work,
  inputs: {
    connectionType: 'kubeconfig',
    kubeconfig: 'kubeconfig',
    gitUrl: platform.git.url(repo),
    gitBranch: 'main',
    gitPath: './clusters/dev',
    gitUsername: platform.git.username!,
    gitToken: platform.git.password!,
    components: COMPONENTS,
    releaseBaseUrl: platform.info.releases.baseUrl,
    fluxVersion: platform.info.releases.fluxVersion,
    timeoutMinutes: '3',
    ...extra,
  },
});

const live = (path: string) => cluster.api.get<KubeObject>(path);
const versions = async () => Object.fromEntries(await Promise.all([
  '/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller',
  '/apis/apps/v1/namespaces/flux-system/deployments/source-controller',
  '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system',
  '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system',
  '/api/v1/namespaces/flux-system/secrets/flux-system',
].map(async (p) => [p, (await live(p)).metadata.resourceVersion])));

describe('FluxBootstrap@1', () => {
  it('installs Flux and ends when kustomize-controller has applied the head of the branch', async () => {
    const head = await platform.git.head(repo, 'main');
    const run = await bootstrap();
    expect(run.result, run.stdout).toBe('Succeeded');
    expect(run.stderr).toBe('');
    expect(run.variables.appliedRevision.value).toBe(`main@sha1:${head}`);
    expect(run.completeMessage).toContain(`main@sha1:${head}`);
    const cm = await live('/api/v1/namespaces/platform-dev/configmaps/settings');
    expect((cm.data as Record<string, string>).environment).toBe('dev');
    const markdown = run.summaries[0].markdown;
    expect(markdown).toContain('ConfigMap/platform-dev/settings');
    expect(markdown).toContain('Namespace/platform-dev');
    expect(run.progress.length).toBeGreaterThan(3);
    // The lockdown flags reached the controllers.
    const kc = await live('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller');
    const args = (kc.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0].args;
    expect(args).toEqual(expect.arrayContaining(['--no-cross-namespace-refs=true', '--no-remote-bases=true', '--default-service-account=default']));
    expect(visibleOutput(run)).not.toContain(platform.git.password!);
  });

  it('writes nothing on a re-run', async () => {
    const before = await versions();
    const run = await bootstrap();
    expect(run.result, run.stdout).toBe('Succeeded');
    expect(await versions()).toEqual(before);
    expect(run.plainLines.join('\n')).toContain('nothing to do');
  });

  it('applies a new commit on the next run and prints the revision', async () => {
    const sha = await platform.git.commit(repo, { files: { 'clusters/dev/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: platform-dev}\ndata: {environment: dev2}\n' } });
    const run = await bootstrap();
    expect(run.result, run.stdout).toBe('Succeeded');
    expect(run.variables.appliedRevision.value).toBe(`main@sha1:${sha}`);
    expect(((await live('/api/v1/namespaces/platform-dev/configmaps/settings')).data as Record<string, string>).environment).toBe('dev2');
  });

  it('fails with Flux\'s message naming the object when the branch holds a broken manifest', async () => {
    await platform.git.commit(repo, { files: { 'clusters/dev/broken.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken, namespace: platform-dev}\nspec: {replicas: -1, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}\n' } });
    const run = await bootstrap();
    expect(run.result).toBe('Failed');
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/Flux could not apply the revision: Kustomization\/flux-system\/flux-system: .*Deployment\/platform-dev\/broken/);
    await platform.git.commit(repo, { files: { 'clusters/dev/broken.yaml': null } });
  });

  it('fails with the source\'s authentication message for a wrong token, which appears nowhere', async () => {
    const wrong = 'wrong-token-value-123';
    const run = await bootstrap({ gitToken: wrong, syncName: 'bad-auth', gitPath: './clusters/test' });
    expect(run.result).toBe('Failed');
    expect(run.errors[0]).toMatch(/Flux could not fetch the repository: GitRepository\/flux-system\/bad-auth: .*(authentication|auth|401|403)/i);
    expect(visibleOutput(run)).not.toContain(wrong);
  });

  it('upgrades only what differs to a newer pinned install', async () => {
    const original = await (await fetch(platform.info.releases.fluxInstallUrl)).text();
    const docs = parseAllDocuments(original).map((d) => d.toJS() as KubeObject).filter(Boolean);
    const kc = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'kustomize-controller')!;
    const container = (kc.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0];
    container.args = [...container.args, '--concurrent=5'];
    const crd = docs.find((d) => d.kind === 'CustomResourceDefinition' && d.metadata.name === 'kustomizations.kustomize.toolkit.fluxcd.io')!;
    crd.metadata.labels = { ...crd.metadata.labels, 'example.com/patched': 'true' };
    writeFileSync(join(work, 'install-next.yaml'), docs.map((d) => JSON.stringify(d)).join('\n---\n'));
    const run = await bootstrap({ installSource: 'file', installManifestFile: 'install-next.yaml' });
    expect(run.result, run.stdout).toBe('Succeeded');
    const configured = run.plainLines.filter((l) => / configured$/.test(l));
    expect(configured.sort()).toEqual(['CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io configured', 'Deployment/flux-system/kustomize-controller configured']);
    expect(run.plainLines.filter((l) => / created$/.test(l))).toEqual([]);
    expect(readFileSync(join(work, 'install-next.yaml'), 'utf8')).toContain('--concurrent=5');
  });

  it('leaves objects a Flux Kustomization manages from Git alone, and takes them over when asked', async () => {
    const label = { metadata: { labels: { 'kustomize.toolkit.fluxcd.io/name': 'flux-system', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } } };
    await cluster.api.patch('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gitrepositories.source.toolkit.fluxcd.io', label, 'merge');
    await cluster.api.patch('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller', label, 'merge');
    const before = (await live('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller')).metadata.resourceVersion;
    // The pinned install (without the extra flag of the previous test) differs from what runs.
    const run = await bootstrap();
    expect(run.result, run.stdout).toBe('Succeeded');
    expect(run.warnings.join('\n')).toMatch(/managed by a Flux Kustomization from Git .* left alone\. Set takeOwnership/);
    expect((await live('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller')).metadata.resourceVersion).toBe(before);
    const takeOver = await bootstrap({ takeOwnership: 'true' });
    expect(takeOver.result, takeOver.stdout).toBe('Succeeded');
    expect(takeOver.plainLines).toContain('Deployment/flux-system/kustomize-controller configured');
  });

  it('stops when the pipeline cancels, and a re-run finishes the job', async () => {
    // A Git server that accepts connections and never answers keeps the source pending.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    try {
      const cancelled = await bootstrap({ gitUrl: `http://127.0.0.1:${port}/platform.git`, syncName: 'cancel-me', gitPath: './clusters/test' }, { cancelWhen: /Pointing Flux at/ });
      expect(cancelled.result, cancelled.stdout).toBe('Cancelled');
      expect(cancelled.completeMessage).toMatch(/Cancelled by the pipeline\. Re-run the step to finish/);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      held.forEach((s) => s.destroy());
      silent.close();
    }
    const rerun = await bootstrap({ syncName: 'cancel-me', gitPath: './clusters/test' });
    expect(rerun.result, rerun.stdout).toBe('Succeeded');
    expect(((await live('/api/v1/namespaces/default/configmaps/settings')).data as Record<string, string>).environment).toBe('test');
  });
});

describe('FluxBootstrap@1 waits for the whole Kustomization tree', () => {
  const kustomization = (name: string, path: string, dependsOn?: string) => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 10m
  serviceAccountName: kustomize-controller
  sourceRef: {kind: GitRepository, name: tree}
  path: ${path}
  prune: true
${dependsOn ? `  dependsOn: [{name: ${dependsOn}}]\n` : ''}`;
  const tree = (extra: Record<string, string | null> = {}) => platform.git.commit(repo, { files: {
    'clusters/tree/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [infra.yaml, apps.yaml]\n',
    'clusters/tree/infra.yaml': kustomization('infra', './tree/infra'),
    'clusters/tree/apps.yaml': kustomization('apps', './tree/apps', 'infra'),
    'tree/infra/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: tree-apps}\n',
    'tree/apps/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: tree-apps}\ndata: {a: b}\n',
    ...extra,
  } });
  const run = (extra: Record<string, string> = {}) => bootstrap({ syncName: 'tree', gitPath: './clusters/tree', ...extra });
  const kustomizationAt = (name: string) => live(`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/${name}`);

  it('ends when every Kustomization below the root is Ready at the revision, dependents asked at once', async () => {
    const sha = await tree();
    const started = Date.now();
    const result = await run();
    const took = Date.now() - started;
    expect(result.result, result.stdout).toBe('Succeeded');
    for (const name of ['infra', 'apps']) {
      const k = await kustomizationAt(name);
      expect((k.status as { lastAppliedRevision: string }).lastAppliedRevision).toBe(`main@sha1:${sha}`);
    }
    expect((await live('/api/v1/namespaces/tree-apps/configmaps/app')).data).toEqual({ a: 'b' });
    const markdown = result.summaries[0]!.markdown;
    expect(markdown).toMatch(/\| Kustomization\/flux-system\/infra \| Kustomization\/flux-system\/tree \| Ready \| [\d.]+ s \|/);
    expect(markdown).toMatch(/\| Kustomization\/flux-system\/apps \| Kustomization\/flux-system\/tree \| Ready \| [\d.]+ s \|/);
    // apps depends on infra: asked again once infra is Ready, instead of waiting out
    // kustomize-controller's dependency requeue (30 s).
    expect(result.plainLines.join('\n')).toContain('Kustomization/flux-system/apps: Kustomization/flux-system/infra is Ready; asking it to reconcile now.');
    process.stdout.write(`[flux-tree] task start to whole tree Ready: ${took} ms\n`);
  });

  it('fails with Flux\'s message naming the broken object below the root; root-only succeeds and warns; a fix and a re-run succeed', async () => {
    await tree({ 'tree/infra/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken, namespace: tree-apps}\ndata: {a: [1, 2]}\n' });
    const failed = await run({ timeoutMinutes: '2' });
    expect(failed.result).toBe('Failed');
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toMatch(/Flux could not apply Kustomization\/flux-system\/infra \(applied by Kustomization\/flux-system\/tree\): .*ConfigMap\/tree-apps\/broken/);
    const rootOnly = await run({ waitFor: 'root' });
    expect(rootOnly.result, rootOnly.stdout).toBe('Succeeded');
    expect(rootOnly.warnings.join('\n'), rootOnly.stdout).toMatch(/Not waited for \(waitFor: root\), and not Ready yet: .*Kustomization\/flux-system\/infra \(ReconciliationFailed: ConfigMap\/tree-apps\/broken/);
    expect(rootOnly.warnings.filter((w) => w.startsWith('Not waited for'))).toHaveLength(1);
    const fixed = await tree({ 'tree/infra/broken.yaml': null });
    const rerun = await run();
    expect(rerun.result, rerun.stdout).toBe('Succeeded');
    expect((await kustomizationAt('apps')).status).toMatchObject({ lastAppliedRevision: `main@sha1:${fixed}` });
  });
});
