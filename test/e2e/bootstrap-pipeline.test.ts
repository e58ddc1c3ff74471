// examples/bootstrap.yml end to end, through the local pipeline runner: AksBootstrap creates the
// cluster in the ARM emulator (a full local cluster, Entra ID authentication, workload identity
// federation through the Azure DevOps emulator), InstallSealedSecrets installs the brought key and
// the real controller, FluxBootstrap installs the real Flux controllers on the sample
// platform-components repository. Then a second run of the same pipeline changes nothing, and the
// scheduled examples/recreate-for-upgrade.yml replaces the cluster with a new one that Git fills again.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forbiddenForms } from '../agent/fixtures';
import type { Cluster } from '../platform/platform';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import { runTask, visibleOutput } from '../agent/harness';
import { ensureEmulatorCa } from '../emulators/ca';
import { conditionOf, type KubeObject } from '../platform/kube-api';
import { parsePipeline } from '../pipeline/definition';
import { startLocalStack, type LocalStack } from '../pipeline/local-stack';
import { repoRoot, runPipelineFile } from '../pipeline/run-file';
import type { PipelineRun } from '../pipeline/runner';
import { kubeseal as sealWithKubeseal } from '../platform/kubeseal';

const platform = usePlatform();
// The test environment's cluster, for the promotion (FluxBootstrap on the test branch).
const testCluster = useDedicatedCluster();
const PIPELINE = join(repoRoot, 'examples', 'bootstrap.yml');
const RG = 'rg-aks-platform-dev';
const NAME = 'aks-platform-dev';
const work = mkdtempSync(join(tmpdir(), 'bootstrap-pipeline-'));
const SYSTEMS = ['payments', 'billing', 'orders'];
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    pipelines: [parsePipeline(readFileSync(PIPELINE, 'utf8'))],
    releasesBaseUrl: platform.info.releases.baseUrl,
    platformRepository: { name: 'platform-components', dir: join(repoRoot, 'examples', 'platform-components') },
    keyBits: 2048,
  });
});
afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function runExample(file = PIPELINE): Promise<{ run: PipelineRun; printed: string; ms: number }> {
  const lines: string[] = [];
  const started = Date.now();
  const run = await runPipelineFile(file, {
    environment: stack.environment,
    pipelineVariables: stack.pipelineVariables,
    overrides: stack.overrides,
    out: (line) => lines.push(line),
  });
  return { run, printed: lines.join('\n'), ms: Date.now() - started };
}

const cluster = (): Cluster => {
  const running = stack.clusters.cluster(RG, NAME);
  if (!running) throw new Error(`cluster ${NAME} is not running`);
  return running;
};
const live = (path: string) => cluster().api.get<KubeObject>(path);
const stepRun = (run: PipelineRun, reference: string) => run.steps.find((s) => s.reference === reference)!.run!;

/** Nothing secret in what the runner printed, nor in what any task printed (before the runner's masking). */
function expectNoSecrets(run: PipelineRun, printed: string): void {
  const secrets = [
    stack.keyPair.keyPem, stack.fluxReaderToken, stack.emulators.devops.systemAccessToken,
    ...stack.emulators.entra.issued.map((t) => t.token), ...stack.emulators.devops.oidcTokens.map((t) => t.token),
  ];
  const outputs = [printed, ...run.steps.filter((s) => s.run).map((s) => visibleOutput(s.run!))];
  for (const output of outputs) {
    for (const secret of secrets) for (const form of forbiddenForms(secret)) expect(output).not.toContain(form);
    expect(output).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/);
  }
}

const kubeseal = (secret: object, cert: string) => sealWithKubeseal(platform.info.binaries.kubeseal, secret, cert);

/** The dev cluster follows the dev branch of platform-components. */
async function headRevision(): Promise<string> {
  return `dev@sha1:${await stack.repos.head('platform-components', 'dev')}`;
}

/** Waits until a Flux Kustomization is Ready with a revision applied. */
function appliedRevisionOf(name: string): Promise<string> {
  return cluster().api.waitFor<KubeObject>(`Kustomization flux-system/${name} ready`, `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/${name}`,
    (k) => conditionOf(k, 'Ready')?.status === 'True' && Boolean((k.status as { lastAppliedRevision?: string }).lastAppliedRevision), 90_000)
    .then((k) => (k.status as { lastAppliedRevision: string }).lastAppliedRevision);
}

describe('examples/bootstrap.yml through the local runner', () => {
  let first: Awaited<ReturnType<typeof runExample>>;
  /** A SealedSecret as a team would commit it, sealed offline with the environment's certificate. */
  let sealed: KubeObject;

  it('creates the cluster, installs the brought sealing key and controller, Flux applies clusters/dev of the sample repository, and three teams are on board', async () => {
    const initial = await headRevision();
    first = await runExample();
    expect(first.run.result, first.printed).toBe('Succeeded');
    expect(first.run.steps.map((s) => `${s.reference}:${s.status}`)).toEqual(['checkout:succeeded', 'AksBootstrap@1:succeeded', 'InstallSealedSecrets@1:succeeded', 'FluxBootstrap@1:succeeded',
      ...SYSTEMS.map(() => 'RegisterSystem@1:succeeded')]);
    expect(first.printed.split('\n').at(-1)).toMatch(/^Pipeline .*bootstrap\.yml: Succeeded \(7 of 7 steps ran, /);

    // The cluster AksBootstrap asked ARM for is the one running the controllers.
    const managed = stack.emulators.arm.cluster(stack.emulators.subscriptionId, RG, NAME)!;
    expect(managed.resource).toMatchObject({ tags: { 'managed-by': 'aks-gitops-tasks', environment: 'dev' }, properties: { aadProfile: { managed: true }, disableLocalAccounts: true } });
    expect(managed.endpoint!.server).toBe(cluster().info.server);
    // The kubeconfig output (an Entra token) went with the job's temp folder.
    expect(existsSync(stepRun(first.run, 'AksBootstrap@1').variables.kubeconfigPath.value)).toBe(false);

    // Sealed Secrets serves the brought certificate, and what the real kubeseal seals with it unseals.
    const listen = cluster().kubelet.runtime('kube-system', 'sealed-secrets-controller')!.addresses['--listen-addr'];
    expect((await (await fetch(`http://${listen}/v1/cert.pem`)).text()).trim()).toBe(stack.keyPair.certPem.trim());
    const certFile = join(work, 'dev.crt');
    writeFileSync(certFile, stack.keyPair.certPem);
    sealed = await kubeseal({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'probe', namespace: 'default' }, stringData: { value: 'unsealed-by-the-brought-key' } }, certFile);
    await cluster().api.apply([sealed]);
    const secret = await cluster().api.waitFor<{ data: Record<string, string> }>('unsealed Secret', '/api/v1/namespaces/default/secrets/probe', () => true, 30_000);
    expect(Buffer.from(secret.data.value!, 'base64').toString()).toBe('unsealed-by-the-brought-key');

    // Flux applied the head of dev: its own Kustomization, then the two it found in clusters/dev.
    expect(stepRun(first.run, 'FluxBootstrap@1').variables.appliedRevision.value).toBe(initial);
    expect(await appliedRevisionOf('infrastructure')).toMatch(/^dev@sha1:/);
    // Each team: one commit on dev, its repository with a starter folder, its sync Ready as its own account.
    const registered = first.run.steps.filter((s) => s.reference === 'RegisterSystem@1').map((s) => s.run!.variables.commitId.value);
    expect(new Set(registered).size).toBe(SYSTEMS.length);
    expect(await headRevision()).toBe(`dev@sha1:${registered.at(-1)}`);
    for (const system of SYSTEMS) {
      expect(Object.keys((await stack.repos.tree(system))!)).toContain('deploy/dev/README.md');
      const sync = await live(`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${system}/kustomizations/${system}`);
      expect(conditionOf(sync, 'Ready')?.status, JSON.stringify(sync.status)).toBe('True');
      expect((sync.spec as { serviceAccountName: string }).serviceAccountName).toBe(system);
    }
    expect(first.printed).toContain('Registered payments: commit ');
    const tenant = await live('/apis/rbac.authorization.k8s.io/v1/clusterroles/system-tenant');
    expect((tenant.rules as { apiGroups: string[]; resources: string[] }[]).some((r) => r.apiGroups.includes('bitnami.com') && r.resources.includes('sealedsecrets'))).toBe(true);
    // The dev overlay of the common base.
    expect((await live('/api/v1/namespaces/kube-public/configmaps/platform-info')).data).toMatchObject({ environment: 'dev', clusterName: NAME, platformBranch: 'dev' });

    expect(first.printed).toContain('output aks.kubeconfigPath = ');
    expect(first.printed).toMatch(/## Summary of step 4: Flux on clusters\/dev\n### AKS bootstrap: Flux/);
    expectNoSecrets(first.run, first.printed);
  }, 600_000);

  it('a second run changes nothing: no Azure write, no object written in the cluster', async () => {
    expect(first?.run.result).toBe('Succeeded');
    const clusterPath = `/subscriptions/${stack.emulators.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/${NAME}`;
    const mark = stack.emulators.arm.requests.length;
    const server = cluster().info.server;
    const watched = [
      '/api/v1/namespaces/kube-system/secrets?labelSelector=sealedsecrets.bitnami.com%2Fsealed-secrets-key',
      '/apis/apps/v1/namespaces/kube-system/deployments/sealed-secrets-controller',
      '/apis/apps/v1/namespaces/flux-system/deployments/source-controller',
      '/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller',
      '/apis/apps/v1/namespaces/flux-system/deployments/notification-controller',
      '/api/v1/namespaces/flux-system/secrets/flux-system',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/system-tenant',
    ];
    // Flux's own objects get status writes from the controllers; what the pipeline writes is the
    // spec and the reconcile-request annotation, so those are compared.
    const fluxObjects = [
      '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system',
      '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system',
    ];
    const snapshot = async () => ({
      versions: await Promise.all(watched.map(async (p) => {
        const o = await live(p) as KubeObject & { items?: KubeObject[] };
        return o.items ? o.items.map((i) => `${i.metadata.name}@${i.metadata.resourceVersion}`) : o.metadata.resourceVersion;
      })),
      flux: await Promise.all(fluxObjects.map(async (p) => {
        const o = await live(p);
        return { generation: o.metadata.generation, annotations: o.metadata.annotations ?? {}, spec: o.spec };
      })),
    });
    // The registrations committed after FluxBootstrap ran: Flux takes them within its interval;
    // asked now, so that the second run finds Flux at the head, as it would a minute later.
    const head = await headRevision();
    const requested = new Date().toISOString();
    for (const p of fluxObjects) await cluster().api.patch(p, { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': requested } } });
    await cluster().api.waitFor<KubeObject>('flux-system to apply the head', fluxObjects[1]!, (k) => (k.status as { lastAppliedRevision?: string }).lastAppliedRevision === head, 60_000);
    const before = await snapshot();

    const second = await runExample();
    expect(second.run.result, second.printed).toBe('Succeeded');
    expect(stack.emulators.arm.requests.slice(mark).filter((r) => r.path === clusterPath && ['PUT', 'PATCH', 'DELETE'].includes(r.method))).toEqual([]);
    expect(cluster().info.server).toBe(server);
    expect(await snapshot()).toEqual(before);
    expect(second.printed).toContain(`No changes: cluster ${NAME} matches the inputs.`);
    expect(stepRun(second.run, 'InstallSealedSecrets@1').summaries[0]!.markdown).toContain('0 created, 0 configured');
    expect(second.printed).toContain('nothing to do');
    for (const step of second.run.steps.filter((s) => s.reference === 'RegisterSystem@1')) expect(step.run!.variables.changed.value).toBe('false');
    expectNoSecrets(second.run, second.printed);
    process.stdout.write(`[bootstrap-pipeline] first run ${first.ms} ms, second run ${second.ms} ms\n`);
  }, 600_000);

  it('register-system.yml proposes a team change as one pull request, and a re-run updates nothing', async () => {
    expect(first?.run.result).toBe('Succeeded');
    const checkout = join(work, 'platform-components');
    for (const [path, content] of Object.entries(stack.platformFiles)) {
      mkdirSync(dirname(join(checkout, path)), { recursive: true });
      writeFileSync(join(checkout, path), content);
    }
    const runRegister = () => runPipelineFile(join(repoRoot, 'examples', 'register-system.yml'), {
      environment: stack.environment, pipelineVariables: stack.pipelineVariables, overrides: stack.overrides, sourcesDirectory: checkout, out: () => undefined,
    });
    const head = await stack.repos.head('platform-components', 'dev');
    const proposed = await runRegister();
    expect(proposed.result).toBe('Succeeded');
    const register = proposed.steps.find((s) => s.reference === 'RegisterSystem@1')!.run!;
    expect(register.variables.pullRequestId.value).toMatch(/^\d+$/);
    expect(register.plainLines.join('\n')).toContain('added Alert/payments/payments');
    // Reviewed first: dev has not moved.
    expect(await stack.repos.head('platform-components', 'dev')).toBe(head);
    const again = await runRegister();
    expect(again.result).toBe('Succeeded');
    const rerun = again.steps.find((s) => s.reference === 'RegisterSystem@1')!.run!;
    expect(rerun.variables.pullRequestId.value).toBe(register.variables.pullRequestId.value);
    expect(rerun.variables.changed.value).toBe('false');
  }, 300_000);

  it('the scheduled recreate-for-upgrade.yml builds a new cluster from nothing, and Git and the same key bring everything back', async () => {
    expect(first?.run.result).toBe('Succeeded');
    const old = cluster().info.server;
    const mark = stack.emulators.arm.requests.length;
    const recreate = await runExample(join(repoRoot, 'examples', 'recreate-for-upgrade.yml'));
    expect(recreate.run.result, recreate.printed).toBe('Succeeded');
    expect(recreate.printed).toContain("scheduled: '0 2 * * 6' UTC (Weekly recreate of dev) on main");
    const clusterPath = `/subscriptions/${stack.emulators.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/${NAME}`;
    expect(stack.emulators.arm.requests.slice(mark).filter((r) => r.path === clusterPath && ['PUT', 'DELETE'].includes(r.method)).map((r) => r.method)).toEqual(['DELETE', 'PUT']);

    // A new API server with an empty etcd: the old one is gone, and so is what only it had.
    expect(cluster().info.server).not.toBe(old);
    await expect(fetch(`${old}/readyz`)).rejects.toThrow();
    expect(await cluster().api.find('/api/v1/namespaces/default/secrets/probe')).toBeUndefined();

    // Everything that is in Git, or in the pipeline's secrets, came back.
    const listen = cluster().kubelet.runtime('kube-system', 'sealed-secrets-controller')!.addresses['--listen-addr'];
    expect((await (await fetch(`http://${listen}/v1/cert.pem`)).text()).trim()).toBe(stack.keyPair.certPem.trim());
    const head = await headRevision();
    expect(await appliedRevisionOf('infrastructure')).toBe(head);
    expect(await appliedRevisionOf('systems')).toBe(head);
    expect((await live('/api/v1/namespaces/kube-public/configmaps/platform-info')).data).toMatchObject({ environment: 'dev' });
    // The teams came back from their folders, their credentials unsealed by the same key.
    for (const system of SYSTEMS) {
      await cluster().api.waitFor(`Kustomization ${system}/${system} Ready`, `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${system}/kustomizations/${system}`,
        (k) => conditionOf(k, 'Ready')?.status === 'True', 120_000);
    }
    // What was sealed for the old cluster still opens on the new one: the key is the same.
    await cluster().api.apply([sealed]);
    const secret = await cluster().api.waitFor<{ data: Record<string, string> }>('unsealed Secret', '/api/v1/namespaces/default/secrets/probe', () => true, 30_000);
    expect(Buffer.from(secret.data.value!, 'base64').toString()).toBe('unsealed-by-the-brought-key');
    expectNoSecrets(recreate.run, recreate.printed);
    process.stdout.write(`[bootstrap-pipeline] recreate run ${recreate.ms} ms\n`);
  }, 600_000);
  it('promote.yml fast-forwards test to the very commit dev runs, the test cluster applies the test overlay, and a test branch that went its own way is refused', async () => {
    expect(first?.run.result).toBe('Succeeded');
    const promote = async () => {
      const checkout = mkdtempSync(join(work, 'promote-'));
      await stack.repos.checkout('platform-components', checkout);
      const lines: string[] = [];
      const run = await runPipelineFile(join(repoRoot, 'examples', 'promote.yml'), {
        environment: stack.environment, pipelineVariables: stack.pipelineVariables, overrides: { ...stack.overrides, promoteTo: 'test' },
        sourcesDirectory: checkout, out: (line) => lines.push(line),
      });
      return { run, printed: lines.join('\n') };
    };
    const dev = (await stack.repos.head('platform-components', 'dev'))!;
    const before = (await stack.repos.head('platform-components', 'test'))!;
    expect(before).not.toBe(dev);

    const promoted = await promote();
    expect(promoted.run.result, promoted.printed).toBe('Succeeded');
    // Same commit id: test now holds exactly what the dev cluster runs, nothing re-merged.
    expect(await stack.repos.head('platform-components', 'test')).toBe(dev);
    expect(promoted.printed).toContain(`test is now at ${dev}, the commit dev ran`);
    expect(promoted.printed).not.toContain(stack.emulators.devops.systemAccessToken);
    // A re-run has nothing to promote.
    const again = await promote();
    expect(again.run.result, again.printed).toBe('Succeeded');
    expect(again.printed).toContain(`test is already at ${dev}: nothing to promote.`);

    // The test environment: Flux on the test branch and clusters/test, the test overlay of the same base.
    const dir = mkdtempSync(join(work, 'test-env-'));
    writeFileSync(join(dir, 'kubeconfig'), testCluster.info.kubeconfigYaml);
    const flux = await runTask({
      task: 'FluxBootstrap',
      workingDirectory: dir,
      env: stack.environment.env,
      inputs: {
        connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', gitUrl: stack.platformRepositoryUrl, caFile: ensureEmulatorCa().caPath,
        gitBranch: 'test', gitPath: './clusters/test', gitAuth: 'token', gitToken: stack.fluxReaderToken,
        components: 'source-controller,kustomize-controller,notification-controller', fluxVersion: platform.info.releases.fluxVersion,
        releaseBaseUrl: platform.info.releases.baseUrl, timeoutMinutes: '5',
      },
    });
    expect(flux.result, flux.stdout).toBe('Succeeded');
    expect(flux.variables.appliedRevision.value).toBe(`test@sha1:${dev}`);
    const infrastructure = await testCluster.api.waitFor<KubeObject>('infrastructure applied on the test cluster', '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/infrastructure',
      (k) => conditionOf(k, 'Ready')?.status === 'True', 120_000);
    expect((infrastructure.status as { lastAppliedRevision: string }).lastAppliedRevision).toBe(`test@sha1:${dev}`);
    expect((await testCluster.api.get<KubeObject>('/api/v1/namespaces/kube-public/configmaps/platform-info')).data)
      .toEqual({ environment: 'test', clusterName: 'aks-platform-test', platformBranch: 'test', platformRepository: 'platform-components' });
    // The dev teams' folders travelled with the commit, but the test cluster reads systems/test only.
    for (const system of SYSTEMS) expect(await testCluster.api.find(`/api/v1/namespaces/${system}`)).toBeUndefined();

    // Someone committed to test directly: a rebase would give dev's commits new ids, so the promotion stops.
    const hotfix = await stack.repos.commit('platform-components', { 'clusters/test/HOTFIX.md': 'made on test\n' }, 'Hotfix on test', 'test');
    await stack.repos.commit('platform-components', { 'clusters/dev/NEXT.md': 'next change\n' }, 'Next change on dev', 'dev');
    const refused = await promote();
    expect(refused.run.result).toBe('Failed');
    expect(refused.run.summaryLine).toContain(`test has commits that dev lacks (${hotfix.slice(0, 7)})`);
    expect(await stack.repos.head('platform-components', 'test')).toBe(hotfix);
  }, 600_000);
});
