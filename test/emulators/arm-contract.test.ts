// The ARM emulator's wire responses against the official examples of the AKS REST API
// (fixtures/aks, see fixtures/SOURCES.md): the example requests are sent as they are, and every
// field an example response shows must be present in ours with the same JSON type.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startAzureEmulators, type AzureEmulators } from './azure-emulators.js';
import { createFakeClusters } from './fake-cluster-factory.js';
import { trustEmulatorCa } from './trust-emulator-ca.js';

trustEmulatorCa();

type Example = { parameters: Record<string, any>; responses: Record<string, { body?: any; headers?: Record<string, string> }> };

function example(name: string): Example {
  return JSON.parse(readFileSync(new URL(`./fixtures/aks/${name}.json`, import.meta.url), 'utf8')) as Example;
}

/** Paths present in `expected` but missing (or of another JSON type) in `actual`. */
function shapeDifferences(expected: unknown, actual: unknown, options: { dictionaries?: string[]; ignore?: string[] } = {}, path = ''): string[] {
  if (options.ignore?.includes(path)) return [];
  if (expected === null) return [];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array`];
    if (expected.length === 0) return [];
    if (actual.length === 0) return [`${path}: expected items`];
    return shapeDifferences(expected[0], actual[0], options, `${path}[0]`);
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${path}: expected an object`];
    if (options.dictionaries?.includes(path)) {
      const [first] = Object.values(expected as object);
      return Object.values(actual as object).length === 0 ? [`${path}: expected entries`] : shapeDifferences(first, Object.values(actual as object)[0], options, `${path}{}`);
    }
    return Object.entries(expected as Record<string, unknown>).flatMap(([key, value]) =>
      key in (actual as object) || options.ignore?.includes(`${path}.${key}`) ? shapeDifferences(value, (actual as Record<string, unknown>)[key], options, `${path}.${key}`) : [`${path}.${key}: missing`]);
  }
  return typeof expected === typeof actual ? [] : [`${path}: expected ${typeof expected}, got ${typeof actual}`];
}

describe('ARM emulator responses match the official AKS examples', () => {
  let emulators: AzureEmulators;
  let token: string;
  const subscriptionId = '00000000-0000-0000-0000-000000000000';
  const clusters = () => `/subscriptions/${subscriptionId}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters`;

  async function call(method: string, path: string, body?: unknown) {
    const separator = path.includes('?') ? '&' : '?';
    const response = await fetch(`${emulators.arm.url}${path}${separator}api-version=2026-04-01`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    emulators = await startAzureEmulators({ clusterFactory: createFakeClusters().factory, subscriptionId });
    emulators.arm.addResourceGroup({ subscriptionId, name: 'rg1', location: 'location1' });
    emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: 'contract', secret: 's' });
    token = emulators.entra.issueToken({ tenantId: emulators.tenantId, clientId: 'contract', resource: 'https://management.azure.com' });
  });
  afterAll(async () => {
    await emulators?.stop();
  });

  it('ManagedClusters_CreateOrUpdate: 201 on create, 200 on update, GET after the LRO (ManagedClustersCreate_Update)', async () => {
    const { parameters, responses } = example('ManagedClustersCreate_Update');
    const created = await call('PUT', `${clusters()}/clustername1`, parameters.parameters);
    expect(created.status).toBe(201);
    expect(created.headers.get('azure-asyncoperation')).toMatch(/\/providers\/Microsoft\.ContainerService\/locations\/location1\/operations\/[0-9a-f-]+\?api-version=2026-04-01$/);
    expect(created.headers.get('retry-after')).toBeNull();
    expect(shapeDifferences(responses['201'].body, created.body)).toEqual([]);
    expect(created.body.properties.servicePrincipalProfile.secret).toBeUndefined();
    expect(created.body.properties.windowsProfile.adminPassword).toBeUndefined();

    await emulators.arm.idle();
    const got = await call('GET', `${clusters()}/clustername1`);
    expect(got.status).toBe(200);
    expect(shapeDifferences(responses['200'].body, got.body)).toEqual([]);
    expect(got.body.properties.provisioningState).toBe('Succeeded');

    const updated = await call('PUT', `${clusters()}/clustername1`, parameters.parameters);
    expect(updated.status).toBe(200);
    expect(shapeDifferences(responses['200'].body, updated.body)).toEqual([]);
    expect(updated.body.properties.provisioningState).toBe('Updating');
    await emulators.arm.idle();
  });

  it('ManagedClusters_CreateOrUpdate with AKS-managed Entra ID and Azure RBAC (ManagedClustersCreate_UpdateWithEnableAzureRBAC)', async () => {
    const { parameters, responses } = example('ManagedClustersCreate_UpdateWithEnableAzureRBAC');
    const created = await call('PUT', `${clusters()}/clustername2`, parameters.parameters);
    expect(created.status).toBe(201);
    expect(shapeDifferences(responses['201'].body, created.body)).toEqual([]);
    await emulators.arm.idle();
    const got = await call('GET', `${clusters()}/clustername2`);
    expect(shapeDifferences(responses['200'].body, got.body)).toEqual([]);
    expect(got.body.properties.aadProfile).toMatchObject({ managed: true, enableAzureRBAC: true, tenantID: emulators.tenantId, adminGroupObjectIDs: null });
  });

  it('ManagedClusters_Get (ManagedClustersGet)', async () => {
    const { responses } = example('ManagedClustersGet');
    const got = await call('GET', `${clusters()}/clustername1`);
    // The example cluster brought its own outbound IPs; the one created above uses managed ones.
    expect(shapeDifferences(responses['200'].body, got.body, { ignore: ['.properties.networkProfile.loadBalancerProfile.outboundIPs'] })).toEqual([]);
    const missing = await call('GET', `${clusters()}/nope`);
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'ResourceNotFound', message: "The Resource 'Microsoft.ContainerService/managedClusters/nope' under resource group 'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix" } } });
  });

  it('ManagedClusters_ListByResourceGroup (ManagedClustersListByResourceGroup)', async () => {
    const { responses } = example('ManagedClustersListByResourceGroup');
    const listed = await call('GET', clusters());
    expect(listed.status).toBe(200);
    expect(shapeDifferences(responses['200'].body, listed.body)).toEqual([]);
  });

  it('ManagedClusters_ListClusterUserCredentials and ListClusterAdminCredentials', async () => {
    for (const [name, action] of [['ManagedClustersListClusterUserCredentials', 'listClusterUserCredential'], ['ManagedClustersListClusterAdminCredentials', 'listClusterAdminCredential']]) {
      const { responses } = example(name);
      const result = await call('POST', `${clusters()}/clustername1/${action}`);
      expect(result.status).toBe(200);
      expect(shapeDifferences(responses['200'].body, result.body)).toEqual([]);
      const kubeconfig = parse(Buffer.from(result.body.kubeconfigs[0].value, 'base64').toString('utf8'));
      expect(kubeconfig).toMatchObject({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'clustername1' }] });
    }
  });

  it('ManagedClusters_ListKubernetesVersions (KubernetesVersions_List)', async () => {
    const { responses } = example('KubernetesVersions_List');
    const versions = await call('GET', `/subscriptions/${subscriptionId}/providers/Microsoft.ContainerService/locations/location1/kubernetesVersions`);
    expect(versions.status).toBe(200);
    expect(shapeDifferences(responses['200'].body, versions.body, { dictionaries: ['.values[0].patchVersions'] })).toEqual([]);
    expect(versions.body.values.some((version: { isPreview?: boolean }) => version.isPreview)).toBe(true);
    expect(versions.body.values.filter((version: { isDefault?: boolean }) => version.isDefault)).toHaveLength(1);
  });

  it('ManagedClusters_Delete: 202 with a location header, then 204 (ManagedClustersDelete)', async () => {
    const { responses } = example('ManagedClustersDelete');
    const exampleLocation = new URL(responses['202'].headers!.location);
    const deleted = await call('DELETE', `${clusters()}/clustername2`);
    expect(deleted.status).toBe(202);
    const location = new URL(deleted.headers.get('location')!);
    expect(location.pathname.replace(/[0-9a-f-]{36}$/, 'ID').replace(/location1/, 'eastus')).toBe(exampleLocation.pathname.replace(/[0-9a-f-]{36}$/, 'ID').replace(/0{8}-0{4}-0{4}-0{4}-0{12}/, subscriptionId));
    expect(location.searchParams.get('api-version')).toBe('2026-04-01');
    expect(deleted.headers.get('azure-asyncoperation')).toMatch(/\/operations\//);
    await emulators.arm.idle();
    expect((await call('DELETE', `${clusters()}/clustername2`)).status).toBe(204);
    expect((await call('GET', `${clusters()}/clustername2`)).status).toBe(404);
  });
});
