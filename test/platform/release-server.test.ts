import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePlatform } from './fixture.js';
import { parseYamlObjects, type KubeObject } from './kube-api.js';

const { info } = usePlatform();

async function download(url: string): Promise<{ text: string; redirectedTo: string }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return { text: await res.text(), redirectedTo: res.url };
}

type Container = { image: string; args?: string[] };
const containersOf = (o: KubeObject) => ((o.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers);

describe('release server', () => {
  it("serves Flux's install.yaml behind a GitHub-like redirect, with its sha256", async () => {
    const { text, redirectedTo } = await download(info.releases.fluxInstallUrl);
    expect(info.releases.fluxInstallUrl).toContain('/fluxcd/flux2/releases/download/v2.9.4/install.yaml');
    expect(redirectedTo).not.toBe(info.releases.fluxInstallUrl);
    const sha = createHash('sha256').update(text).digest('hex');
    expect(sha).toBe(info.releases.fluxInstallSha256);
    expect((await (await fetch(`${info.releases.fluxInstallUrl}.sha256`)).text()).trim()).toBe(`${sha}  install.yaml`);
  });

  it('builds install.yaml from the real upstream manifests, pinned as flux2 v2.9.4 pins them', async () => {
    const objects = parseYamlObjects((await download(info.releases.fluxInstallUrl)).text);
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => containersOf(d)[0]!.image).sort()).toEqual([
      'ghcr.io/fluxcd/helm-controller:v1.6.3',
      'ghcr.io/fluxcd/kustomize-controller:v1.9.4',
      'ghcr.io/fluxcd/notification-controller:v1.9.3',
      'ghcr.io/fluxcd/source-controller:v1.9.4',
    ]);
    for (const o of objects) {
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe('flux');
      expect(o.metadata.labels?.['app.kubernetes.io/instance'], `${o.kind}/${o.metadata.name}`).toBe('flux-system');
      if (o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition' && !o.kind.startsWith('Cluster')) {
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('flux-system');
      }
    }
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name).sort())
      .toEqual(['allow-egress', 'allow-scraping', 'allow-webhooks']);
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    expect(crds).toEqual(expect.arrayContaining([
      'gitrepositories.source.toolkit.fluxcd.io', 'ocirepositories.source.toolkit.fluxcd.io', 'externalartifacts.source.toolkit.fluxcd.io',
      'kustomizations.kustomize.toolkit.fluxcd.io', 'alerts.notification.toolkit.fluxcd.io', 'providers.notification.toolkit.fluxcd.io',
      'receivers.notification.toolkit.fluxcd.io',
    ]));
    expect(objects.find((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'cluster-reconciler')).toBeDefined();
    const source = deployments.find((d) => d.metadata.name === 'source-controller')!;
    expect(containersOf(source)[0]!.args).toContain('--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.');
    expect(objects.find((o) => o.kind === 'Namespace')?.metadata.labels?.['pod-security.kubernetes.io/warn']).toBe('restricted');
  });

  it("serves Sealed Secrets' controller.yaml in the shape of the upstream release asset", async () => {
    expect(info.releases.sealedSecretsControllerUrl).toContain('/bitnami-labs/sealed-secrets/releases/download/v0.40.0/controller.yaml');
    const { text } = await download(info.releases.sealedSecretsControllerUrl);
    expect(createHash('sha256').update(text).digest('hex')).toBe(info.releases.sealedSecretsControllerSha256);
    const objects = parseYamlObjects(text);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/secrets-unsealer',
      'ClusterRoleBinding/sealed-secrets-controller',
      'CustomResourceDefinition/sealedsecrets.bitnami.com',
      'Deployment/sealed-secrets-controller',
      'Role/sealed-secrets-key-admin',
      'Role/sealed-secrets-service-proxier',
      'RoleBinding/sealed-secrets-controller',
      'RoleBinding/sealed-secrets-service-proxier',
      'Service/sealed-secrets-controller',
      'Service/sealed-secrets-controller-metrics',
      'ServiceAccount/sealed-secrets-controller',
    ]);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect(deployment.metadata.namespace).toBe('kube-system');
    expect(containersOf(deployment)[0]!.image).toBe('docker.io/bitnami/sealed-secrets-controller:0.40.0');
  });

  it('answers 404 for unknown assets', async () => {
    expect((await fetch(`${info.releases.baseUrl}/fluxcd/flux2/releases/download/v2.0.0/install.yaml`)).status).toBe(404);
  });
});
