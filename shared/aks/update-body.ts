import type { ManagedCluster, ManagedClusterAgentPoolProfile } from '@azure/arm-containerservice';
import { mergeModels } from './merge';
import { type ClusterSpec, MANAGED_BY_TAG, isManaged } from './spec';

/**
 * The PUT body of an update. A PUT replaces the resource, so it starts from the live cluster
 * (what others set, such as add-ons or tags from Azure Policy, stays) with the desired values over
 * it. What cannot change (location, DNS prefix) keeps the live value, and the management tag is
 * not added to a cluster this extension did not create: that would silently allow recreating it.
 */
export function updateBody(live: ManagedCluster, desired: ManagedCluster, spec: ClusterSpec): ManagedCluster {
  const body = mergeModels(live, desired);
  body.location = live.location;
  body.dnsPrefix = live.dnsPrefix;
  body.fqdnSubdomain = live.fqdnSubdomain;
  const tags = { ...live.tags, ...desired.tags };
  if (!isManaged(live.tags)) delete tags[MANAGED_BY_TAG.key];
  body.tags = tags;

  // The identity is one value, not a map to merge: AKS takes exactly one user-assigned identity
  // ("The count of user assigned identity specified in identity.userAssignedIdentities is 2, while
  // expected value is 1.", hashicorp/terraform-provider-azurerm#16890), so a new one replaces the old.
  body.identity = structuredClone(desired.identity);

  // Leaving an outbound type leaves its settings behind (a load balancer's outbound IPs mean nothing
  // to a NAT gateway or a firewall route).
  const outbound = desired.networkProfile?.outboundType;
  if (body.networkProfile && outbound !== 'loadBalancer') delete body.networkProfile.loadBalancerProfile;
  if (body.networkProfile && outbound !== 'managedNATGateway') delete body.networkProfile.natGatewayProfile;

  const pool = body.agentPoolProfiles?.find((p) => p.name === spec.systemPool.name);
  const livePool = live.agentPoolProfiles?.find((p) => p.name === spec.systemPool.name);
  if (pool && livePool && spec.systemPool.autoscale) {
    // The autoscaler owns the count; it must only stay inside the new bounds.
    const { minCount = 1, maxCount = 1000 } = spec.systemPool;
    pool.count = Math.min(maxCount, Math.max(minCount, livePool.count ?? minCount));
  }

  const upgrade = live.currentKubernetesVersion !== desired.kubernetesVersion;
  for (const p of body.agentPoolProfiles ?? []) {
    const before = live.agentPoolProfiles?.find((x) => x.name === p.name);
    // An upgrade raises every node pool with the control plane, as `az aks upgrade` does
    // ("for agent_profile in instance.agent_pool_profiles: agent_profile.orchestrator_version =
    // kubernetes_version", azure-cli acs/custom.py aks_upgrade). Otherwise each pool keeps its own
    // version (AKS may hold one back during an upgrade, or its owner may).
    if (upgrade) p.orchestratorVersion = desired.kubernetesVersion;
    else if (before) p.orchestratorVersion = before.orchestratorVersion;
  }
  return body;
}

/** Node pools whose Kubernetes version is behind the control plane's (and stays so without an upgrade). */
export function poolsBehind(live: ManagedCluster): ManagedClusterAgentPoolProfile[] {
  const control = live.currentKubernetesVersion ?? live.kubernetesVersion;
  if (!control) return [];
  return (live.agentPoolProfiles ?? []).filter((p) => {
    const version = p.currentOrchestratorVersion ?? p.orchestratorVersion;
    return !!version && version !== control && version.localeCompare(control, undefined, { numeric: true }) < 0;
  });
}
