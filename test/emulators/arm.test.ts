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
    const strict = await startArmEmulator({ entra: emulators.entra, clusterFactory: fake.factory, enforceRoleAssignments: true });
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

  describe('role assignments', () => {
    it('check a principal once it holds any: the permissions API, AuthorizationFailed on the write, LinkedAuthorizationFailed on the subnet', async () => {
      const app = emulators.entra.addApp({ tenantId, clientId: 'a1b2c3d4-0000-4000-8000-0000000000d1', secret: 'deployer-secret' });
      const deployer = new ContainerServiceClient(new ClientSecretCredential(tenantId, app.clientId, 'deployer-secret', { authorityHost: emulators.entra.url, disableInstanceDiscovery: true }), subscriptionId, { endpoint: emulators.arm.url, retryOptions: fastRetries });
      const token = emulators.entra.issueToken({ tenantId, clientId: app.clientId, resource: 'https://management.azure.com' });
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${emulators.arm.url}${path}${path.includes('?') ? '&' : '?'}api-version=2022-04-01`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: response.status, body: await response.json() as Record<string, any> };
      };
      const rgScope = `/subscriptions/${subscriptionId}/resourceGroups/${rg}`;
      const subnetId = emulators.arm.addSubnet({ subscriptionId, resourceGroup: rg, vnet: 'vnet-rbac', name: 'nodes', addressPrefix: '10.30.0.0/24' });
      const body = cluster({ dnsPrefix: 'rbac', agentPoolProfiles: [{ name: 'system', mode: 'System', count: 1, vnetSubnetID: subnetId }] });

      // No role assignment yet: the principal is not checked (the emulator's default), and the permissions API says so.
      expect(await call('GET', `${rgScope}/providers/Microsoft.Authorization/permissions`)).toMatchObject({ status: 200, body: { value: [{ actions: ['*'], notActions: [] }] } });

      emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Network Contributor', scope: subnetId });
      expect((await call('GET', `${rgScope}/providers/Microsoft.Authorization/permissions`)).body.value).toEqual([]);
      expect((await call('GET', `${subnetId}/providers/Microsoft.Authorization/permissions`)).body.value).toEqual([expect.objectContaining({ actions: expect.arrayContaining(['Microsoft.Network/*']) })]);
      await expect(deployer.managedClusters.beginCreateOrUpdateAndWait(rg, 'rbac', body, fastPolling)).rejects.toMatchObject({
        statusCode: 403, code: 'AuthorizationFailed',
        message: `The client '${app.clientId}' with object id '${app.objectId}' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/write' over scope '${rgScope}/providers/Microsoft.ContainerService/managedClusters/rbac' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      });

      // Write on the group, but the subnet's join action only through a role on another subnet.
      emulators.arm.clearRoleAssignments(app.objectId);
      const other = emulators.arm.addSubnet({ subscriptionId, resourceGroup: rg, vnet: 'vnet-rbac', name: 'other', addressPrefix: '10.30.1.0/24' });
      emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Network Contributor', scope: other });
      emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Azure Kubernetes Service Contributor Role', scope: rgScope });
      expect((await call('GET', `${rgScope}/providers/Microsoft.Authorization/permissions`)).body.value).toEqual([{
        actions: ['Microsoft.ContainerService/managedClusters/read', 'Microsoft.ContainerService/managedClusters/write', 'Microsoft.Resources/deployments/*'], notActions: [], dataActions: [], notDataActions: [],
      }]);
      await expect(deployer.managedClusters.beginCreateOrUpdateAndWait(rg, 'rbac', body, fastPolling)).rejects.toMatchObject({
        statusCode: 403, code: 'LinkedAuthorizationFailed',
        message: `The client '${app.clientId}' with object id '${app.objectId}' has permission to perform action 'Microsoft.ContainerService/managedClusters/write' on scope '${rgScope}/providers/Microsoft.ContainerService/managedClusters/rbac'; however, it does not have permission to perform action 'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) '${subnetId}' or the linked scope(s) are invalid.`,
      });
      expect(emulators.arm.cluster(subscriptionId, rg, 'rbac')).toBeUndefined();

      // Network Contributor on the subnet: the create goes through; delete is not in the AKS Contributor Role.
      emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Network Contributor', scope: subnetId });
      const created = await deployer.managedClusters.beginCreateOrUpdateAndWait(rg, 'rbac', body, fastPolling);
      expect(created.provisioningState).toBe('Succeeded');
      await expect(deployer.managedClusters.beginDeleteAndWait(rg, 'rbac', fastPolling)).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });

      // Role assignments through the API: Network Contributor cannot assign roles, an RBAC administrator can.
      const networkContributor = `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7`;
      const assignment = { properties: { roleDefinitionId: networkContributor, principalId: created.identity!.principalId, principalType: 'ServicePrincipal' } };
      const path = `${subnetId}/providers/Microsoft.Authorization/roleAssignments/0f0f0f0f-0000-4000-8000-000000000001`;
      expect(await call('PUT', path, assignment)).toMatchObject({ status: 403, body: { error: { code: 'AuthorizationFailed' } } });
      emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Role Based Access Control Administrator', scope: subnetId });
      expect(await call('PUT', path, assignment)).toMatchObject({ status: 201, body: { name: '0f0f0f0f-0000-4000-8000-000000000001', properties: { principalId: created.identity!.principalId, scope: subnetId } } });
      expect(await call('PUT', path, assignment)).toMatchObject({ status: 200 });
      expect(await call('GET', path)).toMatchObject({ status: 200, body: { properties: { roleDefinitionId: networkContributor } } });
      expect(await call('PUT', path.replace(/1$/, '2'), assignment)).toMatchObject({ status: 409, body: { error: { code: 'RoleAssignmentExists', message: 'The role assignment already exists.' } } });
      expect(await call('PUT', path.replace(/1$/, '3'), { properties: { ...assignment.properties, roleDefinitionId: networkContributor.replace('4d97', '0000') } })).toMatchObject({ status: 400, body: { error: { code: 'RoleDefinitionDoesNotExist' } } });
      expect(await call('GET', path.replace(/1$/, '4'))).toMatchObject({ status: 404, body: { error: { code: 'RoleAssignmentNotFound' } } });
      emulators.arm.clearRoleAssignments(app.objectId);
      await client.managedClusters.beginDeleteAndWait(rg, 'rbac', fastPolling);
    });
  });

  describe("AKS's rules", () => {
    const put = (name: string, body: ManagedCluster, options: { ifMatch?: string; ifNoneMatch?: string } = {}) =>
      client.managedClusters.beginCreateOrUpdateAndWait(rg, name, body, { ...fastPolling, ...options });
    /** The error body of a PUT as ARM sends it (the SDK keeps only code and message of a long-running operation's first answer). */
    const errorOf = async (name: string, body: ManagedCluster) => {
      const token = emulators.entra.issueToken({ tenantId, clientId, resource: 'https://management.azure.com' });
      const { agentPoolProfiles, location, identity, tags, sku, ...properties } = body;
      const response = await fetch(`${emulators.arm.url}/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${name}?api-version=2026-04-01`, {
        method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ location, identity, tags, sku, properties: { ...properties, agentPoolProfiles } }),
      });
      return { statusCode: response.status, ...((await response.json()) as { error: Record<string, string> }).error };
    };
    let subnetId: string;
    const onSubnet = (dnsPrefix: string, networkProfile: ManagedCluster['networkProfile'], over: Partial<ManagedCluster> = {}) =>
      cluster({ dnsPrefix, networkProfile, agentPoolProfiles: [{ name: 'system', mode: 'System', count: 1, vnetSubnetID: subnetId }], ...over });
    beforeAll(() => {
      subnetId = emulators.arm.addSubnet({ subscriptionId, resourceGroup: rg, vnet: 'vnet-rules', name: 'nodes', addressPrefix: '10.240.0.0/22' });
    });

    it('eTags: If-None-Match: * creates once, If-Match must match the stored eTag (412 PreconditionFailed)', async () => {
      const created = await put('etag', cluster({ dnsPrefix: 'etag' }), { ifNoneMatch: '*' });
      expect(created.eTag).toMatch(/\w+/);
      await expect(put('etag', cluster({ dnsPrefix: 'etag' }), { ifNoneMatch: '*' })).rejects.toMatchObject({ statusCode: 412, code: 'PreconditionFailed' });
      await expect(put('etag', cluster({ dnsPrefix: 'etag', tags: { a: '1' } }), { ifMatch: 'stale' })).rejects.toMatchObject({ statusCode: 412, code: 'PreconditionFailed' });
      const updated = await put('etag', cluster({ dnsPrefix: 'etag', tags: { a: '1' } }), { ifMatch: created.eTag });
      expect(updated.eTag).not.toBe(created.eTag);
      await expect(put('etag', cluster({ dnsPrefix: 'etag' }), { ifMatch: created.eTag })).rejects.toMatchObject({ statusCode: 412 });
      await expect(put('etag-missing', cluster({ dnsPrefix: 'x' }), { ifMatch: 'abc' })).rejects.toMatchObject({
        statusCode: 412, code: 'PreconditionFailed', message: 'Resource not found but ETag header is provided. If this is a request to create, please do not provide ETag.',
      });
      await expect(put('etag', cluster({ dnsPrefix: 'etag' }), { ifNoneMatch: 'abc' })).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });
      await expect(put('etag', cluster({ dnsPrefix: 'etag' }), { ifNoneMatch: '*', ifMatch: updated.eTag })).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });
      await client.managedClusters.beginDeleteAndWait(rg, 'etag', fastPolling);
    });

    it('two creators at once: the first creates, the second gets 412', async () => {
      emulators.arm.barrier({ method: 'PUT', path: `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/race`, parties: 2 });
      const results = await Promise.allSettled([put('race', cluster({ dnsPrefix: 'race' }), { ifNoneMatch: '*' }), put('race', cluster({ dnsPrefix: 'race' }), { ifNoneMatch: '*' })]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { statusCode: 412, code: 'PreconditionFailed' } });
      await client.managedClusters.beginDeleteAndWait(rg, 'race', fastPolling);
    });

    it('cross-field rules of the network profile, with the codes AKS answers', async () => {
      expect(await errorOf('nat', onSubnet('nat', { outboundType: 'managedNATGateway' }))).toEqual({
        statusCode: 400, code: 'InvalidParameter', message: "Outbound type is managedNATGateway but agent pool 'system' is using custom VNet, which is not allowed.",
        target: 'properties.vnetSubnetID', subcode: 'ManagedNATGatewayWithCustomVNetNotAllowed',
      });
      await expect(put('cil1', onSubnet('cil1', { networkPlugin: 'kubenet', networkDataplane: 'cilium', networkPolicy: 'cilium' }))).rejects.toMatchObject({ statusCode: 400, code: 'InvalidParameter' });
      expect(await errorOf('cil2', onSubnet('cil2', { networkPlugin: 'azure', networkPluginMode: 'overlay', networkDataplane: 'cilium', networkPolicy: 'azure' }))).toMatchObject({
        statusCode: 400, code: 'BadRequest', message: 'Cilium dataplane requires network policy cilium.', subcode: 'CiliumDataplaneRequiresNetworkPolicyCilium',
      });
      await expect(put('npm', onSubnet('npm', { networkPlugin: 'kubenet', networkPolicy: 'azure' }))).rejects.toMatchObject({ statusCode: 400, code: 'NetworkPolicyAzureNotSupportedForKubenet' });
      await expect(put('dns1', onSubnet('dns1', { serviceCidr: '10.0.0.0/16', dnsServiceIP: '10.1.0.10' }))).rejects.toMatchObject({
        statusCode: 400, code: 'DnsServiceIpOutOfServiceCidr', message: 'The DNS service IP 10.1.0.10 is out of the range defined by service CIDR 10.0.0.0/16.',
      });
      expect(await errorOf('dns2', onSubnet('dns2', { serviceCidr: '10.0.0.0/16', dnsServiceIP: '10.0.0.1' }))).toMatchObject({ statusCode: 400, code: 'InvalidParameter', target: 'networkProfile.dnsServiceIP' });
      await expect(put('svc', onSubnet('svc', { serviceCidr: '10.240.0.0/16', dnsServiceIP: '10.240.0.10' }))).rejects.toMatchObject({
        statusCode: 400, code: 'ServiceCidrOverlapExistingSubnetsCidr', message: 'The specified service CIDR 10.240.0.0/16 is conflicted with an existing subnet CIDR 10.240.0.0/22',
      });
      // AKS keeps no pod CIDR for Azure CNI without overlay.
      const azure = await put('podcidr', onSubnet('podcidr', { networkPlugin: 'azure', podCidr: '10.244.0.0/16' }));
      expect(azure.networkProfile?.podCidr).toBeUndefined();
      await client.managedClusters.beginDeleteAndWait(rg, 'podcidr', fastPolling);
    });

    it('autoscale bounds, one user-assigned identity, node pools not ahead of the control plane', async () => {
      const pool = { name: 'system', mode: 'System' as const, enableAutoScaling: true, minCount: 2, maxCount: 3 };
      await expect(put('as1', cluster({ dnsPrefix: 'as1', agentPoolProfiles: [{ ...pool, count: 5 }] }))).rejects.toMatchObject({
        statusCode: 400, code: 'InvalidParameter', message: expect.stringMatching(/^agentPoolProfile\.count was 5\. It must be greater or equal to minCount:2 and less than or equal to maxCount:3\./),
      });
      await expect(put('as2', cluster({ dnsPrefix: 'as2', agentPoolProfiles: [{ ...pool, count: 0, minCount: 0 }] }))).rejects.toMatchObject({ statusCode: 400, code: 'InvalidParameter' });
      await expect(put('as3', cluster({ dnsPrefix: 'as3', agentPoolProfiles: [{ ...pool, count: 3, minCount: 4 }] }))).rejects.toMatchObject({ statusCode: 400, code: 'InvalidParameter' });
      const a = emulators.arm.addUserAssignedIdentity({ subscriptionId, resourceGroup: rg, name: 'id-a' });
      const b = emulators.arm.addUserAssignedIdentity({ subscriptionId, resourceGroup: rg, name: 'id-b' });
      await expect(put('two', cluster({ dnsPrefix: 'two', identity: { type: 'UserAssigned', userAssignedIdentities: { [a.id]: {}, [b.id]: {} } } }))).rejects.toMatchObject({
        statusCode: 400, code: 'BadRequest', message: 'The count of user assigned identity specified in identity.userAssignedIdentities is 2, while expected value is 1.',
      });
      const one = await put('one', cluster({ dnsPrefix: 'one', identity: { type: 'UserAssigned', userAssignedIdentities: { [a.id]: {} } } }));
      expect(one.identity?.userAssignedIdentities?.[a.id]).toMatchObject({ principalId: a.principalId, clientId: a.clientId });
      await client.managedClusters.beginDeleteAndWait(rg, 'one', fastPolling);
      await expect(put('ahead', cluster({ dnsPrefix: 'ahead', kubernetesVersion: '1.34.2', agentPoolProfiles: [{ name: 'system', mode: 'System', count: 1, orchestratorVersion: '1.35.0' }] }))).rejects.toMatchObject({
        statusCode: 400, code: 'NodePoolMcVersionIncompatible', message: expect.stringMatching(/^Node pool version 1\.35\.0 and control plane version 1\.34\.2 are incompatible\./),
      });
    });

    it('long-term support: an LTS-only version needs the Premium tier and the AKSLongTermSupport plan', async () => {
      emulators.arm.setKubernetesVersions([{ version: '1.30', patches: ['1.30.14'], supportPlans: ['AKSLongTermSupport'] }, { version: '1.34', patches: ['1.34.2'], isDefault: true, supportPlans: ['KubernetesOfficial', 'AKSLongTermSupport'] }], 'northeurope');
      const lts = (over: Partial<ManagedCluster>) => cluster({ location: 'northeurope', dnsPrefix: 'lts', kubernetesVersion: '1.30.14', ...over });
      await expect(put('lts', lts({ sku: { name: 'Base', tier: 'Standard' } }))).rejects.toMatchObject({
        statusCode: 400, code: 'K8sVersionNotSupported', message: expect.stringMatching(/^Managed cluster lts is on version 1\.30\.14, which is only available for Long-Term Support \(LTS\)\./),
      });
      await expect(put('lts', lts({ sku: { name: 'Base', tier: 'Standard' }, supportPlan: 'AKSLongTermSupport' }))).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });
      const ok = await put('lts', lts({ sku: { name: 'Base', tier: 'Premium' }, supportPlan: 'AKSLongTermSupport' }));
      expect(ok).toMatchObject({ currentKubernetesVersion: '1.30.14', supportPlan: 'AKSLongTermSupport' });
      const versions = await client.managedClusters.listKubernetesVersions('northeurope');
      expect(versions.values?.[0].capabilities?.supportPlan).toEqual(['AKSLongTermSupport']);
      await client.managedClusters.beginDeleteAndWait(rg, 'lts', fastPolling);
    });

    it('network changes in place: exactly the documented transitions (bring-your-own VNet)', async () => {
      const base = { networkPlugin: 'kubenet', outboundType: 'loadBalancer' } as const;
      await put('mig', onSubnet('mig', base));
      // outboundType on a BYO VNet: loadBalancer → userDefinedRouting → userAssignedNATGateway → loadBalancer; never managedNATGateway.
      await put('mig', onSubnet('mig', { ...base, outboundType: 'userDefinedRouting' }));
      await expect(put('mig', onSubnet('mig', { ...base, outboundType: 'managedNATGateway' }))).rejects.toMatchObject({ statusCode: 400 });
      await put('mig', onSubnet('mig', { ...base, outboundType: 'userAssignedNATGateway' }));
      await put('mig', onSubnet('mig', base));
      // Plugin: kubenet → Azure CNI Overlay, not back; Overlay → Cilium dataplane, not back.
      await expect(put('mig', onSubnet('mig', { ...base, networkPlugin: 'azure' }))).rejects.toMatchObject({ statusCode: 400, code: 'PropertyChangeNotAllowed' });
      const overlay = { ...base, networkPlugin: 'azure', networkPluginMode: 'overlay' } as const;
      await put('mig', onSubnet('mig', overlay));
      expect(await errorOf('mig', onSubnet('mig', base))).toMatchObject({ statusCode: 400, code: 'PropertyChangeNotAllowed', target: 'networkProfile.networkPlugin' });
      // Policy: none → calico, calico → azure refused (uninstall first), calico → none.
      await put('mig', onSubnet('mig', { ...overlay, networkPolicy: 'calico' }));
      expect(await errorOf('mig', onSubnet('mig', { ...overlay, networkPolicy: 'azure' }))).toMatchObject({ statusCode: 400, code: 'PropertyChangeNotAllowed', target: 'networkProfile.networkPolicy' });
      await put('mig', onSubnet('mig', { ...overlay, networkPolicy: 'cilium', networkDataplane: 'cilium' }));
      expect(await errorOf('mig', onSubnet('mig', { ...overlay, networkPolicy: 'none' }))).toMatchObject({ statusCode: 400, code: 'PropertyChangeNotAllowed', target: 'networkProfile.networkDataplane' });
      // A stopped cluster takes start and delete only.
      emulators.arm.setPowerState(subscriptionId, rg, 'mig', 'Stopped');
      await expect(put('mig', onSubnet('mig', { ...overlay, networkPolicy: 'cilium', networkDataplane: 'cilium' }))).rejects.toMatchObject({ statusCode: 409, code: 'OperationNotAllowed', message: expect.stringContaining('Power State(Stopped)') });
      await client.managedClusters.beginDeleteAndWait(rg, 'mig', fastPolling);
    });
  });
});
