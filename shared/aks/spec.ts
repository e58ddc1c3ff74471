// What AksBootstrap's inputs ask for, as plain values: the cluster the task owns the shape of.
// shared/aks works on this and never on the task's inputs, so it runs without the agent.

export type NetworkPlugin = 'azureOverlay' | 'azure' | 'kubenet' | 'none';

export interface SystemPoolSpec {
  name: string;
  vmSize: string;
  autoscale: boolean;
  /** Fixed node count; undefined when autoscaling. */
  count?: number;
  minCount?: number;
  maxCount?: number;
  zones: string[];
  osDiskSizeGB?: number;
  maxPods?: number;
}

export interface ClusterSpec {
  location: string;
  /** `latest`, a minor (`1.35`) or an exact version (`1.35.4`). */
  kubernetesVersion: string;
  allowPreviewVersions: boolean;
  tier: string;
  /** KubernetesOfficial (community support) or AKSLongTermSupport (needs tier Premium). */
  supportPlan: 'KubernetesOfficial' | 'AKSLongTermSupport';
  /** Only when the user set one; the cluster name otherwise. */
  dnsPrefix?: string;
  subnetId: string;
  networkPlugin: NetworkPlugin;
  networkPolicy: string;
  /** Only when the user set one (AKS's default otherwise). */
  podCidr?: string;
  serviceCidr?: string;
  dnsServiceIp?: string;
  outboundType: string;
  privateCluster: boolean;
  privateDnsZone?: string;
  authorizedIpRanges: string[];
  identityType: 'SystemAssigned' | 'UserAssigned';
  userAssignedIdentityId?: string;
  /** Grant the cluster identity Network Contributor on the subnet, as `az aks create` does. */
  grantSubnetAccess: boolean;
  entraId: boolean;
  adminGroupObjectIds: string[];
  azureRbac: boolean;
  disableLocalAccounts: boolean;
  oidcIssuer: boolean;
  workloadIdentity: boolean;
  systemPool: SystemPoolSpec;
  /** The user's tags; the management tag is added by desiredCluster. */
  tags: Record<string, string>;
  /** Further ManagedCluster properties, already in the SDK's model shape (see extra-properties.ts). */
  extraProperties?: Record<string, unknown>;
}

export interface ClusterTarget {
  resourceGroup: string;
  name: string;
}

/** Marks clusters this extension created: recreate and delete act only on those unless forced. */
export const MANAGED_BY_TAG = { key: 'managed-by', value: 'aks-gitops-tasks' } as const;

export function isManaged(tags: Record<string, string> | undefined): boolean {
  return Object.entries(tags ?? {}).some(([k, v]) => k.toLowerCase() === MANAGED_BY_TAG.key && v === MANAGED_BY_TAG.value);
}

export const describeTarget = (t: ClusterTarget) => `${t.name} (resource group ${t.resourceGroup})`;
