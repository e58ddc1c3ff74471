// FluxBootstrap@1 with its default components (source-, kustomize-, helm- and
// notification-controller), through the packaged task, on a cluster of this file's own: all four
// run, the head of the branch is applied, and helm-controller installs a chart from the platform
// repository as a HelmRelease would on AKS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask } from '../agent/harness';
import { fluxBootstrapInputs } from './flux-bootstrap-inputs';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import { startGitServer, type GitServer } from '../platform/git-server';
import type { KubeObject } from '../platform/kube-api';

const platform = usePlatform();
const cluster = useDedicatedCluster();
const work = mkdtempSync(join(tmpdir(), 'flux-defaults-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const repo = `platform-${Date.now().toString(36)}`;
let git: GitServer;

// A chart in the platform repository, and a HelmRelease that installs it. With the multi-tenancy
// lockdown (the default) helm-controller impersonates `default` unless told otherwise, so Flux's
// own release names helm-controller's account, as `flux bootstrap`'s multi-tenancy guide does.
const files = {
  'charts/greeting/Chart.yaml': 'apiVersion: v2\nname: greeting\nversion: 0.1.0\n',
  'charts/greeting/values.yaml': 'message: hello\n',
  'charts/greeting/templates/configmap.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\n  namespace: {{ .Release.Namespace }}\ndata:\n  message: {{ .Values.message | quote }}\n',
  'clusters/dev/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: greetings}\n',
  'clusters/dev/greeting.yaml': [
    'apiVersion: helm.toolkit.fluxcd.io/v2',
    'kind: HelmRelease',
    'metadata: {name: greeting, namespace: flux-system}',
    'spec:',
    '  interval: 1m',
    '  targetNamespace: greetings',
    '  serviceAccountName: helm-controller',
    '  chart:',
    '    spec:',
    '      chart: ./charts/greeting',
    '      sourceRef: {kind: GitRepository, name: flux-system}',
    '  values: {message: from-git}',
    '',
  ].join('\n'),
};

beforeAll(async () => {
  writeFileSync(join(work, 'kubeconfig'), cluster.info.kubeconfigYaml);
  git = await startGitServer({ tls: true, username: 'flux-reader', password: `pat-${Date.now().toString(36)}-secret` });
  writeFileSync(join(work, 'git-ca.pem'), git.info.caPem!);
  await git.createRepo(repo, { files });
});
afterAll(() => git?.stop());

type Condition = { type: string; status: string; reason?: string; message?: string };
const conditions = (o: KubeObject) => ((o.status as { conditions?: Condition[] } | undefined)?.conditions ?? []);

describe('FluxBootstrap@1 with its default components', () => {
  it('runs helm-controller with the others, reaches the head, and a HelmRelease of a chart in the repository becomes Ready', async () => {
    const head = await git.head(repo, 'main');
    const run = await runTask({
      task: 'FluxBootstrap',
      workingDirectory: work,
      // No components input: the task's default list.
      inputs: { ...fluxBootstrapInputs(git, repo, platform.info.releases), timeoutMinutes: '4' },
    });
    expect(run.result, run.stdout).toBe('Succeeded');
    expect(run.variables.appliedRevision.value).toBe(`main@sha1:${head}`);
    expect(run.stdout).toContain('Installing Flux 2.9.4 (source-controller, kustomize-controller, helm-controller, notification-controller)');
    // The task followed what the sync applied down to the HelmRelease, and ended once it was installed.
    expect(run.stdout).toMatch(/HelmRelease\/flux-system\/greeting: InstallSucceeded: Helm install succeeded for release greetings\/greetings-greeting\.v1/);

    for (const name of ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller']) {
      const d = await cluster.api.get<KubeObject>(`/apis/apps/v1/namespaces/flux-system/deployments/${name}`);
      expect((d.status as { availableReplicas?: number }).availableReplicas, name).toBe(1);
    }

    const release = await cluster.api.waitFor('HelmRelease flux-system/greeting Ready',
      '/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/greeting',
      (o) => conditions(o).some((c) => c.type === 'Ready' && c.status === 'True'), 180_000)
      .catch(async (e: Error) => {
        const o = await cluster.api.get<KubeObject>('/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/greeting');
        throw new Error(`${e.message}; conditions: ${JSON.stringify(conditions(o))}`);
      });
    expect(conditions(release).find((c) => c.type === 'Ready')?.reason).toBe('InstallSucceeded');
    const cm = await cluster.api.get<KubeObject>('/api/v1/namespaces/greetings/configmaps/greetings-greeting-greeting');
    expect(cm.data).toEqual({ message: 'from-git' });
    // Helm keeps the release as a Secret of type helm.sh/release.v1, in the HelmRelease's namespace
    // (spec.storageNamespace's default); its name is <targetNamespace>-<name>.
    const secrets = await cluster.api.get<{ items: { type: string; metadata: { name: string } }[] }>('/api/v1/namespaces/flux-system/secrets');
    expect(secrets.items.filter((s) => s.type === 'helm.sh/release.v1').map((s) => s.metadata.name)).toEqual(['sh.helm.release.v1.greetings-greeting.v1']);
  });
});
