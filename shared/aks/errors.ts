// ARM and Entra ID failures as the user can act on them: the code, Azure's message, the input the
// failure concerns, and for the common ones what to do.
import { TaskError } from '../pipeline/errors';

interface AzureFailure {
  code: string;
  message: string;
  status?: number;
  target?: string;
}

const ROLE_HINT = "Grant the service connection's service principal (and, for a user-assigned cluster identity, that identity) the 'Network Contributor' role on the subnet: az role assignment create --role 'Network Contributor' --assignee <object id> --scope <subnetId>.";

/** Known codes: the input they concern and what to do. */
const KNOWN: Record<string, { input: string; hint: string }> = {
  LinkedAuthorizationFailed: { input: 'subnetId', hint: ROLE_HINT },
  SubnetNotFound: { input: 'subnetId', hint: 'Check the subnet resource ID; the subnet must exist before the cluster is created.' },
  InvalidSubnet: { input: 'subnetId', hint: 'Check the subnet: it needs room for the nodes and must not be delegated to another service.' },
  LinkedInvalidPropertyId: { input: 'subnetId', hint: 'Give the full subnet resource ID.' },
  QuotaExceeded: { input: 'systemPoolVmSize', hint: 'Request a vCPU quota increase for this VM family in the location (Subscriptions > Usage + quotas), or choose a smaller VM size or node count.' },
  ErrCode_InsufficientVCPUQuota: { input: 'systemPoolVmSize', hint: 'Request a vCPU quota increase for this VM family in the location, or choose a smaller VM size or node count.' },
  SkuNotAvailable: { input: 'systemPoolVmSize', hint: 'Choose a VM size offered in this location and its zones (az vm list-skus -l <location>).' },
  ResourceGroupNotFound: { input: 'resourceGroup', hint: 'Create the resource group first, or fix its name.' },
  AgentPoolK8sVersionNotSupported: { input: 'kubernetesVersion', hint: "Choose a version the location offers (az aks get-versions -l <location>), or 'latest'." },
  NotAllowedK8sVersionDowngrading: { input: 'kubernetesVersion', hint: "Keep the running version or newer, or use mode 'recreate'." },
  OperationNotAllowed: { input: 'clusterName', hint: 'Another operation is running on the cluster. Wait for it to finish (Azure portal > the cluster > Activity log) and run the step again.' },
  Conflict: { input: 'clusterName', hint: 'The name, DNS prefix or node resource group is already in use, or another operation holds the cluster. Choose another name or wait and run the step again.' },
  DnsPrefixAlreadyTaken: { input: 'dnsPrefix', hint: 'Choose another DNS prefix.' },
  NodeResourceGroupAlreadyExists: { input: 'clusterName', hint: 'A resource group with the node resource group name exists already; delete it or choose another cluster name.' },
  PropertyChangeNotAllowed: { input: 'clusterName', hint: "AKS cannot change this in place; use mode 'recreate' or keep the current value." },
  InvalidResourceLocation: { input: 'location', hint: "A cluster of this name exists in another location; use that location or another name." },
  LocationNotAvailableForResourceType: { input: 'location', hint: 'Choose a location where AKS is available.' },
  AuthorizationFailed: { input: 'azureSubscription', hint: "Grant the service connection's service principal 'Contributor' on the resource group (and 'Network Contributor' on the subnet)." },
  SubscriptionNotFound: { input: 'azureSubscription', hint: 'Check the subscription of the service connection.' },
  InvalidAuthenticationTokenTenant: { input: 'azureSubscription', hint: "The service connection's tenant does not own the subscription; fix the service connection." },
  ExpiredAuthenticationToken: { input: 'azureSubscription', hint: 'Run the step again; if it persists, check the agent clock.' },
  TooManyRequests: { input: 'azureSubscription', hint: 'Azure Resource Manager kept throttling the requests; run the step again later.' },
  MustDefineAtLeastOneSystemPool: { input: 'systemPoolName', hint: 'The cluster needs a system node pool.' },
  DnsServiceIpOutOfServiceCidr: { input: 'dnsServiceIp', hint: 'Choose a DNS service IP inside serviceCidr.' },
  ServiceCidrOverlapExistingSubnetsCidr: { input: 'serviceCidr', hint: 'Choose a service CIDR outside the virtual network and its peers, e.g. 172.16.0.0/16.' },
  NetworkPolicyAzureNotSupportedForKubenet: { input: 'networkPolicy', hint: "Use 'calico' with kubenet, or Azure CNI." },
  K8sVersionNotSupported: { input: 'kubernetesVersion', hint: "A version past community support needs tier 'Premium' and supportPlan 'AKSLongTermSupport'; or choose a version with community support (az aks get-versions -l <location>)." },
  NodePoolMcVersionIncompatible: { input: 'kubernetesVersion', hint: 'Node pools may be at most two minor versions behind the control plane and never ahead of it; upgrade the pools that lag (az aks nodepool upgrade) first.' },
  PreconditionFailed: { input: 'clusterName', hint: 'Another writer changed the cluster since it was read. Run the step again: it reads the cluster anew.' },
  PrincipalNotFound: { input: 'grantSubnetAccess', hint: 'The cluster identity is not in Entra ID yet; run the step again in a few minutes.' },
};

/** Inputs a `target` of InvalidParameter or PropertyChangeNotAllowed points at. */
const TARGETS: [RegExp, string][] = [
  [/dnsPrefix/i, 'dnsPrefix'], [/vnetSubnetID|subnet/i, 'subnetId'], [/\.count|agentPoolProfile\.count/i, 'systemPoolCount'],
  [/vmSize/i, 'systemPoolVmSize'], [/agentPoolProfiles.*\.name/i, 'systemPoolName'], [/kubernetesVersion|orchestratorVersion/i, 'kubernetesVersion'],
  [/serviceCidr/i, 'serviceCidr'], [/dnsServiceIP/i, 'dnsServiceIp'], [/podCidr/i, 'podCidr'], [/networkPlugin/i, 'networkPlugin'],
  [/networkPolicy/i, 'networkPolicy'], [/outboundType/i, 'outboundType'], [/aadProfile/i, 'entraId'], [/location/i, 'location'],
];

const NETWORK_HINT = "Check that the agent reaches the service connection's Entra ID authority (login.microsoftonline.com in Azure Cloud) and Resource Manager (management.azure.com), directly or through the agent's proxy.";

const AADSTS_HINTS: Record<string, string> = {
  '7000215': 'The client secret is wrong; update the service connection with a valid secret.',
  '7000222': 'The client secret has expired; create a new one and update the service connection.',
  '700027': 'The certificate is not registered on the app registration, or has expired; upload it or update the service connection.',
  '700016': 'The app registration does not exist in this tenant; check the service connection.',
  '70021': "No federated credential of the app registration matches this service connection's issuer and subject; add it (Entra ID > App registrations > Certificates & secrets > Federated credentials).",
  '700024': 'The federated token has expired; run the step again.',
  '90002': "The tenant does not exist; check the service connection's tenant ID.",
};

function failureOf(error: unknown): AzureFailure | undefined {
  const e = error as { code?: string; statusCode?: number; message?: string; details?: { error?: { target?: string } } } | undefined;
  if (!e?.message) return undefined;
  // core-lro reports a failed operation only in its message: "The long-running operation has failed. <code>. <message>"
  const lro = /^The long-running operation has failed\. ([\w.-]+)\. ([\s\S]*)$/.exec(e.message);
  if (lro) return { code: lro[1], message: lro[2] };
  if (e.code && typeof e.statusCode === 'number') return { code: e.code, message: e.message, status: e.statusCode, target: e.details?.error?.target };
  return undefined;
}

/** Failures a long-running operation reports with code and message only (no target): known by their text. */
const BY_MESSAGE: [RegExp, string, string?][] = [
  [/Outbound type is managedNATGateway/i, 'outboundType', "Use 'userAssignedNATGateway' or 'loadBalancer' with your own subnet."],
  [/Cilium dataplane requires|dataplane cilium requires/i, 'networkPolicy'],
  [/count of user assigned identity/i, 'userAssignedIdentityId', 'A cluster has exactly one user-assigned identity.'],
  [/Power State\(Stopped\)/i, 'clusterName', 'Start the cluster (az aks start) and run the step again, or use mode \'recreate\'.'],
  [/Microsoft\.Authorization\/roleAssignments\/write/i, 'grantSubnetAccess', "Grant the service connection 'Role Based Access Control Administrator' on the subnet, or set grantSubnetAccess to false and grant the cluster identity 'Network Contributor' yourself."],
];

function inputFor(f: AzureFailure): string | undefined {
  const known = BY_MESSAGE.find(([re]) => re.test(f.message));
  if (known) return known[1];
  if (f.code === 'AuthorizationFailed' && /Microsoft\.Network\/virtualNetworks/i.test(f.message)) return 'subnetId';
  if (/quota/i.test(f.message) && f.code !== 'AuthorizationFailed') return 'systemPoolVmSize';
  if ((f.code === 'InvalidParameter' || f.code === 'PropertyChangeNotAllowed') && f.target) return TARGETS.find(([re]) => re.test(f.target!))?.[1];
  if (f.code === 'BadRequest' && /local accounts/i.test(f.message)) return 'disableLocalAccounts';
  return KNOWN[f.code]?.input;
}

function hintFor(f: AzureFailure): string | undefined {
  const known = BY_MESSAGE.find(([re]) => re.test(f.message));
  if (known?.[2]) return known[2];
  if (f.code === 'AuthorizationFailed' && /Microsoft\.Network\/virtualNetworks/i.test(f.message)) return ROLE_HINT;
  if (/quota/i.test(f.message) && !KNOWN[f.code]?.hint.includes('quota')) return KNOWN.QuotaExceeded.hint;
  return KNOWN[f.code]?.hint;
}

/**
 * Turns an error of an Azure call into a TaskError naming the code, Azure's message and the input
 * it concerns; anything else (cancellation, programming errors) is returned unchanged.
 */
export function azureError(error: unknown, action: string): unknown {
  if (error instanceof TaskError || (error as Error)?.name === 'AbortError') return error;
  const e = error as { name?: string; message?: string; code?: string; statusCode?: number; errorCode?: string };
  const aadsts = /AADSTS(\d+)/.exec(String(e?.message ?? ''));
  // @azure/identity's own errors, and MSAL's (ClientAuthError network_error, ...) that it passes on.
  if (aadsts || e?.errorCode || /Authentication(Required)?Error|CredentialUnavailableError|AuthError$/.test(e?.name ?? '')) {
    const detail = String((error as Error).message).split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 3).join(' ');
    return new TaskError(`${action} failed (input 'azureSubscription'): signing in with the service connection failed: ${detail}`,
      (aadsts && AADSTS_HINTS[aadsts[1]]) ?? (/network/i.test(detail) ? NETWORK_HINT : 'Check the service connection in Project settings > Service connections.'), { cause: error });
  }
  if (e?.code && e.statusCode === undefined && /^E[A-Z_]+$/.test(e.code)) {
    return new TaskError(`${action} failed: Azure Resource Manager could not be reached: ${e.message}`, NETWORK_HINT, { cause: error });
  }
  // An answer cut off or stalled half-way, still so after the retries (azure/transient-policy.ts).
  if (e?.name === 'RestError' && e.statusCode === undefined) {
    return new TaskError(`${action} failed: the answer of Azure Resource Manager could not be read (${e.message})`, 'The connection dropped while the answer came; run the step again. If it keeps happening, check the agent\'s proxy and network.', { cause: error });
  }
  const f = failureOf(error);
  if (!f) return error;
  const input = inputFor(f);
  return new TaskError(`${action} failed${input ? ` (input '${input}')` : ''}: ${f.code}: ${f.message.trim().replace(/([^.])$/, '$1.')}`, hintFor(f), { cause: error });
}

export function isNotFound(error: unknown): boolean {
  const e = error as { statusCode?: number; code?: string };
  return e?.statusCode === 404 && e.code !== 'ResourceGroupNotFound' && e.code !== 'SubscriptionNotFound';
}
