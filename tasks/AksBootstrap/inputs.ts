import { readFileSync } from 'node:fs';
import { yamlLib } from '../../shared/pipeline/lazy-yaml';
import { readEndpoint, clusterName, resourceGroupName } from '../../shared/pipeline/cluster-connection-inputs';
import { InputError } from '../../shared/pipeline/errors';
import type { TaskContext } from '../../shared/pipeline/task-context';
import { ExtraPropertiesError, extraPropertiesModel } from '../../shared/aks/extra-properties';
import { checkClusterSpec } from '../../shared/aks/network-rules';
import { type ClusterSpec, MANAGED_BY_TAG, type NetworkPlugin } from '../../shared/aks/spec';

export type Mode = 'createOrUpdate' | 'recreate' | 'delete';

/** The inputs of AksBootstrap, checked and typed. */
export function readAksInputs(ctx: TaskContext) {
  const { inputs: i } = ctx;
  const mode = i.choice<Mode>('mode') ?? 'createOrUpdate';
  const common = {
    azure: readEndpoint(ctx, 'azureSubscription'),
    resourceGroup: resourceGroupName(i.required('resourceGroup'), 'resourceGroup'),
    clusterName: clusterName(i.required('clusterName'), 'clusterName'),
    mode,
    allowUnmanaged: i.bool('allowUnmanaged'),
    timeoutMinutes: i.int('timeoutMinutes', { min: 1, max: 720 }) ?? 60,
  };
  if (mode === 'delete') return { ...common, spec: undefined, useClusterAdmin: false };

  const networkPlugin = i.choice<NetworkPlugin>('networkPlugin') ?? 'azureOverlay';
  const networkPolicy = i.choice('networkPolicy') ?? 'none';
  const serviceCidr = cidr(i.string('serviceCidr'), 'serviceCidr');
  const dnsServiceIp = ipv4(i.string('dnsServiceIp'), 'dnsServiceIp');
  const autoscale = i.bool('systemPoolAutoscale');
  const minCount = autoscale ? i.int('systemPoolMinCount', { min: 1, max: 1000 }) ?? 3 : undefined;
  const maxCount = autoscale ? i.int('systemPoolMaxCount', { min: 1, max: 1000 }) ?? 5 : undefined;
  const entraId = i.bool('entraId');
  const disableLocalAccounts = i.bool('disableLocalAccounts');
  const useClusterAdmin = i.bool('useClusterAdmin');
  if (useClusterAdmin && entraId && disableLocalAccounts) {
    throw new InputError('useClusterAdmin', 'a cluster with local accounts disabled has no admin credentials', "'false' (the kubeconfig then carries an Entra ID token), or disableLocalAccounts 'false'");
  }
  const identityType = i.choice<ClusterSpec['identityType']>('identityType') ?? 'SystemAssigned';
  const spec: ClusterSpec = {
    location: location(i.required('location')),
    kubernetesVersion: kubernetesVersion(i.required('kubernetesVersion')),
    allowPreviewVersions: i.bool('allowPreviewVersions'),
    tier: i.choice('tier') ?? 'Standard',
    supportPlan: i.choice<ClusterSpec['supportPlan']>('supportPlan') ?? 'KubernetesOfficial',
    dnsPrefix: dnsPrefix(i.string('dnsPrefix')),
    subnetId: subnetId(i.required('subnetId')),
    networkPlugin,
    networkPolicy,
    podCidr: cidr(i.string('podCidr'), 'podCidr'),
    serviceCidr,
    dnsServiceIp,
    outboundType: i.choice('outboundType') ?? 'loadBalancer',
    privateCluster: i.bool('privateCluster'),
    privateDnsZone: privateDnsZone(i.string('privateDnsZone')),
    authorizedIpRanges: i.list('authorizedIpRanges').map((r) => cidr(r, 'authorizedIpRanges')!),
    identityType,
    userAssignedIdentityId: identityType === 'UserAssigned' ? identityId(i.required('userAssignedIdentityId')) : undefined,
    grantSubnetAccess: i.bool('grantSubnetAccess'),
    entraId,
    adminGroupObjectIds: i.list('adminGroupObjectIds').map((g) => guid(g, 'adminGroupObjectIds')),
    azureRbac: i.bool('azureRbac'),
    disableLocalAccounts,
    oidcIssuer: i.bool('oidcIssuer'),
    workloadIdentity: i.bool('workloadIdentity'),
    systemPool: {
      name: poolName(i.string('systemPoolName') ?? 'system'),
      vmSize: vmSize(i.string('systemPoolVmSize') ?? 'Standard_D4ds_v5'),
      autoscale,
      count: autoscale ? undefined : i.int('systemPoolCount', { min: 1, max: 1000 }) ?? 3,
      minCount,
      maxCount,
      zones: [...new Set(i.list('systemPoolZones').map(zone))],
      osDiskSizeGB: i.int('systemPoolOsDiskSizeGB', { min: 30, max: 2048 }),
      maxPods: i.int('systemPoolMaxPods', { min: 10, max: 250 }),
    },
    tags: tags(i.keyValues('tags')),
    extraProperties: extraProperties(i.filePath('extraPropertiesFile')),
  };
  // AKS's cross-field rules (outbound type, CNI and policy, pod and service ranges, node counts, LTS).
  checkClusterSpec(spec);
  return { ...common, spec, useClusterAdmin };
}

export type AksInputs = ReturnType<typeof readAksInputs>;

function location(value: string): string {
  const v = value.toLowerCase().replace(/\s+/g, '');
  if (!/^[a-z0-9]+$/.test(v)) throw new InputError('location', `'${value}' is not an Azure location`, 'a location name such as westeurope');
  return v;
}

function kubernetesVersion(value: string): string {
  if (value === 'latest' || /^\d+\.\d+(\.\d+)?$/.test(value)) return value;
  throw new InputError('kubernetesVersion', `'${value}' is not a Kubernetes version`, "'latest', a minor such as 1.35, or an exact version such as 1.35.4");
}

const SUBNET_ID = /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[-\w._()]+\/providers\/Microsoft\.Network\/virtualNetworks\/[-\w._]+\/subnets\/[-\w._]+$/i;

function subnetId(value: string): string {
  if (!SUBNET_ID.test(value)) {
    throw new InputError('subnetId', `'${value}' is not a subnet resource ID`, '/subscriptions/<subscription-id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>');
  }
  return value;
}

function cidr(value: string | undefined, input: string): string | undefined {
  if (value === undefined) return undefined;
  const m = value.match(/^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/);
  if (!m || !isIpv4(m[1]) || Number(m[2]) > 32) throw new InputError(input, `'${value}' is not an IPv4 CIDR range`, 'a range such as 10.0.0.0/16');
  return value;
}

function ipv4(value: string | undefined, input: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isIpv4(value)) throw new InputError(input, `'${value}' is not an IPv4 address`, 'an address such as 10.0.0.10');
  return value;
}

const isIpv4 = (v: string) => /^\d+\.\d+\.\d+\.\d+$/.test(v) && v.split('.').every((o) => Number(o) <= 255);

function guid(value: string, input: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw new InputError(input, `'${value}' is not an object ID`, 'a GUID such as 00000000-0000-0000-0000-000000000000');
  }
  return value.toLowerCase();
}

function poolName(value: string): string {
  if (!/^[a-z][a-z0-9]{0,11}$/.test(value)) {
    throw new InputError('systemPoolName', `'${value}' is not a valid node pool name`, '1 to 12 lowercase letters and digits, starting with a letter');
  }
  return value;
}

function vmSize(value: string): string {
  if (!/^[A-Za-z]+_[A-Za-z0-9_-]+$/.test(value)) throw new InputError('systemPoolVmSize', `'${value}' is not a VM size`, 'a size such as Standard_D4ds_v5');
  return value;
}

function zone(value: string): string {
  if (!/^[1-3]$/.test(value)) throw new InputError('systemPoolZones', `'${value}' is not an availability zone`, 'zones 1, 2 or 3, comma-separated');
  return value;
}

function tags(values: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(values)) {
    if (key.toLowerCase() === MANAGED_BY_TAG.key) throw new InputError('tags', `the tag '${key}' is set by the task itself`, 'other tag names');
    if (key.length > 512 || /[<>%&\\?/]/.test(key)) throw new InputError('tags', `'${key}' is not a valid tag name`, 'tag names of at most 512 characters without < > % & \\ ? /');
  }
  return values;
}

function extraProperties(path: string | undefined): Record<string, unknown> | undefined {
  if (!path) return undefined;
  let value: unknown;
  try {
    value = yamlLib().parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InputError('extraPropertiesFile', `${path} is not valid JSON or YAML: ${(error as Error).message.split('\n')[0]}`, 'a JSON or YAML object of ManagedCluster properties');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError('extraPropertiesFile', `${path} does not hold an object`, 'a JSON or YAML object of ManagedCluster properties');
  }
  try {
    return extraPropertiesModel(value as Record<string, unknown>);
  } catch (error) {
    if (error instanceof ExtraPropertiesError) throw new InputError('extraPropertiesFile', `${path}: ${error.message}`, 'properties of the ARM ManagedCluster `properties` object, e.g. autoUpgradeProfile or addonProfiles');
    throw error;
  }
}

function dnsPrefix(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$/.test(value)) {
    throw new InputError('dnsPrefix', `'${value}' is not a valid DNS prefix`, '1 to 54 letters, digits and hyphens, starting and ending with a letter or digit');
  }
  return value;
}

function privateDnsZone(value: string | undefined): string | undefined {
  if (value === undefined || /^(system|none)$/i.test(value)) return value?.toLowerCase();
  if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/privateDnsZones\/[^/]+$/i.test(value)) {
    throw new InputError('privateDnsZone', `'${value}' is neither 'system', 'none' nor a private DNS zone resource ID`, "'system', 'none' or /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/<zone>");
  }
  return value;
}

function identityId(value: string): string {
  if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i.test(value)) {
    throw new InputError('userAssignedIdentityId', `'${value}' is not a user-assigned identity resource ID`, '/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>');
  }
  return value;
}
