// shared/aks's pure parts: version resolution, the difference in words, the update body, the
// extra-properties file and Azure's errors. The end-to-end behaviour is in test/e2e/aks-bootstrap.test.ts.
import type { KubernetesVersionListResult, ManagedCluster } from '@azure/arm-containerservice';
import { describe, expect, it } from 'vitest';
import { desiredCluster } from '../../shared/aks/desired-spec';
import { clusterDifferences } from '../../shared/aks/diff';
import { azureError } from '../../shared/aks/errors';
import { extraPropertiesModel } from '../../shared/aks/extra-properties';
import { checkUpgrade, resolveKubernetesVersion } from '../../shared/aks/kubernetes-version';
import type { ClusterSpec } from '../../shared/aks/spec';
import { updateBody } from '../../shared/aks/update-body';
import { TaskError } from '../../shared/pipeline/errors';

const versions: KubernetesVersionListResult = {
  values: [
    { version: '1.33', patchVersions: { '1.33.6': { upgrades: ['1.34.2'] } } },
    { version: '1.34', isDefault: true, patchVersions: { '1.34.1': { upgrades: ['1.34.2', '1.35.0'] }, '1.34.2': { upgrades: ['1.35.0'] } } },
    { version: '1.35', patchVersions: { '1.35.0': { upgrades: ['1.36.3'] } } },
    { version: '1.36', isPreview: true, patchVersions: { '1.36.3': { upgrades: [] } } },
  ],
};

const subnet = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks';
const spec = (over: Partial<ClusterSpec> = {}): ClusterSpec => ({
  location: 'westeurope', kubernetesVersion: 'latest', allowPreviewVersions: false, tier: 'Standard', subnetId: subnet,
  networkPlugin: 'azureOverlay', networkPolicy: 'none', podCidr: '10.244.0.0/16', serviceCidr: '10.0.0.0/16', dnsServiceIp: '10.0.0.10',
  outboundType: 'loadBalancer', privateCluster: false, authorizedIpRanges: [], identityType: 'SystemAssigned', entraId: false,
  adminGroupObjectIds: [], azureRbac: false, disableLocalAccounts: false, oidcIssuer: true, workloadIdentity: true,
  systemPool: { name: 'system', vmSize: 'Standard_D4ds_v5', autoscale: false, count: 3, zones: ['1', '2', '3'] }, tags: { env: 'dev' }, ...over,
});

/** What AKS answers for a created cluster: the request plus what it fills in itself. */
function liveFrom(desired: ManagedCluster, tags = desired.tags): ManagedCluster {
  return {
    ...structuredClone(desired), tags, id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks', provisioningState: 'Succeeded',
    currentKubernetesVersion: desired.kubernetesVersion, fqdn: 'aks-1234.hcp.westeurope.azmk8s.io', nodeResourceGroup: 'MC_rg_aks_westeurope',
    agentPoolProfiles: desired.agentPoolProfiles!.map((p) => ({ ...p, osDiskSizeGB: 128, maxPods: 250, osSKU: 'Ubuntu', nodeImageVersion: 'AKSUbuntu-2204' })),
    networkProfile: { ...desired.networkProfile, loadBalancerProfile: { managedOutboundIPs: { count: 1 } }, serviceCidrs: ['10.0.0.0/16'] },
    identityProfile: { kubeletidentity: { clientId: 'c', objectId: 'o' } },
  };
}

describe('Kubernetes versions', () => {
  it("resolves 'latest', a minor and an exact version; preview only when allowed", () => {
    expect(resolveKubernetesVersion(versions, 'latest', false, 'westeurope')).toEqual({ version: '1.35.0', preview: false });
    expect(resolveKubernetesVersion(versions, 'latest', true, 'westeurope')).toEqual({ version: '1.36.3', preview: true });
    expect(resolveKubernetesVersion(versions, '1.34', false, 'westeurope').version).toBe('1.34.2');
    expect(resolveKubernetesVersion(versions, '1.34.1', false, 'westeurope').version).toBe('1.34.1');
    expect(() => resolveKubernetesVersion(versions, '1.36', false, 'westeurope')).toThrow("Input 'kubernetesVersion': 1.36 is a preview version in westeurope.");
    expect(() => resolveKubernetesVersion(versions, '1.34.9', false, 'westeurope')).toThrow("westeurope does not offer Kubernetes 1.34.9; it offers 1.33.6, 1.34.1, 1.34.2, 1.35.0, 1.36.3 (preview)");
  });

  it('refuses downgrades and skipped minors before anything is written', () => {
    expect(() => checkUpgrade(versions, '1.34.2', '1.34.2')).not.toThrow();
    expect(() => checkUpgrade(versions, '1.34.1', '1.35.0')).not.toThrow();
    expect(() => checkUpgrade(versions, '1.35.0', '1.34.2')).toThrow('the cluster runs 1.35.0 and AKS cannot downgrade it to 1.34.2');
    expect(() => checkUpgrade(versions, '1.33.6', '1.35.0')).toThrow('AKS cannot upgrade 1.33.6 to 1.35.0 in one step; from 1.33.6 it offers 1.34.2');
  });
});

describe('differences between the live cluster and the inputs', () => {
  it('none for a cluster as AKS returns what was asked for, whatever AKS filled in', () => {
    const desired = desiredCluster(spec(), 'aks', '1.35.0');
    expect(clusterDifferences(liveFrom(desired), desired, spec())).toEqual([]);
  });

  it('in words, with what cannot change in place marked', () => {
    const live = liveFrom(desiredCluster(spec(), 'aks', '1.34.2'));
    const want = spec({ systemPool: { ...spec().systemPool, count: 5, vmSize: 'Standard_D8ds_v5' }, tags: { env: 'prod', team: 'platform' }, networkPolicy: 'cilium' });
    expect(clusterDifferences(live, desiredCluster(want, 'aks', '1.35.0'), want)).toEqual([
      { input: 'kubernetesVersion', text: 'Kubernetes version 1.34.2 → 1.35.0', immutable: undefined },
      { input: 'networkPolicy', text: 'network policy none → cilium', immutable: undefined },
      { input: 'systemPoolVmSize', text: 'system pool VM size Standard_D4ds_v5 → Standard_D8ds_v5', immutable: true },
      { input: 'systemPoolCount', text: 'system pool node count 3 → 5', immutable: false },
      { input: 'tags', text: 'tag env dev → prod' },
      { input: 'tags', text: 'tag team added (platform)' },
    ]);
  });

  it('Entra ID and the OIDC issuer cannot be switched off; the extra properties are compared leaf by leaf', () => {
    const extra = extraPropertiesModel({ autoUpgradeProfile: { upgradeChannel: 'patch' }, networkProfile: { networkPlugin: 'kubenet' } });
    const live = liveFrom(desiredCluster(spec({ entraId: true, adminGroupObjectIds: ['g1'] }), 'aks', '1.35.0'));
    const want = spec({ entraId: false, oidcIssuer: false, workloadIdentity: false, extraProperties: extra });
    const texts = clusterDifferences(live, desiredCluster(want, 'aks', '1.35.0'), want);
    expect(texts).toContainEqual({ input: 'entraId', text: 'Entra ID integration true → false', immutable: true });
    expect(texts).toContainEqual({ input: 'oidcIssuer', text: 'OIDC issuer true → false', immutable: true });
    expect(texts).toContainEqual({ input: 'extraPropertiesFile', text: 'autoUpgradeProfile.upgradeChannel unset → "patch"' });
    // The input wins over the file for the network plugin, so the file's value is no difference.
    expect(texts.filter((d) => d.text.includes('networkPlugin'))).toEqual([]);
  });

  it('an unmanaged cluster is not adopted: no management tag in the difference or the update', () => {
    const desired = desiredCluster(spec(), 'aks', '1.35.0');
    const live = liveFrom(desired, { env: 'dev', costCenter: '42' });
    expect(clusterDifferences(live, desired, spec())).toEqual([]);
    const body = updateBody(live, desired, spec());
    expect(body.tags).toEqual({ env: 'dev', costCenter: '42' });
  });
});

describe('the update body', () => {
  it('starts from the live cluster, keeps what the inputs do not own and what cannot change', () => {
    const desired = desiredCluster(spec({ systemPool: { ...spec().systemPool, autoscale: true, minCount: 2, maxCount: 4, count: undefined } }), 'aks', '1.35.0');
    const live = { ...liveFrom(desiredCluster(spec(), 'aks', '1.35.0')), dnsPrefix: 'made-by-az', addonProfiles: { azurepolicy: { enabled: true } } };
    live.agentPoolProfiles = [...live.agentPoolProfiles!.map((p) => ({ ...p, count: 7 })), { name: 'user1', mode: 'User', count: 2, vmSize: 'Standard_D8ds_v5' }];
    const body = updateBody(live, desired, spec({ systemPool: { ...spec().systemPool, autoscale: true, minCount: 2, maxCount: 4, count: undefined } }));
    expect(body.dnsPrefix).toBe('made-by-az');
    expect(body.addonProfiles).toEqual({ azurepolicy: { enabled: true } });
    expect(body.agentPoolProfiles!.map((p) => [p.name, p.count, p.enableAutoScaling, p.minCount, p.maxCount, p.osSKU])).toEqual([
      ['system', 4, true, 2, 4, 'Ubuntu'], ['user1', 2, undefined, undefined, undefined, undefined],
    ]);
  });
});

describe('the extra-properties file', () => {
  it("is renamed into the SDK's spelling and refuses what the SDK would silently drop", () => {
    expect(extraPropertiesModel({ enableRBAC: true, aadProfile: { enableAzureRBAC: true }, agentPoolProfiles: [{ name: 'system', enableFIPS: true }] }))
      .toEqual({ enableRbac: true, aadProfile: { enableAzureRbac: true }, agentPoolProfiles: [{ name: 'system', enableFips: true }] });
    expect(() => extraPropertiesModel({ autoUpgradeProfiles: {} })).toThrow("'autoUpgradeProfiles' is not a ManagedCluster property this task can set");
    expect(() => extraPropertiesModel({ fqdn: 'x' })).toThrow("'fqdn' is read-only; Azure sets it");
  });
});

describe("Azure's errors", () => {
  const rest = (statusCode: number, code: string, message: string) => Object.assign(new Error(message), { statusCode, code });

  it('code, message, the input concerned and a hint', () => {
    const denied = azureError(rest(403, 'LinkedAuthorizationFailed', "The client has permission to perform action 'Microsoft.ContainerService/managedClusters/write' on scope 'x', however it does not have permission to perform action 'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) 'y'."), 'Creating cluster aks') as TaskError;
    expect(denied).toBeInstanceOf(TaskError);
    expect(denied.message).toMatch(/^Creating cluster aks failed \(input 'subnetId'\): LinkedAuthorizationFailed: The client has permission/);
    expect(denied.hint).toContain("'Network Contributor' role on the subnet");

    const lro = azureError(new Error('The long-running operation has failed. OperationNotAllowed. Operation is not allowed because there\'s an in progress create managed cluster operation'), 'Updating cluster aks') as TaskError;
    expect(lro.message).toBe("Updating cluster aks failed (input 'clusterName'): OperationNotAllowed: Operation is not allowed because there's an in progress create managed cluster operation.");
    expect(lro.hint).toContain('Another operation is running');

    const invalid = azureError(Object.assign(rest(400, 'InvalidParameter', 'The value of parameter agentPoolProfile.count is invalid.'), { details: { error: { target: 'agentPoolProfiles[0].count' } } }), 'Creating cluster aks') as TaskError;
    expect(invalid.message).toContain("(input 'systemPoolCount')");

    const signIn = azureError(Object.assign(new Error('ClientSecretCredential authentication failed: AADSTS7000222: The provided client secret keys are expired.'), { name: 'AuthenticationError' }), 'Reading cluster aks') as TaskError;
    expect(signIn.message).toMatch(/^Reading cluster aks failed \(input 'azureSubscription'\): signing in with the service connection failed: .*AADSTS7000222/);
    expect(signIn.hint).toContain('expired');

    const offline = azureError(Object.assign(new Error('network_error: See https://aka.ms/msal.js.errors#network_error for details'), { name: 'AuthenticationRequiredError' }), 'Reading cluster aks') as TaskError;
    expect(offline.message).toContain("(input 'azureSubscription'): signing in with the service connection failed: network_error");
    expect(offline.hint).toContain('login.microsoftonline.com');
    const unreachable = azureError(Object.assign(new Error('getaddrinfo ENOTFOUND management.azure.com'), { name: 'RestError', code: 'ENOTFOUND' }), 'Reading cluster aks') as TaskError;
    expect(unreachable.message).toBe('Reading cluster aks failed: Azure Resource Manager could not be reached: getaddrinfo ENOTFOUND management.azure.com');

    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(azureError(abort, 'x')).toBe(abort);
  });
});
