import type { ManagedCluster } from '@azure/arm-containerservice';
import { networkChanges } from './network-rules';
import { type ClusterSpec, MANAGED_BY_TAG, isManaged } from './spec';

/** One way the live cluster differs from the inputs, in words. */
export interface Difference {
  /** The input that asks for the change. */
  input: string;
  text: string;
  /** AKS cannot make this change in place. */
  immutable?: boolean;
  /** Why not, and what AKS allows instead. */
  why?: string;
}

type Value = string | number | boolean | string[] | undefined;

const show = (v: Value) => (v === undefined || v === '' ? 'unset' : Array.isArray(v) ? (v.length ? v.join(', ') : 'none') : String(v));
const norm = (v: Value): Value => (Array.isArray(v) ? [...v].map((x) => x.toLowerCase()).sort() : typeof v === 'string' ? v.toLowerCase() : v);
const same = (a: Value, b: Value) => JSON.stringify(norm(a)) === JSON.stringify(norm(b));

/**
 * Compares the live cluster with the desired one on the fields the inputs own (plus the leaves of
 * the extra properties), ignoring what AKS fills in by itself.
 */
export function clusterDifferences(live: ManagedCluster, desired: ManagedCluster, spec: ClusterSpec): Difference[] {
  const out: Difference[] = [];
  const check = (input: string, label: string, from: Value, to: Value, immutable?: (from: Value, to: Value) => boolean) => {
    if (!same(from, to)) out.push({ input, text: `${label} ${show(from)} → ${show(to)}`, immutable: immutable?.(from, to) });
  };
  const always = () => true;

  check('location', 'location', live.location?.replace(/\s+/g, '').toLowerCase(), spec.location, always);
  check('kubernetesVersion', 'Kubernetes version', live.currentKubernetesVersion ?? live.kubernetesVersion, desired.kubernetesVersion);
  check('tier', 'pricing tier', live.sku?.tier ?? 'Free', spec.tier);
  check('supportPlan', 'support plan', live.supportPlan ?? 'KubernetesOfficial', spec.supportPlan);
  if (spec.dnsPrefix) check('dnsPrefix', 'DNS prefix', live.dnsPrefix, spec.dnsPrefix, always);

  const net = live.networkProfile ?? {};
  // Plugin, policy and outbound type: in place exactly where AKS documents it (network-rules.ts).
  const network = networkChanges(live, spec);
  out.push(...network.filter((d) => d.input !== 'outboundType'));
  if (spec.podCidr && (spec.networkPlugin === 'azureOverlay' || spec.networkPlugin === 'kubenet')) check('podCidr', 'pod CIDR', net.podCidr, spec.podCidr, always);
  if (spec.serviceCidr) check('serviceCidr', 'service CIDR', net.serviceCidr, spec.serviceCidr, always);
  if (spec.dnsServiceIp) check('dnsServiceIp', 'DNS service IP', net.dnsServiceIP, spec.dnsServiceIp, always);
  out.push(...network.filter((d) => d.input === 'outboundType'));

  const api = live.apiServerAccessProfile ?? {};
  check('privateCluster', 'private cluster', !!api.enablePrivateCluster, spec.privateCluster, always);
  if (spec.privateCluster && api.enablePrivateCluster) check('privateDnsZone', 'private DNS zone', api.privateDNSZone ?? 'system', spec.privateDnsZone ?? 'system', always);
  if (!spec.privateCluster) check('authorizedIpRanges', 'authorized IP ranges', api.authorizedIPRanges ?? [], spec.authorizedIpRanges);

  const identityOf = (type?: string, ids?: object) => (type?.toLowerCase() === 'userassigned' ? `UserAssigned ${Object.keys(ids ?? {})[0] ?? ''}`.trim() : type ?? 'none');
  check('identityType', 'cluster identity', identityOf(live.identity?.type, live.identity?.userAssignedIdentities), identityOf(spec.identityType, spec.userAssignedIdentityId ? { [spec.userAssignedIdentityId]: {} } : undefined));

  const aad = live.aadProfile;
  check('entraId', 'Entra ID integration', !!aad?.managed, spec.entraId, (from) => from === true);
  if (spec.entraId) {
    check('adminGroupObjectIds', 'Entra ID admin groups', aad?.adminGroupObjectIDs ?? [], spec.adminGroupObjectIds);
    check('azureRbac', 'Azure RBAC', !!aad?.enableAzureRbac, spec.azureRbac);
  }
  check('disableLocalAccounts', 'local accounts disabled', !!live.disableLocalAccounts, spec.entraId && spec.disableLocalAccounts);
  check('oidcIssuer', 'OIDC issuer', !!live.oidcIssuerProfile?.enabled, spec.oidcIssuer, (from) => from === true);
  check('workloadIdentity', 'workload identity', !!live.securityProfile?.workloadIdentity?.enabled, spec.oidcIssuer && spec.workloadIdentity);

  out.push(...poolDifferences(live, spec));
  out.push(...tagDifferences(live, spec));
  if (spec.extraProperties) out.push(...extraDifferences(live, desired, spec.extraProperties));
  return out;
}

function poolDifferences(live: ManagedCluster, spec: ClusterSpec): Difference[] {
  const p = spec.systemPool;
  const pool = live.agentPoolProfiles?.find((x) => x.name === p.name);
  if (!pool) return [{ input: 'systemPoolName', text: `system node pool '${p.name}' added (${p.autoscale ? `${p.minCount}-${p.maxCount}` : p.count} × ${p.vmSize})` }];
  const out: Difference[] = [];
  const check = (input: string, label: string, from: Value, to: Value, immutable = false) => {
    if (!same(from, to)) out.push({ input, text: `system pool ${label} ${show(from)} → ${show(to)}`, immutable });
  };
  check('subnetId', 'subnet', pool.vnetSubnetID, spec.subnetId, true);
  check('systemPoolVmSize', 'VM size', pool.vmSize, p.vmSize, true);
  check('systemPoolZones', 'availability zones', pool.availabilityZones ?? [], p.zones, true);
  if (p.osDiskSizeGB !== undefined) check('systemPoolOsDiskSizeGB', 'OS disk size (GB)', pool.osDiskSizeGB, p.osDiskSizeGB, true);
  if (p.maxPods !== undefined) check('systemPoolMaxPods', 'maximum pods per node', pool.maxPods, p.maxPods, true);
  check('systemPoolAutoscale', 'autoscaling', !!pool.enableAutoScaling, p.autoscale);
  if (p.autoscale) {
    check('systemPoolMinCount', 'minimum node count', pool.minCount, p.minCount);
    check('systemPoolMaxCount', 'maximum node count', pool.maxCount, p.maxCount);
  } else {
    check('systemPoolCount', 'node count', pool.count, p.count);
  }
  return out;
}

function tagDifferences(live: ManagedCluster, spec: ClusterSpec): Difference[] {
  const wanted: Record<string, string> = { ...spec.tags };
  // Only clusters this extension created carry the management tag (see update-body.ts).
  if (isManaged(live.tags)) wanted[MANAGED_BY_TAG.key] = MANAGED_BY_TAG.value;
  const out: Difference[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    const current = live.tags?.[key];
    if (current === undefined) out.push({ input: 'tags', text: `tag ${key} added (${value})` });
    else if (current !== value) out.push({ input: 'tags', text: `tag ${key} ${current} → ${value}` });
  }
  return out;
}

/**
 * The leaves of the extra properties, compared as the desired model has them (an input may
 * override a leaf); node pools are matched by name.
 */
function extraDifferences(live: ManagedCluster, desired: ManagedCluster, extra: Record<string, unknown>): Difference[] {
  const out: Difference[] = [];
  const at = (o: unknown, k: string) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);
  const equal = (a: unknown, b: unknown) => JSON.stringify(a, lower) === JSON.stringify(b, lower);
  const walk = (paths: unknown, want: unknown, have: unknown, path: string) => {
    if (paths && typeof paths === 'object' && !Array.isArray(paths)) {
      for (const k of Object.keys(paths)) walk(at(paths, k), at(want, k), at(have, k), path ? `${path}.${k}` : k);
      return;
    }
    if (path === 'agentPoolProfiles' && Array.isArray(paths)) {
      for (const pool of paths as { name?: string }[]) {
        const byName = (list: unknown) => (Array.isArray(list) ? list.find((x) => at(x, 'name') === pool.name) : undefined);
        walk({ ...pool, name: undefined }, byName(want), byName(have), `agentPoolProfiles[${pool.name}]`);
      }
      return;
    }
    if (paths !== undefined && !equal(want, have)) {
      out.push({ input: 'extraPropertiesFile', text: `${path} ${have === undefined ? 'unset' : JSON.stringify(have)} → ${JSON.stringify(want)}` });
    }
  };
  walk(extra, desired, live, '');
  return out;
}

const lower = (_: string, v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
