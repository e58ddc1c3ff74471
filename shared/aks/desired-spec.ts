import type { ManagedCluster, ManagedClusterAgentPoolProfile } from '@azure/arm-containerservice';
import { mergeModels } from './merge';
import { NETWORK_DEFAULTS } from './network-rules';
import { type ClusterSpec, MANAGED_BY_TAG } from './spec';

/** A DNS prefix from the cluster name: AKS allows 1-54 letters, digits and hyphens. */
export function defaultDnsPrefix(clusterName: string): string {
  return clusterName.replace(/_/g, '-').slice(0, 54).replace(/-+$/, '');
}

export function systemPoolProfile(spec: ClusterSpec): ManagedClusterAgentPoolProfile {
  const p = spec.systemPool;
  return {
    name: p.name,
    mode: 'System',
    osType: 'Linux',
    type: 'VirtualMachineScaleSets',
    vmSize: p.vmSize,
    vnetSubnetID: spec.subnetId,
    enableAutoScaling: p.autoscale,
    // The autoscaler starts from the minimum; a fixed pool from its count.
    count: p.autoscale ? p.minCount : p.count,
    ...(p.autoscale ? { minCount: p.minCount, maxCount: p.maxCount } : {}),
    ...(p.zones.length ? { availabilityZones: [...p.zones] } : {}),
    ...(p.osDiskSizeGB !== undefined ? { osDiskSizeGB: p.osDiskSizeGB } : {}),
    ...(p.maxPods !== undefined ? { maxPods: p.maxPods } : {}),
  };
}

/**
 * The ManagedCluster the inputs describe, for a create: the extra properties first, the inputs
 * over them, and the management tag.
 */
export function desiredCluster(spec: ClusterSpec, clusterName: string, kubernetesVersion: string): ManagedCluster {
  const overlay = spec.networkPlugin === 'azureOverlay';
  const owned: ManagedCluster = {
    location: spec.location,
    tags: { ...spec.tags, [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value },
    sku: { name: 'Base', tier: spec.tier },
    identity: spec.identityType === 'UserAssigned'
      ? { type: 'UserAssigned', userAssignedIdentities: { [spec.userAssignedIdentityId!]: {} } }
      : { type: 'SystemAssigned' },
    kubernetesVersion,
    supportPlan: spec.supportPlan,
    dnsPrefix: spec.dnsPrefix ?? defaultDnsPrefix(clusterName),
    enableRbac: true,
    agentPoolProfiles: [{ ...systemPoolProfile(spec), orchestratorVersion: kubernetesVersion }],
    networkProfile: {
      networkPlugin: overlay ? 'azure' : spec.networkPlugin,
      ...(overlay ? { networkPluginMode: 'overlay' } : {}),
      networkPolicy: spec.networkPolicy,
      // Azure CNI powered by Cilium: the policy engine is the dataplane.
      ...(spec.networkPolicy === 'cilium' ? { networkDataplane: 'cilium' } : {}),
      // Overlay always names its pod CIDR: AKS needs one to move an Azure CNI cluster to Overlay.
      ...(overlay ? { podCidr: spec.podCidr ?? NETWORK_DEFAULTS.podCidr } : spec.networkPlugin === 'kubenet' && spec.podCidr ? { podCidr: spec.podCidr } : {}),
      ...(spec.serviceCidr ? { serviceCidr: spec.serviceCidr } : {}),
      ...(spec.dnsServiceIp ? { dnsServiceIP: spec.dnsServiceIp } : {}),
      outboundType: spec.outboundType,
      loadBalancerSku: 'standard',
    },
    apiServerAccessProfile: spec.privateCluster
      ? { enablePrivateCluster: true, privateDNSZone: spec.privateDnsZone ?? 'system' }
      : { enablePrivateCluster: false, authorizedIPRanges: [...spec.authorizedIpRanges] },
    ...(spec.entraId ? { aadProfile: { managed: true, enableAzureRbac: spec.azureRbac, adminGroupObjectIDs: [...spec.adminGroupObjectIds] } } : {}),
    disableLocalAccounts: spec.entraId && spec.disableLocalAccounts,
    oidcIssuerProfile: { enabled: spec.oidcIssuer },
    securityProfile: { workloadIdentity: { enabled: spec.oidcIssuer && spec.workloadIdentity } },
  };
  return spec.extraProperties ? mergeModels(spec.extraProperties as unknown as ManagedCluster, owned) : owned;
}
