// The agent's proxy, end to end: every packaged task runs with Agent.ProxyUrl set to a local
// forward proxy (with credentials), and Entra ID, ARM, Azure DevOps and the release server are
// reached under *.azure.test names that only the proxy resolves, so a request that skips the
// proxy fails. The API server goes through it too, unless the bypass list names it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, makeKeyPair } from '../agent/fixtures';
import { startForwardProxy, type ForwardProxy } from '../agent/forward-proxy';
import { runTask, visibleOutput, type RunOptions } from '../agent/harness';
import { startAzureEmulators, type AzureEmulators } from '../emulators/azure-emulators';
import { devopsRepos } from '../emulators/devops-repos';
import { createFakeClusters } from '../emulators/fake-cluster-factory';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';

const platform = usePlatform();
const cluster = useDedicatedCluster();
const work = mkdtempSync(join(tmpdir(), 'proxy-e2e-'));
const pair = makeKeyPair({ bits: 2048 });
const PROXY_USER = 'agent';
const PROXY_PASSWORD = `proxy-${randomUUID()}`;
let proxy: ForwardProxy;
let emulators: AzureEmulators;

/** The same server under a name only the proxy resolves. */
const viaName = (url: string, name: string) => {
  const u = new URL(url);
  u.hostname = name;
  return u.toString();
};

const run = (o: RunOptions, bypass: string[] = []) => runTask({
  ...o,
  workingDirectory: work,
  env: { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '' },
  variables: { 'Agent.ProxyUrl': proxy.url, 'Agent.ProxyUsername': PROXY_USER, 'Agent.ProxyBypassList': JSON.stringify(bypass), ...o.variables },
  secretVariables: { 'Agent.ProxyPassword': PROXY_PASSWORD },
});

beforeAll(async () => {
  proxy = await startForwardProxy({ names: ['login.azure.test', 'management.azure.test', 'dev.azure.test', 'releases.azure.test'], username: PROXY_USER, password: PROXY_PASSWORD });
  emulators = await startAzureEmulators({ clusterFactory: createFakeClusters().factory });
  writeFileSync(join(work, 'kubeconfig'), cluster.info.kubeconfigYaml);
  writeFileSync(join(work, 'dev.crt'), pair.certPem);
});

afterAll(async () => {
  await proxy?.stop();
  await emulators?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("the agent's proxy", () => {
  it('AksBootstrap reaches Entra ID and ARM only through it', async () => {
    const { arm, entra, subscriptionId, tenantId } = emulators;
    arm.addResourceGroup({ subscriptionId, name: 'rg-aks', location: 'westeurope' });
    arm.addResourceGroup({ subscriptionId, name: 'rg-net', location: 'westeurope' });
    const subnetId = arm.addSubnet({ subscriptionId, resourceGroup: 'rg-net', vnet: 'vnet', name: 'aks', addressPrefix: '10.240.0.0/22' });
    const secret = `sp-${randomUUID()}`;
    const app = entra.addApp({ tenantId, clientId: randomUUID(), secret });
    const since = proxy.requests.length;
    const result = await run({
      task: 'AksBootstrap',
      endpoints: { ep: {
        url: viaName(`${arm.url}/`, 'management.azure.test'), scheme: 'ServicePrincipal',
        params: { tenantid: tenantId, serviceprincipalid: app.clientId, serviceprincipalkey: secret, authenticationType: 'spnKey' },
        data: { subscriptionId, environment: 'AzureCloud', environmentAuthorityUrl: viaName(`${entra.url}/`, 'login.azure.test'), activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/' },
      } },
      inputs: { azureSubscription: 'ep', resourceGroup: 'rg-aks', clusterName: 'aks-proxy', location: 'westeurope', subnetId, entraId: 'false', systemPoolCount: '1', systemPoolVmSize: 'Standard_D4ds_v5' },
    });
    expect(result.result, result.stdout).toBe('Succeeded');
    const hosts = new Set(proxy.requests.slice(since).map((r) => r.host));
    expect(hosts.has('login.azure.test')).toBe(true);
    expect(hosts.has('management.azure.test')).toBe(true);
    expect(proxy.requests.slice(since).every((r) => r.authorized)).toBe(true);
    // task-lib itself prints Agent.ProxyPassword in a debug line when it loads (_exposeProxySettings),
    // before any task code runs; the agent masks it (its proxy password is in its secret masker from
    // the start). Nothing else may show it.
    const ours = visibleOutput(result).split('\n').filter((l) => !l.startsWith('##vso[task.debug]Agent.ProxyPassword='));
    expect(ours.join('\n')).not.toContain(PROXY_PASSWORD);
    expect(result.secrets).toContain(PROXY_PASSWORD);
  });

  it('InstallSealedSecrets downloads through it and reaches the API server through it unless bypassed', async () => {
    const releases = viaName(platform.info.releases.baseUrl, 'releases.azure.test');
    const inputs = {
      connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', privateKey: b64(pair.keyPem), certificate: b64(pair.certPem),
      releaseBaseUrl: releases, controllerVersion: platform.info.releases.sealedSecretsVersion, timeoutMinutes: '3',
    };
    const api = new URL(cluster.info.server);
    let since = proxy.requests.length;
    const bypassed = await run({ task: 'InstallSealedSecrets', inputs }, [api.hostname.replace(/\./g, '\\.')]);
    expect(bypassed.result, bypassed.stdout).toBe('Succeeded');
    expect(proxy.requests.slice(since).map((r) => r.host)).toContain('releases.azure.test');
    expect(proxy.requests.slice(since).filter((r) => r.target === api.host)).toEqual([]);
    since = proxy.requests.length;
    const proxied = await run({ task: 'InstallSealedSecrets', inputs });
    expect(proxied.result, proxied.stdout).toBe('Succeeded');
    expect(proxy.requests.slice(since).filter((r) => r.method === 'CONNECT' && r.target === api.host).length).toBeGreaterThan(0);
  });

  it('FluxBootstrap downloads the release, reads the branch head and reaches the API server through it', async () => {
    const repo = `proxy-platform-${Date.now().toString(36)}`;
    const { head } = await platform.git.createRepo(repo, { files: { 'clusters/dev/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: through-proxy, namespace: default}\n' } });
    const since = proxy.requests.length;
    const result = await run({
      task: 'FluxBootstrap',
      inputs: {
        connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', gitUrl: platform.git.url(repo), gitBranch: 'main', gitPath: './clusters/dev',
        gitUsername: platform.git.username!, gitToken: platform.git.password!, allowInsecureHttp: 'true', waitFor: 'root',
        components: 'source-controller,kustomize-controller,notification-controller',
        releaseBaseUrl: viaName(platform.info.releases.baseUrl, 'releases.azure.test'), fluxVersion: platform.info.releases.fluxVersion, timeoutMinutes: '4',
      },
    });
    expect(result.result, result.stdout).toBe('Succeeded');
    expect(result.variables.appliedRevision.value).toBe(`main@sha1:${head}`);
    const seen = proxy.requests.slice(since);
    expect(seen.map((r) => r.host)).toContain('releases.azure.test');
    // The head check (plain HTTP here): a tunnel to the git server, as hpagent opens one for every target.
    expect(seen.some((r) => r.method === 'CONNECT' && r.target === new URL(platform.git.url(repo)).host)).toBe(true);
    expect(seen.some((r) => r.method === 'CONNECT' && r.target === new URL(cluster.info.server).host)).toBe(true);
  });

  it('RegisterSystem talks to Azure DevOps only through it', async () => {
    const { devops } = emulators;
    devops.addProject({ name: 'platform' });
    const pat = devops.addPersonalAccessToken();
    await devopsRepos({ collectionUrl: devops.collectionUrl, project: 'platform', pat, token: devops.systemAccessToken })
      .create('platform-components', { 'README.md': '# platform\n' });
    const since = proxy.requests.length;
    const result = await run({
      task: 'RegisterSystem',
      inputs: {
        systemName: 'payments', clusterRole: 'edit', organizationUrl: viaName(devops.collectionUrl, 'dev.azure.test'), project: 'platform',
        accessToken: devops.systemAccessToken, systemReadToken: pat, platformRepository: 'platform-components', platformBranch: 'main',
        systemsFolder: 'systems/dev', sealingCertificate: 'dev.crt',
      },
    });
    expect(result.result, result.stdout).toBe('Succeeded');
    expect(result.variables.changed.value).toBe('true');
    expect(proxy.requests.slice(since).map((r) => r.host)).toContain('dev.azure.test');
  });
});
