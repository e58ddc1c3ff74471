// The AKS emulator end to end with real control planes: creating a managed cluster starts a fresh
// etcd + kube-apiserver, its credentials reach that API server (admin token for local accounts,
// Entra tokens for the AKS server application on Entra-enabled clusters), deleting stops and
// wipes it, and recreating starts from nothing.
import { ContainerServiceClient, type ManagedCluster } from '@azure/arm-containerservice';
import { ClientSecretCredential } from '@azure/identity';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { AKS_SERVER_APP_ID, startAzureEmulators, type AzureEmulators } from '../emulators/azure-emulators.js';
import { controlPlaneClusterFactory } from '../emulators/control-plane-cluster-factory.js';
import { trustEmulatorCa } from '../emulators/trust-emulator-ca.js';

trustEmulatorCa();

const polling = { updateIntervalInMs: 100 };
const adminGroup = '6b0f3f5e-0000-4000-8000-00000000ad01';

function kubeConfigFrom(value: Uint8Array | undefined, token?: string): KubeConfig {
  const config = parse(Buffer.from(value!).toString('utf8'));
  if (token) config.users[0].user = { token };
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(stringify(config));
  return kubeConfig;
}

describe('AKS emulator with real control planes', () => {
  let emulators: AzureEmulators;
  let client: ContainerServiceClient;
  let credential: ClientSecretCredential;
  let objectId: string;

  beforeAll(async () => {
    emulators = await startAzureEmulators({ clusterFactory: controlPlaneClusterFactory() });
    emulators.arm.addResourceGroup({ subscriptionId: emulators.subscriptionId, name: 'rg', location: 'westeurope' });
    objectId = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: 'a3c1e0de-0000-4000-8000-0000000000e2', secret: 'e2e', groups: [adminGroup] }).objectId;
    credential = new ClientSecretCredential(emulators.tenantId, 'a3c1e0de-0000-4000-8000-0000000000e2', 'e2e', { authorityHost: emulators.entra.url, disableInstanceDiscovery: true });
    client = new ContainerServiceClient(credential, emulators.subscriptionId, { endpoint: emulators.arm.url });
  });
  afterAll(async () => {
    await emulators?.stop();
  });

  const cluster = (overrides: Partial<ManagedCluster>): ManagedCluster => ({
    location: 'westeurope', dnsPrefix: 'e2e', agentPoolProfiles: [{ name: 'system', mode: 'System', count: 1 }], identity: { type: 'SystemAssigned' }, ...overrides,
  });

  it('local accounts: admin and user credentials reach the new API server; delete stops it; recreate starts from nothing', async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait('rg', 'local', cluster({ dnsPrefix: 'local' }), polling);
    const admin = kubeConfigFrom((await client.managedClusters.listClusterAdminCredentials('rg', 'local')).kubeconfigs![0].value);
    expect((await admin.makeApiClient(VersionApi).getCode()).gitVersion).toMatch(/^v1\./);
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'left-behind' } } });
    const user = kubeConfigFrom((await client.managedClusters.listClusterUserCredentials('rg', 'local')).kubeconfigs![0].value);
    expect((await user.makeApiClient(CoreV1Api).readNamespace({ name: 'left-behind' })).metadata?.name).toBe('left-behind');

    const server = admin.getCurrentCluster()!.server;
    await client.managedClusters.beginDeleteAndWait('rg', 'local', polling);
    await expect(fetch(`${server}/readyz`)).rejects.toThrow();

    await client.managedClusters.beginCreateOrUpdateAndWait('rg', 'local', cluster({ dnsPrefix: 'local' }), polling);
    const fresh = kubeConfigFrom((await client.managedClusters.listClusterAdminCredentials('rg', 'local')).kubeconfigs![0].value);
    const namespaces = await fresh.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((namespace) => namespace.metadata?.name)).not.toContain('left-behind');
    await client.managedClusters.beginDeleteAndWait('rg', 'local', polling);
  });

  it('Entra ID: the API server accepts tokens for the AKS server app, maps oid and groups, and binds the admin group', async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait('rg', 'entra', cluster({
      dnsPrefix: 'entra', aadProfile: { managed: true, adminGroupObjectIDs: [adminGroup] }, disableLocalAccounts: true,
    }), polling);
    await expect(client.managedClusters.listClusterAdminCredentials('rg', 'entra')).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });

    const credentials = await client.managedClusters.listClusterUserCredentials('rg', 'entra');
    expect(parse(Buffer.from(credentials.kubeconfigs![0].value!).toString()).users[0].user.exec.command).toBe('kubelogin');
    const token = (await credential.getToken(`${AKS_SERVER_APP_ID}/.default`))!.token;
    const user = kubeConfigFrom(credentials.kubeconfigs![0].value, token);
    const namespaces = await user.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((namespace) => namespace.metadata?.name)).toContain('kube-system');

    const armToken = (await credential.getToken('https://management.azure.com/.default'))!.token;
    await expect(kubeConfigFrom(credentials.kubeconfigs![0].value, armToken).makeApiClient(CoreV1Api).listNamespace()).rejects.toMatchObject({ code: 401 });
    expect(objectId).toBeTruthy();
    await client.managedClusters.beginDeleteAndWait('rg', 'entra', polling);
  });
});
