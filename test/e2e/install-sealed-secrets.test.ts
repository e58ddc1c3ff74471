// InstallSealedSecrets@1 end to end: the packaged task, run as the agent runs it, against a
// cluster of this file's own with the real Sealed Secrets controller and kubeseal.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, forbiddenForms, makeKeyPair } from '../agent/fixtures';
import { runTask, visibleOutput, type RunResult } from '../agent/harness';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import { conditionOf, type KubeObject } from '../platform/kube-api';
import { prepareControllerManifests } from '../../shared/sealed-secrets/install';
import { sealSecret, type SealingScope } from '../../shared/sealed-secrets/seal';
import { kubeseal as sealWithKubeseal } from '../platform/kubeseal';

const platform = usePlatform();
const cluster = useDedicatedCluster();
const work = mkdtempSync(join(tmpdir(), 'iss-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const first = makeKeyPair({ bits: 2048 });
const second = makeKeyPair({ bits: 2048 });

beforeAll(() => writeFileSync(join(work, 'kubeconfig'), cluster.info.kubeconfigYaml));

const install = (pair: { certPem: string; keyPem: string }, extra: Record<string, string> = {}) => runTask({
  task: 'InstallSealedSecrets',
  workingDirectory: work,
  inputs: {
    connectionType: 'kubeconfig',
    kubeconfig: 'kubeconfig',
    privateKey: b64(pair.keyPem),
    certificate: b64(pair.certPem),
    releaseBaseUrl: platform.info.releases.baseUrl,
    controllerVersion: platform.info.releases.sealedSecretsVersion,
    timeoutMinutes: '3',
    ...extra,
  },
});

const keySecrets = async () => (await cluster.api.get<{ items: KubeObject[] }>('/api/v1/namespaces/kube-system/secrets', { labelSelector: KEY_LABEL })).items.map((s) => s.metadata.name).sort();
const servedCert = async () => (await (await fetch(`http://${cluster.controller('kube-system', 'sealed-secrets-controller')!.addresses['--listen-addr']}/v1/cert.pem`)).text()).trim();

const kubeseal = (secret: object, cert: string) => sealWithKubeseal(platform.info.binaries.kubeseal, secret, cert);

async function sealedAndUnsealed(certFile: string, value: string): Promise<string> {
  const ns = await cluster.freshNamespace('team');
  const sealed = await kubeseal({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: ns }, data: { password: b64(value) } }, certFile);
  await cluster.api.apply([sealed]);
  const secret = await cluster.api.waitFor<{ data: Record<string, string> }>('unsealed Secret', `/api/v1/namespaces/${ns}/secrets/db`, () => true);
  return Buffer.from(secret.data.password!, 'base64').toString();
}

function expectNoKeyLeak(run: RunResult, keyPem: string) {
  const visible = visibleOutput(run);
  for (const form of forbiddenForms(keyPem)) expect(visible).not.toContain(form);
  expect(visible).not.toContain(b64(keyPem));
}

describe('InstallSealedSecrets@1', () => {
  let firstRun: RunResult;
  it('installs the key first, then the controller, which serves the brought certificate and unseals what kubeseal made', async () => {
    expect(await keySecrets()).toEqual([]);
    firstRun = await install(first);
    expect(firstRun.result, firstRun.stdout).toBe('Succeeded');
    expect(firstRun.stderr).toBe('');
    expect(await keySecrets()).toHaveLength(1);
    expect(await servedCert()).toBe(first.certPem.trim());
    const certFile = firstRun.variables.certificatePath.value;
    expect(readFileSync(certFile, 'utf8')).toBe(first.certPem);
    expect(firstRun.variables.certificateFingerprint.value).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(await sealedAndUnsealed(certFile, 'first-secret')).toBe('first-secret');
    // The key Secret came before the controller: the controller generated no key of its own.
    const log = firstRun.plainLines.join('\n');
    expect(log.indexOf('Secret/kube-system/sealed-secrets-key-byok-')).toBeLessThan(log.indexOf('Deployment/kube-system/sealed-secrets-controller'));
    expect(firstRun.summaries[0].markdown).toContain('Verified by');
    expectNoKeyLeak(firstRun, first.keyPem);
  });

  it('changes nothing on a re-run', async () => {
    const before = (await cluster.api.get<KubeObject>('/apis/apps/v1/namespaces/kube-system/deployments/sealed-secrets-controller')).metadata.resourceVersion;
    const rerun = await install(first);
    expect(rerun.result, rerun.stdout).toBe('Succeeded');
    expect(rerun.summaries[0].markdown).toContain('0 created, 0 configured');
    const after = (await cluster.api.get<KubeObject>('/apis/apps/v1/namespaces/kube-system/deployments/sealed-secrets-controller')).metadata.resourceVersion;
    expect(after).toBe(before);
    expect(await keySecrets()).toHaveLength(1);
  });

  it('makes a rotated key active while SealedSecrets of the old key still unseal', async () => {
    const rotated = await install(second);
    expect(rotated.result, rotated.stdout).toBe('Succeeded');
    expect(await keySecrets()).toHaveLength(2);
    await expect.poll(servedCert, { timeout: 30_000 }).toBe(second.certPem.trim());
    const oldCert = join(work, 'old.pem');
    writeFileSync(oldCert, first.certPem);
    expect(await sealedAndUnsealed(oldCert, 'sealed-with-old-key')).toBe('sealed-with-old-key');
    expect(await sealedAndUnsealed(rotated.variables.certificatePath.value, 'sealed-with-new-key')).toBe('sealed-with-new-key');
    expectNoKeyLeak(rotated, second.keyPem);
  });

  it('refuses a pull secret that does not exist before anything is written', async () => {
    const before = (await cluster.api.get<KubeObject>('/apis/apps/v1/namespaces/kube-system/deployments/sealed-secrets-controller')).metadata.resourceVersion;
    const run = await install(second, { imagePullSecret: 'missing-pull' });
    expect(run.result).toBe('Failed');
    expect(run.errors).toEqual([expect.stringContaining('The image pull secret kube-system/missing-pull (input imagePullSecret) does not exist.')]);
    expect((await cluster.api.get<KubeObject>('/apis/apps/v1/namespaces/kube-system/deployments/sealed-secrets-controller')).metadata.resourceVersion).toBe(before);
  });

  it('runs the controller from a registry mirror with a pull secret written from a secret variable', async () => {
    const password = 'mirror-password-51c0';
    const config = JSON.stringify({ auths: { 'docker.io': { username: 'mirror-reader', password } } });
    const run = await install(second, { imageRegistry: 'myacr.azurecr.io', imagePullSecret: 'mirror-pull', imagePullSecretConfig: b64(config) });
    expect(run.result, run.stdout).toBe('Succeeded');
    const pod = (await cluster.api.get<KubeObject>('/apis/apps/v1/namespaces/kube-system/deployments/sealed-secrets-controller')).spec as { template: { spec: { containers: { image: string }[]; imagePullSecrets?: { name: string }[] } } };
    expect(pod.template.spec.imagePullSecrets).toEqual([{ name: 'mirror-pull' }]);
    expect(pod.template.spec.containers[0]!.image).toBe(`myacr.azurecr.io/bitnami/sealed-secrets-controller:${platform.info.releases.sealedSecretsVersion.replace(/^v/, '')}`);
    const secret = await cluster.api.get<KubeObject>('/api/v1/namespaces/kube-system/secrets/mirror-pull');
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(run.summaries[0]!.markdown).toContain('pulled with Secret kube-system/mirror-pull');
    expect(visibleOutput(run)).not.toContain(password);
    expect(visibleOutput(run)).not.toContain(b64(config));
    await expect.poll(servedCert, { timeout: 30_000 }).toBe(second.certPem.trim());
    // A mirror elsewhere keeps the repository path and tag.
    const manifests = parseAllDocuments(await (await fetch(platform.info.releases.sealedSecretsControllerUrl)).text()).map((d) => d.toJS() as KubeObject).filter(Boolean);
    const mirrored = prepareControllerManifests(manifests, { namespace: 'kube-system', controllerName: 'sealed-secrets-controller', keyRenewPeriod: '0', images: { registry: 'myacr.azurecr.io/mirror' } }, 'id');
    expect((mirrored.deployment.spec as typeof pod).template.spec.containers[0]!.image)
      .toBe(`myacr.azurecr.io/mirror/bitnami/sealed-secrets-controller:${platform.info.releases.sealedSecretsVersion.replace(/^v/, '')}`);
  });

  it('defaults to a release upstream published completely', async () => {
    const task = JSON.parse(readFileSync(join(repoRoot, 'tasks/InstallSealedSecrets/task.json'), 'utf8')) as { inputs: { name: string; defaultValue?: string }[] };
    const version = task.inputs.find((x) => x.name === 'controllerVersion')!.defaultValue!;
    // The release notes in the release's own module: v0.36.3, .5 and .6 say "Incomplete release
    // for dockerhub credentials problems" (their images were never published).
    const { Dir } = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `github.com/bitnami-labs/sealed-secrets@v${version}`], { cwd: tmpdir(), env: { ...process.env, GOFLAGS: '-mod=mod' }, encoding: 'utf8' })) as { Dir: string };
    const notes = readFileSync(join(Dir, 'RELEASE-NOTES.md'), 'utf8');
    const entry = new RegExp(`^## v${version.replace(/\./g, '\\.')}\\s*\\n([\\s\\S]*?)(?=^## )`, 'm').exec(notes);
    expect(entry, `no entry for v${version} in its RELEASE-NOTES.md`).not.toBeNull();
    expect(entry![1]).not.toMatch(/incomplete release/i);
    expect(entry![1]).toMatch(/#\d+/);
  });

  it.each<[SealingScope, boolean, boolean]>([
    ['strict', false, false],
    ['namespace-wide', true, false],
    ['cluster-wide', true, true],
  ])('a %s secret sealed by shared/sealed-secrets is unsealed by the controller; renamed: %s, moved: %s', async (scope, renamedUnseals, movedUnseals) => {
    const [ns, other] = [await cluster.freshNamespace('scope'), await cluster.freshNamespace('scope')];
    const seal = (name: string, namespace: string) => {
      const sealed = sealSecret({ name: 'git-auth', namespace: ns, stringData: { password: `${scope}-value` } }, second.certPem, scope);
      // Moving a SealedSecret means changing its name or namespace after sealing.
      return { ...sealed, metadata: { ...sealed.metadata, name, namespace }, spec: { ...sealed.spec, template: { ...sealed.spec.template, metadata: { ...sealed.spec.template.metadata, name, namespace } } } };
    };
    await cluster.api.apply([seal('git-auth', ns), seal('renamed', ns), seal('git-auth', other)] as never);
    const outcome = async (namespace: string, name: string) => {
      const synced = await cluster.api.waitFor('SealedSecret handled', `/apis/bitnami.com/v1alpha1/namespaces/${namespace}/sealedsecrets/${name}`, (o) => conditionOf(o, 'Synced') !== undefined);
      return conditionOf(synced, 'Synced')!;
    };
    expect((await outcome(ns, 'git-auth')).status).toBe('True');
    const secret = await cluster.api.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/git-auth`);
    expect(Buffer.from(secret.data.password!, 'base64').toString()).toBe(`${scope}-value`);
    const renamed = await outcome(ns, 'renamed');
    const moved = await outcome(other, 'git-auth');
    expect(renamed.status).toBe(renamedUnseals ? 'True' : 'False');
    expect(moved.status).toBe(movedUnseals ? 'True' : 'False');
    for (const c of [renamed, moved]) if (c.status === 'False') expect(c.message).toContain('no key could decrypt secret');
  });

  it.each([
    ['a mismatched pair', () => ({ privateKey: b64(first.keyPem), certificate: b64(second.certPem) }), /does not belong to the private key/],
    ['garbage base64', () => ({ privateKey: 'not base64 at all!' }), /Input 'privateKey': the value is not valid base64/],
    ['a non-RSA key', () => {
      const ec = makeEcPair();
      return { privateKey: b64(ec.keyPem), certificate: b64(ec.certPem) };
    }, /Sealed Secrets needs an RSA key/],
    ['an expired certificate', () => {
      const expired = makeExpiredPair();
      return { privateKey: b64(expired.keyPem), certificate: b64(expired.certPem) };
    }, /The certificate expired on /],
  ])('refuses %s before anything is applied', async (_what, inputs, message) => {
    const given = inputs() as Record<string, string>;
    const before = await keySecrets();
    const run = await install(first, given);
    expect(run.result).toBe('Failed');
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(message);
    expect(await keySecrets()).toEqual(before);
    if (given.privateKey) expect(visibleOutput(run)).not.toContain(given.privateKey);
  });
});

function makeEcPair() {
  const dir = mkdtempSync(join(tmpdir(), 'ec-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '30', '-subj', '/CN=ec'], { stdio: 'ignore' });
    return { keyPem: readFileSync(join(dir, 'k'), 'utf8'), certPem: readFileSync(join(dir, 'c'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A self-signed certificate valid for zero days: expired as soon as it is made. */
function makeExpiredPair() {
  const dir = mkdtempSync(join(tmpdir(), 'expired-'));
  try {
    execFileSync('openssl', ['genrsa', '-out', join(dir, 'k'), '2048'], { stdio: 'ignore' });
    execFileSync('openssl', ['req', '-new', '-key', join(dir, 'k'), '-subj', '/CN=expired', '-out', join(dir, 'csr')], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'csr'), '-signkey', join(dir, 'k'), '-days', '0', '-out', join(dir, 'c')], { stdio: 'ignore' });
    return { keyPem: readFileSync(join(dir, 'k'), 'utf8'), certPem: readFileSync(join(dir, 'c'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('InstallSealedSecrets@1 on a rolling update by the real Deployment controller', () => {
  const third = makeKeyPair({ bits: 2048 });
  interface PodView { metadata: { name: string; deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[] } }
  const controllerPods = async () => (await cluster.api.get<{ items: PodView[] }>('/api/v1/namespaces/kube-system/pods', { labelSelector: 'name=sealed-secrets-controller' })).items;
  const isReady = (p: PodView) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

  it('keeps the old controller pod serving until the new one is available, and checks the key only once the old pod is gone', async () => {
    const before = (await controllerPods()).map((p) => p.metadata.name);
    expect(before).toHaveLength(1);
    // What the pods looked like while the task ran, every 200 ms.
    const snapshots: { name: string; ready: boolean; terminating: boolean }[][] = [];
    let running = true;
    const watcher = (async () => {
      while (running) {
        snapshots.push((await controllerPods()).map((p) => ({ name: p.metadata.name, ready: isReady(p), terminating: !!p.metadata.deletionTimestamp })));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const rotated = await install(third).finally(() => { running = false; });
    await watcher;
    expect(rotated.result, rotated.stdout).toBe('Succeeded');

    // The old pod was still Ready, not terminating, while the new one was already running.
    const overlap = snapshots.find((s) => s.some((p) => before.includes(p.name) && p.ready && !p.terminating) && s.some((p) => !before.includes(p.name)));
    expect(overlap, JSON.stringify(snapshots.slice(0, 40))).toBeDefined();
    // The task said it waited for the old pod, and when it ended the old pod was gone.
    const log = rotated.plainLines.join('\n');
    expect(log).toContain('waiting for the old controller pod to go');
    expect(log).toContain('The controller serves the brought certificate');
    const after = (await controllerPods()).map((p) => p.metadata.name);
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);
    expect(await servedCert()).toBe(third.certPem.trim());
  });

  it('serves the brought certificate to kubeseal --fetch-cert, through the API server as on AKS', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)(platform.info.binaries.kubeseal, [
      '--fetch-cert', '--kubeconfig', join(work, 'kubeconfig'), '--controller-namespace', 'kube-system', '--controller-name', 'sealed-secrets-controller',
    ], { env: { PATH: process.env.PATH ?? '', HOME: work } });
    expect(stdout.trim()).toBe(third.certPem.trim());
  });
});
