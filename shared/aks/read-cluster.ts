import type { ContainerServiceClient, ManagedCluster } from '@azure/arm-containerservice';
import { azureError, isNotFound } from './errors';
import type { ClusterTarget } from './spec';

export type Client = Pick<ContainerServiceClient, 'managedClusters'>;

/** The cluster as ARM has it, or undefined when there is none. */
export async function getCluster(client: Client, t: ClusterTarget, o: { signal?: AbortSignal }): Promise<ManagedCluster | undefined> {
  try {
    return await client.managedClusters.get(t.resourceGroup, t.name, { abortSignal: o.signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw azureError(error, `Reading cluster ${t.name}`);
  }
}
