// @azure/arm-containerservice, unmodified, against the ARM emulator: the cluster life cycle with
// real long-running operations, credentials that reach the cluster's API server, and the
// failures (throttling, 5xx, resets, failed provisioning, contract violations) callers must handle.
import { ContainerServiceClient, type ManagedCluster } from '@azure/arm-containerservice';
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { AuthenticationV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startArmEmulator } from './arm/arm-emulator.js';
import { AKS_SERVER_APP_ID, startAzureEmulators, type AzureEmulators } from './azure-emulators.js';
import { createFakeClusters, type FakeClusters } from './fake-cluster-factory.js';
import { fastPolling, fastRetries } from './test-support.js';
import { trustEmulatorCa } from './trust-emulator-ca.js';

trustEmulatorCa();

const tenantId = 'a1b2c3d4-0000-4000-8000-00000000aaaa';
const subscriptionId = '5e1f0a9c-0000-4000-8000-00000000bbbb';
const clientId = 'a1b2c3d4-0000-4000-8000-0000000000c1';
const rg = 'rg-platform';

function cluster(overrides: Partial<ManagedCluster> = {}): ManagedCluster {
  return {
    location: 'westeurope',
    dnsPrefix: 'aks-prod',
    agentPoolProfiles: [{ name: 'system', mode: 'System', count: 1, vmSize: 'Standard_D2s_v5', osType: 'Linux' }],
    identity: { type: 'SystemAssigned' },
    ...overrides,
  };
}

function userOf(kubeconfigValue: Uint8Array | undefined): { yaml: string; config: Record<string, any> } {
  const yaml = Buffer.from(kubeconfigValue!).toString('utf8');
  return { yaml, config: parse(yaml) };
}

describe('ARM emulator (managedClusters 2026-04-01)', () => {
  let emulators: AzureEmulators;
  let fake: FakeClusters;
  let credential: TokenCredential;
  let client: ContainerServiceClient;
  let objectId: string;

  beforeAll(async () => {
    fake = createFakeClusters();
    emulators = await startAzureEmulators({ clusterFactory: fake.factory, tenantId, subscriptionId });
    emulators.arm.addResourceGroup({ subscriptionId, name: rg, location: 'westeurope' });
    objectId = emulators.entra.addApp({ tenantId, clientId, secret: 'pipeline-secret', groups: ['0c0c0c0c-0000-4000-8000-0000000000ad'] }).objectId;
    credential = new ClientSecretCredential(tenantId, clientId, 'pipeline-secret', { authorityHost: emulators.entra.url, disableInstanceDiscovery: true });
    client = new ContainerServiceClient(credential, subscriptionId, { endpoint: emulators.arm.url, retryOptions: fastRetries });
  });
  afterAll(async () => {
    await emulators?.stop();
    expect(fake.running()).toBe(0);
  });
  beforeEach(() => emulators.arm.setOperationDelay(5));

  it('creates a cluster through a real LRO, then gets, lists, updates and deletes it', async () => {
    const before = emulators.arm.requests.length;
    const created = await client.managedClusters.beginCreateOrUpdateAndWait(rg, 'aks1', cluster({ tags: { env: 'prod' } }), fastPolling);
    expect(created).toMatchObject({ provisioningState: 'Succeeded', currentKubernetesVersion: '1.34.2', kubernetesVersion: '1.34.2', dnsPrefix: 'aks-prod' });
    expect(created.fqdn).toMatch(/^aks-prod-[0-9a-f]{8}\.hcp\.westeurope\.azmk8s\.io$/);
    const log = emulators.arm.requests.slice(before).map((request) => `${request.method} ${request.status} ${request.path.split('/').slice(-2).join('/')}`);
    expect(log[0]).toBe('PUT 201 managedClusters/aks1');
    expect(log.some((line) => line.startsWith('GET 200 operations/'))).toBe(true);
    expect(log.at(-1)).toBe('GET 200 managedClusters/aks1');
    expect(fake.specs.at(-1)).toMatchObject({ name: 'aks1', kubernetesVersion: '1.34.2', resourceGroup: rg });
    expect(fake.specs.at(-1)!.entraId).toBeUndefined();

    const got = await client.managedClusters.get(rg, 'aks1');
    expect(got).toMatchObject({ name: 'aks1', location: 'westeurope', provisioningState: 'Succeeded', tags: { env: 'prod' } });

    const byGroup = [];
    for await (const item of client.managedClusters.listByResourceGroup(rg)) byGroup.push(item.name);
    const bySubscription = [];
    for await (const item of client.managedClusters.list()) bySubscription.push(item.name);
    expect(byGroup).toEqual(['aks1']);
    expect(bySubscription).toContain('aks1');

    const poller = await client.managedClusters.beginCreateOrUpdate(rg, 'aks1', cluster({ kubernetesVersion: '1.35.0' }), fastPolling);
    expect(poller.getOperationState().status).not.toBe('succeeded');
    const updated = await poller.pollUntilDone();
    expect(updated).toMatchObject({ provisioningState: 'Succeeded', currentKubernetesVersion: '1.35.0' });
    expect(emulators.arm.requests.filter((request) => request.method === 'PUT').at(-1)!.status).toBe(200);

    const running = fake.running();
    await client.managedClusters.beginDeleteAndWait(rg, 'aks1', fastPolling);
    expect(fake.running()).toBe(running - 1);
    await expect(client.managedClusters.get(rg, 'aks1')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    // Deleting what is gone is a 204, which the poller treats as done.
    await client.managedClusters.beginDeleteAndWait(rg, 'aks1', fastPolling);
  });

  it('hands out kubeconfigs that point at the cluster API server (local accounts)', async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait(rg, 'local', cluster({ dnsPrefix: 'local' }), fastPolling);
    const endpoint = emulators.arm.cluster(subscriptionId, rg, 'local')!.endpoint!;
    const admin = userOf((await client.managedClusters.listClusterAdminCredentials(rg, 'local')).kubeconfigs![0].value);
    expect(admin.config.users[0].name).toBe(`clusterAdmin_${rg}_local`);
    expect(admin.config.clusters[0].cluster.server).toBe(endpoint.server);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(admin.yaml);
    const version = await kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.34.2');

    const user = userOf((await client.managedClusters.listClusterUserCredentials(rg, 'local')).kubeconfigs![0].value);
    expect(user.config.users[0]).toMatchObject({ name: `clusterUser_${rg}_local`, user: { token: endpoint.adminToken } });
    await client.managedClusters.beginDeleteAndWait(rg, 'local', fastPolling);
  });

  it('makes Entra clusters trust Entra tokens for the AKS server app and refuses admin credentials without local accounts', async () => {
    const aad = cluster({ dnsPrefix: 'aad', aadProfile: { managed: true, enableAzureRbac: true, adminGroupObjectIDs: ['0c0c0c0c-0000-4000-8000-0000000000ad'] }, disableLocalAccounts: true });
    const created = await client.managedClusters.beginCreateOrUpdateAndWait(rg, 'aad', aad, fastPolling);
    expect(created.aadProfile).toMatchObject({ managed: true, tenantID: tenantId, adminGroupObjectIDs: ['0c0c0c0c-0000-4000-8000-0000000000ad'] });
    expect(fake.specs.at(-1)!.entraId).toMatchObject({
      tenantId, issuerUrl: emulators.entra.issuer(tenantId), audiences: [AKS_SERVER_APP_ID], usernameClaim: 'oid', adminGroupObjectIds: ['0c0c0c0c-0000-4000-8000-0000000000ad'],
    });

    await expect(client.managedClusters.listClusterAdminCredentials(rg, 'aad')).rejects.toMatchObject({
      statusCode: 400, code: 'BadRequest', message: 'Getting static credential is not allowed because this cluster is set to disable local accounts.',
    });

    const user = userOf((await client.managedClusters.listClusterUserCredentials(rg, 'aad', { format: 'exec' })).kubeconfigs![0].value);
    expect(user.config.users[0].user.exec).toMatchObject({ command: 'kubelogin', apiVersion: 'client.authentication.k8s.io/v1beta1' });
    expect(user.config.users[0].user.exec.args).toEqual(expect.arrayContaining(['--server-id', AKS_SERVER_APP_ID, '--tenant-id', tenantId]));

    // What shared/aks will do instead of kubelogin: a token for the AKS server app as bearer.
    const token = await credential.getToken(`${AKS_SERVER_APP_ID}/.default`);
    user.config.users[0].user = { token: token!.token };
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(JSON.stringify(user.config));
    const review = await kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    expect(review.status?.userInfo).toMatchObject({ username: objectId, groups: expect.arrayContaining(['0c0c0c0c-0000-4000-8000-0000000000ad']) });

    // An ARM token (wrong audience) is not accepted by the API server.
    const armToken = await credential.getToken('https://management.azure.com/.default');
    user.config.users[0].user = { token: armToken!.token };
    kubeConfig.loadFromString(JSON.stringify(user.config));
    await expect(kubeConfig.makeApiClient(VersionApi).getCode()).rejects.toMatchObject({ code: 401 });
    await client.managedClusters.beginDeleteAndWait(rg, 'aad', fastPolling);
  });

  it('lists the location Kubernetes versions (GA, default and preview) and honours configured ones', async () => {
    const versions = await client.managedClusters.listKubernetesVersions('westeurope');
    expect(versions.values?.map((version) => version.version)).toEqual(['1.33', '1.34', '1.35', '1.36']);
    expect(versions.values?.find((version) => version.isDefault)?.version).toBe('1.34');
    expect(versions.values?.find((version) => version.isPreview)?.version).toBe('1.36');
    expect(versions.values?.[0].patchVersions?.['1.33.4'].upgrades).toEqual(['1.33.6', '1.34.1', '1.34.2']);

    emulators.arm.setKubernetesVersions([{ version: '1.31', patches: ['1.31.9'], isDefault: true }], 'northeurope');
    const north = await client.managedClusters.listKubernetesVersions('northeurope');
    expect(north.values).toEqual([{ version: '1.31', isDefault: true, capabilities: { supportPlan: ['KubernetesOfficial'] }, patchVersions: { '1.31.9': { upgrades: [] } } }]);
  });

  it('answers 409 while an operation runs', async () => {
    emulators.arm.setOperationDelay(300);
    const poller = await client.managedClusters.beginCreateOrUpdate(rg, 'busy', cluster({ dnsPrefix: 'busy' }), fastPolling);
    await expect(client.managedClusters.beginCreateOrUpdate(rg, 'busy', cluster({ dnsPrefix: 'busy' }), fastPolling)).rejects.toMatchObject({
      statusCode: 409, code: 'OperationNotAllowed', message: expect.stringMatching(/in progress create managed cluster operation/),
    });
    await poller.pollUntilDone();
    emulators.arm.setOperationDelay(5);
    await client.managedClusters.beginDeleteAndWait(rg, 'busy', fastPolling);
  });

  it('is retried by the SDK on 429 with Retry-After, 503, 500 and connection resets, but not on a bare 429', async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait(rg, 'flaky', cluster({ dnsPrefix: 'flaky' }), fastPolling);
    const gets = () => emulators.arm.requests.filter((request) => request.method === 'GET' && request.path.endsWith('/flaky')).length;

    let before = gets();
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'SubscriptionRequestsThrottled', message: 'Number of requests exceeded the limit.' } } });
    const started = Date.now();
    await client.managedClusters.get(rg, 'flaky');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(gets() - before).toBe(2);

    before = gets();
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', status: 503, times: 2, body: { error: { code: 'ServiceUnavailable', message: 'Try again.' } } });
    await client.managedClusters.get(rg, 'flaky');
    expect(gets() - before).toBe(3);

    before = gets();
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', status: 500, body: { error: { code: 'InternalServerError', message: 'Oops.' } } });
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', reset: true });
    await client.managedClusters.get(rg, 'flaky');
    expect(gets() - before).toBe(3);

    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', status: 429, body: { error: { code: 'TooManyRequests', message: 'Slow down.' } } });
    await expect(client.managedClusters.get(rg, 'flaky')).rejects.toMatchObject({ statusCode: 429, code: 'TooManyRequests' });
    await client.managedClusters.beginDeleteAndWait(rg, 'flaky', fastPolling);
  });

  it('fails the LRO with the provisioning error code and message, and a later PUT provisions again', async () => {
    emulators.arm.failNextProvisioning({ code: 'QuotaExceeded', message: 'Provisioning of resource(s) for container service failed: quota exceeded for Standard_D2s_v5.', cluster: 'unlucky' });
    await expect(client.managedClusters.beginCreateOrUpdateAndWait(rg, 'unlucky', cluster({ dnsPrefix: 'unlucky' }), fastPolling))
      .rejects.toThrow('The long-running operation has failed. QuotaExceeded. Provisioning of resource(s) for container service failed: quota exceeded for Standard_D2s_v5.');
    expect((await client.managedClusters.get(rg, 'unlucky')).provisioningState).toBe('Failed');
    await expect(client.managedClusters.listClusterUserCredentials(rg, 'unlucky')).rejects.toMatchObject({ statusCode: 409 });
    const retried = await client.managedClusters.beginCreateOrUpdateAndWait(rg, 'unlucky', cluster({ dnsPrefix: 'unlucky' }), fastPolling);
    expect(retried.provisioningState).toBe('Succeeded');
    expect(emulators.arm.cluster(subscriptionId, rg, 'unlucky')!.endpoint).toBeDefined();
    await client.managedClusters.beginDeleteAndWait(rg, 'unlucky', fastPolling);
  });

  it('checks requests against the contract', async () => {
    const put = (name: string, body: ManagedCluster) => client.managedClusters.beginCreateOrUpdateAndWait(rg, name, body, fastPolling);
    await expect(put('bad1', cluster({ agentPoolProfiles: [{ name: 'user', mode: 'User', count: 1 }] }))).rejects.toMatchObject({ statusCode: 400, code: 'MustDefineAtLeastOneSystemPool', message: 'Must define at least one system pool.' });
    await expect(put('bad2', cluster({ dnsPrefix: undefined }))).rejects.toMatchObject({ statusCode: 400, code: 'InvalidParameter' });
    await expect(put('bad3', cluster({ kubernetesVersion: '1.20.1' }))).rejects.toMatchObject({ statusCode: 400, code: 'AgentPoolK8sVersionNotSupported', message: expect.stringMatching(/^Version 1.20.1 is not supported in this region/) });
    await expect(put('bad4', cluster({ location: '' }))).rejects.toMatchObject({ statusCode: 400, code: 'LocationRequired' });
    const subnetId = `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks`;
    const withSubnet = cluster({ dnsPrefix: 'net', agentPoolProfiles: [{ name: 'system', mode: 'System', count: 1, vnetSubnetID: subnetId }] });
    await expect(put('net', withSubnet)).rejects.toMatchObject({ statusCode: 400, code: 'SubnetNotFound' });
    await expect(client.managedClusters.beginCreateOrUpdateAndWait('rg-missing', 'x', cluster(), fastPolling)).rejects.toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound' });
    await expect(put('bad5', cluster({ disableLocalAccounts: true }))).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });

    emulators.arm.addSubnet({ subscriptionId, resourceGroup: rg, vnet: 'vnet', name: 'aks', addressPrefix: '10.10.0.0/22' });
    const created = await put('net', withSubnet);
    expect(created.agentPoolProfiles?.[0].vnetSubnetID).toBe(subnetId);
    await expect(put('net', { ...withSubnet, dnsPrefix: 'other' })).rejects.toMatchObject({ statusCode: 400, code: 'PropertyChangeNotAllowed' });
    await expect(put('net', { ...withSubnet, location: 'northeurope' })).rejects.toMatchObject({ statusCode: 400, code: 'InvalidResourceLocation' });
    await expect(put('net', { ...withSubnet, kubernetesVersion: '1.33.4' })).rejects.toMatchObject({ statusCode: 400, code: 'NotAllowedK8sVersionDowngrading' });
    await client.managedClusters.beginDeleteAndWait(rg, 'net', fastPolling);
  });

  it('rejects other api-versions and tokens for other audiences, tenants or past their expiry', async () => {
    const old = new ContainerServiceClient(credential, subscriptionId, { endpoint: emulators.arm.url, apiVersion: '2024-01-01', retryOptions: fastRetries });
    await expect(old.managedClusters.get(rg, 'x')).rejects.toMatchObject({ statusCode: 400, code: 'NoRegisteredProviderFound' });

    const wrongAudience = new ContainerServiceClient(credential, subscriptionId, { endpoint: emulators.arm.url, credentials: { scopes: [`${AKS_SERVER_APP_ID}/.default`] }, retryOptions: fastRetries });
    await expect(wrongAudience.managedClusters.get(rg, 'x')).rejects.toMatchObject({
      statusCode: 401, code: 'InvalidAuthenticationTokenAudience',
      message: `The access token has been obtained for wrong audience or resource '${AKS_SERVER_APP_ID}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.`,
    });

    const raw = async (token: string | undefined, path: string) => {
      const response = await fetch(`${emulators.arm.url}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      return { status: response.status, body: await response.json() as { error: { code: string; message: string } } };
    };
    const clusterPath = `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/x`;
    const valid = emulators.entra.issueToken({ tenantId, clientId, resource: 'https://management.azure.com' });
    expect(await raw(valid, clusterPath)).toMatchObject({ status: 400, body: { error: { code: 'MissingApiVersionParameter' } } });
    expect(await raw(undefined, `${clusterPath}?api-version=2026-04-01`)).toMatchObject({ status: 401, body: { error: { code: 'AuthenticationFailed' } } });
    const expired = emulators.entra.issueToken({ tenantId, clientId, resource: 'https://management.azure.com', lifetimeSeconds: -60 });
    expect(await raw(expired, `${clusterPath}?api-version=2026-04-01`)).toMatchObject({ status: 401, body: { error: { code: 'ExpiredAuthenticationToken' } } });
    emulators.entra.addApp({ tenantId: 'f0f0f0f0-0000-4000-8000-000000000000', clientId: 'stranger', secret: 's' });
    const otherTenant = emulators.entra.issueToken({ tenantId: 'f0f0f0f0-0000-4000-8000-000000000000', clientId: 'stranger', resource: 'https://management.azure.com' });
    expect(await raw(otherTenant, `${clusterPath}?api-version=2026-04-01`)).toMatchObject({ status: 401, body: { error: { code: 'InvalidAuthenticationTokenTenant' } } });
    expect(await raw(valid, `/subscriptions/00000000-dead-4000-8000-000000000000/resourceGroups/${rg}?api-version=2021-04-01`)).toMatchObject({ status: 404, body: { error: { code: 'SubscriptionNotFound' } } });
  });

  it('serves resource groups and subnets for the networking checks', async () => {
    const token = emulators.entra.issueToken({ tenantId, clientId, resource: 'https://management.azure.com' });
    const get = async (path: string) => {
      const response = await fetch(`${emulators.arm.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      return { status: response.status, body: await response.json() as Record<string, any> };
    };
    expect(await get(`/subscriptions/${subscriptionId}/resourceGroups/${rg}?api-version=2021-04-01`)).toMatchObject({
      status: 200, body: { name: rg, location: 'westeurope', type: 'Microsoft.Resources/resourceGroups', properties: { provisioningState: 'Succeeded' } },
    });
    expect(await get(`/subscriptions/${subscriptionId}/resourceGroups/nope?api-version=2021-04-01`)).toMatchObject({ status: 404, body: { error: { code: 'ResourceGroupNotFound' } } });
    const id = emulators.arm.addSubnet({ subscriptionId, resourceGroup: rg, vnet: 'hub', name: 'nodes', addressPrefix: '10.20.0.0/24' });
    expect(await get(`${id}?api-version=2024-05-01`)).toMatchObject({ status: 200, body: { id, name: 'nodes', properties: { addressPrefix: '10.20.0.0/24', provisioningState: 'Succeeded' } } });
    expect(await get(`${id}x?api-version=2024-05-01`)).toMatchObject({ status: 404, body: { error: { code: 'NotFound' } } });
  });

  it('enforces role assignments when asked to', async () => {
    const strict = await startArmEmulator({ entra: emulators.entra, clusterFactory: fake.factory, enforceRbac: true });
    try {
      strict.addSubscription({ subscriptionId, tenantId });
      strict.addResourceGroup({ subscriptionId, name: rg, location: 'westeurope' });
      const strictClient = new ContainerServiceClient(credential, subscriptionId, { endpoint: strict.url, retryOptions: fastRetries });
      await expect(strictClient.managedClusters.get(rg, 'x')).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      strict.addRoleAssignment({ principalId: objectId, role: 'Reader', scope: `/subscriptions/${subscriptionId}` });
      await expect(strictClient.managedClusters.get(rg, 'x')).rejects.toMatchObject({ statusCode: 404 });
      await expect(strictClient.managedClusters.beginCreateOrUpdateAndWait(rg, 'x', cluster(), fastPolling)).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    } finally {
      await strict.stop();
    }
  });
});
