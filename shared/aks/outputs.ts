import type { ManagedCluster } from '@azure/arm-containerservice';

/** AksBootstrap's output variables that come from the cluster resource (kubeconfigPath aside). */
export interface ClusterOutputs {
  clusterResourceId?: string;
  apiServerFqdn?: string;
  kubernetesVersion?: string;
  oidcIssuerUrl?: string;
  nodeResourceGroup?: string;
  kubeletIdentityObjectId?: string;
  kubeletIdentityClientId?: string;
}

export function clusterOutputs(c: ManagedCluster): ClusterOutputs {
  const kubelet = c.identityProfile?.kubeletidentity;
  return {
    clusterResourceId: c.id,
    apiServerFqdn: c.apiServerAccessProfile?.enablePrivateCluster ? c.privateFqdn ?? c.fqdn : c.fqdn,
    kubernetesVersion: c.currentKubernetesVersion ?? c.kubernetesVersion,
    oidcIssuerUrl: c.oidcIssuerProfile?.enabled ? c.oidcIssuerProfile.issuerURL : undefined,
    nodeResourceGroup: c.nodeResourceGroup,
    kubeletIdentityObjectId: kubelet?.objectId,
    kubeletIdentityClientId: kubelet?.clientId,
  };
}
