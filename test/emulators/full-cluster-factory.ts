// The ARM emulator's ClusterFactory for end-to-end runs: every managed cluster is a full local
// cluster (test/platform's startCluster: control plane, the real controller-manager and scheduler,
// and the node agent), so the Sealed Secrets and Flux controllers that the pipeline tasks install
// actually run on the clusters AksBootstrap creates. Deleting the managed cluster stops all of it.
import { startCluster, type Cluster, type ClusterOptions } from '../platform/platform.js';
import type { ClusterFactory } from './arm/cluster-factory.js';
import { aksClusterFactory } from './control-plane-cluster-factory.js';

export interface FullClusters {
  factory: ClusterFactory;
  /** The running cluster of a managed cluster, for looking inside (controllers, logs, admin API). */
  cluster(resourceGroup: string, name: string): Cluster | undefined;
  /** Every running cluster, keyed `<resourceGroup>/<name>`. */
  running(): Map<string, Cluster>;
}

export function fullClusterFactory(options: Pick<ClusterOptions, 'baseDir' | 'startTimeoutMs'> = {}): FullClusters {
  const clusters = new Map<string, Cluster>();
  // Resource group names are case-insensitive in ARM.
  const key = (resourceGroup: string, name: string) => `${resourceGroup.toLowerCase()}/${name}`;
  const factory = aksClusterFactory(async (args, spec) => {
    const cluster = await startCluster({ ...options, ...args });
    const id = key(spec.resourceGroup, spec.name);
    clusters.set(id, cluster);
    return {
      server: cluster.info.server,
      caPem: cluster.info.caPem,
      adminToken: cluster.info.adminToken,
      api: cluster.api,
      async stop() {
        if (clusters.get(id) === cluster) clusters.delete(id);
        await cluster.stop();
      },
    };
  });
  return { factory, cluster: (resourceGroup, name) => clusters.get(key(resourceGroup, name)), running: () => new Map(clusters) };
}
