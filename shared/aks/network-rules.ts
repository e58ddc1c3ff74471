// AKS's cross-field rules on what the inputs ask for, and the network changes AKS makes in place.
// Each is checked before anything is written, naming the input, because AKS would refuse it
// later (or, for the pod CIDR, silently ignore it). The sources are next to each rule.
import type { ManagedCluster } from '@azure/arm-containerservice';
import { InputError } from '../pipeline/errors';
import type { ClusterSpec, NetworkPlugin } from './spec';

/** What AKS assigns when the inputs leave them empty (managedClusters.json 2026-04-01 defaults). */
export const NETWORK_DEFAULTS = { podCidr: '10.244.0.0/16', serviceCidr: '10.0.0.0/16', dnsServiceIp: '10.0.0.10' } as const;

// ---------------------------------------------------------------------------------------------
// IPv4 ranges

interface Range { start: number; end: number }

const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

function range(cidr: string): Range {
  const [base, bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(base) / size) * size;
  return { start, end: start + size - 1 };
}

const overlap = (a: string, b: string) => {
  const x = range(a);
  const y = range(b);
  return x.start <= y.end && y.start <= x.end;
};

// ---------------------------------------------------------------------------------------------
// Rules on the inputs alone

const usesPodCidr = (plugin: NetworkPlugin) => plugin === 'azureOverlay' || plugin === 'kubenet';

/** Refuses, naming the input, what AKS refuses (or ignores) whatever the cluster is. */
export function checkClusterSpec(spec: ClusterSpec): void {
  // A bring-your-own subnet: AKS answers InvalidParameter / ManagedNATGatewayWithCustomVNetNotAllowed
  // ("Outbound type is managedNATGateway but agent pool '…' is using custom VNet, which is not allowed.",
  // kubernetes-sigs/cluster-api-provider-azure#5429); for a BYO VNet, egress-outboundtype says:
  // "Select userAssignedNatGateway when using bring-your-own virtual networking".
  if (spec.outboundType === 'managedNATGateway') {
    throw new InputError('outboundType', "'managedNATGateway' is not possible here: AKS creates a managed NAT gateway only in a virtual network it manages, and this task always puts the nodes in your subnet (input 'subnetId')",
      "'userAssignedNATGateway' (associate your NAT gateway with the subnet first), 'loadBalancer' or 'userDefinedRouting'");
  }
  // Azure CNI Powered by Cilium needs Azure CNI: overlay, pod subnet or node subnet
  // (learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium, options 1-3).
  if (spec.networkPolicy === 'cilium' && spec.networkPlugin !== 'azure' && spec.networkPlugin !== 'azureOverlay') {
    throw new InputError('networkPolicy', `Cilium needs Azure CNI, not '${spec.networkPlugin}'`, "networkPlugin 'azureOverlay' or 'azure', or another network policy");
  }
  // NetworkPolicyAzureNotSupportedForKubenet (coder/docs#1091); "To use Azure Network Policy Manager,
  // you must use the Azure CNI plug-in. Calico can be used with either" (use-network-policies).
  if (spec.networkPolicy === 'azure' && spec.networkPlugin === 'kubenet') {
    throw new InputError('networkPolicy', "Azure Network Policy Manager needs Azure CNI; kubenet works with Calico only", "'calico', or networkPlugin 'azureOverlay' or 'azure'");
  }
  // "the pod_cidr only works when network_plugin = kubenet or network_plugin_mode = overlay" (AKS
  // service team in hashicorp/terraform-provider-azurerm#20573): AKS ignores it otherwise, and the
  // Azure CLI refuses it (Azure/azure-cli#26237).
  if (spec.podCidr && !usesPodCidr(spec.networkPlugin)) {
    throw new InputError('podCidr', `a pod CIDR applies to Azure CNI Overlay and kubenet only; with networkPlugin '${spec.networkPlugin}' pods take their addresses ${spec.networkPlugin === 'azure' ? 'from the subnet' : 'from your own CNI'} and AKS would ignore ${spec.podCidr}`,
      "an empty podCidr, or networkPlugin 'azureOverlay' or 'kubenet'");
  }
  // "An IP address assigned to the Kubernetes DNS service. It must be within the Kubernetes service
  // address range specified in serviceCidr." (managedClusters.json, dnsServiceIP; AKS answers
  // DnsServiceIpOutOfServiceCidr); "Don't use the first IP address in your address range, such as
  // .1 … used for the kubernetes.default.svc.cluster.local address" (AKS networking docs).
  const serviceCidr = spec.serviceCidr ?? NETWORK_DEFAULTS.serviceCidr;
  const dns = spec.dnsServiceIp ?? NETWORK_DEFAULTS.dnsServiceIp;
  const service = range(serviceCidr);
  const ip = ipToInt(dns);
  if (ip < service.start || ip > service.end) {
    throw new InputError('dnsServiceIp', `${dns} is outside the service CIDR ${serviceCidr}${spec.serviceCidr ? '' : " (AKS's default)"}`, 'an address inside serviceCidr');
  }
  if (ip === service.start || ip === service.start + 1) {
    throw new InputError('dnsServiceIp', `${dns} is ${ip === service.start ? 'the network address' : 'the first address'} of the service CIDR ${serviceCidr}${ip === service.start ? '' : ', which Kubernetes gives to kubernetes.default.svc'}`, 'another address inside serviceCidr, such as the .10 address');
  }
  // "This range shouldn't overlap with the pod CIDR range" (Azure CNI Overlay, service address range).
  if (usesPodCidr(spec.networkPlugin) && overlap(spec.podCidr ?? NETWORK_DEFAULTS.podCidr, serviceCidr)) {
    throw new InputError('podCidr', `${spec.podCidr ?? NETWORK_DEFAULTS.podCidr} overlaps the service CIDR ${serviceCidr}`, 'ranges that do not overlap');
  }
  // Autoscaler bounds: count within [minCount, maxCount], at least one node in a system pool
  // (AKS's InvalidParameter on agentPoolProfile.count, kubernetes-sigs/cluster-api-provider-azure#5947).
  const pool = spec.systemPool;
  if (pool.autoscale) {
    const { minCount = 1, maxCount = 1 } = pool;
    if (minCount < 1) throw new InputError('systemPoolMinCount', `a system pool needs at least one node, not ${minCount}`, 'a minimum of 1 or more');
    if (minCount > maxCount) throw new InputError('systemPoolMaxCount', `the maximum ${maxCount} is below the minimum ${minCount}`, 'a maximum at least as large as systemPoolMinCount');
  } else if ((pool.count ?? 1) < 1) {
    throw new InputError('systemPoolCount', `a system pool needs at least one node, not ${pool.count}`, 'a count of 1 or more');
  }
  // "Enabling LTS requires moving your cluster to the Premium tier and explicitly selecting the LTS
  // support plan" (learn.microsoft.com/azure/aks/long-term-support).
  if (spec.supportPlan === 'AKSLongTermSupport' && spec.tier !== 'Premium') {
    throw new InputError('supportPlan', `long-term support (AKSLongTermSupport) needs the Premium tier, and the tier is ${spec.tier}`, "tier 'Premium', or supportPlan 'KubernetesOfficial'");
  }
}

/**
 * "A CIDR notation IP range from which to assign service cluster IPs. It must not overlap with any
 * Subnet IP ranges." (managedClusters.json, serviceCidr; AKS answers ServiceCidrOverlapExistingSubnetsCidr,
 * SupportArticles-docs error-code-servicecidroverlapexistingsubnetscidr.md). Pod CIDRs of overlay and
 * kubenet must not overlap the node subnet either (azure-cni-overlay.md, "Pod CIDR space must not
 * overlap with the cluster subnet range").
 */
export function checkSubnetRanges(spec: ClusterSpec, subnetPrefixes: string[]): void {
  const serviceCidr = spec.serviceCidr ?? NETWORK_DEFAULTS.serviceCidr;
  const hit = subnetPrefixes.find((prefix) => overlap(prefix, serviceCidr));
  if (hit) {
    throw new InputError('serviceCidr', `${serviceCidr}${spec.serviceCidr ? '' : " (AKS's default)"} overlaps the subnet's address range ${hit}, and AKS refuses a service CIDR that overlaps a subnet`, 'a range outside the virtual network and its peers, e.g. 172.16.0.0/16');
  }
  if (usesPodCidr(spec.networkPlugin)) {
    const podCidr = spec.podCidr ?? NETWORK_DEFAULTS.podCidr;
    const pod = subnetPrefixes.find((prefix) => overlap(prefix, podCidr));
    if (pod) throw new InputError('podCidr', `${podCidr} overlaps the subnet's address range ${pod}`, 'a range outside the virtual network and its peers, e.g. 192.168.0.0/16');
  }
}

// ---------------------------------------------------------------------------------------------
// Changes of an existing cluster's network that AKS makes in place

export interface NetworkChange {
  input: 'networkPlugin' | 'networkPolicy' | 'outboundType';
  text: string;
  /** AKS cannot make it in place (in this one step). */
  immutable: boolean;
  /** Why not, and what AKS does allow instead. */
  why?: string;
}

export function livePlugin(live: ManagedCluster): NetworkPlugin | undefined {
  const n = live.networkProfile;
  if (!n?.networkPlugin) return undefined;
  return n.networkPlugin === 'azure' && n.networkPluginMode === 'overlay' ? 'azureOverlay' : (n.networkPlugin as NetworkPlugin);
}

export function livePolicy(live: ManagedCluster): string {
  const n = live.networkProfile ?? {};
  return n.networkDataplane === 'cilium' ? 'cilium' : (n.networkPolicy ?? 'none');
}

// Supported migration paths for a bring-your-own VNet, learn.microsoft.com/azure/aks/egress-outboundtype
// ("Updating outboundType after cluster creation"); our clusters always use a custom subnet.
const OUTBOUND_BYO: Record<string, string[]> = {
  loadBalancer: ['userAssignedNATGateway', 'userDefinedRouting'],
  managedNATGateway: [],
  userAssignedNATGateway: ['loadBalancer', 'userDefinedRouting'],
  userDefinedRouting: ['loadBalancer', 'userAssignedNATGateway'],
};

const UPGRADE_DOC = 'learn.microsoft.com/azure/aks/upgrade-aks-ipam-and-dataplane';

/** The network differences, each marked with whether AKS makes it in place. */
export function networkChanges(live: ManagedCluster, spec: ClusterSpec): NetworkChange[] {
  const out: NetworkChange[] = [];
  const fromPlugin = livePlugin(live);
  const toPlugin = spec.networkPlugin;
  const fromPolicy = livePolicy(live);
  const toPolicy = spec.networkPolicy;

  if (fromPlugin && fromPlugin !== toPlugin) {
    // kubenet → Azure CNI Overlay; Azure CNI (node subnet) → Overlay without a policy engine; not back.
    const toOverlay = toPlugin === 'azureOverlay' && (fromPlugin === 'kubenet' || fromPlugin === 'azure');
    const blockedByPolicy = toOverlay && fromPlugin === 'azure' && fromPolicy !== 'none';
    out.push({
      input: 'networkPlugin', text: `network plugin ${fromPlugin} → ${toPlugin}`, immutable: !toOverlay || blockedByPolicy,
      why: !toOverlay
        ? `AKS upgrades kubenet and Azure CNI to Azure CNI Overlay only, and not back (${UPGRADE_DOC})`
        : blockedByPolicy ? `AKS moves Azure CNI to Overlay only without a network policy engine: run once with networkPolicy 'none', then with networkPlugin 'azureOverlay' (${UPGRADE_DOC})` : undefined,
    });
  }

  if (fromPolicy !== toPolicy) {
    let why: string | undefined;
    if (fromPolicy === 'cilium') {
      why = 'the Cilium dataplane cannot be removed from a cluster';
    } else if (toPolicy === 'cilium') {
      // "The cluster uses either Azure CNI Overlay or Azure CNI with dynamic IP allocation" (UPGRADE_DOC).
      if (fromPlugin !== 'azureOverlay') why = `AKS moves a cluster to Azure CNI Powered by Cilium from Azure CNI Overlay only${fromPlugin === 'kubenet' && toPlugin === 'azureOverlay' ? ": run once with the new networkPlugin and the current networkPolicy, then with networkPolicy 'cilium'" : ''} (${UPGRADE_DOC})`;
      else if (toPlugin !== 'azureOverlay') why = 'Cilium needs Azure CNI';
    } else if (fromPolicy !== 'none' && toPolicy !== 'none') {
      // Install on a cluster without one, or uninstall (networkPolicy none): use-network-policies.md.
      why = `AKS installs Azure Network Policy Manager or Calico on a cluster without a policy engine and uninstalls them: run once with networkPolicy 'none', then with '${toPolicy}' (learn.microsoft.com/azure/aks/use-network-policies)`;
    }
    out.push({ input: 'networkPolicy', text: `network policy ${fromPolicy} → ${toPolicy}`, immutable: !!why, why });
  }

  const fromOutbound = live.networkProfile?.outboundType ?? 'loadBalancer';
  if (fromOutbound !== spec.outboundType) {
    const allowed = OUTBOUND_BYO[fromOutbound] ?? [];
    const ok = allowed.includes(spec.outboundType);
    out.push({
      input: 'outboundType', text: `outbound type ${fromOutbound} → ${spec.outboundType}`, immutable: !ok,
      why: ok ? undefined : `with your own subnet AKS migrates ${fromOutbound} only to ${allowed.join(' or ') || 'nothing'} (learn.microsoft.com/azure/aks/egress-outboundtype)`,
    });
  }
  return out;
}
