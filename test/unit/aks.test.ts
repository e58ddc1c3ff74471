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
import { poolsBehind, updateBody } from '../../shared/aks/update-body';
import { checkClusterSpec, checkSubnetRanges, networkChanges } from '../../shared/aks/network-rules';
import { checkSupportPlan } from '../../shared/aks/kubernetes-version';
import { isPermitted } from '../../shared/azure/resource-manager';
import { InputError, TaskError } from '../../shared/pipeline/errors';

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
  location: 'westeurope', kubernetesVersion: 'latest', allowPreviewVersions: false, tier: 'Standard', supportPlan: 'KubernetesOfficial', grantSubnetAccess: false, subnetId: subnet,
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
      { input: 'networkPolicy', text: 'network policy none → cilium', immutable: false },
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

    // AKS's cross-field refusals reach the task with code and message only (a long-running
    // operation's first answer): the input is found by code, or by AKS's wording.
    const lts = azureError(rest(400, 'K8sVersionNotSupported', 'Managed cluster aks is on version 1.30.14, which is only available for Long-Term Support (LTS).'), 'Creating cluster aks') as TaskError;
    expect(lts.message).toContain("(input 'kubernetesVersion')");
    expect(lts.hint).toContain("tier 'Premium' and supportPlan 'AKSLongTermSupport'");
    expect((azureError(rest(400, 'DnsServiceIpOutOfServiceCidr', 'The DNS service IP 10.1.0.10 is out of the range defined by service CIDR 10.0.0.0/16.'), 'x') as TaskError).message).toContain("(input 'dnsServiceIp')");
    expect((azureError(rest(400, 'ServiceCidrOverlapExistingSubnetsCidr', 'The specified service CIDR 10.240.0.0/16 is conflicted with an existing subnet CIDR 10.240.0.0/22'), 'x') as TaskError).message).toContain("(input 'serviceCidr')");
    const nat = azureError(rest(400, 'InvalidParameter', "Outbound type is managedNATGateway but agent pool 'system' is using custom VNet, which is not allowed."), 'x') as TaskError;
    expect(nat.message).toContain("(input 'outboundType')");
    expect(nat.hint).toContain('userAssignedNATGateway');
    expect((azureError(rest(412, 'PreconditionFailed', 'stale'), 'x') as TaskError).hint).toContain('Another writer changed the cluster');

    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(azureError(abort, 'x')).toBe(abort);
  });
});

/** The InputError a function throws, as input and message. */
function inputError(f: () => void): { input: string; message: string } | undefined {
  try {
    f();
  } catch (error) {
    if (error instanceof InputError) return { input: error.input, message: error.message };
    throw error;
  }
  return undefined;
}

describe("AKS's cross-field rules, before anything is written", () => {
  it('outbound type, CNI and policy, pod and service ranges, node counts and long-term support, each naming its input', () => {
    expect(inputError(() => checkClusterSpec(spec()))).toBeUndefined();
    expect(inputError(() => checkClusterSpec(spec({ outboundType: 'managedNATGateway' })))).toEqual({
      input: 'outboundType',
      message: "Input 'outboundType': 'managedNATGateway' is not possible here: AKS creates a managed NAT gateway only in a virtual network it manages, and this task always puts the nodes in your subnet (input 'subnetId'). Expected 'userAssignedNATGateway' (associate your NAT gateway with the subnet first), 'loadBalancer' or 'userDefinedRouting'.",
    });
    expect(inputError(() => checkClusterSpec(spec({ networkPlugin: 'kubenet', networkPolicy: 'cilium', podCidr: undefined })))?.input).toBe('networkPolicy');
    expect(inputError(() => checkClusterSpec(spec({ networkPlugin: 'azure', networkPolicy: 'cilium', podCidr: undefined })))).toBeUndefined();
    expect(inputError(() => checkClusterSpec(spec({ networkPlugin: 'kubenet', networkPolicy: 'azure' })))).toMatchObject({ input: 'networkPolicy', message: expect.stringContaining('Azure Network Policy Manager needs Azure CNI') });
    expect(inputError(() => checkClusterSpec(spec({ networkPlugin: 'kubenet', networkPolicy: 'calico' })))).toBeUndefined();
    expect(inputError(() => checkClusterSpec(spec({ networkPlugin: 'azure', podCidr: '10.244.0.0/16' })))).toMatchObject({ input: 'podCidr', message: expect.stringContaining('pods take their addresses from the subnet and AKS would ignore 10.244.0.0/16') });
    expect(inputError(() => checkClusterSpec(spec({ dnsServiceIp: '10.1.0.10' })))).toMatchObject({ input: 'dnsServiceIp', message: "Input 'dnsServiceIp': 10.1.0.10 is outside the service CIDR 10.0.0.0/16. Expected an address inside serviceCidr." });
    expect(inputError(() => checkClusterSpec(spec({ dnsServiceIp: '10.0.0.1' })))).toMatchObject({ input: 'dnsServiceIp', message: expect.stringContaining('the first address of the service CIDR 10.0.0.0/16, which Kubernetes gives to kubernetes.default.svc') });
    expect(inputError(() => checkClusterSpec(spec({ dnsServiceIp: '10.0.0.0' })))?.message).toContain('the network address');
    expect(inputError(() => checkClusterSpec(spec({ serviceCidr: '172.16.0.0/16', dnsServiceIp: undefined })))).toMatchObject({ input: 'dnsServiceIp', message: expect.stringContaining("10.0.0.10 is outside the service CIDR 172.16.0.0/16") });
    expect(inputError(() => checkClusterSpec(spec({ podCidr: '10.0.0.0/8' })))).toMatchObject({ input: 'podCidr', message: expect.stringContaining('overlaps the service CIDR 10.0.0.0/16') });
    expect(inputError(() => checkClusterSpec(spec({ systemPool: { ...spec().systemPool, autoscale: true, count: undefined, minCount: 4, maxCount: 3 } })))?.input).toBe('systemPoolMaxCount');
    expect(inputError(() => checkClusterSpec(spec({ systemPool: { ...spec().systemPool, autoscale: true, count: undefined, minCount: 0, maxCount: 3 } })))?.input).toBe('systemPoolMinCount');
    expect(inputError(() => checkClusterSpec(spec({ supportPlan: 'AKSLongTermSupport' })))).toMatchObject({ input: 'supportPlan', message: expect.stringContaining('needs the Premium tier, and the tier is Standard') });
    expect(inputError(() => checkClusterSpec(spec({ supportPlan: 'AKSLongTermSupport', tier: 'Premium' })))).toBeUndefined();
  });

  it("the service and pod ranges against the subnet's address range", () => {
    expect(inputError(() => checkSubnetRanges(spec(), ['10.240.0.0/22']))).toBeUndefined();
    expect(inputError(() => checkSubnetRanges(spec({ serviceCidr: undefined }), ['10.0.8.0/22']))).toMatchObject({ input: 'serviceCidr', message: expect.stringContaining("10.0.0.0/16 (AKS's default) overlaps the subnet's address range 10.0.8.0/22") });
    expect(inputError(() => checkSubnetRanges(spec(), ['10.244.4.0/24']))).toMatchObject({ input: 'podCidr' });
    expect(inputError(() => checkSubnetRanges(spec({ networkPlugin: 'azure', podCidr: undefined }), ['10.244.4.0/24']))).toBeUndefined();
  });

  it('long-term support: a version offered only with AKSLongTermSupport needs tier Premium and that plan', () => {
    const lts: KubernetesVersionListResult = { values: [{ version: '1.30', capabilities: { supportPlan: ['AKSLongTermSupport'] }, patchVersions: { '1.30.14': { upgrades: [] } } }, ...versions.values!] };
    expect(inputError(() => checkSupportPlan(lts, '1.30.14', spec()))).toMatchObject({ input: 'kubernetesVersion', message: expect.stringContaining("1.30.14 is past community support in westeurope and only available with long-term support, which needs tier 'Premium' and supportPlan 'AKSLongTermSupport'") });
    expect(inputError(() => checkSupportPlan(lts, '1.30.14', spec({ tier: 'Premium', supportPlan: 'AKSLongTermSupport' })))).toBeUndefined();
    expect(inputError(() => checkSupportPlan(lts, '1.35.0', spec()))).toBeUndefined();
  });
});

describe('network changes of an existing cluster', () => {
  const liveWith = (networkProfile: ManagedCluster['networkProfile']) => ({ ...liveFrom(desiredCluster(spec(), 'aks', '1.35.0')), networkProfile });
  const changes = (from: ManagedCluster['networkProfile'], to: Partial<ClusterSpec>) => networkChanges(liveWith(from), spec(to)).map((c) => [c.input, c.text, c.immutable, c.why ?? '']);

  it('outbound type: the migrations AKS documents for a bring-your-own VNet, and no others', () => {
    const lb = { networkPlugin: 'azure', networkPluginMode: 'overlay', outboundType: 'loadBalancer' } as const;
    expect(changes(lb, { outboundType: 'userDefinedRouting' })).toEqual([['outboundType', 'outbound type loadBalancer → userDefinedRouting', false, '']]);
    expect(changes(lb, { outboundType: 'userAssignedNATGateway' })[0][2]).toBe(false);
    expect(changes({ ...lb, outboundType: 'userDefinedRouting' }, { outboundType: 'userAssignedNATGateway' })[0][2]).toBe(false);
    expect(changes({ ...lb, outboundType: 'userAssignedNATGateway' }, { outboundType: 'loadBalancer' })[0][2]).toBe(false);
    expect(changes({ ...lb, outboundType: 'managedNATGateway' }, { outboundType: 'loadBalancer' })).toEqual([['outboundType', 'outbound type managedNATGateway → loadBalancer', true, 'with your own subnet AKS migrates managedNATGateway only to nothing (learn.microsoft.com/azure/aks/egress-outboundtype)']]);
  });

  it('plugin and policy: kubenet or Azure CNI to Overlay, policy engines in and out, Overlay to Cilium; the rest with the way out', () => {
    expect(changes({ networkPlugin: 'kubenet', networkPolicy: 'calico' }, { networkPolicy: 'calico' })).toEqual([['networkPlugin', 'network plugin kubenet → azureOverlay', false, '']]);
    expect(changes({ networkPlugin: 'azure', networkPolicy: 'azure' }, { networkPolicy: 'azure' })[0]).toEqual(['networkPlugin', 'network plugin azure → azureOverlay', true, expect.stringContaining("run once with networkPolicy 'none', then with networkPlugin 'azureOverlay'")]);
    expect(changes({ networkPlugin: 'azure', networkPluginMode: 'overlay' }, { networkPlugin: 'kubenet' })[0]).toEqual(['networkPlugin', 'network plugin azureOverlay → kubenet', true, expect.stringContaining('and not back')]);
    expect(changes({ networkPlugin: 'azure', networkPluginMode: 'overlay' }, { networkPolicy: 'calico' })).toEqual([['networkPolicy', 'network policy none → calico', false, '']]);
    expect(changes({ networkPlugin: 'azure', networkPluginMode: 'overlay', networkPolicy: 'calico' }, { networkPolicy: 'none' })[0][2]).toBe(false);
    expect(changes({ networkPlugin: 'azure', networkPluginMode: 'overlay', networkPolicy: 'calico' }, { networkPolicy: 'azure' })[0]).toEqual(['networkPolicy', 'network policy calico → azure', true, expect.stringContaining("run once with networkPolicy 'none', then with 'azure'")]);
    expect(changes({ networkPlugin: 'azure', networkPluginMode: 'overlay', networkPolicy: 'azure' }, { networkPolicy: 'cilium' })).toEqual([['networkPolicy', 'network policy azure → cilium', false, '']]);
    expect(changes({ networkPlugin: 'azure', networkPolicy: 'none' }, { networkPlugin: 'azure', networkPolicy: 'cilium', podCidr: undefined })[0]).toEqual(['networkPolicy', 'network policy none → cilium', true, expect.stringContaining('from Azure CNI Overlay only')]);
    expect(changes({ networkPlugin: 'kubenet' }, { networkPolicy: 'cilium' })).toEqual([
      ['networkPlugin', 'network plugin kubenet → azureOverlay', false, ''],
      ['networkPolicy', 'network policy none → cilium', true, expect.stringContaining("run once with the new networkPlugin and the current networkPolicy, then with networkPolicy 'cilium'")],
    ]);
    expect(changes({ networkPlugin: 'azure', networkPluginMode: 'overlay', networkPolicy: 'cilium', networkDataplane: 'cilium' }, { networkPolicy: 'none' })[0]).toEqual(['networkPolicy', 'network policy cilium → none', true, 'the Cilium dataplane cannot be removed from a cluster']);
  });
});

describe('the update body replaces what AKS treats as one value, and upgrades every node pool', () => {
  const uami = (name: string) => `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

  it('a new user-assigned identity replaces the old one instead of joining it', () => {
    const old = spec({ identityType: 'UserAssigned', userAssignedIdentityId: uami('old') });
    const live = liveFrom(desiredCluster(old, 'aks', '1.35.0'));
    live.identity = { type: 'UserAssigned', userAssignedIdentities: { [uami('old')]: { clientId: 'c', principalId: 'p' } } };
    const want = spec({ identityType: 'UserAssigned', userAssignedIdentityId: uami('new') });
    expect(Object.keys(updateBody(live, desiredCluster(want, 'aks', '1.35.0'), want).identity!.userAssignedIdentities!)).toEqual([uami('new')]);
    expect(updateBody(live, desiredCluster(spec(), 'aks', '1.35.0'), spec()).identity).toEqual({ type: 'SystemAssigned' });
  });

  it('an upgrade raises every node pool with the control plane; otherwise each keeps its version and the laggards are named', () => {
    const live = liveFrom(desiredCluster(spec(), 'aks', '1.34.2'));
    live.agentPoolProfiles!.push({ name: 'user1', mode: 'User', count: 2, vmSize: 'Standard_D8ds_v5', orchestratorVersion: '1.34.1', currentOrchestratorVersion: '1.34.1' });
    const up = updateBody(live, desiredCluster(spec(), 'aks', '1.35.0'), spec());
    expect(up.agentPoolProfiles!.map((p) => [p.name, p.orchestratorVersion])).toEqual([['system', '1.35.0'], ['user1', '1.35.0']]);
    const same = updateBody(live, desiredCluster(spec({ tags: { env: 'prod' } }), 'aks', '1.34.2'), spec({ tags: { env: 'prod' } }));
    expect(same.agentPoolProfiles!.map((p) => [p.name, p.orchestratorVersion])).toEqual([['system', '1.34.2'], ['user1', '1.34.1']]);
    expect(poolsBehind(live).map((p) => p.name)).toEqual(['user1']);
  });

  it('leaving the load balancer for a NAT gateway or a firewall route leaves its outbound settings behind', () => {
    const live = liveFrom(desiredCluster(spec(), 'aks', '1.35.0'));
    const want = spec({ outboundType: 'userDefinedRouting' });
    const body = updateBody(live, desiredCluster(want, 'aks', '1.35.0'), want);
    expect(body.networkProfile).toMatchObject({ outboundType: 'userDefinedRouting' });
    expect(body.networkProfile!.loadBalancerProfile).toBeUndefined();
    expect(updateBody(live, desiredCluster(spec(), 'aks', '1.35.0'), spec()).networkProfile!.loadBalancerProfile).toEqual({ managedOutboundIPs: { count: 1 } });
  });
});

describe('what the permissions API answer allows', () => {
  it("Actions minus the same role's NotActions, with wildcards, case-insensitively", () => {
    const contributor = { actions: ['*'], notActions: ['Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write'] };
    const aksContributor = { actions: ['Microsoft.ContainerService/managedClusters/read', 'Microsoft.ContainerService/managedClusters/write', 'Microsoft.Resources/deployments/*'], notActions: [] };
    const network = { actions: ['Microsoft.Network/*'], notActions: [] };
    expect(isPermitted([contributor], 'Microsoft.ContainerService/managedClusters/write')).toBe(true);
    expect(isPermitted([contributor], 'Microsoft.Authorization/roleAssignments/write')).toBe(false);
    expect(isPermitted([contributor, { actions: ['Microsoft.Authorization/roleAssignments/write'], notActions: [] }], 'Microsoft.Authorization/roleAssignments/write')).toBe(true);
    expect(isPermitted([aksContributor], 'Microsoft.ContainerService/managedClusters/delete')).toBe(false);
    expect(isPermitted([network], 'microsoft.network/virtualNetworks/subnets/join/action')).toBe(true);
    expect(isPermitted([], 'Microsoft.Network/virtualNetworks/subnets/join/action')).toBe(false);
  });
});
