// shared/aks's long operations in-process against the ARM emulator (API servers faked): the
// user's timeout, the pipeline's cancel, progress, and a run that finds an operation still going.
import { randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armClient } from '../../shared/azure/arm-client';
import { createOrUpdateCluster, deleteCluster } from '../../shared/aks/cluster-operations';
import { Deadline, type OperationContext } from '../../shared/aks/long-operation';
import type { ClusterSpec } from '../../shared/aks/spec';
import { TaskError } from '../../shared/pipeline/errors';
import { startAzureEmulators, type AzureEmulators } from '../emulators/azure-emulators';
import { createFakeClusters } from '../emulators/fake-cluster-factory';
import { trustEmulatorCa } from '../emulators/trust-emulator-ca';

trustEmulatorCa();

let emulators: AzureEmulators;
let client: ReturnType<typeof armClient>;
let subnetId: string;

beforeAll(async () => {
  emulators = await startAzureEmulators({ clusterFactory: createFakeClusters().factory });
  const { arm, entra, tenantId, subscriptionId } = emulators;
  arm.addResourceGroup({ subscriptionId, name: 'rg', location: 'westeurope' });
  subnetId = arm.addSubnet({ subscriptionId, resourceGroup: 'rg', vnet: 'vnet', name: 'aks' });
  const app = entra.addApp({ tenantId, clientId: randomUUID(), secret: 's3cret-value' });
  const credential = new ClientSecretCredential(tenantId, app.clientId, 's3cret-value', { authorityHost: entra.url, disableInstanceDiscovery: true });
  client = armClient({ credential, subscriptionId, resourceManagerUrl: arm.url, armScope: 'https://management.azure.com/.default' }, { retryOptions: { maxRetries: 2, retryDelayInMs: 5 } });
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
