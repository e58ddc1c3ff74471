import type { ManagedCluster } from '@azure/arm-containerservice';
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
  const pool = body.agentPoolProfiles?.find((p) => p.name === spec.systemPool.name);
  const livePool = live.agentPoolProfiles?.find((p) => p.name === spec.systemPool.name);
  if (pool && livePool && spec.systemPool.autoscale) {
    // The autoscaler owns the count; it must only stay inside the new bounds.
    const { minCount = 1, maxCount = 1000 } = spec.systemPool;
    pool.count = Math.min(maxCount, Math.max(minCount, livePool.count ?? minCount));
  }
  if (pool && livePool && live.currentKubernetesVersion === desired.kubernetesVersion) {
    // Same control plane version: the pool keeps its own (AKS may hold it back during upgrades).
    pool.orchestratorVersion = livePool.orchestratorVersion;
  }
  return body;
}
