// shared/aks's operations in-process against the ARM emulator (API servers faked): the user's
// timeout, the pipeline's cancel, progress, a run that finds an operation still going; what the
// service connection may do, checked before the first write; the subnet role of the cluster
// identity; concurrent writers (eTags, 412); upgrades of every node pool; identity and network
// changes; stopped clusters; answers cut off half-way and 429s without Retry-After.
import { randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { armClient } from '../../shared/azure/arm-client';
import { getCluster } from '../../shared/aks/read-cluster';
import { createOrUpdateCluster, deleteCluster, recreateCluster, type WriteOptions } from '../../shared/aks/cluster-operations';
import { ResourceManager } from '../../shared/azure/resource-manager';
import type { Client } from '../../shared/aks/read-cluster';
import { Deadline, type OperationContext } from '../../shared/aks/long-operation';
import type { ClusterSpec } from '../../shared/aks/spec';
import { InputError, TaskError } from '../../shared/pipeline/errors';
import { startAzureEmulators, type AzureEmulators } from '../emulators/azure-emulators';
import { createFakeClusters } from '../emulators/fake-cluster-factory';
import { trustEmulatorCa } from '../emulators/trust-emulator-ca';
import { collectGarbage } from '../gc';

trustEmulatorCa();

let emulators: AzureEmulators;
let client: ReturnType<typeof armClient>;
let subnetId: string;
let credential: ClientSecretCredential;
let w: WriteOptions;
const newApp = (secret: string) => {
  const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), secret });
  const credential = new ClientSecretCredential(emulators.tenantId, app.clientId, secret, { authorityHost: emulators.entra.url, disableInstanceDiscovery: true });
  const c = armClient({ credential, subscriptionId: emulators.subscriptionId, resourceManagerUrl: emulators.arm.url, armScope: 'https://management.azure.com/.default' }, { retryOptions: { maxRetries: 2, retryDelayInMs: 5 } });
  return { app, client: c, w: { access: { arm: new ResourceManager(c.pipeline, emulators.arm.url), subscriptionId: emulators.subscriptionId, clientId: app.clientId } } };
};

beforeAll(async () => {
  emulators = await startAzureEmulators({ clusterFactory: createFakeClusters().factory });
  const { arm, entra, tenantId, subscriptionId } = emulators;
  arm.addResourceGroup({ subscriptionId, name: 'rg', location: 'westeurope' });
  subnetId = arm.addSubnet({ subscriptionId, resourceGroup: 'rg', vnet: 'vnet', name: 'aks' });
  const app = entra.addApp({ tenantId, clientId: randomUUID(), secret: 's3cret-value' });
  credential = new ClientSecretCredential(tenantId, app.clientId, 's3cret-value', { authorityHost: entra.url, disableInstanceDiscovery: true });
  client = armClient({ credential, subscriptionId, resourceManagerUrl: arm.url, armScope: 'https://management.azure.com/.default' }, { retryOptions: { maxRetries: 2, retryDelayInMs: 5 } });
  w = { access: { arm: new ResourceManager(client.pipeline, arm.url), subscriptionId, clientId: app.clientId } };
});
afterAll(async () => {
  await emulators?.stop();
});

const spec: ClusterSpec = {
  location: 'westeurope', kubernetesVersion: 'latest', allowPreviewVersions: false, tier: 'Free', supportPlan: 'KubernetesOfficial', grantSubnetAccess: false, networkPlugin: 'azureOverlay', networkPolicy: 'none',
  get subnetId() { return subnetId; }, outboundType: 'loadBalancer', privateCluster: false, authorizedIpRanges: [], identityType: 'SystemAssigned',
  entraId: false, adminGroupObjectIds: [], azureRbac: false, disableLocalAccounts: false, oidcIssuer: true, workloadIdentity: true,
  systemPool: { name: 'system', vmSize: 'Standard_D2s_v5', autoscale: false, count: 1, zones: [] }, tags: {},
};

function context(timeoutMs: number, signal = new AbortController().signal) {
  const lines: string[] = [];
  const progress: [number, string][] = [];
  const o: OperationContext = {
    log: (l) => lines.push(l), warn: (l) => lines.push(`WARN ${l}`), progress: (p, t) => progress.push([p, t]),
    signal, deadline: new Deadline(timeoutMs), pollIntervalMs: 50,
  };
  return { o, lines, progress };
}

describe('long AKS operations', () => {
  it("end at the user's timeout with a message that the operation goes on; the next run waits for it and writes nothing", async () => {
    emulators.arm.setOperationDelay(1500);
    try {
      const first = context(600);
      // The timeout must outlive a garbage collection while the operation runs.
      setTimeout(collectGarbage, 200);
      const error = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'slow' }, spec, first.o).catch((e) => e);
      expect(error).toBeInstanceOf(TaskError);
      expect(error.message).toBe("Creating cluster slow did not finish within the timeout of 1 second (input 'timeoutMinutes'); the operation goes on in Azure.");
      expect(first.progress[0]).toEqual([0, 'Creating cluster slow: started']);

      const puts = () => emulators.arm.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/slow')).length;
      const second = context(30_000);
      const result = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'slow' }, spec, second.o);
      expect(result.action).toBe('unchanged');
      expect(second.lines[0]).toBe('Cluster slow is Creating: an earlier operation is still running; waiting for it to end first.');
      expect(second.progress[0]).toEqual([0, 'Waiting for the running operation on cluster slow: started']);
      expect(puts()).toBe(1);
    } finally {
      emulators.arm.setOperationDelay(5);
    }
  });

  it('stop at once when the pipeline cancels, as a cancellation (not a failure)', async () => {
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'doomed' }, spec, context(30_000).o);
    emulators.arm.setOperationDelay(3000);
    try {
      const cancel = new AbortController();
      const { o, progress } = context(60_000, cancel.signal);
      setTimeout(() => cancel.abort(Object.assign(new Error('The pipeline cancelled the step.'), { name: 'AbortError' })), 300);
      const started = Date.now();
      const error = await deleteCluster(client, { resourceGroup: 'rg', name: 'doomed' }, false, o).catch((e) => e);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(error).not.toBeInstanceOf(TaskError);
      expect(error.name).toBe('AbortError');
      expect(progress.map(([, t]) => t)).toEqual(['Deleting cluster doomed: started']);
    } finally {
      emulators.arm.setOperationDelay(5);
    }
  });
});

const writesTo = (name: string, since: number) => emulators.arm.requests.slice(since).filter((r) => ['PUT', 'PATCH', 'DELETE'].includes(r.method) && r.path.endsWith(`/managedClusters/${name}`));
const clusterOf = (name: string) => emulators.arm.cluster(emulators.subscriptionId, 'rg', name)!.resource as { eTag: string; tags?: Record<string, string>; identity: any; properties: Record<string, any> };

describe('what the service connection may do, asked before the first write', () => {
  it("refuses naming the roles to grant and writes nothing; once granted, creates; a delete needs more than the AKS Contributor Role", async () => {
    const { app, client: deployer, w: access } = newApp('deployer-secret-1');
    const rg = `/subscriptions/${emulators.subscriptionId}/resourceGroups/rg`;
    // Any role assignment puts the principal under the emulator's checks.
    emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Reader', scope: rg });
    const mark = emulators.arm.requests.length;
    const { o } = context(30_000);
    const error = await createOrUpdateCluster(deployer, { resourceGroup: 'rg', name: 'perm' }, spec, o, access).catch((e) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect(error.message).toBe(`The service connection (input 'azureSubscription') may not create cluster perm, so nothing was written: it lacks Microsoft.ContainerService/managedClusters/write on resource group rg (input 'resourceGroup'); it lacks Microsoft.Network/virtualNetworks/subnets/join/action on subnet ${subnetId} (input 'subnetId').`);
    expect(error.hint).toContain("'Contributor' or 'Azure Kubernetes Service Contributor Role' on the resource group, and 'Network Contributor' on the subnet (or its virtual network)");
    expect(error.hint).toContain(`az role assignment create --assignee ${app.clientId} --role 'Network Contributor' --scope ${subnetId}`);
    expect(writesTo('perm', mark)).toEqual([]);

    emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Azure Kubernetes Service Contributor Role', scope: rg });
    emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Network Contributor', scope: subnetId });
    expect((await createOrUpdateCluster(deployer, { resourceGroup: 'rg', name: 'perm' }, spec, o, access)).action).toBe('created');
    const refused = await deleteCluster(deployer, { resourceGroup: 'rg', name: 'perm' }, false, o, access).catch((e) => e);
    expect(refused.message).toMatch(/^The service connection \(input 'azureSubscription'\) may not delete cluster perm, so nothing was written: it lacks Microsoft.ContainerService\/managedClusters\/delete on cluster perm/);
    expect(refused.hint).toContain("'Contributor' on the resource group (the 'Azure Kubernetes Service Contributor Role' cannot delete)");
    emulators.arm.clearRoleAssignments(app.objectId);
    await deleteCluster(client, { resourceGroup: 'rg', name: 'perm' }, false, o, w);
  });

  it('without the check (no permissions API answer), AKS itself refuses with LinkedAuthorizationFailed, named by input', async () => {
    const { app, client: deployer } = newApp('deployer-secret-2');
    emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Azure Kubernetes Service Contributor Role', scope: `/subscriptions/${emulators.subscriptionId}/resourceGroups/rg` });
    const error = await createOrUpdateCluster(deployer, { resourceGroup: 'rg', name: 'linked' }, spec, context(30_000).o).catch((e) => e);
    expect(error.message).toMatch(/^Creating cluster linked failed \(input 'subnetId'\): LinkedAuthorizationFailed: The client '.*' has permission to perform action 'Microsoft.ContainerService\/managedClusters\/write'/);
    expect(error.hint).toContain("'Network Contributor' role on the subnet");
    emulators.arm.clearRoleAssignments(app.objectId);
  });
});

describe('grantSubnetAccess: Network Contributor on the subnet for the cluster identity, as az aks create grants it', () => {
  it('a system-assigned identity right after the create (its principalId), once; a user-assigned one before the create', async () => {
    const mark = emulators.arm.requests.length;
    const { o, lines } = context(30_000);
    const created = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'grant-sa' }, { ...spec, grantSubnetAccess: true }, o, w);
    const principal = created.cluster.identity!.principalId!;
    expect(emulators.arm.roleAssignments().filter((a) => a.principalId === principal)).toEqual([expect.objectContaining({ role: 'Network Contributor', scope: subnetId, principalType: 'ServicePrincipal' })]);
    const order = emulators.arm.requests.slice(mark).filter((r) => r.method === 'PUT').map((r) => (r.path.includes('roleAssignments') ? 'role' : 'cluster'));
    expect(order).toEqual(['cluster', 'role']);
    expect(lines).toContain(`Granted the cluster identity (system-assigned) 'Network Contributor' on subnet ${subnetId}.`);
    const again = context(30_000);
    const before = emulators.arm.requests.length;
    expect((await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'grant-sa' }, { ...spec, grantSubnetAccess: true }, again.o, w)).action).toBe('unchanged');
    expect(emulators.arm.requests.slice(before).filter((r) => r.method === 'PUT')).toEqual([]);
    expect(again.lines).toContain("The cluster identity (system-assigned) holds 'Network Contributor' on the subnet already.");

    const uami = emulators.arm.addUserAssignedIdentity({ subscriptionId: emulators.subscriptionId, resourceGroup: 'rg', name: 'aks-control-plane' });
    const mark2 = emulators.arm.requests.length;
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'grant-ua' }, { ...spec, identityType: 'UserAssigned', userAssignedIdentityId: uami.id, grantSubnetAccess: true }, context(30_000).o, w);
    expect(emulators.arm.requests.slice(mark2).filter((r) => r.method === 'PUT').map((r) => (r.path.includes('roleAssignments') ? 'role' : 'cluster'))).toEqual(['role', 'cluster']);
    expect(emulators.arm.roleAssignments().filter((a) => a.principalId === uami.principalId)).toEqual([expect.objectContaining({ role: 'Network Contributor', scope: subnetId })]);
    for (const name of ['grant-sa', 'grant-ua']) await deleteCluster(client, { resourceGroup: 'rg', name }, false, context(30_000).o, w);
  });

  it('the service connection must be able to assign roles on the subnet, checked before anything is written', async () => {
    const { app, client: deployer, w: access } = newApp('deployer-secret-3');
    emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Contributor', scope: `/subscriptions/${emulators.subscriptionId}/resourceGroups/rg` });
    emulators.arm.addRoleAssignment({ principalId: app.objectId, role: 'Network Contributor', scope: subnetId });
    const mark = emulators.arm.requests.length;
    const error = await createOrUpdateCluster(deployer, { resourceGroup: 'rg', name: 'grant-no' }, { ...spec, grantSubnetAccess: true }, context(30_000).o, access).catch((e) => e);
    expect(error.message).toContain(`it lacks Microsoft.Authorization/roleAssignments/write on subnet ${subnetId} (input 'grantSubnetAccess')`);
    expect(error.hint).toContain("'Role Based Access Control Administrator', 'User Access Administrator' or 'Owner' on the subnet");
    expect(emulators.arm.requests.slice(mark).filter((r) => r.method === 'PUT')).toEqual([]);
    emulators.arm.clearRoleAssignments(app.objectId);
  });
});

describe('concurrent writers', () => {
  /** A client whose first `times` reads are followed by another writer's change (so what it read is stale). */
  function racedClient(times: number, change: (n: number) => Promise<void>): Client {
    let n = 0;
    const real = client.managedClusters;
    return { managedClusters: { ...real, get: async (...args: Parameters<typeof real.get>) => {
      const live = await real.get(...args);
      if (n < times) await change(++n);
      return live;
    } } as typeof real };
  }
  const otherWriterTags = (name: string, tags: Record<string, string>) => async () => {
    const live = await client.managedClusters.get('rg', name);
    await client.managedClusters.beginCreateOrUpdateAndWait('rg', name, { ...live, tags: { ...live.tags, ...tags } }, { updateIntervalInMs: 5 });
  };

  it("an update carries the eTag it read: another writer's change in between makes AKS answer 412, and the step decides anew without losing it", async () => {
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'race-upd' }, spec, context(30_000).o, w);
    const mark = emulators.arm.requests.length;
    const { o, lines } = context(30_000);
    const want = { ...spec, systemPool: { ...spec.systemPool, count: 2 } };
    const r = await createOrUpdateCluster(racedClient(1, otherWriterTags('race-upd', { owner: 'other-pipeline' })), { resourceGroup: 'rg', name: 'race-upd' }, want, o, w);
    expect(r.action).toBe('updated');
    const puts = emulators.arm.requests.slice(mark).filter((x) => x.method === 'PUT' && x.path.endsWith('/race-upd'));
    expect(puts.map((x) => [x.status, x.headers['if-match'] === undefined ? 'no If-Match' : 'If-Match'])).toEqual([[200, 'no If-Match'], [412, 'If-Match'], [200, 'If-Match']]);
    expect(lines).toContain('Cluster race-upd changed since it was read (another writer was first: 412 Precondition Failed); reading it again and deciding anew.');
    expect(clusterOf('race-upd').tags).toMatchObject({ owner: 'other-pipeline' });
    expect(clusterOf('race-upd').properties.agentPoolProfiles[0].count).toBe(2);
  });

  it('a second 412 is reported, and nothing of the other writer is overwritten', async () => {
    const { o } = context(30_000);
    const want = { ...spec, systemPool: { ...spec.systemPool, count: 3 } };
    const error = await createOrUpdateCluster(racedClient(2, (n) => otherWriterTags('race-upd', { [`writer${n}`]: 'yes' })()), { resourceGroup: 'rg', name: 'race-upd' }, want, o, w).catch((e) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect(error.message).toBe('Cluster race-upd was changed by another writer twice while this step was deciding what to write (412 Precondition Failed), so it stopped; what the other writer wrote stands.');
    expect(clusterOf('race-upd').tags).toMatchObject({ writer1: 'yes', writer2: 'yes' });
    expect(clusterOf('race-upd').properties.agentPoolProfiles[0].count).toBe(2);
    await deleteCluster(client, { resourceGroup: 'rg', name: 'race-upd' }, false, context(30_000).o, w);
  });

  it('two creators at once: one creates (If-None-Match: *), the other gets 412, finds the cluster and brings its own inputs in', async () => {
    emulators.arm.setOperationDelay(200);
    try {
      emulators.arm.barrier({ method: 'PUT', path: `/subscriptions/${emulators.subscriptionId}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/race-new`, parties: 2 });
      const mark = emulators.arm.requests.length;
      const a = createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'race-new' }, { ...spec, tags: { team: 'a' } }, context(30_000).o, w);
      const b = createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'race-new' }, { ...spec, tags: { team: 'a', reviewer: 'b' } }, context(30_000).o, w);
      const results = await Promise.all([a, b]);
      expect(results.map((r) => r.action).sort()).toEqual(['created', 'updated']);
      const puts = emulators.arm.requests.slice(mark).filter((x) => x.method === 'PUT' && x.path.endsWith('/race-new'));
      expect(puts.map((x) => x.status).sort()).toEqual([200, 201, 412]);
      expect(puts.filter((x) => x.status !== 200).every((x) => x.headers['if-none-match'] === '*')).toBe(true);
      expect(clusterOf('race-new').tags).toMatchObject({ team: 'a', reviewer: 'b' });
    } finally {
      emulators.arm.setOperationDelay(5);
    }
    await deleteCluster(client, { resourceGroup: 'rg', name: 'race-new' }, false, context(30_000).o, w);
  });
});

describe('updates AKS treats differently from a merge', () => {
  it('a new user-assigned identity replaces the old one (AKS takes exactly one)', async () => {
    const a = emulators.arm.addUserAssignedIdentity({ subscriptionId: emulators.subscriptionId, resourceGroup: 'rg', name: 'id-old' });
    const b = emulators.arm.addUserAssignedIdentity({ subscriptionId: emulators.subscriptionId, resourceGroup: 'rg', name: 'id-new' });
    const ua = (id: string) => ({ ...spec, identityType: 'UserAssigned' as const, userAssignedIdentityId: id });
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'switch-id' }, ua(a.id), context(30_000).o, w);
    const r = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'switch-id' }, ua(b.id), context(30_000).o, w);
    expect(r.changes).toContain(`cluster identity UserAssigned ${a.id} → UserAssigned ${b.id}`);
    expect(Object.keys(clusterOf('switch-id').identity.userAssignedIdentities)).toEqual([b.id]);
    await deleteCluster(client, { resourceGroup: 'rg', name: 'switch-id' }, false, context(30_000).o, w);
  });

  it('an upgrade raises every node pool with the control plane, as az aks upgrade does', async () => {
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'upgrade' }, { ...spec, kubernetesVersion: '1.34.2' }, context(30_000).o, w);
    // Someone added a user pool on the same version.
    const live = await client.managedClusters.get('rg', 'upgrade');
    await client.managedClusters.beginCreateOrUpdateAndWait('rg', 'upgrade', { ...live, agentPoolProfiles: [...live.agentPoolProfiles!, { name: 'user1', mode: 'User', count: 1, vmSize: 'Standard_D2s_v5', orchestratorVersion: '1.34.2' }] }, { updateIntervalInMs: 5 });
    const { o, lines } = context(30_000);
    const r = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'upgrade' }, { ...spec, kubernetesVersion: '1.35.0' }, o, w);
    expect(r.changes).toContain('every node pool raised to 1.35.0 with the control plane: system, user1');
    expect(clusterOf('upgrade').properties.agentPoolProfiles.map((p: any) => [p.name, p.orchestratorVersion, p.currentOrchestratorVersion])).toEqual([['system', '1.35.0', '1.35.0'], ['user1', '1.35.0', '1.35.0']]);
    expect(lines.join('\n')).not.toMatch(/behind the control plane/);
    await deleteCluster(client, { resourceGroup: 'rg', name: 'upgrade' }, false, context(30_000).o, w);
  });

  it('network: an in-place migration AKS documents goes through; one it does not is refused before any write, with the way out', async () => {
    const kubenet = { ...spec, networkPlugin: 'kubenet' as const };
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'net' }, kubenet, context(30_000).o, w);
    const r = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'net' }, { ...kubenet, outboundType: 'userDefinedRouting' }, context(30_000).o, w);
    expect(r.changes).toEqual(['outbound type loadBalancer → userDefinedRouting']);
    expect(clusterOf('net').properties.networkProfile.outboundType).toBe('userDefinedRouting');
    const mark = emulators.arm.requests.length;
    const error = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'net' }, { ...spec, outboundType: 'userDefinedRouting', networkPolicy: 'cilium' }, context(30_000).o, w).catch((e) => e);
    expect(error.message).toBe("Cluster net cannot take this change in place, so nothing was changed: network policy none → cilium (input 'networkPolicy'): AKS moves a cluster to Azure CNI Powered by Cilium from Azure CNI Overlay only: run once with the new networkPlugin and the current networkPolicy, then with networkPolicy 'cilium' (learn.microsoft.com/azure/aks/upgrade-aks-ipam-and-dataplane).");
    expect(error.hint).toContain("mode 'recreate'");
    expect(writesTo('net', mark)).toEqual([]);
    const overlay = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'net' }, { ...spec, outboundType: 'userDefinedRouting' }, context(30_000).o, w);
    expect(overlay.changes).toEqual(['network plugin kubenet → azureOverlay']);
    await deleteCluster(client, { resourceGroup: 'rg', name: 'net' }, false, context(30_000).o, w);
  });

  it('a stopped cluster is reported, not written', async () => {
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'stopped' }, spec, context(30_000).o, w);
    emulators.arm.setPowerState(emulators.subscriptionId, 'rg', 'stopped', 'Stopped');
    const mark = emulators.arm.requests.length;
    const error = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'stopped' }, { ...spec, systemPool: { ...spec.systemPool, count: 2 } }, context(30_000).o, w).catch((e) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect(error.message).toBe('Cluster stopped is stopped (power state Stopped): AKS allows only start and delete on a stopped cluster, so nothing was written and no credentials were fetched.');
    expect(error.hint).toBe("Start it (az aks start --resource-group rg --name stopped) and run the step again, or use mode 'recreate'.");
    expect(writesTo('stopped', mark)).toEqual([]);
    // recreate deletes it (allowed on a stopped cluster) and starts over.
    const r = await recreateCluster(client, { resourceGroup: 'rg', name: 'stopped' }, spec, false, context(30_000).o, w);
    expect(r.action).toBe('recreated');
    await deleteCluster(client, { resourceGroup: 'rg', name: 'stopped' }, false, context(30_000).o, w);
  });

  it('long-term support and the subnet are checked before anything is written', async () => {
    emulators.arm.setKubernetesVersions([{ version: '1.30', patches: ['1.30.14'], supportPlans: ['AKSLongTermSupport'] }, { version: '1.35', patches: ['1.35.0'], isDefault: true }], 'northeurope');
    const mark = emulators.arm.requests.length;
    const lts = { ...spec, location: 'northeurope', kubernetesVersion: '1.30' };
    const error = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'lts' }, lts, context(30_000).o, w).catch((e) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.input).toBe('kubernetesVersion');
    const overlap = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'lts' }, { ...spec, serviceCidr: '10.240.0.0/16', dnsServiceIp: '10.240.0.10' }, context(30_000).o, w).catch((e) => e);
    expect(overlap.message).toBe("Input 'serviceCidr': 10.240.0.0/16 overlaps the subnet's address range 10.240.0.0/16, and AKS refuses a service CIDR that overlaps a subnet. Expected a range outside the virtual network and its peers, e.g. 172.16.0.0/16.");
    const missing = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'lts' }, { ...spec, subnetId: subnetId.replace(/aks$/, 'nope') }, context(30_000).o, w).catch((e) => e);
    expect(missing.message).toMatch(/^Input 'subnetId': the subnet .*\/subnets\/nope does not exist\./);
    expect(writesTo('lts', mark)).toEqual([]);
    const ok = await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'lts' }, { ...lts, tier: 'Premium', supportPlan: 'AKSLongTermSupport' }, context(30_000).o, w);
    expect(ok.cluster).toMatchObject({ currentKubernetesVersion: '1.30.14', supportPlan: 'AKSLongTermSupport', sku: { tier: 'Premium' } });
    await deleteCluster(client, { resourceGroup: 'rg', name: 'lts' }, false, context(30_000).o, w);
  });
});

describe('Resource Manager on a bad minute', () => {
  const gets = (name: string, since: number) => emulators.arm.requests.slice(since).filter((r) => r.method === 'GET' && r.path.endsWith(`/managedClusters/${name}`)).length;

  it('an answer cut off half-way and a 429 without Retry-After are sent again; the SDK alone gives up on both', async () => {
    await createOrUpdateCluster(client, { resourceGroup: 'rg', name: 'flaky' }, spec, context(30_000).o, w);
    let mark = emulators.arm.requests.length;
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', cut: true });
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', status: 429, body: { error: { code: 'TooManyRequests', message: 'Slow down.' } } });
    expect((await getCluster(client, { resourceGroup: 'rg', name: 'flaky' }, {}))?.name).toBe('flaky');
    expect(gets('flaky', mark)).toBe(3);

    // The same faults through a client without the policy: the first one ends the call.
    const bare = new ContainerServiceClient(credential, emulators.subscriptionId, { endpoint: emulators.arm.url, credentials: { scopes: ['https://management.azure.com/.default'] }, retryOptions: { maxRetries: 2, retryDelayInMs: 5 } });
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', cut: true });
    await expect(bare.managedClusters.get('rg', 'flaky')).rejects.toMatchObject({ name: 'RestError', code: 'PARSE_ERROR' });
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', status: 429, body: { error: { code: 'TooManyRequests', message: 'Slow down.' } } });
    await expect(bare.managedClusters.get('rg', 'flaky')).rejects.toMatchObject({ statusCode: 429 });

    // Cut off every time: the step fails naming the cluster and Resource Manager, with what to do.
    mark = emulators.arm.requests.length;
    emulators.arm.injectFault({ method: 'GET', path: '/managedClusters/flaky', cut: true, times: 3 });
    const error = await getCluster(client, { resourceGroup: 'rg', name: 'flaky' }, {}).catch((e) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect(error.message).toMatch(/^Reading cluster flaky failed: the answer of Azure Resource Manager could not be read \(Error reading response as text: aborted\)$/);
    expect(error.hint).toMatch(/run the step again/);
    expect(gets('flaky', mark)).toBe(3);
    await deleteCluster(client, { resourceGroup: 'rg', name: 'flaky' }, false, context(30_000).o, w);
  });
});
