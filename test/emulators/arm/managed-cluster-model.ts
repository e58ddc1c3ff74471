// The ManagedCluster contract (2026-04-01): what a PUT must contain, what AKS refuses, and the
// resource AKS answers with (defaults filled, read-only fields computed, secrets removed). The
// response shapes follow the official examples kept in test/emulators/fixtures/aks.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { armErrors } from './arm-errors.js';
import { checkAutoscale, checkIdentity, checkNetwork, checkNetworkChange, checkPoolVersions, effectiveNetworkProfile, ruleErrors } from './cluster-rules.js';
import { compareVersions, resolveKubernetesVersion, supportPlansOf, type KubernetesMinorVersion } from './kubernetes-versions.js';

type Json = Record<string, unknown>;

export interface ManagedClusterContext {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Tenant of the subscription: the default aadProfile.tenantID. */
  tenantId: string;
  versions: KubernetesMinorVersion[];
  subnetExists(subscriptionId: string, resourceGroup: string, vnet: string, subnet: string): boolean;
  /** Address prefixes of a subnet, by resource id (undefined when unknown). */
  subnetPrefixes?(subnetId: string): string[] | undefined;
  /** A user-assigned identity the emulator holds, by resource id. */
  userAssignedIdentity?(id: string): { clientId: string; principalId: string } | undefined;
  /** The stored resource when this PUT updates an existing cluster. */
  existing?: Json;
}

export interface ManagedClusterPut {
  resource: Json;
  kubernetesVersion: string;
  entraId: boolean;
}

const agentPoolName = /^[a-z][a-z0-9]{0,11}$/;
const dnsPrefixPattern = /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$/;
const subnetIdPattern = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)\/subnets\/([^/]+)$/i;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

function hash8(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 8);
}

function withoutSecrets(properties: Json): Json {
  const copy = structuredClone(properties);
  if (isObject(copy.servicePrincipalProfile)) delete copy.servicePrincipalProfile.secret;
  if (isObject(copy.windowsProfile)) delete copy.windowsProfile.adminPassword;
  return copy;
}

function validateAgentPools(pools: unknown, context: ManagedClusterContext): Json[] {
  if (!Array.isArray(pools) || pools.length === 0) throw armErrors.noSystemPool();
  const names = new Set<string>();
  pools.forEach((pool, index) => {
    if (!isObject(pool)) throw armErrors.invalidParameter(`The value of parameter agentPoolProfiles[${index}] is invalid.`, `agentPoolProfiles[${index}]`);
    const name = String(pool.name ?? '');
    if (!agentPoolName.test(name)) {
      throw armErrors.invalidParameter(`The agent pool name '${name}' is invalid: it must start with a lowercase letter, have max length of 12, and only have characters a-z0-9.`, `agentPoolProfiles[${index}].name`);
    }
    if (names.has(name)) throw armErrors.invalidParameter(`Agent pool name '${name}' is used more than once.`, `agentPoolProfiles[${index}].name`);
    names.add(name);
    if (pool.count !== undefined && (typeof pool.count !== 'number' || pool.count < 0 || pool.count > 1000)) {
      throw armErrors.invalidParameter(`The value of parameter agentPoolProfile.count is invalid. Please see https://aka.ms/aks-naming-rules for more details.`, `agentPoolProfiles[${index}].count`);
    }
    if (typeof pool.vnetSubnetID === 'string') {
      const match = subnetIdPattern.exec(pool.vnetSubnetID);
      if (!match) throw armErrors.linkedInvalidPropertyId(pool.vnetSubnetID, `properties.agentPoolProfiles[${index}].vnetSubnetID`);
      const [, subscriptionId, resourceGroup, vnet, subnet] = match;
      if (!context.subnetExists(subscriptionId, resourceGroup, vnet, subnet)) throw armErrors.subnetNotFound(subnet, vnet, resourceGroup, subscriptionId);
    }
  });
  const systemPools = pools.filter((pool) => String((pool as Json).mode ?? '').toLowerCase() === 'system');
  if (systemPools.length === 0) throw armErrors.noSystemPool();
  if (systemPools.some((pool) => (pool as Json).count === 0)) {
    throw armErrors.invalidParameter('System node pools must have at least one node.', 'agentPoolProfiles.count');
  }
  return pools as Json[];
}

/** Validates a PUT body against the contract and returns the resource AKS would store. */
export function managedClusterFromPut(body: unknown, context: ManagedClusterContext): ManagedClusterPut {
  if (!isObject(body)) throw armErrors.invalidRequestContent('The request body must be a JSON object.');
  if (typeof body.location !== 'string' || !body.location.trim()) throw armErrors.locationRequired();
  const location = normalizeLocation(body.location);
  const existing = context.existing;
  const existingProperties = (existing?.properties ?? {}) as Json;
  if (existing && existing.location !== location) {
    throw armErrors.invalidResourceLocation(context.name, String(existing.location), context.resourceGroup, location);
  }
  const properties = isObject(body.properties) ? body.properties : {};

  const dnsPrefix = typeof properties.dnsPrefix === 'string' && properties.dnsPrefix ? properties.dnsPrefix : undefined;
  const fqdnSubdomain = typeof properties.fqdnSubdomain === 'string' && properties.fqdnSubdomain ? properties.fqdnSubdomain : undefined;
  if ((dnsPrefix === undefined) === (fqdnSubdomain === undefined)) {
    throw armErrors.invalidParameter('Exactly one of dnsPrefix and fqdnSubdomain must be specified.', 'properties.dnsPrefix');
  }
  if (dnsPrefix && !dnsPrefixPattern.test(dnsPrefix)) {
    throw armErrors.invalidParameter(`DNS prefix '${dnsPrefix}' is invalid. DNS prefix must contain between 1 and 54 characters, only alphanumerics and hyphens, and start and end with an alphanumeric character.`, 'properties.dnsPrefix');
  }
  if (existing && (existingProperties.dnsPrefix !== dnsPrefix || existingProperties.fqdnSubdomain !== fqdnSubdomain)) {
    throw armErrors.propertyChangeNotAllowed(dnsPrefix !== undefined ? 'dnsPrefix' : 'fqdnSubdomain');
  }

  const pools = validateAgentPools(properties.agentPoolProfiles, context);
  checkAutoscale(pools);
  checkIdentity(body.identity);

  const requested = typeof properties.kubernetesVersion === 'string' && properties.kubernetesVersion ? properties.kubernetesVersion : undefined;
  const current = existingProperties.currentKubernetesVersion as string | undefined;
  const kubernetesVersion = requested === undefined && current ? current : resolveKubernetesVersion(context.versions, requested);
  if (!kubernetesVersion) throw armErrors.versionNotSupported(requested ?? '');
  if (current && compareVersions(kubernetesVersion, current) < 0) throw armErrors.versionDowngrade(current, kubernetesVersion);
  for (const pool of pools) {
    if (typeof pool.orchestratorVersion === 'string' && pool.orchestratorVersion && !resolveKubernetesVersion(context.versions, pool.orchestratorVersion)) {
      throw armErrors.versionNotSupported(pool.orchestratorVersion);
    }
  }
  checkPoolVersions(pools.map((pool) => ({ ...pool, orchestratorVersion: typeof pool.orchestratorVersion === 'string' && pool.orchestratorVersion ? resolveKubernetesVersion(context.versions, pool.orchestratorVersion) : kubernetesVersion })), kubernetesVersion);
  // Long-term support: a version offered only with the AKSLongTermSupport plan needs the Premium
  // tier and that plan; the plan needs the Premium tier (see cluster-rules.ts for the sources).
  const tier = String((isObject(body.sku) ? body.sku.tier : undefined) ?? 'Free');
  const supportPlan = String(properties.supportPlan ?? 'KubernetesOfficial');
  if (supportPlan === 'AKSLongTermSupport' && tier !== 'Premium') throw ruleErrors.ltsNeedsPremium(tier);
  if (!supportPlansOf(context.versions, kubernetesVersion).includes('KubernetesOfficial') && !(tier === 'Premium' && supportPlan === 'AKSLongTermSupport')) {
    throw ruleErrors.ltsOnlyVersion(context.name, kubernetesVersion);
  }

  const aadProfile = isObject(properties.aadProfile) ? properties.aadProfile : undefined;
  const entraId = aadProfile?.managed === true;
  if (isObject(existingProperties.aadProfile) && existingProperties.aadProfile.managed === true && !entraId) throw armErrors.aadCannotBeDisabled();
  if (properties.disableLocalAccounts === true && !entraId) throw armErrors.localAccountsNeedAad();

  const hash = (existingProperties.fqdn as string | undefined)?.split('.')[0].split('-').at(-1) ?? hash8(context.subscriptionId, context.resourceGroup, context.name, randomUUID());
  const prefix = dnsPrefix ?? fqdnSubdomain!;
  const tenantId = context.tenantId;
  const identity = isObject(body.identity) ? structuredClone(body.identity) : undefined;
  if (identity && String(identity.type).toLowerCase() === 'systemassigned') {
    identity.principalId = (existing?.identity as Json | undefined)?.principalId ?? randomUUID();
    identity.tenantId = tenantId;
  }
  if (identity && isObject(identity.userAssignedIdentities)) {
    for (const [id, value] of Object.entries(identity.userAssignedIdentities)) {
      const known = context.userAssignedIdentity?.(id);
      identity.userAssignedIdentities[id] = { clientId: known?.clientId ?? randomUUID(), principalId: known?.principalId ?? randomUUID(), ...(isObject(value) ? value : {}) };
    }
  }
  const nodeResourceGroup = (properties.nodeResourceGroup as string | undefined) ?? `MC_${context.resourceGroup}_${context.name}_${location}`;

  const requestNetwork = effectiveNetworkProfile(isObject(properties.networkProfile) ? properties.networkProfile : {});
  const networkPlugin = (requestNetwork.networkPlugin as string | undefined) ?? 'kubenet';
  const overlay = networkPlugin === 'azure' && requestNetwork.networkPluginMode === 'overlay';
  const requestLoadBalancer = isObject(requestNetwork.loadBalancerProfile) ? requestNetwork.loadBalancerProfile : {};
  const managedOutboundIPs = (requestLoadBalancer.managedOutboundIPs as Json | undefined) ?? { count: 1 };
  const outboundCount = Number(managedOutboundIPs.count ?? 1);
  const networkProfile: Json = {
    networkPlugin,
    ...(networkPlugin === 'kubenet' || overlay ? { podCidr: '10.244.0.0/16', podCidrs: ['10.244.0.0/16'] } : {}),
    serviceCidr: '10.0.0.0/16',
    serviceCidrs: ['10.0.0.0/16'],
    dnsServiceIP: '10.0.0.10',
    outboundType: 'loadBalancer',
    loadBalancerSku: 'standard',
    ipFamilies: ['IPv4'],
    ...requestNetwork,
    loadBalancerProfile: {
      allocatedOutboundPorts: 0,
      idleTimeoutInMinutes: 30,
      backendPoolType: 'nodeIPConfiguration',
      ...requestLoadBalancer,
      managedOutboundIPs,
      effectiveOutboundIPs: Array.from({ length: outboundCount }, (_, index) => ({
        id: `/subscriptions/${context.subscriptionId}/resourceGroups/${nodeResourceGroup}/providers/Microsoft.Network/publicIPAddresses/${randomUUID()}-${index}`,
      })),
    },
  };

  checkNetwork(networkProfile, pools, { subnetPrefixes: (id) => context.subnetPrefixes?.(id) });
  if (isObject(existingProperties.networkProfile)) checkNetworkChange(existingProperties.networkProfile, networkProfile, pools);

  const existingPools = ((existingProperties.agentPoolProfiles as Json[] | undefined) ?? []);
  const agentPoolProfiles = pools.map((pool) => {
    const previous = existingPools.find((candidate) => candidate.name === pool.name);
    const version = (typeof pool.orchestratorVersion === 'string' && pool.orchestratorVersion ? resolveKubernetesVersion(context.versions, pool.orchestratorVersion) : undefined) ?? kubernetesVersion;
    return {
      count: 3,
      vmSize: 'Standard_DS2_v2',
      osDiskSizeGB: 128,
      osDiskType: 'Managed',
      kubeletDiskType: 'OS',
      maxPods: networkPlugin === 'kubenet' ? 110 : overlay ? 250 : 30,
      type: 'VirtualMachineScaleSets',
      enableAutoScaling: false,
      enableNodePublicIP: false,
      enableEncryptionAtHost: false,
      enableFIPS: false,
      osType: 'Linux',
      osSKU: 'Ubuntu',
      upgradeSettings: { maxSurge: '10%' },
      nodeImageVersion: (previous?.nodeImageVersion as string | undefined) ?? 'AKSUbuntu-2204gen2containerd-202611.01.0',
      ...pool,
      orchestratorVersion: (pool.orchestratorVersion as string | undefined) || version,
      currentOrchestratorVersion: version,
      powerState: { code: 'Running' },
      eTag: randomBytes(6).toString('hex'),
    };
  });

  const resource: Json = {
    id: `/subscriptions/${context.subscriptionId}/resourceGroups/${context.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${context.name}`,
    name: context.name,
    type: 'Microsoft.ContainerService/managedClusters',
    location,
    ...(isObject(body.tags) ? { tags: body.tags } : {}),
    sku: isObject(body.sku) ? body.sku : { name: 'Base', tier: 'Free' },
    ...(identity ? { identity } : {}),
    eTag: randomBytes(6).toString('hex'),
    properties: {
      enableRBAC: true,
      supportPlan: 'KubernetesOfficial',
      disableLocalAccounts: false,
      maxAgentPools: 100,
      ...withoutSecrets(properties),
      kubernetesVersion: requested ?? kubernetesVersion,
      currentKubernetesVersion: kubernetesVersion,
      fqdn: `${prefix}-${hash}.hcp.${location}.azmk8s.io`,
      azurePortalFQDN: `${prefix}-${hash}.portal.hcp.${location}.azmk8s.io`,
      nodeResourceGroup,
      agentPoolProfiles,
      networkProfile,
      powerState: { code: 'Running' },
      resourceUID: (existingProperties.resourceUID as string | undefined) ?? randomBytes(12).toString('hex'),
      ...(aadProfile ? { aadProfile: { adminGroupObjectIDs: null, enableAzureRBAC: false, ...aadProfile, tenantID: (aadProfile.tenantID as string | undefined) ?? tenantId } } : {}),
      ...(identity && !isObject(properties.servicePrincipalProfile) ? { servicePrincipalProfile: { clientId: 'msi' } } : {}),
      ...(identity ? {
        identityProfile: {
          // The kubelet identity lives as long as the cluster: updates keep it.
          kubeletidentity: ((existingProperties.identityProfile as Json | undefined)?.kubeletidentity as Json | undefined) ?? {
            resourceId: `/subscriptions/${context.subscriptionId}/resourceGroups/${nodeResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${context.name}-agentpool`,
            clientId: randomUUID(),
            objectId: randomUUID(),
          },
        },
      } : {}),
    },
  };
  // AKS publishes an issuer URL per cluster once the OIDC issuer is on, and keeps it across updates.
  const oidc = (resource.properties as Json).oidcIssuerProfile;
  if (isObject(oidc) && oidc.enabled === true) {
    const previous = (existingProperties.oidcIssuerProfile as Json | undefined)?.issuerURL;
    oidc.issuerURL = previous ?? `https://${location}.oic.prod-aks.azure.com/${tenantId}/${randomUUID()}/`;
  }
  return { resource, kubernetesVersion, entraId };
}
