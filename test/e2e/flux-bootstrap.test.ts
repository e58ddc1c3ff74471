// FluxBootstrap@1 end to end: the packaged task against a cluster of this file's own, with the
// real Flux controllers and a platform repository on a git server of this file's own, over HTTPS
// with a private CA (caFile), as a token is never sent over plain HTTP unless allowInsecureHttp.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, visibleOutput } from '../agent/harness';
import { fluxBootstrapInputs } from './flux-bootstrap-inputs';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import { startGitServer, type GitServer } from '../platform/git-server';
import type { KubeObject } from '../platform/kube-api';

const platform = usePlatform();
const cluster = useDedicatedCluster();
const work = mkdtempSync(join(tmpdir(), 'flux-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const repo = `platform-${Date.now().toString(36)}`;
const COMPONENTS = 'source-controller,kustomize-controller,notification-controller';
let git: GitServer;

beforeAll(async () => {
  writeFileSync(join(work, 'kubeconfig'), cluster.info.kubeconfigYaml);
  git = await startGitServer({ tls: true, username: 'flux-reader', password: `pat-${Date.now().toString(36)}-secret` });
  writeFileSync(join(work, 'git-ca.pem'), git.info.caPem!);
  await git.createRepo(repo, {
    files: {
      'clusters/dev/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: platform-dev}\n',
      'clusters/dev/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: platform-dev}\ndata: {environment: dev}\n',
      'clusters/test/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {environment: test}\n',
      'clusters/repoint-a/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: repoint-a, namespace: default}\ndata: {from: a}\n',
      'clusters/repoint-b/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: repoint-b, namespace: default}\ndata: {from: b}\n',
      'clusters/moving/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moving, namespace: default}\ndata: {commit: first}\n',
    },
  });
});
afterAll(() => git?.stop());

const bootstrap = (extra: Record<string, string> = {}, run: { cancelWhen?: RegExp } = {}) => runTask({
  ...run,
  task: 'FluxBootstrap',
  workingDirectory: work,
  inputs: {
    ...fluxBootstrapInputs(git, repo, platform.info.releases),
    components: COMPONENTS,
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
    const head = await git.head(repo, 'main');
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
    expect(visibleOutput(run)).not.toContain(git.password!);
  });

  it('writes nothing on a re-run', async () => {
    const before = await versions();
    const run = await bootstrap();
    expect(run.result, run.stdout).toBe('Succeeded');
    expect(await versions()).toEqual(before);
    expect(run.plainLines.join('\n')).toContain('nothing to do');
  });

  it('applies a new commit on the next run and prints the revision', async () => {
    const sha = await git.commit(repo, { files: { 'clusters/dev/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: platform-dev}\ndata: {environment: dev2}\n' } });
    const run = await bootstrap();
    expect(run.result, run.stdout).toBe('Succeeded');
    expect(run.variables.appliedRevision.value).toBe(`main@sha1:${sha}`);
    expect(((await live('/api/v1/namespaces/platform-dev/configmaps/settings')).data as Record<string, string>).environment).toBe('dev2');
  });

  it('fails with Flux\'s message naming the object when the branch holds a broken manifest', async () => {
    await git.commit(repo, { files: { 'clusters/dev/broken.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken, namespace: platform-dev}\nspec: {replicas: -1, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}\n' } });
    const run = await bootstrap();
    expect(run.result).toBe('Failed');
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/Flux could not apply the revision: Kustomization\/flux-system\/flux-system: .*Deployment\/platform-dev\/broken/);
    await git.commit(repo, { files: { 'clusters/dev/broken.yaml': null } });
  });

  it('refuses a token the Git server refuses before anything is written, and it appears nowhere', async () => {
    const wrong = 'wrong-token-value-123';
    const run = await bootstrap({ gitToken: wrong, syncName: 'bad-auth', gitPath: './clusters/test' });
    expect(run.result).toBe('Failed');
    expect(run.errors[0]).toMatch(/^Input 'gitToken': the Git server refused the credential \(HTTP 40[13]\)/);
    expect(await cluster.api.find('/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/bad-auth')).toBeUndefined();
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
      const cancelled = await bootstrap({ gitUrl: `https://127.0.0.1:${port}/platform.git`, syncName: 'cancel-me', gitPath: './clusters/test' }, { cancelWhen: /Pointing Flux at/ });
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

  it('refuses a token over plain HTTP before anything is written; allowInsecureHttp lets it through', async () => {
    const plainRepo = `${repo}-plain`;
    await platform.git.createRepo(plainRepo, { files: { 'clusters/plain/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: default}\ndata: {over: http}\n' } });
    const inputs = { gitUrl: platform.git.url(plainRepo), gitUsername: platform.git.username!, gitToken: platform.git.password!, syncName: 'plain-http', gitPath: './clusters/plain' };
    const refused = await bootstrap(inputs);
    expect(refused.result).toBe('Failed');
    expect(refused.errors).toEqual([expect.stringMatching(/^Input 'gitUrl': 'http:\/\/127\.0\.0\.1:\d+' is plain HTTP: the token would travel unencrypted\. Expected an https URL/)]);
    expect(await cluster.api.find('/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/plain-http')).toBeUndefined();
    expect(visibleOutput(refused)).not.toContain(platform.git.password!);
    const allowed = await bootstrap({ ...inputs, allowInsecureHttp: 'true' });
    expect(allowed.result, allowed.stdout).toBe('Succeeded');
    expect((await live('/api/v1/namespaces/default/configmaps/plain')).data).toEqual({ over: 'http' });
  });

  it('refuses to repoint an existing sync before anything is written, naming what it applied; allowRepoint repoints it', async () => {
    const first = await bootstrap({ syncName: 'repoint', gitPath: './clusters/repoint-a' });
    expect(first.result, first.stdout).toBe('Succeeded');
    const path = '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/repoint';
    const before = (await live(path)).metadata.resourceVersion;
    const refused = await bootstrap({ syncName: 'repoint', gitPath: 'clusters/repoint-b/' });
    expect(refused.result).toBe('Failed');
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors[0]).toContain('Kustomization/flux-system/repoint already syncs');
    expect(refused.errors[0]).toContain('this run would repoint it (path ./clusters/repoint-a -> ./clusters/repoint-b)');
    expect(refused.errors[0]).toContain('It applied 1 object(s): ConfigMap/default/repoint-a. It prunes: Flux would delete whatever of that the new source does not have. Nothing was changed. To repoint it, set allowRepoint');
    const otherBranch = await bootstrap({ syncName: 'repoint', gitPath: './clusters/repoint-a', gitBranch: 'release' });
    expect(otherBranch.result).toBe('Failed');
    expect(otherBranch.errors[0]).toContain('(branch main -> release)');
    expect((await live(path)).metadata.resourceVersion).toBe(before);
    expect(await cluster.api.find('/api/v1/namespaces/default/configmaps/repoint-a')).toBeDefined();
    // The same folder spelled another way is no repoint.
    const same = await bootstrap({ syncName: 'repoint', gitPath: 'clusters/repoint-a/' });
    expect(same.result, same.stdout).toBe('Succeeded');

    const repointed = await bootstrap({ syncName: 'repoint', gitPath: './clusters/repoint-b', allowRepoint: 'true' });
    expect(repointed.result, repointed.stdout).toBe('Succeeded');
    expect((await live('/api/v1/namespaces/default/configmaps/repoint-b')).data).toEqual({ from: 'b' });
    await expect.poll(() => cluster.api.find('/api/v1/namespaces/default/configmaps/repoint-a'), { timeout: 30_000 }).toBeUndefined();
  });

  it('says what is known of a source that is Ready before it has an artifact, not "fetched undefined"', async () => {
    const gate = await startGate(git.info.baseUrl, git.info.caPem!);
    try {
      const running = bootstrap({ gitUrl: git.url(repo).replace(git.info.baseUrl, gate.url), allowInsecureHttp: 'true', syncName: 'forged', gitPath: './clusters/moving', timeoutMinutes: '2' });
      await Promise.all([gate.taskAsked, gate.firstHeld]);
      // While source-controller's fetch is held, the status says Ready with no artifact yet.
      const gitRepository = '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/forged';
      const requested = await cluster.api.waitFor<KubeObject>('reconcile requested', gitRepository, (o) => !!o.metadata.annotations?.['reconcile.fluxcd.io/requestedAt']);
      await cluster.api.patch(`${gitRepository}/status`, { status: {
        lastHandledReconcileAt: requested.metadata.annotations!['reconcile.fluxcd.io/requestedAt'],
        observedGeneration: requested.metadata.generation,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'checking out', lastTransitionTime: new Date().toISOString(), observedGeneration: requested.metadata.generation }],
      } }, 'merge');
      await new Promise((r) => setTimeout(r, 1500));
      gate.release();
      const run = await running;
      expect(run.result, run.stdout).toBe('Succeeded');
      expect(run.plainLines).toContain('GitRepository/flux-system/forged: Ready, but no artifact yet (checking out)');
      expect(run.plainLines.filter((l) => /undefined/.test(l))).toEqual([]);
    } finally {
      await gate.close();
    }
  });

  it('takes a push during the wait: a later head applied by Flux ends the wait and is the revision reported', async () => {
    const gate = await startGate(git.info.baseUrl, git.info.caPem!);
    try {
      const first = await git.head(repo, 'main');
      const running = bootstrap({ gitUrl: git.url(repo).replace(git.info.baseUrl, gate.url), allowInsecureHttp: 'true', syncName: 'moving', gitPath: './clusters/moving', timeoutMinutes: '2' });
      // The task has read the head and source-controller is asking for the branch: now it moves on.
      await Promise.all([gate.taskAsked, gate.firstHeld]);
      const second = await git.commit(repo, { files: { 'clusters/moving/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moving, namespace: default}\ndata: {commit: second}\n' } });
      gate.release();
      const run = await running;
      expect(run.result, run.stdout).toBe('Succeeded');
      expect(run.variables.appliedRevision.value).toBe(`main@sha1:${second}`);
      expect(run.completeMessage).toContain(`main@sha1:${second}`);
      expect(run.summaries[0]!.markdown).toContain(`main@sha1:${second} (the branch moved on during the run from main@sha1:${first})`);
      expect(((await live('/api/v1/namespaces/default/configmaps/moving')).data as Record<string, string>).commit).toBe('second');
    } finally {
      await gate.close();
    }
  }, 180_000);
});

/**
 * An HTTP front of the HTTPS git server that holds Flux's requests until released, while the
 * task's own head check (its User-Agent names the task) passes at once.
 */
async function startGate(upstream: string, caPem: string) {
  let open = false;
  const held: (() => void)[] = [];
  let markHeld!: () => void;
  let markAsked!: () => void;
  const firstHeld = new Promise<void>((r) => { markHeld = r; });
  const taskAsked = new Promise<void>((r) => { markAsked = r; });
  const server: Server = createHttpServer((req, res) => {
    const fromTask = /aks-gitops-tasks/.test(req.headers['user-agent'] ?? '');
    const forward = () => {
      const target = new URL(req.url ?? '/', upstream);
      const up = httpsRequest(target, { method: req.method, headers: { ...req.headers, host: target.host }, ca: caPem }, (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => { if (fromTask) markAsked(); });
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (open || fromTask) return forward();
    held.push(forward);
    markHeld();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    firstHeld,
    taskAsked,
    release() {
      open = true;
      held.splice(0).forEach((f) => f());
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('FluxBootstrap@1 in a namespace of its own, with images from a mirror', () => {
  const ops = useDedicatedCluster();
  const ns = 'flux-ops';
  const events: { involvedObject?: { kind?: string; name?: string }; reason?: string; message?: string }[] = [];
  let receiver: Server;
  const password = 'mirror-password-8d2f';
  const pullConfig = JSON.stringify({ auths: { 'docker.io': { auth: Buffer.from(`mirror-reader:${password}`).toString('base64') } } });
  beforeAll(async () => {
    writeFileSync(join(work, 'kubeconfig-ops'), ops.info.kubeconfigYaml);
    receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        try { events.push(JSON.parse(body) as (typeof events)[number]); } catch { /* not an event */ }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r())));
  const install = (extra: Record<string, string> = {}) => bootstrap({ kubeconfig: 'kubeconfig-ops', namespace: ns, ...extra });
  const deployment = async (name: string) => {
    const d = await ops.api.get<KubeObject>(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
    return (d.spec as { template: { spec: { containers: { image: string; args: string[] }[]; imagePullSecrets?: { name: string }[] } } }).template.spec;
  };

  it('refuses a pull secret that does not exist, before anything is written', async () => {
    const run = await install({ imagePullSecret: 'missing-pull' });
    expect(run.result).toBe('Failed');
    expect(run.errors).toEqual([expect.stringContaining(`The image pull secret ${ns}/missing-pull (input imagePullSecret) does not exist.`)]);
    expect(await ops.api.find(`/api/v1/namespaces/${ns}`)).toBeUndefined();
  });

  it('runs the controllers from the mirror with the pull secret, and points their events at notification-controller in that namespace', async () => {
    const run = await install({ imageRegistry: 'myacr.azurecr.io', imagePullSecret: 'mirror-pull', imagePullSecretConfig: pullConfig });
    expect(run.result, run.stdout).toBe('Succeeded');
    for (const name of ['source-controller', 'kustomize-controller', 'notification-controller']) {
      const pod = await deployment(name);
      expect(pod.containers[0]!.image).toMatch(new RegExp(`^myacr\\.azurecr\\.io/fluxcd/${name}:v`));
      expect(pod.imagePullSecrets).toEqual([{ name: 'mirror-pull' }]);
      if (name !== 'notification-controller') expect(pod.containers[0]!.args).toContain(`--events-addr=http://notification-controller.${ns}.svc.cluster.local./`);
    }
    const secret = await ops.api.get<KubeObject>(`/api/v1/namespaces/${ns}/secrets/mirror-pull`);
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(JSON.parse(Buffer.from((secret.data as Record<string, string>)['.dockerconfigjson']!, 'base64').toString())).toEqual(JSON.parse(pullConfig));
    expect(run.summaries[0]!.markdown).toContain(`pulled with Secret ${ns}/mirror-pull`);
    const visible = visibleOutput(run);
    expect(visible).not.toContain(password);
    expect(visible).not.toContain(Buffer.from(`mirror-reader:${password}`).toString('base64'));
  });

  it('delivers a failing Kustomization\'s event to an Alert\'s provider through notification-controller in that namespace', async () => {
    const port = (receiver.address() as { port: number }).port;
    await ops.api.apply([
      { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', metadata: { name: 'receiver', namespace: ns }, spec: { type: 'generic', address: `http://127.0.0.1:${port}/` } },
      { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', metadata: { name: 'failures', namespace: ns }, spec: { providerRef: { name: 'receiver' }, eventSeverity: 'error', eventSources: [{ kind: 'Kustomization', name: '*' }] } },
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'broken-path', namespace: ns },
        spec: { interval: '10m', path: './no-such-folder', prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' }, serviceAccountName: 'kustomize-controller' } },
    ] as KubeObject[]);
    await expect.poll(() => events.find((e) => e.involvedObject?.kind === 'Kustomization' && e.involvedObject.name === 'broken-path'), { timeout: 90_000, interval: 500 }).toBeDefined();
    expect(events.find((e) => e.involvedObject?.name === 'broken-path')!.message).toMatch(/no-such-folder/);
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
  const tree = (extra: Record<string, string | null> = {}) => git.commit(repo, { files: {
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
