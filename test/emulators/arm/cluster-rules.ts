// AKS's cross-field rules on a ManagedCluster PUT, with the error codes and messages AKS answers
// with. Each rule names where it comes from; where a source gives the rule but not AKS's exact
// wording or code, the comment says so and the text is the emulator's own.
import { ArmError, armErrors } from './arm-errors.js';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// IPv4 ranges

export interface Range { start: number; end: number; text: string }

const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

export function parseCidr(text: string): Range | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!m || m[1].split('.').some((o) => Number(o) > 255)) return undefined;
  const bits = m[2] === undefined ? 32 : Number(m[2]);
  if (bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipToInt(m[1]) / size) * size;
  return { start, end: start + size - 1, text };
}

export const overlaps = (a: Range, b: Range) => a.start <= b.end && b.start <= a.end;

// ---------------------------------------------------------------------------------------------
// Errors AKS answers with

export const ruleErrors = {
  // kubernetes-sigs/cluster-api-provider-azure#5429 and MicrosoftDocs/azure-docs#83858 quote AKS:
  // {"code":"InvalidParameter","message":"Outbound type is managedNATGateway but agent pool '…' is using
  // custom VNet, which is not allowed.","subcode":"ManagedNATGatewayWithCustomVNetNotAllowed","target":"properties.vnetSubnetID"}
  managedNatWithCustomVnet: (pool: string) =>
    new ArmError(400, 'InvalidParameter', `Outbound type is managedNATGateway but agent pool '${pool}' is using custom VNet, which is not allowed.`, {}, 'properties.vnetSubnetID', 'ManagedNATGatewayWithCustomVNetNotAllowed'),
  // Azure/AKS-Construction#535, Azure/bicep-registry-modules#3361: BadRequest, subcode
  // CiliumDataplaneRequiresNetworkPolicyCilium, target networkProfile.networkPolicy.
  ciliumNeedsCiliumPolicy: () =>
    new ArmError(400, 'BadRequest', 'Cilium dataplane requires network policy cilium.', {}, 'networkProfile.networkPolicy', 'CiliumDataplaneRequiresNetworkPolicyCilium'),
  // The rule: Azure CNI Powered by Cilium exists for Azure CNI only (overlay, pod subnet or node
  // subnet), learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium; the Bicep module of the
  // AKS team documents networkDataplane as "Not compatible with kubenet network plugin". AKS's
  // own code and wording for this refusal were not found: the text is the emulator's.
  ciliumNeedsAzureCni: (plugin: string) =>
    new ArmError(400, 'InvalidParameter', `Network dataplane cilium requires network plugin azure; network plugin '${plugin}' is not supported.`, {}, 'networkProfile.networkDataplane'),
  // coder/docs#1091 quotes AKS: (NetworkPolicyAzureNotSupportedForKubenet) NetworkPolicy azure is
  // not supported for network plugin kubenet, Target: networkProfile.networkPolicy.
  azurePolicyWithKubenet: () =>
    new ArmError(400, 'NetworkPolicyAzureNotSupportedForKubenet', 'NetworkPolicy azure is not supported for network plugin kubenet', {}, 'networkProfile.networkPolicy'),
  // MicrosoftDocs/SupportArticles-docs …/error-code-dnsserviceIpoutofservicecidr.md.
  dnsOutOfServiceCidr: (dns: string, serviceCidr: string) =>
    new ArmError(400, 'DnsServiceIpOutOfServiceCidr', `The DNS service IP ${dns} is out of the range defined by service CIDR ${serviceCidr}.`, {}, 'networkProfile.dnsServiceIP'),
  // The rule: "Don't use the first IP address in your address range, such as .1. The first address
  // … is used for the kubernetes.default.svc.cluster.local address" (AKS docs, Azure CNI deployment
  // parameters); Azure/AKS#2579 (a network address .0 is now refused) and Azure/AKS#762 (pre-flight
  // checks for DNS IP conflicts). AKS's code and wording were not found: the text is the emulator's.
  dnsReservedAddress: (dns: string, serviceCidr: string) =>
    new ArmError(400, 'InvalidParameter', `The DNS service IP ${dns} is reserved in service CIDR ${serviceCidr}: the network address and its first address (used by kubernetes.default.svc) cannot be the DNS service IP.`, {}, 'networkProfile.dnsServiceIP'),
  // MicrosoftDocs/SupportArticles-docs …/error-code-servicecidroverlapexistingsubnetscidr.md.
  serviceCidrOverlap: (serviceCidr: string, subnet: string) =>
    new ArmError(400, 'ServiceCidrOverlapExistingSubnetsCidr', `The specified service CIDR ${serviceCidr} is conflicted with an existing subnet CIDR ${subnet}`, {}, 'networkProfile.serviceCIDR'),
  // kubernetes-sigs/cluster-api-provider-azure#5947 quotes AKS's message; Azure/azure-cli#22442
  // quotes the InvalidParameter code with target agentPoolProfile.count.
  countOutsideAutoscale: (count: number, min: number, max: number) =>
    new ArmError(400, 'InvalidParameter', `agentPoolProfile.count was ${count}. It must be greater or equal to minCount:${min} and less than or equal to maxCount:${max}. If allowedMinCount was expected to be 0 but is 1: 1) The nodepool is a VMAS pool. 2) api Version is less than 2020-03-01. 3) The node is a system pool.`, {}, 'agentPoolProfile.count'),
  // The rule (minCount <= maxCount) is AKS's; its wording for it was not found.
  minAboveMax: (min: number, max: number) =>
    new ArmError(400, 'InvalidParameter', `agentPoolProfile.minCount ${min} must be less than or equal to agentPoolProfile.maxCount ${max}.`, {}, 'agentPoolProfile.minCount'),
  // Azure/secrets-store-csi-driver-provider-azure#1713 and apecloud/kubeblocks#10136 quote AKS.
  ltsOnlyVersion: (cluster: string, version: string) =>
    new ArmError(400, 'K8sVersionNotSupported', `Managed cluster ${cluster} is on version ${version}, which is only available for Long-Term Support (LTS). If you intend to onboard to LTS, please ensure the cluster is in Premium tier and LTS support plan (see https://aka.ms/aks/enable-lts). Otherwise, use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list`),
  // The rule: "Enabling LTS requires moving your cluster to the Premium tier and explicitly selecting
  // the LTS support plan" (learn.microsoft.com/azure/aks/long-term-support); the wording is the
  // Azure CLI's own check (Azure/azure-cli-extensions#9785), AKS's code was not found.
  ltsNeedsPremium: (tier: string) =>
    new ArmError(400, 'BadRequest', `AKS Long Term Support is only available for Premium tier clusters; the cluster's tier is ${tier}.`, {}, 'properties.supportPlan'),
  // hashicorp/terraform-provider-azurerm#16890 quotes AKS's message for two user-assigned identities.
  oneUserAssignedIdentity: (count: number) =>
    new ArmError(400, 'BadRequest', `The count of user assigned identity specified in identity.userAssignedIdentities is ${count}, while expected value is 1.`, {}, 'identity.userAssignedIdentities'),
  // MicrosoftDocs/SupportArticles-docs …/nodepoolmcversionincompatible-error.md.
  poolAboveControlPlane: (pool: string, control: string) =>
    new ArmError(400, 'NodePoolMcVersionIncompatible', `Node pool version ${pool} and control plane version ${control} are incompatible. Minor version of node pool version ${minorOf(pool)} is bigger than control plane version ${minorOf(control)}. For more information, please check https://aka.ms/version-skew-policy.`),
  poolTooFarBehind: (pool: string, control: string) =>
    new ArmError(400, 'NodePoolMcVersionIncompatible', `Node pool version ${pool} and control plane version ${control} are incompatible. Minor version of node pool cannot be more than 2 versions less than control plane's version. Minor version of node pool is ${minorOf(pool)} and control plane is ${minorOf(control)}. For more information, please check https://aka.ms/version-skew-policy.`),
  // "You can only perform start or delete operations on a stopped AKS cluster" (learn.microsoft.com/
  // azure/aks/start-stop-cluster, "About the cluster stop/start feature"); the message follows the
  // one AKS gives for a stop on a stopped cluster (MicrosoftDocs/azure-docs#85161).
  stopped: (name: string) =>
    new ArmError(409, 'OperationNotAllowed', `Managed cluster ${name} is in Provisioning State(Succeeded) and Power State(Stopped), updating cannot be performed. Only start and delete operations are allowed on a stopped cluster.`),
  // A change AKS cannot make in place (the emulator's PropertyChangeNotAllowed wording).
  networkChange: (property: string, from: string, to: string, why: string) =>
    new ArmError(400, 'PropertyChangeNotAllowed', `Changing property '${property}' from '${from}' to '${to}' is not allowed: ${why}`, {}, `networkProfile.${property}`),
};

const minorOf = (version: string) => Number(version.split('.')[1]);

// ---------------------------------------------------------------------------------------------
// Rules on what a PUT asks for

export interface NetworkContext {
  /** Address prefixes of a subnet the emulator knows, by its resource id. */
  subnetPrefixes(subnetId: string): string[] | undefined;
}

const pluginOf = (n: Json) => `${String(n.networkPlugin ?? 'kubenet')}${n.networkPluginMode === 'overlay' ? '/overlay' : ''}`;

/** The network profile AKS stores for a request: what is ignored is dropped. */
export function effectiveNetworkProfile(requested: Json): Json {
  const plugin = String(requested.networkPlugin ?? 'kubenet');
  const overlay = plugin === 'azure' && requested.networkPluginMode === 'overlay';
  const out = { ...requested };
  // "the pod_cidr only works when network_plugin = kubenet or network_plugin_mode = overlay; … it
  // doesn't take effect … so it's not stored" (AKS service team in hashicorp/terraform-provider-
  // azurerm#20573; #1723: with azure the subnet range is used). AKS ignores it, the Azure CLI
  // refuses it (Azure/azure-cli#26237).
  if (plugin !== 'kubenet' && !overlay) {
    delete out.podCidr;
    delete out.podCidrs;
  }
  return out;
}

export function checkNetwork(network: Json, pools: Json[], context: NetworkContext): void {
  const plugin = String(network.networkPlugin ?? 'kubenet');
  const dataplane = String(network.networkDataplane ?? 'azure');
  const policy = String(network.networkPolicy ?? 'none');
  const customVnetPool = pools.find((pool) => typeof pool.vnetSubnetID === 'string' && pool.vnetSubnetID);
  if (network.outboundType === 'managedNATGateway' && customVnetPool) throw ruleErrors.managedNatWithCustomVnet(String(customVnetPool.name ?? ''));
  if (dataplane === 'cilium' && plugin !== 'azure') throw ruleErrors.ciliumNeedsAzureCni(plugin);
  if (dataplane === 'cilium' && policy !== 'cilium') throw ruleErrors.ciliumNeedsCiliumPolicy();
  if (policy === 'azure' && plugin === 'kubenet') throw ruleErrors.azurePolicyWithKubenet();

  const serviceCidr = typeof network.serviceCidr === 'string' ? network.serviceCidr : undefined;
  const dns = typeof network.dnsServiceIP === 'string' ? network.dnsServiceIP : undefined;
  const service = serviceCidr ? parseCidr(serviceCidr) : undefined;
  if (service && dns) {
    const ip = parseCidr(dns);
    if (ip && (ip.start < service.start || ip.start > service.end)) throw ruleErrors.dnsOutOfServiceCidr(dns, serviceCidr!);
    if (ip && (ip.start === service.start || ip.start === service.start + 1)) throw ruleErrors.dnsReservedAddress(dns, serviceCidr!);
  }
  // "A CIDR notation IP range from which to assign service cluster IPs. It must not overlap with any
  // Subnet IP ranges." (managedClusters.json 2026-04-01, ContainerServiceNetworkProfile.serviceCidr)
  if (service) {
    for (const pool of pools) {
      const prefixes = typeof pool.vnetSubnetID === 'string' ? context.subnetPrefixes(pool.vnetSubnetID) ?? [] : [];
      const hit = prefixes.find((prefix) => { const r = parseCidr(prefix); return r && overlaps(r, service); });
      if (hit) throw ruleErrors.serviceCidrOverlap(serviceCidr!, hit);
    }
  }
}

export function checkAutoscale(pools: Json[]): void {
  for (const pool of pools) {
    if (pool.enableAutoScaling !== true) continue;
    const system = String(pool.mode ?? '').toLowerCase() === 'system';
    const min = Number(pool.minCount ?? (system ? 1 : 0));
    const max = Number(pool.maxCount ?? 1000);
    const count = Number(pool.count ?? 0);
    if (min > max) throw ruleErrors.minAboveMax(min, max);
    if (count < Math.max(min, system ? 1 : 0) || count > max) throw ruleErrors.countOutsideAutoscale(count, Math.max(min, system ? 1 : 0), max);
  }
}

export function checkIdentity(identity: unknown): void {
  if (!isObject(identity) || !isObject(identity.userAssignedIdentities)) return;
  const count = Object.keys(identity.userAssignedIdentities).length;
  if (count > 1) throw ruleErrors.oneUserAssignedIdentity(count);
}

// ---------------------------------------------------------------------------------------------
// What AKS changes in place on an existing cluster's network profile

// Supported outboundType migrations, learn.microsoft.com/azure/aks/egress-outboundtype, "Updating
// outboundType after cluster creation" (MicrosoftDocs/azure-aks-docs articles/aks/egress-outboundtype.md):
// one table for a managed VNet, one for a bring-your-own VNet.
const OUTBOUND_MANAGED_VNET: Record<string, string[]> = {
  loadBalancer: ['managedNATGateway'],
  managedNATGateway: ['loadBalancer'],
  userAssignedNATGateway: [],
};
const OUTBOUND_BYO_VNET: Record<string, string[]> = {
  loadBalancer: ['userAssignedNATGateway', 'userDefinedRouting'],
  managedNATGateway: [],
  userAssignedNATGateway: ['loadBalancer', 'userDefinedRouting'],
  userDefinedRouting: ['loadBalancer', 'userAssignedNATGateway'],
};

export function checkNetworkChange(existing: Json, requested: Json, pools: Json[]): void {
  const byo = pools.some((pool) => typeof pool.vnetSubnetID === 'string' && pool.vnetSubnetID);
  const fromOutbound = String(existing.outboundType ?? 'loadBalancer');
  const toOutbound = String(requested.outboundType ?? 'loadBalancer');
  if (fromOutbound !== toOutbound && !(byo ? OUTBOUND_BYO_VNET : OUTBOUND_MANAGED_VNET)[fromOutbound]?.includes(toOutbound)) {
    throw ruleErrors.networkChange('outboundType', fromOutbound, toOutbound, `AKS supports migrating ${fromOutbound} to ${((byo ? OUTBOUND_BYO_VNET : OUTBOUND_MANAGED_VNET)[fromOutbound] ?? []).join(', ') || 'nothing'} on a ${byo ? 'bring-your-own' : 'managed'} virtual network.`);
  }

  const fromPolicy = String(existing.networkPolicy ?? 'none');
  const toPolicy = String(requested.networkPolicy ?? 'none');
  // Upgrade IPAM modes and dataplane (learn.microsoft.com/azure/aks/upgrade-aks-ipam-and-dataplane):
  // kubenet → Azure CNI Overlay; Azure CNI (node subnet) → Overlay only without a network policy
  // engine; both non-reversible.
  const fromPlugin = pluginOf(existing);
  const toPlugin = pluginOf(requested);
  if (fromPlugin !== toPlugin) {
    const ok = toPlugin === 'azure/overlay' && (fromPlugin === 'kubenet' || (fromPlugin === 'azure' && fromPolicy === 'none'));
    if (!ok) {
      throw ruleErrors.networkChange('networkPlugin', fromPlugin, toPlugin, fromPlugin === 'azure' && toPlugin === 'azure/overlay'
        ? 'uninstall the network policy engine first (networkPolicy none), then upgrade to Azure CNI Overlay.'
        : 'AKS upgrades kubenet and Azure CNI to Azure CNI Overlay only; the upgrade is non-reversible.');
    }
  }
  // Dataplane: an Overlay (or pod subnet) cluster can move to Cilium; the policy engine is then
  // replaced by Cilium. Nothing documents the way back.
  const fromDataplane = String(existing.networkDataplane ?? 'azure');
  const toDataplane = String(requested.networkDataplane ?? 'azure');
  if (fromDataplane !== toDataplane) {
    const podSubnet = pools.some((pool) => typeof pool.podSubnetID === 'string' && pool.podSubnetID);
    const ok = toDataplane === 'cilium' && (fromPlugin === 'azure/overlay' || podSubnet);
    if (!ok) {
      throw ruleErrors.networkChange('networkDataplane', fromDataplane, toDataplane, toDataplane === 'cilium'
        ? 'an existing cluster moves to Azure CNI Powered by Cilium only from Azure CNI Overlay or Azure CNI with a pod subnet.'
        : 'the Cilium dataplane cannot be removed from a cluster.');
    }
  }
  // Network policy engines (learn.microsoft.com/azure/aks/use-network-policies): install Azure NPM or
  // Calico on an existing cluster, uninstall them (networkPolicy none), or replace them by Cilium
  // with the dataplane change above.
  if (fromPolicy !== toPolicy) {
    const ok = (fromPolicy === 'none' && (toPolicy === 'azure' || toPolicy === 'calico'))
      || ((fromPolicy === 'azure' || fromPolicy === 'calico') && toPolicy === 'none')
      || (toPolicy === 'cilium' && toDataplane === 'cilium' && fromDataplane !== 'cilium');
    if (!ok) throw ruleErrors.networkChange('networkPolicy', fromPolicy, toPolicy, 'AKS installs Azure Network Policy Manager or Calico on a cluster without one, uninstalls them, or replaces them by Cilium.');
  }
}

/** Node pool versions against the control plane: not newer, at most two minors behind. */
export function checkPoolVersions(pools: Json[], control: string): void {
  for (const pool of pools) {
    const version = String(pool.orchestratorVersion ?? '');
    if (!version) continue;
    const [pMajor, pMinor, pPatch = 0] = version.split('.').map(Number);
    const [cMajor, cMinor, cPatch = 0] = control.split('.').map(Number);
    if (pMajor > cMajor || (pMajor === cMajor && (pMinor > cMinor || (pMinor === cMinor && pPatch > cPatch)))) throw ruleErrors.poolAboveControlPlane(version, control);
    if (pMajor === cMajor && cMinor - pMinor > 2) throw ruleErrors.poolTooFarBehind(version, control);
  }
}

export { armErrors };
