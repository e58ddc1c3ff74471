// The extra-properties file holds the ARM `properties` object as the REST API documents it; the
// SDK (25.x) takes a flattened model whose serializer silently drops any key it does not know and
// spells a few keys differently. So the file is checked against what the SDK can send, and
// renamed into the model's spelling, before anything is written.

/** Writable ManagedCluster properties of api-version 2026-04-01 (the SDK's serializer list). */
const WRITABLE = new Set([
  'kubernetesVersion', 'dnsPrefix', 'fqdnSubdomain', 'agentPoolProfiles', 'linuxProfile', 'windowsProfile',
  'servicePrincipalProfile', 'addonProfiles', 'podIdentityProfile', 'oidcIssuerProfile', 'nodeResourceGroup',
  'nodeResourceGroupProfile', 'enableRBAC', 'supportPlan', 'networkProfile', 'aadProfile', 'autoUpgradeProfile',
  'upgradeSettings', 'autoScalerProfile', 'apiServerAccessProfile', 'diskEncryptionSetID', 'identityProfile',
  'privateLinkResources', 'disableLocalAccounts', 'httpProxyConfig', 'securityProfile', 'storageProfile',
  'ingressProfile', 'publicNetworkAccess', 'workloadAutoScalerProfile', 'azureMonitorProfile', 'serviceMeshProfile',
  'metricsProfile', 'nodeProvisioningProfile', 'bootstrapProfile', 'aiToolchainOperatorProfile', 'hostedSystemProfile',
  'status',
]);

const READ_ONLY = new Set([
  'provisioningState', 'powerState', 'maxAgentPools', 'currentKubernetesVersion', 'fqdn', 'privateFQDN',
  'azurePortalFQDN', 'resourceUID',
]);

/** Wire spelling -> model spelling, wherever the key appears. */
const MODEL_NAMES: Record<string, string> = {
  enableRBAC: 'enableRbac',
  enableAzureRBAC: 'enableAzureRbac',
  enableFIPS: 'enableFips',
  enablePrivateClusterPublicFQDN: 'enablePrivateClusterPublicFqdn',
  enableVTPM: 'enableVtpm',
};

export class ExtraPropertiesError extends Error {}

/** Checks the file's object and returns it in the SDK model's spelling. */
export function extraPropertiesModel(properties: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(properties)) {
    if (READ_ONLY.has(key)) throw new ExtraPropertiesError(`'${key}' is read-only; Azure sets it`);
    if (!WRITABLE.has(key) && !WRITABLE.has(Object.entries(MODEL_NAMES).find(([, m]) => m === key)?.[0] ?? '')) {
      throw new ExtraPropertiesError(`'${key}' is not a ManagedCluster property this task can set (api-version 2026-04-01)`);
    }
  }
  return renamed(properties) as Record<string, unknown>;
}

function renamed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renamed);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [MODEL_NAMES[k] ?? k, renamed(v)]));
}
