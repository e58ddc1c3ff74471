// AksBootstrap@1 end to end: the packaged task, run as the agent runs it, against the Entra ID,
// ARM and Azure DevOps emulators, where every AKS cluster is a real local kube-apiserver + etcd.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ClientSecretCredential } from '@azure/identity';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type EndpointSpec, type RunOptions, type RunResult, runTask, visibleOutput } from '../agent/harness';
import { AKS_SERVER_APP_ID, startAzureEmulators, type AzureEmulators } from '../emulators/azure-emulators';
import { controlPlaneClusterFactory } from '../emulators/control-plane-cluster-factory';
import type { RecordedRequest } from '../emulators/emulator-server';
import { decodeJwtPayload, selfSignedCertificate } from '../emulators/test-support';
import { trustEmulatorCa } from '../emulators/trust-emulator-ca';
import { forbiddenForms } from '../agent/fixtures';

trustEmulatorCa();

const RG = 'rg-aks';
const ADMIN_GROUP = '6b0f3f5e-0000-4000-8000-00000000ad01';
const SP_SECRET = `spn-secret-${randomUUID()}`;
const EP = randomUUID();

let emulators: AzureEmulators;
let subnetId: string;
let sp: EndpointSpec;
let armData: Record<string, string>;
const env = () => ({ NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '' });
/** Every secret a run could have seen: checked against every run's visible output. */
const secrets = new Set<string>([SP_SECRET]);

beforeAll(async () => {
  emulators = await startAzureEmulators({ clusterFactory: controlPlaneClusterFactory() });
  const { arm, entra, subscriptionId, tenantId } = emulators;
  arm.addResourceGroup({ subscriptionId, name: RG, location: 'westeurope' });
  arm.addResourceGroup({ subscriptionId, name: 'rg-net', location: 'westeurope' });
  subnetId = arm.addSubnet({ subscriptionId, resourceGroup: 'rg-net', vnet: 'vnet-spoke', name: 'aks-nodes', addressPrefix: '10.240.0.0/22' });
  const app = entra.addApp({ tenantId, clientId: randomUUID(), secret: SP_SECRET, groups: [ADMIN_GROUP] });
  armData = {
    subscriptionId, subscriptionName: 'Platform', environment: 'AzureCloud', scopeLevel: 'Subscription',
    environmentAuthorityUrl: `${entra.url}/`, activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
  };
  sp = { url: `${arm.url}/`, scheme: 'ServicePrincipal', params: { tenantid: tenantId, serviceprincipalid: app.clientId, serviceprincipalkey: SP_SECRET, authenticationType: 'spnKey' }, data: armData };
});

afterAll(async () => {
  await emulators?.stop();
});

const clustersUsed = new Set<string>();

function aks(clusterName: string, inputs: Record<string, string> = {}, options: Partial<RunOptions> = {}): Promise<RunResult> {
  clustersUsed.add(clusterName);
  return runTask({
    task: 'AksBootstrap',
    node: 'node20',
    timeoutMs: 240_000,
    endpoints: { [EP]: sp },
    ...options,
    env: { ...env(), ...options.env },
    inputs: {
      azureSubscription: EP, resourceGroup: RG, clusterName, location: 'westeurope', subnetId, entraId: 'false', systemPoolCount: '3',
      systemPoolVmSize: 'Standard_D4ds_v5', tags: 'env=dev\nowner=platform', ...inputs,
    },
  });
}

const clusterPath = (name: string) => `/subscriptions/${emulators.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/${name}`;
const writes = (name: string, since = 0): RecordedRequest[] =>
  emulators.arm.requests.slice(since).filter((r) => r.path === clusterPath(name) && ['PUT', 'PATCH', 'DELETE'].includes(r.method));
const resource = (name: string) => emulators.arm.cluster(emulators.subscriptionId, RG, name);
const log = (run: RunResult) => run.plainLines.join('\n');

/** No secret, token or credential in what the log shows. */
function expectNothingSecret(run: RunResult): void {
  const visible = visibleOutput(run);
  const known = [
    ...secrets,
    ...emulators.entra.issued.map((t) => t.token),
    ...emulators.devops.oidcTokens.map((t) => t.token),
    emulators.devops.systemAccessToken,
    // The clusters' local accounts, as their credentials hand them out.
    ...[...clustersUsed].map((name) => resource(name)?.endpoint?.adminToken).filter((t): t is string => !!t),
  ];
  for (const secret of known) for (const form of forbiddenForms(secret)) expect(visible).not.toContain(form);
  expect(visible).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/);
}

function expectSucceeded(run: RunResult): void {
  expect(run.result, `${run.completeMessage}\n${run.stdout}\n${run.stderr}`).toBe('Succeeded');
  expectNothingSecret(run);
}

/** The kubeconfig output: owner-only, under the agent's temp folder; its credentials recorded as secrets. */
function kubeconfigOf(run: RunResult): { path: string; doc: { users: { user: Record<string, unknown> }[]; clusters: { cluster: { server: string } }[] } } {
  const path = run.variables.kubeconfigPath.value;
  expect(path.startsWith(run.tempDir)).toBe(true);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  const doc = parse(readFileSync(path, 'utf8'));
  for (const u of doc.users) for (const v of Object.values(u.user)) if (typeof v === 'string') secrets.add(v);
  return { path, doc };
}

async function namespacesWith(kubeconfigPath: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const list = await kc.makeApiClient(CoreV1Api).listNamespace();
  return list.items.map((n) => n.metadata!.name!);
}

/** PID of the kube-apiserver serving a URL, found by its --secure-port flag. */
function apiServerPid(server: string): number | undefined {
  const port = new URL(server).port;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('kube-apiserver') && args.includes(`--secure-port=${port}`)) return Number(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Leaf paths where two JSON values differ, ignoring what ARM regenerates on every write. */
function changedLeaves(a: unknown, b: unknown, path = ''): string[] {
  const volatile = /(^|\.)(eTag|provisioningState|effectiveOutboundIPs)$/;
  if (volatile.test(path)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedLeaves((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

async function sdkClient(): Promise<ContainerServiceClient> {
  const credential = new ClientSecretCredential(emulators.tenantId, sp.params!.serviceprincipalid, SP_SECRET, { authorityHost: emulators.entra.url, disableInstanceDiscovery: true });
  return new ContainerServiceClient(credential, emulators.subscriptionId, { endpoint: emulators.arm.url });
}

describe('AksBootstrap@1 createOrUpdate', () => {
  it('creates the cluster, then an identical run writes nothing', async () => {
    const created = await aks('aks-dev');
    expectSucceeded(created);
    expect(writes('aks-dev').map((r) => r.method)).toEqual(['PUT']);
    const put = JSON.parse(writes('aks-dev')[0].body);
    expect(put).toMatchObject({
      location: 'westeurope',
      tags: { env: 'dev', owner: 'platform', 'managed-by': 'aks-gitops-tasks' },
      sku: { name: 'Base', tier: 'Standard' },
      properties: {
        kubernetesVersion: '1.35.0', dnsPrefix: 'aks-dev',
        networkProfile: { networkPlugin: 'azure', networkPluginMode: 'overlay', podCidr: '10.244.0.0/16', outboundType: 'loadBalancer' },
        agentPoolProfiles: [{ name: 'system', mode: 'System', count: 3, vmSize: 'Standard_D4ds_v5', vnetSubnetID: subnetId, availabilityZones: ['1', '2', '3'] }],
        oidcIssuerProfile: { enabled: true }, securityProfile: { workloadIdentity: { enabled: true } },
      },
    });
    const live = resource('aks-dev')!.resource as { id: string; properties: Record<string, any> };
    const out = Object.fromEntries(Object.entries(created.variables).map(([k, v]) => [k, v.value]));
    expect(out).toMatchObject({
      clusterResourceId: live.id, kubernetesVersion: '1.35.0', apiServerFqdn: live.properties.fqdn, nodeResourceGroup: `MC_${RG}_aks-dev_westeurope`,
      oidcIssuerUrl: live.properties.oidcIssuerProfile.issuerURL,
      kubeletIdentityObjectId: live.properties.identityProfile.kubeletidentity.objectId, kubeletIdentityClientId: live.properties.identityProfile.kubeletidentity.clientId,
    });
    expect(Object.values(created.variables).every((v) => v.output && !v.secret)).toBe(true);
    expect(log(created)).toContain("Kubernetes version 'latest' is 1.35.0 in westeurope.");
    expect(created.progress.map((p) => p.value)).toEqual(expect.arrayContaining([0, 100]));
    expect(created.summaries[0].markdown).toMatch(/Result\*\* \| created/);
    const { path, doc } = kubeconfigOf(created);
    expect(doc.users[0].user).toHaveProperty('token');
    expect(await namespacesWith(path)).toContain('kube-system');

    const before = emulators.arm.requests.length;
    const again = await aks('aks-dev');
    expectSucceeded(again);
    expect(writes('aks-dev', before)).toEqual([]);
    expect(log(again)).toContain('No changes: cluster aks-dev matches the inputs.');
    expect(again.summaries[0].markdown).toContain('no changes');
    expect(again.variables.kubernetesVersion.value).toBe('1.35.0');
    expect(await namespacesWith(kubeconfigOf(again).path)).toContain('kube-system');
  });

  it('a node count change updates only the count, and says so', async () => {
    const before = structuredClone(resource('aks-dev')!.resource);
    const mark = emulators.arm.requests.length;
    const run = await aks('aks-dev', { systemPoolCount: '5' });
    expectSucceeded(run);
    expect(log(run)).toContain('Updating cluster aks-dev, 1 change:\n  - system pool node count 3 → 5');
    expect(writes('aks-dev', mark).map((r) => r.method)).toEqual(['PUT']);
    expect(changedLeaves(before, resource('aks-dev')!.resource)).toEqual(['properties.agentPoolProfiles.0.count']);
    expect(run.summaries[0].markdown).toContain('system pool node count 3 → 5');
  });

  it('admin credentials when asked: a local-accounts kubeconfig that works, nothing written', async () => {
    const mark = emulators.arm.requests.length;
    const run = await aks('aks-dev', { systemPoolCount: '5', useClusterAdmin: 'true' });
    expectSucceeded(run);
    expect(writes('aks-dev', mark)).toEqual([]);
    expect(emulators.arm.requests.slice(mark).some((r) => r.path.endsWith('/listClusterAdminCredential'))).toBe(true);
    const { path } = kubeconfigOf(run);
    expect(readFileSync(path, 'utf8')).toContain('clusterAdmin_rg-aks_aks-dev');
    expect(await namespacesWith(path)).toContain('default');
  });
});

describe('AksBootstrap@1 recreate and delete', () => {
  it('refuses to recreate or delete a cluster it did not create, and deletes nothing', async () => {
    const client = await sdkClient();
    await client.managedClusters.beginCreateOrUpdateAndWait(RG, 'handmade', {
      location: 'westeurope', dnsPrefix: 'handmade', identity: { type: 'SystemAssigned' }, tags: { owner: 'someone' },
      agentPoolProfiles: [{ name: 'system', mode: 'System', count: 1, vmSize: 'Standard_D2s_v5', vnetSubnetID: subnetId }],
    }, { updateIntervalInMs: 100 });
    const pid = apiServerPid(String(resource('handmade')!.endpoint!.server))!;
    expect(pid).toBeGreaterThan(0);
    const mark = emulators.arm.requests.length;
    const [recreate, remove] = await Promise.all([aks('handmade', { mode: 'recreate' }), aks('handmade', { mode: 'delete' })]);
    for (const run of [recreate, remove]) {
      expect(run.result).toBe('Failed');
      expect(run.errors).toEqual([expect.stringContaining('does not carry the tag managed-by=aks-gitops-tasks')]);
      expect(run.errors[0]).toContain("Set 'allowUnmanaged' to true");
      expect(run.errors[0]).toContain('Nothing was deleted.');
      expectNothingSecret(run);
    }
    expect(writes('handmade', mark)).toEqual([]);
    expect(alive(pid)).toBe(true);
    expect(resource('handmade')!.resource.properties).toMatchObject({ provisioningState: 'Succeeded' });
  });

  it("recreates a cluster it manages: the old control plane stops, a new empty one runs the version 'latest' now means", async () => {
    const old = kubeconfigOf(await aks('aks-dev', { systemPoolCount: '5' }));
    const oldServer = old.doc.clusters[0].cluster.server;
    const oldPid = apiServerPid(oldServer)!;
    const kc = new KubeConfig();
    kc.loadFromFile(old.path);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'left-behind' } } });
    emulators.arm.setKubernetesVersions([
      { version: '1.34', patches: ['1.34.1', '1.34.2'], isDefault: true },
      { version: '1.35', patches: ['1.35.0', '1.35.3'] },
      { version: '1.36', patches: ['1.36.3'], isPreview: true },
    ]);
    try {
      const mark = emulators.arm.requests.length;
      const run = await aks('aks-dev', { mode: 'recreate', systemPoolCount: '5' });
      expectSucceeded(run);
      expect(writes('aks-dev', mark).map((r) => r.method)).toEqual(['DELETE', 'PUT']);
      const text = log(run);
      expect(run.warnings).toEqual([expect.stringContaining('Recreating cluster aks-dev deletes it and everything in it.')]);
      expect(text.indexOf('About to delete:')).toBeLessThan(text.indexOf('Deleting cluster aks-dev: started'));
      expect(text).toContain(`node resource group MC_${RG}_aks-dev_westeurope`);
      expect(text).toMatch(/Deleted cluster aks-dev \(was 1\.35\.0\)/);
      expect(alive(oldPid)).toBe(false);
      expect(run.variables.kubernetesVersion.value).toBe('1.35.3');
      expect(resource('aks-dev')!.resource.properties).toMatchObject({ currentKubernetesVersion: '1.35.3', provisioningState: 'Succeeded' });
      const fresh = kubeconfigOf(run);
      expect(fresh.doc.clusters[0].cluster.server).not.toBe(oldServer);
      const namespaces = await namespacesWith(fresh.path);
      expect(namespaces).toContain('kube-system');
      expect(namespaces).not.toContain('left-behind');
      expect(run.summaries[0].markdown).toContain('deleted (was Kubernetes 1.35.0), created from nothing on Kubernetes 1.35.3');
    } finally {
      emulators.arm.setKubernetesVersions([
        { version: '1.33', patches: ['1.33.4', '1.33.6'] },
        { version: '1.34', patches: ['1.34.1', '1.34.2'], isDefault: true },
        { version: '1.35', patches: ['1.35.0', '1.35.3'] },
        { version: '1.36', patches: ['1.36.3'], isPreview: true },
      ]);
    }
  });
});

describe('AksBootstrap@1 with Entra ID', () => {
  it('an Entra ID cluster with local accounts disabled: the kubeconfig carries a token for the AKS server app and works', async () => {
    const run = await aks('aks-entra', { entraId: 'true', adminGroupObjectIds: ADMIN_GROUP, disableLocalAccounts: 'true', systemPoolCount: '1' });
    expectSucceeded(run);
    expect(JSON.parse(writes('aks-entra')[0].body).properties).toMatchObject({ aadProfile: { managed: true, adminGroupObjectIDs: [ADMIN_GROUP], enableAzureRBAC: false }, disableLocalAccounts: true });
    const { path, doc } = kubeconfigOf(run);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toMatch(/exec|kubelogin|auth-provider/);
    expect(Object.keys(doc.users[0].user)).toEqual(['token']);
    expect(decodeJwtPayload(String(doc.users[0].user.token))).toMatchObject({ aud: AKS_SERVER_APP_ID, tid: emulators.tenantId });
    expect(run.secrets).toContain(doc.users[0].user.token);
    expect(await namespacesWith(path)).toContain('kube-system');
    expect(run.summaries[0].markdown).toMatch(/entra token credentials, valid until 20\d\d-/);
  });
});

describe('AksBootstrap@1 when Azure misbehaves', () => {
  it('retries throttling (429 with Retry-After) and transient errors (503) and creates exactly one cluster', async () => {
    const { arm, entra } = emulators;
    const path = clusterPath('aks-retry');
    arm.injectFault({ method: 'GET', path, status: 429, times: 2, headers: { 'Retry-After': '1' }, body: { error: { code: 'TooManyRequests', message: 'Too many requests, retry after 1 second.' } } });
    arm.injectFault({ method: 'GET', path: '/kubernetesVersions', status: 503, times: 1, body: { error: { code: 'ServiceUnavailable', message: 'Try again.' } } });
    arm.injectFault({ method: 'PUT', path, status: 503, times: 1, body: { error: { code: 'ServiceUnavailable', message: 'Try again.' } } });
    arm.injectFault({ method: 'GET', path: '/operations/', status: 503, times: 1 });
    entra.injectFault({ method: 'POST', path: '/oauth2/v2.0/token', status: 503, times: 1 });
    const mark = arm.requests.length;
    const run = await aks('aks-retry', { systemPoolCount: '1' });
    expectSucceeded(run);
    const seen = arm.requests.slice(mark);
    const statuses = (method: string, match: (p: string) => boolean) => seen.filter((r) => r.method === method && match(r.path)).map((r) => r.status);
    expect(statuses('GET', (p) => p === path).slice(0, 3)).toEqual([429, 429, 404]);
    expect(statuses('GET', (p) => p.endsWith('/kubernetesVersions'))).toEqual([503, 200]);
    expect(statuses('PUT', (p) => p === path)).toEqual([503, 201]);
    expect(statuses('GET', (p) => p.includes('/operations/'))).toContain(503);
    expect(resource('aks-retry')!.resource.properties).toMatchObject({ provisioningState: 'Succeeded' });
  });

  it('a failed provisioning comes out with its code, message, input and hint; a re-run reconciles the cluster', async () => {
    emulators.arm.failNextProvisioning({
      cluster: 'aks-quota', code: 'QuotaExceeded',
      message: 'Operation could not be completed as it results in exceeding approved standardDDSv5Family Cores quota. Additional details - Location: westeurope, Current Limit: 10, Current Usage: 8, Additional Required: 12.',
    });
    const failed = await aks('aks-quota');
    expect(failed.result).toBe('Failed');
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toMatch(/^Creating cluster aks-quota failed \(input 'systemPoolVmSize'\): QuotaExceeded: Operation could not be completed as it results in exceeding approved standardDDSv5Family Cores quota\. .*Additional Required: 12\. Request a vCPU quota increase/);
    expect(resource('aks-quota')!.resource.properties).toMatchObject({ provisioningState: 'Failed' });
    expectNothingSecret(failed);

    const mark = emulators.arm.requests.length;
    const rerun = await aks('aks-quota');
    expectSucceeded(rerun);
    expect(log(rerun)).toContain('the last operation ended Failed: the desired state is written again to reconcile the cluster');
    expect(writes('aks-quota', mark).map((r) => r.method)).toEqual(['PUT']);
    expect(resource('aks-quota')!.resource.properties).toMatchObject({ provisioningState: 'Succeeded' });
  });

  it('bad inputs fail with one message naming the input, before anything is written', async () => {
    const mark = emulators.arm.requests.length;
    const extraDir = mkdtempSync(join(tmpdir(), 'aks-extra-'));
    onTestFinished(() => rmSync(extraDir, { recursive: true, force: true }));
    const extraFile = join(extraDir, 'extra.yaml');
    writeFileSync(extraFile, 'autoUpgradeProfile:\n  upgradeChannel: patch\nfooProfile:\n  enabled: true\n');
    const wrongSecret: EndpointSpec = { ...sp, params: { ...sp.params, serviceprincipalkey: 'not-the-secret-0815' } };
    secrets.add('not-the-secret-0815');
    const runs = await Promise.all([
      aks('bad-version', { kubernetesVersion: '1.30' }),
      aks('bad-preview', { kubernetesVersion: '1.36' }),
      aks('bad-dns', { serviceCidr: '10.0.0.0/16', dnsServiceIp: '10.1.0.10' }),
      aks('bad-admin', { entraId: 'true', disableLocalAccounts: 'true', useClusterAdmin: 'true' }),
      aks('bad-extra', { extraPropertiesFile: extraFile }),
      aks('aks-dev', { systemPoolCount: '5', systemPoolVmSize: 'Standard_D8ds_v5', systemPoolZones: '1,2' }),
      aks('aks-dev', { systemPoolCount: '5', kubernetesVersion: '1.34' }),
      aks('bad-subnet', { subnetId: subnetId.replace('aks-nodes', 'no-such-subnet') }),
      aks('bad-secret', {}, { endpoints: { [EP]: wrongSecret } }),
      // AKS's cross-field rules, each refused naming its input before anything is written.
      aks('bad-nat', { outboundType: 'managedNATGateway' }),
      aks('bad-podcidr', { networkPlugin: 'azure', podCidr: '10.244.0.0/16' }),
      aks('bad-dns-first', { serviceCidr: '10.0.0.0/16', dnsServiceIp: '10.0.0.1' }),
      aks('bad-overlap', { serviceCidr: '10.240.0.0/16', dnsServiceIp: '10.240.0.10' }),
      aks('bad-lts', { supportPlan: 'AKSLongTermSupport', tier: 'Standard' }),
      aks('bad-npm', { networkPlugin: 'kubenet', networkPolicy: 'azure' }),
      aks('aks-dev', { systemPoolCount: '5', networkPlugin: 'kubenet' }),
    ]);
    const [version, preview, dns, admin, extra, immutable, downgrade, subnet, secret, nat, podCidr, dnsFirst, overlap, lts, npm, plugin] = runs;
    for (const run of runs) {
      expect(run.result, run.stdout).toBe('Failed');
      expect(run.errors).toHaveLength(1);
      expect(run.completeMessage).toBe(run.errors[0]);
      expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
      expectNothingSecret(run);
    }
    expect(version.errors[0]).toBe("Input 'kubernetesVersion': westeurope does not offer Kubernetes 1.30; it offers 1.33.4, 1.33.6, 1.34.1, 1.34.2, 1.35.0, 1.35.3, 1.36.3 (preview). Expected one of those, a minor such as 1.35, or 'latest'.");
    expect(preview.errors[0]).toBe("Input 'kubernetesVersion': 1.36 is a preview version in westeurope. Expected a generally available version, or set 'allowPreviewVersions' to true.");
    expect(dns.errors[0]).toBe("Input 'dnsServiceIp': 10.1.0.10 is outside the service CIDR 10.0.0.0/16. Expected an address inside serviceCidr.");
    expect(admin.errors[0]).toMatch(/^Input 'useClusterAdmin': a cluster with local accounts disabled has no admin credentials/);
    expect(extra.errors[0]).toBe(`Input 'extraPropertiesFile': ${extraFile}: 'fooProfile' is not a ManagedCluster property this task can set (api-version 2026-04-01). Expected properties of the ARM ManagedCluster \`properties\` object, e.g. autoUpgradeProfile or addonProfiles.`);
    expect(immutable.errors[0]).toBe("Cluster aks-dev cannot take these changes in place, so nothing was changed: system pool VM size Standard_D4ds_v5 → Standard_D8ds_v5 (input 'systemPoolVmSize'); system pool availability zones 1, 2, 3 → 1, 2 (input 'systemPoolZones'). Use mode 'recreate' to delete the cluster and create it again from nothing, or set the inputs back to the cluster's values.");
    expect(downgrade.errors[0]).toBe("Input 'kubernetesVersion': the cluster runs 1.35.3 and AKS cannot downgrade it to 1.34.2. Expected 1.35.3 or newer (or mode 'recreate' to start again on 1.34.2).");
    expect(subnet.errors[0]).toBe(`Input 'subnetId': the subnet ${subnetId.replace('aks-nodes', 'no-such-subnet')} does not exist. Expected the resource ID of an existing subnet in the location of the cluster.`);
    expect(nat.errors[0]).toMatch(/^Input 'outboundType': 'managedNATGateway' is not possible here: AKS creates a managed NAT gateway only in a virtual network it manages.*Expected 'userAssignedNATGateway' \(associate your NAT gateway with the subnet first\), 'loadBalancer' or 'userDefinedRouting'\.$/);
    expect(podCidr.errors[0]).toMatch(/^Input 'podCidr': a pod CIDR applies to Azure CNI Overlay and kubenet only/);
    expect(dnsFirst.errors[0]).toMatch(/^Input 'dnsServiceIp': 10\.0\.0\.1 is the first address of the service CIDR 10\.0\.0\.0\/16/);
    expect(overlap.errors[0]).toBe("Input 'serviceCidr': 10.240.0.0/16 overlaps the subnet's address range 10.240.0.0/22, and AKS refuses a service CIDR that overlaps a subnet. Expected a range outside the virtual network and its peers, e.g. 172.16.0.0/16.");
    expect(lts.errors[0]).toMatch(/^Input 'supportPlan': long-term support \(AKSLongTermSupport\) needs the Premium tier, and the tier is Standard\./);
    expect(npm.errors[0]).toMatch(/^Input 'networkPolicy': Azure Network Policy Manager needs Azure CNI/);
    expect(plugin.errors[0]).toBe("Cluster aks-dev cannot take this change in place, so nothing was changed: network plugin azureOverlay → kubenet (input 'networkPlugin'): AKS upgrades kubenet and Azure CNI to Azure CNI Overlay only, and not back (learn.microsoft.com/azure/aks/upgrade-aks-ipam-and-dataplane). Use mode 'recreate' to delete the cluster and create it again from nothing, or set the inputs back to the cluster's values.");
    expect(secret.errors[0]).toMatch(/^Reading cluster bad-secret failed \(input 'azureSubscription'\): signing in with the service connection failed: .*AADSTS7000215.* The client secret is wrong/);
    const touched = emulators.arm.requests.slice(mark).filter((r) => r.method !== 'GET' && r.method !== 'POST');
    expect(touched.map((r) => `${r.method} ${r.path.split('/').at(-1)} ${r.status}`)).toEqual([]);
    for (const name of ['bad-version', 'bad-preview', 'bad-dns', 'bad-admin', 'bad-extra', 'bad-secret', 'bad-subnet', 'bad-nat', 'bad-podcidr', 'bad-dns-first', 'bad-overlap', 'bad-lts', 'bad-npm']) expect(resource(name)).toBeUndefined();
    expect(emulators.arm.requests.slice(mark).filter((r) => r.path.includes('bad-dns') || r.path.includes('bad-admin') || r.path.includes('bad-extra'))).toEqual([]);
  });
});

describe('AksBootstrap@1 cancelled', () => {
  it('stops when the pipeline cancels, and a re-run finishes what Azure went on with, writing nothing more', async () => {
    emulators.arm.setOperationDelay(8000);
    const cancel = new AbortController();
    const mark = emulators.arm.requests.length;
    const running = aks('aks-cancel', { systemPoolCount: '1' }, { cancel: cancel.signal });
    try {
      await expect.poll(() => writes('aks-cancel', mark).length, { timeout: 60_000, interval: 100 }).toBe(1);
    } finally {
      cancel.abort();
      emulators.arm.setOperationDelay(5);
    }
    const cancelledAt = Date.now();
    const run = await running;
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    expect(run.result).toBe('Cancelled');
    expect(run.warnings).toEqual([expect.stringContaining('Received SIGINT')]);
    expect(run.variables.kubeconfigPath).toBeUndefined();
    expectNothingSecret(run);
    expect(resource('aks-cancel')!.resource.properties).toMatchObject({ provisioningState: 'Creating' });

    const rerunMark = emulators.arm.requests.length;
    const rerun = await aks('aks-cancel', { systemPoolCount: '1' });
    expectSucceeded(rerun);
    expect(log(rerun)).toContain('Cluster aks-cancel is Creating: an earlier operation is still running; waiting for it to end first.');
    expect(log(rerun)).toContain('No changes: cluster aks-cancel matches the inputs.');
    expect(writes('aks-cancel', rerunMark)).toEqual([]);
    expect(await namespacesWith(kubeconfigOf(rerun).path)).toContain('kube-system');
  });
});

describe('AksBootstrap@1 through each kind of Azure Resource Manager service connection', () => {
  it('ServicePrincipal with a certificate: every line of the key stays hidden', async () => {
    const certificate = selfSignedCertificate('aks-bootstrap-spn');
    const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), certPem: certificate.certPem });
    certificate.keyPem.split('\n').filter((l) => l && !l.startsWith('-----')).forEach((l) => secrets.add(l));
    const id = randomUUID();
    const mark = emulators.arm.requests.length;
    const run = await aks('aks-dev', { azureSubscription: id, systemPoolCount: '5' }, {
      endpoints: { [id]: { url: `${emulators.arm.url}/`, scheme: 'ServicePrincipal', params: { tenantid: emulators.tenantId, serviceprincipalid: app.clientId, authenticationType: 'spnCertificate', servicePrincipalCertificate: certificate.pem }, data: armData } },
    });
    expectSucceeded(run);
    expect(writes('aks-dev', mark)).toEqual([]);
    expect(emulators.entra.issued.filter((t) => t.clientId === app.clientId).map((t) => t.grant)).toContain('client_certificate');
  });

  it('WorkloadIdentityFederation with SYSTEM_OIDCREQUESTURI and the job token: a fresh federated token once the first expired during a long update', async () => {
    const { devops, entra, arm, tenantId } = emulators;
    const project = devops.addProject({ name: 'platform' });
    const connection = devops.addServiceConnection({ name: 'arm-wif', project: project.name });
    const app = entra.addApp({ tenantId, clientId: randomUUID(), federated: { issuer: devops.oidcIssuer, subject: connection.subject } });
    const endpoints: Record<string, EndpointSpec> = {
      [connection.id]: { url: `${arm.url}/`, scheme: 'WorkloadIdentityFederation', data: armData, params: {
        tenantid: tenantId, serviceprincipalid: app.clientId, workloadIdentityFederationIssuer: devops.oidcIssuer, workloadIdentityFederationSubject: connection.subject,
      } },
      SYSTEMVSSCONNECTION: { url: devops.collectionUrl, scheme: 'OAuth', params: { AccessToken: devops.systemAccessToken } },
    };
    entra.setTokenLifetime(4);
    devops.setOidcTokenLifetime(3);
    arm.setOperationDelay(12_000);
    const mark = arm.requests.length;
    let run: RunResult;
    try {
      run = await aks('aks-dev', { azureSubscription: connection.id, systemPoolCount: '4' }, {
        endpoints, variables: { 'System.OidcRequestUri': devops.oidcRequestUri({ project: project.name }) },
      });
    } finally {
      entra.setTokenLifetime(3599);
      devops.setOidcTokenLifetime(600);
      arm.setOperationDelay(5);
    }
    expectSucceeded(run);
    expect(log(run)).toContain('system pool node count 5 → 4');
    expect(writes('aks-dev', mark).map((r) => r.method)).toEqual(['PUT']);
    const federated = devops.oidcTokens.filter((t) => t.serviceConnectionId === connection.id);
    expect(federated.length).toBeGreaterThanOrEqual(2);
    // The last one was minted (expiresOn - 3 s) after the first had expired.
    expect(federated.at(-1)!.expiresOn - 3).toBeGreaterThanOrEqual(federated[0].expiresOn);
    expect(entra.issued.filter((t) => t.clientId === app.clientId && t.grant === 'federated_assertion').length).toBeGreaterThanOrEqual(2);
    expect(arm.requests.slice(mark).filter((r) => r.status === 401)).toEqual([]);
    expect(run.secrets).toContain(devops.systemAccessToken);
  });

  it('ManagedServiceIdentity through the IMDS endpoint the task process is pointed at', async () => {
    const identity = emulators.entra.addManagedIdentity({ tenantId: emulators.tenantId, clientId: randomUUID(), systemAssigned: true });
    const id = randomUUID();
    const mark = emulators.arm.requests.length;
    const run = await aks('aks-dev', { azureSubscription: id, systemPoolCount: '4' }, {
      endpoints: { [id]: { url: `${emulators.arm.url}/`, scheme: 'ManagedServiceIdentity', params: { tenantid: emulators.tenantId }, data: armData } },
      env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: emulators.entra.imdsUrl },
    });
    expectSucceeded(run);
    expect(writes('aks-dev', mark)).toEqual([]);
    expect(emulators.entra.issued.filter((t) => t.clientId === identity.clientId).map((t) => t.grant)).toContain('managed_identity');
  });

  it('runs on Node 24 too', async () => {
    const mark = emulators.arm.requests.length;
    const run = await aks('aks-dev', { systemPoolCount: '4' }, { node: 'node24' });
    expectSucceeded(run);
    expect(writes('aks-dev', mark)).toEqual([]);
    expect(await namespacesWith(kubeconfigOf(run).path)).toContain('kube-system');
  });
});

describe('AksBootstrap@1 and what AKS checks', () => {
  it('a service connection without the roles is refused before anything is written, naming them; with the roles the README lists it creates the cluster and grants the cluster identity its subnet role', async () => {
    const { entra, arm, tenantId, subscriptionId } = emulators;
    const secret = `deployer-${randomUUID()}`;
    secrets.add(secret);
    const app = entra.addApp({ tenantId, clientId: randomUUID(), secret });
    const ep = randomUUID();
    const endpoints = { [ep]: { ...sp, params: { ...sp.params, serviceprincipalid: app.clientId, serviceprincipalkey: secret } } };
    const rgId = `/subscriptions/${subscriptionId}/resourceGroups/${RG}`;
    arm.addRoleAssignment({ principalId: app.objectId, role: 'Contributor', scope: rgId });
    try {
      const mark = arm.requests.length;
      const refused = await aks('aks-perm', { azureSubscription: ep, grantSubnetAccess: 'true', systemPoolCount: '1' }, { endpoints });
      expect(refused.result).toBe('Failed');
      expect(refused.errors).toHaveLength(1);
      expect(refused.errors[0]).toContain(`The service connection (input 'azureSubscription') may not create cluster aks-perm, so nothing was written: it lacks Microsoft.Network/virtualNetworks/subnets/join/action on subnet ${subnetId} (input 'subnetId'); it lacks Microsoft.Authorization/roleAssignments/write on subnet ${subnetId} (input 'grantSubnetAccess').`);
      expect(refused.errors[0]).toContain(`az role assignment create --assignee <the service connection's application (client) id> --role 'Network Contributor' --scope ${subnetId}`);
      expectNothingSecret(refused);
      expect(arm.requests.slice(mark).filter((r) => r.method === 'PUT')).toEqual([]);

      // What the README says the service connection needs (and test/pipeline/local-stack.ts can ask for).
      arm.clearRoleAssignments(app.objectId);
      arm.grantClusterDeployer({ principalId: app.objectId, resourceGroupIds: [rgId], subnetIds: [subnetId], grantSubnetAccess: true });
      const created = await aks('aks-perm', { azureSubscription: ep, grantSubnetAccess: 'true', systemPoolCount: '1' }, { endpoints });
      expectSucceeded(created);
      const principal = (resource('aks-perm')!.resource.identity as { principalId: string }).principalId;
      expect(arm.roleAssignments().filter((a) => a.principalId === principal)).toEqual([expect.objectContaining({ role: 'Network Contributor', scope: subnetId })]);
      expect(log(created)).toContain(`Granted the cluster identity (system-assigned) 'Network Contributor' on subnet ${subnetId}.`);
      const removed = await aks('aks-perm', { azureSubscription: ep, mode: 'delete' }, { endpoints });
      expectSucceeded(removed);
      expect(resource('aks-perm')).toBeUndefined();
    } finally {
      arm.clearRoleAssignments(app.objectId);
    }
  });

  it('two pipelines create the same cluster at once: one creates, the other gets 412, finds it and converges; nothing is lost', async () => {
    const path = clusterPath('aks-race');
    emulators.arm.barrier({ method: 'PUT', path, parties: 2 });
    const mark = emulators.arm.requests.length;
    const [a, b] = await Promise.all([
      aks('aks-race', { systemPoolCount: '1' }),
      aks('aks-race', { systemPoolCount: '1', tags: 'env=dev\nowner=platform\nteam=b' }),
    ]);
    expectSucceeded(a);
    expectSucceeded(b);
    const puts = emulators.arm.requests.slice(mark).filter((r) => r.method === 'PUT' && r.path === path);
    expect(puts.filter((r) => r.status === 201)).toHaveLength(1);
    expect(puts.filter((r) => r.status === 412)).toEqual([expect.objectContaining({ headers: expect.objectContaining({ 'if-none-match': '*' }) })]);
    expect([a, b].filter((run) => log(run).includes('Cluster aks-race changed since it was read (another writer was first: 412 Precondition Failed); reading it again and deciding anew.'))).toHaveLength(1);
    expect(resource('aks-race')!.resource.tags).toMatchObject({ team: 'b', 'managed-by': 'aks-gitops-tasks' });
    for (const run of [a, b]) expect(await namespacesWith(kubeconfigOf(run).path)).toContain('kube-system');
    await (await sdkClient()).managedClusters.beginDeleteAndWait(RG, 'aks-race', { updateIntervalInMs: 100 });
  });

  it('a stopped cluster is reported, not written, and no credentials are fetched', async () => {
    emulators.arm.setPowerState(emulators.subscriptionId, RG, 'aks-dev', 'Stopped');
    try {
      const mark = emulators.arm.requests.length;
      const run = await aks('aks-dev', { systemPoolCount: '5' });
      expect(run.result).toBe('Failed');
      expect(run.errors).toEqual([expect.stringContaining('Cluster aks-dev is stopped (power state Stopped): AKS allows only start and delete on a stopped cluster, so nothing was written and no credentials were fetched.')]);
      expect(run.errors[0]).toContain(`az aks start --resource-group ${RG} --name aks-dev`);
      expect(writes('aks-dev', mark)).toEqual([]);
      expect(emulators.arm.requests.slice(mark).filter((r) => r.path.includes('listCluster'))).toEqual([]);
    } finally {
      emulators.arm.setPowerState(emulators.subscriptionId, RG, 'aks-dev', 'Running');
    }
  });
});

describe('AksBootstrap@1 delete', () => {
  it('deletes a managed cluster and its control plane; a second delete finds nothing to do', async () => {
    const server = String(resource('aks-retry')!.endpoint!.server);
    const pid = apiServerPid(server)!;
    expect(alive(pid)).toBe(true);
    const run = await aks('aks-retry', { mode: 'delete' });
    expectSucceeded(run);
    expect(writes('aks-retry').at(-1)!.method).toBe('DELETE');
    expect(resource('aks-retry')).toBeUndefined();
    expect(alive(pid)).toBe(false);
    expect(run.completeMessage).toBe('Deleted cluster aks-retry.');
    const again = await aks('aks-retry', { mode: 'delete' });
    expectSucceeded(again);
    expect(again.completeMessage).toBe('Cluster aks-retry did not exist; nothing to delete.');
  });
});

describe('cluster connection through Azure Resource Manager (the other tasks\' azureResourceManager connection type)', () => {
  const input = (clusterName: string, admin = false) => ({
    kind: 'azureResourceManager' as const, resourceGroup: RG, clusterName, admin,
    azure: { id: EP, url: sp.url, scheme: sp.scheme, authParams: { ...sp.params }, data: Object.fromEntries(Object.entries(armData).map(([k, v]) => [k.toLowerCase(), v])) },
  });

  it('Entra ID cluster: a token for the AKS server app, fetched again once it expired; admin credentials refused by name', async () => {
    const { clusterAccess } = await import('../../shared/connect/cluster-access');
    const { KubeClient } = await import('../../shared/kube/client');
    const registered: string[] = [];
    emulators.entra.setTokenLifetime(3);
    try {
      const access = await clusterAccess(input('aks-entra'), (v) => registered.push(v));
      expect(access.token).toBeUndefined();
      const client = new KubeClient(access);
      try {
        const first = await client.request<{ items: { metadata: { name: string } }[] }>({ method: 'GET', path: '/api/v1/namespaces' });
        expect(first.items.map((n) => n.metadata.name)).toContain('kube-system');
        await new Promise((r) => setTimeout(r, 3500));
        await client.request({ method: 'GET', path: '/api/v1/namespaces/kube-system' });
      } finally {
        client.close();
      }
    } finally {
      emulators.entra.setTokenLifetime(3599);
    }
    const aksTokens = registered.filter((v) => v.startsWith('eyJ') && decodeJwtPayload(v).aud === AKS_SERVER_APP_ID);
    expect(new Set(aksTokens).size).toBeGreaterThanOrEqual(2);
    expect(registered).toContain(SP_SECRET);

    await expect(clusterAccess(input('aks-entra', true), () => undefined)).rejects.toThrow("Input 'useClusterAdmin': cluster aks-entra has local accounts disabled, so it has no admin credentials.");
    await expect(clusterAccess(input('no-such-cluster'), () => undefined)).rejects.toThrow(`Input 'kubernetesCluster': there is no AKS cluster no-such-cluster in resource group ${RG}.`);
  });

  it('local-accounts cluster: the user credentials AKS hands out, registered as secrets', async () => {
    const { clusterAccess } = await import('../../shared/connect/cluster-access');
    const { KubeClient } = await import('../../shared/kube/client');
    const registered: string[] = [];
    const access = await clusterAccess(input('aks-dev'), (v) => registered.push(v));
    expect(access.token).toBe(resource('aks-dev')!.endpoint!.adminToken);
    expect(registered).toContain(access.token);
    const client = new KubeClient(access);
    try {
      expect(await client.request({ method: 'GET', path: '/api/v1/namespaces/default' })).toMatchObject({ metadata: { name: 'default' } });
    } finally {
      client.close();
    }
  });
});
