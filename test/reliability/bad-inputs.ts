// The bad-input matrix of issue 14 and the secret audit, as data and runners usable by a vitest
// test (test/e2e/bad-inputs.test.ts) and by the CLI (test/reliability/cli.ts).
//
// Every case runs a packaged task exactly as the agent does (test/agent/harness.ts) with one thing
// wrong, and must fail with exactly one error that names the input (or the service connection),
// with no stack trace, before any call that changes anything reached a server: the ARM, Entra and
// Azure DevOps emulators' request logs, the API server's audit log (writes by the identity the
// tasks use, dry runs excepted) and the git server's refs say so. Every run, bad or good, is also
// audited for secrets: visible output, files left in the agent's temp and work folders, and the
// API server's audit log (names and request URIs).
import { seededRandom } from './faults';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { b64, forbiddenForms, makeKeyPair } from '../agent/fixtures';
import { type EndpointSpec, type RunOptions, type RunResult, runTask, visibleOutput } from '../agent/harness';
import { startAzureEmulators, type AzureEmulators } from '../emulators/azure-emulators';
import { ensureEmulatorTrustBundle } from '../emulators/ca';
import { devopsRepos, type DevOpsRepos } from '../emulators/devops-repos';
import type { RecordedRequest } from '../emulators/emulator-server';
import { createFakeClusters } from '../emulators/fake-cluster-factory';
import { trustEmulatorCa } from '../emulators/trust-emulator-ca';
import { auditEvents, type AuditEvent } from '../platform/audit-log';
import { gitClient, type GitClient, type GitServerInfo } from '../platform/git-server';
import { KubeApi } from '../platform/kube-api';
import type { ClusterInfo } from '../platform/platform';

const repoRoot = resolve(__dirname, '..', '..');
export type TaskName = 'AksBootstrap' | 'InstallSealedSecrets' | 'FluxBootstrap' | 'RegisterSystem';

/** What the matrix needs around it: a cluster the kube tasks reach, the platform's git and release servers. */
export interface EnvironmentOptions {
  cluster: ClusterInfo;
  git: GitServerInfo;
  releases: { baseUrl: string; sealedSecretsVersion: string; fluxVersion: string };
}

export interface ReliabilityEnvironment {
  options: EnvironmentOptions;
  emulators: AzureEmulators;
  git: GitClient;
  repos: DevOpsRepos;
  /** The agent's working folder of every run (files the inputs name live here). */
  work: string;
  /** The identity the kube tasks act as (a cluster-admin ServiceAccount of its own). */
  taskUser: string;
  taskToken: string;
  pair: { keyPem: string; certPem: string };
  otherPair: { keyPem: string; certPem: string };
  subnetId: string;
  azureEndpoint: EndpointSpec;
  kubeEndpoint: EndpointSpec;
  pat: string;
  webhookUrl: string;
  /** Every secret any run could have seen (grows as runs hand out tokens). */
  secrets(): string[];
  stop(): Promise<void>;
}

const SP_SECRET = `spn-secret-${randomUUID()}`;
const AZURE_EP = 'azure-ep';
const KUBE_EP = 'kube-ep';
const BAD_KUBE_EP = 'kube-ep-bad';
const WRONG_SECRET_EP = 'azure-ep-wrong-secret';
const FLEET_REPO = 'reliability-fleet';
const SA = { namespace: 'kube-system', name: 'reliability-task' };

function kubeconfigYaml(server: string, caPem: string, token: string, context = 'task'): string {
  return [
    'apiVersion: v1', 'kind: Config', `current-context: ${context}`,
    'clusters:', `- name: c`, '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${b64(caPem)}`,
    'users:', '- name: u', '  user:', `    token: ${token}`,
    'contexts:', `- name: ${context}`, '  context: {cluster: c, user: u}', '',
  ].join('\n');
}

export async function startReliabilityEnvironment(options: EnvironmentOptions): Promise<ReliabilityEnvironment> {
  trustEmulatorCa();
  const fake = createFakeClusters();
  const emulators = await startAzureEmulators({ clusterFactory: fake.factory });
  const { arm, entra, devops, subscriptionId, tenantId } = emulators;
  arm.addResourceGroup({ subscriptionId, name: 'rg-aks', location: 'westeurope' });
  arm.addResourceGroup({ subscriptionId, name: 'rg-net', location: 'westeurope' });
  const subnetId = arm.addSubnet({ subscriptionId, resourceGroup: 'rg-net', vnet: 'vnet-spoke', name: 'aks-nodes', addressPrefix: '10.240.0.0/22' });
  const app = entra.addApp({ tenantId, clientId: randomUUID(), secret: SP_SECRET });
  const armData = {
    subscriptionId, subscriptionName: 'Platform', environment: 'AzureCloud', scopeLevel: 'Subscription',
    environmentAuthorityUrl: `${entra.url}/`, activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
  };
  const azureEndpoint: EndpointSpec = { url: `${arm.url}/`, scheme: 'ServicePrincipal', params: { tenantid: tenantId, serviceprincipalid: app.clientId, serviceprincipalkey: SP_SECRET, authenticationType: 'spnKey' }, data: armData };

  // The kube tasks act as a ServiceAccount of their own, so the audit log tells their writes apart.
  const { cluster } = options;
  const admin = new KubeApi({ server: cluster.server, caPem: cluster.caPem, token: cluster.adminToken });
  let taskToken = '';
  try {
    await admin.apply([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA.name, namespace: SA.namespace } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: SA.name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: SA.name, namespace: SA.namespace }] },
    ] as never);
    const tr = await admin.post<{ status: { token: string } }>(`/api/v1/namespaces/${SA.namespace}/serviceaccounts/${SA.name}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86400 } });
    taskToken = tr.status.token;
  } finally {
    admin.close();
  }
  const taskUser = `system:serviceaccount:${SA.namespace}:${SA.name}`;
  const pair = makeKeyPair({ bits: 2048 });
  const otherPair = makeKeyPair({ bits: 2048 });

  devops.addProject({ name: 'platform' });
  const pat = devops.addPersonalAccessToken();
  const repos = devopsRepos({ collectionUrl: devops.collectionUrl, project: 'platform', pat, token: devops.systemAccessToken });
  const platformFiles: Record<string, string> = {};
  const walk = (dir: string, rel = '') => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p, `${rel}${e}/`);
      else platformFiles[`${rel}${e}`] = readFileSync(p, 'utf8');
    }
  };
  walk(join(repoRoot, 'examples', 'platform-components'));
  await repos.create('platform-components', { ...platformFiles, 'sealed-secrets/dev.crt': pair.certPem });

  const git = gitClient(options.git);
  if (!(await git.head(FLEET_REPO))) {
    await git.createRepo(FLEET_REPO, { files: { 'clusters/dev/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: reliability, namespace: default}\ndata: {from: git}\n' } });
  }

  const work = mkdtempSync(join(tmpdir(), 'reliability-work-'));
  const kubeEndpoint: EndpointSpec = { url: cluster.server, scheme: 'Kubeconfig', params: { kubeconfig: kubeconfigYaml(cluster.server, cluster.caPem, taskToken), clusterContext: 'task' } };
  writeFileSync(join(work, 'kubeconfig'), kubeconfigYaml(cluster.server, cluster.caPem, taskToken), { mode: 0o600 });
  // Another cluster's credentials against this server; and a context whose cluster is elsewhere.
  writeFileSync(join(work, 'kubeconfig-other-cluster'), kubeconfigYaml(cluster.server, cluster.caPem, `other-cluster-token-${randomUUID()}`), { mode: 0o600 });
  writeFileSync(join(work, 'kubeconfig-unreachable'), kubeconfigYaml('https://127.0.0.1:1', cluster.caPem, taskToken), { mode: 0o600 });
  // The right server with another cluster's CA; and a server that does not speak TLS.
  writeFileSync(join(work, 'kubeconfig-other-ca'), kubeconfigYaml(cluster.server, otherPair.certPem, taskToken), { mode: 0o600 });
  writeFileSync(join(work, 'kubeconfig-not-tls'), kubeconfigYaml(options.git.baseUrl.replace(/^http:/, 'https:'), cluster.caPem, taskToken), { mode: 0o600 });
  writeFileSync(join(work, 'kubeconfig-garbage'), 'this: [is not: a kubeconfig\n');
  writeFileSync(join(work, 'dev.crt'), pair.certPem);
  writeFileSync(join(work, 'other.crt'), otherPair.certPem);
  writeFileSync(join(work, 'not-a-cert.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  writeFileSync(join(work, 'extra-unknown.yaml'), 'fooProfile:\n  enabled: true\n');
  writeFileSync(join(work, 'extra-garbage.yaml'), ': : :\n  - [\n');
  mkdirSync(join(work, 'a-folder'));
  const webhookUrl = `https://hooks.example.com/webhook/${randomUUID()}`;

  const fixed = [SP_SECRET, pair.keyPem, otherPair.keyPem, taskToken, cluster.adminToken, pat, devops.systemAccessToken, webhookUrl, options.git.password ?? ''].filter((s) => s.length >= 8);
  return {
    options, emulators, git, repos, work, taskUser, taskToken, pair, otherPair, subnetId, azureEndpoint, kubeEndpoint, pat, webhookUrl,
    secrets: () => [...new Set([
      ...fixed,
      ...entra.issued.map((t) => t.token),
      ...devops.oidcTokens.map((t) => t.token),
      // The local account of the cluster AksBootstrap made, as its credentials hand it out.
      ...[arm.cluster(subscriptionId, 'rg-aks', 'aks-reliability')?.endpoint?.adminToken ?? ''].filter(Boolean),
    ])],
    async stop() {
      await emulators.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** One bad-input case: the task, the inputs that differ from a good run, the input the error must name. */
export interface BadInputCase {
  id: string;
  task: TaskName;
  /** What is wrong, in words. */
  what: string;
  inputs?: Record<string, string>;
  /** Options beyond inputs (endpoints, secure files). */
  run?: (env: ReliabilityEnvironment) => Partial<RunOptions>;
  /** The input named in the message (`Input '<name>'` or `input <name>`), or a pattern the message must match. */
  names: string | RegExp;
}

/** The inputs of a good run of each task (bad cases change some of them). */
export function goodInputs(env: ReliabilityEnvironment, task: TaskName): Record<string, string> {
  const { releases } = env.options;
  switch (task) {
    case 'AksBootstrap':
      return {
        azureSubscription: AZURE_EP, resourceGroup: 'rg-aks', clusterName: 'aks-reliability', location: 'westeurope', subnetId: env.subnetId,
        entraId: 'false', systemPoolCount: '3', systemPoolVmSize: 'Standard_D4ds_v5', tags: 'env=dev\nowner=platform', timeoutMinutes: '5',
      };
    case 'InstallSealedSecrets':
      return {
        connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', privateKey: b64(env.pair.keyPem), certificate: b64(env.pair.certPem),
        releaseBaseUrl: releases.baseUrl, controllerVersion: releases.sealedSecretsVersion, timeoutMinutes: '3',
      };
    case 'FluxBootstrap':
      return {
        connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', gitUrl: env.git.url(FLEET_REPO), gitBranch: 'main', gitPath: './clusters/dev',
        gitUsername: env.options.git.username ?? 'git', gitToken: env.options.git.password ?? 'token', allowInsecureHttp: 'true',
        components: 'source-controller,kustomize-controller', releaseBaseUrl: releases.baseUrl, fluxVersion: releases.fluxVersion, timeoutMinutes: '4',
      };
    case 'RegisterSystem':
      return {
        systemName: 'payments', clusterRole: 'system-tenant', entraGroupObjectId: '2d4f6a8c-1b3e-4d5f-8a7c-9e0b2c4d6f81', entraGroupClusterRole: 'view',
        syncInterval: '1m', organizationUrl: env.emulators.devops.collectionUrl, project: 'platform', accessToken: env.emulators.devops.systemAccessToken,
        createRepository: 'true', systemBranch: 'main', systemPath: './deploy/dev', systemReadToken: env.pat, platformRepository: 'platform-components',
        platformBranch: 'main', systemsFolder: 'systems/dev', changeMode: 'commit', sealingCertificate: 'dev.crt', sealingScope: 'strict',
        alertProvider: 'msteams', alertWebhookUrl: env.webhookUrl, alertSeverity: 'error', connectionType: 'kubeconfig', kubeconfig: 'kubeconfig',
      };
  }
}

/** The endpoints every run is handed (a case may replace them). */
function endpointsOf(env: ReliabilityEnvironment): Record<string, EndpointSpec> {
  return {
    [AZURE_EP]: env.azureEndpoint,
    [WRONG_SECRET_EP]: { ...env.azureEndpoint, params: { ...env.azureEndpoint.params, serviceprincipalkey: 'not-the-secret-0815' } },
    [KUBE_EP]: env.kubeEndpoint,
    [BAD_KUBE_EP]: { ...env.kubeEndpoint, params: { kubeconfig: 'not: [a kubeconfig', clusterContext: 'task' } },
  };
}

const arm = (extra: Record<string, string> = {}) => ({ connectionType: 'azureResourceManager', azureSubscription: AZURE_EP, azureResourceGroup: 'rg-aks', kubernetesCluster: 'aks-missing', ...extra });
const kubeCases = (task: 'InstallSealedSecrets' | 'FluxBootstrap' | 'RegisterSystem', p: string, extra: Record<string, string> = {}): BadInputCase[] => [
  { id: `${p}-kubeconfig-missing`, task, what: 'kubeconfig file does not exist', inputs: { ...extra, kubeconfig: 'no-such-kubeconfig' }, names: 'kubeconfig' },
  { id: `${p}-kubeconfig-folder`, task, what: 'kubeconfig is a folder (unreadable as a file)', inputs: { ...extra, kubeconfig: 'a-folder' }, names: 'kubeconfig' },
  { id: `${p}-kubeconfig-garbage`, task, what: 'kubeconfig is not YAML of a kubeconfig', inputs: { ...extra, kubeconfig: 'kubeconfig-garbage' }, names: 'kubeconfig' },
  { id: `${p}-kubeconfig-other-cluster`, task, what: 'kubeconfig holds another cluster\'s credentials (401)', inputs: { ...extra, kubeconfig: 'kubeconfig-other-cluster' }, names: 'kubeconfig' },
  { id: `${p}-kubeconfig-other-ca`, task, what: 'kubeconfig trusts another cluster\'s CA', inputs: { ...extra, kubeconfig: 'kubeconfig-other-ca' }, names: 'kubeconfig' },
  { id: `${p}-kubeconfig-not-tls`, task, what: 'kubeconfig points at a server that does not speak TLS', inputs: { ...extra, kubeconfig: 'kubeconfig-not-tls' }, names: 'kubeconfig' },
  { id: `${p}-kubeconfig-unreachable`, task, what: 'kubeconfig points at a cluster that is not there', inputs: { ...extra, kubeconfig: 'kubeconfig-unreachable', timeoutMinutes: '1' }, names: 'kubeconfig' },
  { id: `${p}-kubecontext-missing`, task, what: 'kubeContext names no context of the file', inputs: { ...extra, kubeContext: 'no-such-context' }, names: /kubeContext|kubeconfig/ },
  { id: `${p}-connection-type`, task, what: 'connectionType outside the pick list', inputs: { ...extra, connectionType: 'ftp' }, names: 'connectionType' },
  { id: `${p}-kube-ep-missing`, task, what: 'no Kubernetes service connection given', inputs: { ...extra, connectionType: 'kubernetesServiceConnection', kubernetesServiceConnection: '' }, names: 'kubernetesServiceConnection' },
  { id: `${p}-kube-ep-unknown`, task, what: 'Kubernetes service connection that does not exist', inputs: { ...extra, connectionType: 'kubernetesServiceConnection', kubernetesServiceConnection: 'no-such-connection' }, names: 'kubernetesServiceConnection' },
  { id: `${p}-kube-ep-garbage`, task, what: 'Kubernetes service connection with a broken kubeconfig', inputs: { ...extra, connectionType: 'kubernetesServiceConnection', kubernetesServiceConnection: BAD_KUBE_EP }, names: 'kubernetesServiceConnection' },
  { id: `${p}-arm-cluster-missing`, task, what: 'ARM connection: the cluster does not exist', inputs: arm(extra), names: /kubernetesCluster|azureResourceGroup/ },
  { id: `${p}-arm-rg-missing`, task, what: 'ARM connection: the resource group does not exist', inputs: arm({ ...extra, azureResourceGroup: 'rg-missing' }), names: /azureResourceGroup|kubernetesCluster/ },
  { id: `${p}-arm-no-rg`, task, what: 'ARM connection without a resource group', inputs: arm({ ...extra, azureResourceGroup: '' }), names: 'azureResourceGroup' },
  { id: `${p}-arm-wrong-secret`, task, what: 'ARM connection whose secret is wrong', inputs: arm({ ...extra, azureSubscription: WRONG_SECRET_EP }), names: 'azureSubscription' },
];

/** The matrix: at least 50 cases across the four tasks. */
export function badInputCases(): BadInputCase[] {
  const aks = (id: string, what: string, inputs: Record<string, string>, names: string | RegExp): BadInputCase => ({ id: `aks-${id}`, task: 'AksBootstrap', what, inputs, names });
  const iss = (id: string, what: string, inputs: Record<string, string>, names: string | RegExp): BadInputCase => ({ id: `iss-${id}`, task: 'InstallSealedSecrets', what, inputs, names });
  const flux = (id: string, what: string, inputs: Record<string, string>, names: string | RegExp): BadInputCase => ({ id: `flux-${id}`, task: 'FluxBootstrap', what, inputs, names });
  const reg = (id: string, what: string, inputs: Record<string, string>, names: string | RegExp): BadInputCase => ({ id: `reg-${id}`, task: 'RegisterSystem', what, inputs, names });
  return [
    aks('no-connection', 'no service connection', { azureSubscription: '' }, 'azureSubscription'),
    aks('unknown-connection', 'a service connection that does not exist', { azureSubscription: 'no-such-connection' }, 'azureSubscription'),
    aks('wrong-secret', 'the service connection\'s secret is wrong', { azureSubscription: WRONG_SECRET_EP }, 'azureSubscription'),
    aks('rg-name', 'resource group name with characters Azure refuses', { resourceGroup: 'rg/with/slash' }, 'resourceGroup'),
    aks('rg-missing', 'resource group that does not exist', { resourceGroup: 'rg-missing' }, 'resourceGroup'),
    aks('cluster-name', 'cluster name AKS refuses', { clusterName: 'Bad_Name!' }, 'clusterName'),
    aks('mode', 'mode outside the pick list', { mode: 'upgrade' }, 'mode'),
    aks('version-unknown', 'a Kubernetes version the region does not offer', { kubernetesVersion: '1.30' }, 'kubernetesVersion'),
    aks('version-garbage', 'a Kubernetes version that is no version', { kubernetesVersion: 'banana' }, 'kubernetesVersion'),
    aks('tier', 'tier outside the pick list', { tier: 'Gold' }, 'tier'),
    aks('subnet-shape', 'subnet ID of the wrong shape', { subnetId: 'vnet/aks' }, 'subnetId'),
    aks('subnet-missing', 'subnet that does not exist', { subnetId: '/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-spoke/subnets/nope' }, 'subnetId'),
    aks('service-cidr', 'service CIDR that is no CIDR', { serviceCidr: 'not-a-cidr' }, 'serviceCidr'),
    aks('dns-outside', 'DNS service IP outside the service CIDR', { serviceCidr: '10.0.0.0/16', dnsServiceIp: '10.1.0.10' }, 'dnsServiceIp'),
    aks('pool-count', 'node count that is no number', { systemPoolCount: 'three' }, 'systemPoolCount'),
    aks('autoscale-bounds', 'autoscaler minimum above maximum', { systemPoolAutoscale: 'true', systemPoolMinCount: '5', systemPoolMaxCount: '3' }, /systemPoolMinCount|systemPoolMaxCount/),
    aks('zones', 'availability zone that does not exist', { systemPoolZones: '1,7' }, 'systemPoolZones'),
    aks('tags', 'tag line without a value', { tags: 'novalue' }, 'tags'),
    aks('extra-missing', 'extra properties file that does not exist', { extraPropertiesFile: 'no-such-extra.yaml' }, 'extraPropertiesFile'),
    aks('extra-unknown', 'extra properties file with a property AKS does not have', { extraPropertiesFile: 'extra-unknown.yaml' }, 'extraPropertiesFile'),
    aks('extra-garbage', 'extra properties file that is not YAML', { extraPropertiesFile: 'extra-garbage.yaml' }, 'extraPropertiesFile'),
    aks('uai-missing', 'user-assigned identity without its ID', { identityType: 'UserAssigned', userAssignedIdentityId: '' }, 'userAssignedIdentityId'),
    aks('admin-no-local', 'cluster admin with local accounts disabled', { entraId: 'true', disableLocalAccounts: 'true', useClusterAdmin: 'true' }, 'useClusterAdmin'),
    aks('npm-kubenet', 'Azure Network Policy Manager with kubenet', { networkPlugin: 'kubenet', networkPolicy: 'azure' }, 'networkPolicy'),
    aks('managed-nat', 'managed NAT gateway in the user\'s own subnet', { outboundType: 'managedNATGateway' }, 'outboundType'),
    aks('timeout', 'negative timeout', { timeoutMinutes: '-1' }, 'timeoutMinutes'),
    aks('ip-ranges', 'authorized IP range that is no range', { authorizedIpRanges: 'not-an-ip' }, 'authorizedIpRanges'),

    iss('key-garbage', 'private key that is not base64', { privateKey: 'not*base64*at-all' }, 'privateKey'),
    iss('key-empty', 'no private key', { privateKey: '' }, 'privateKey'),
    iss('cert-not-pair', 'a certificate that is not the key\'s pair', { certificate: '@other' }, /privateKey|certificate/),
    iss('cert-garbage', 'certificate that is no certificate', { certificate: b64('hello') }, 'certificate'),
    iss('key-is-cert', 'the certificate given as the private key', { privateKey: '@cert' }, 'privateKey'),
    iss('secure-file-missing', 'keySource secureFile without a secure file', { keySource: 'secureFile', keySecureFile: '' }, 'keySecureFile'),
    iss('renew-period', 'custom key renewal with a period that is no duration', { keyRenewal: 'custom', keyRenewPeriod: 'soon' }, 'keyRenewPeriod'),
    iss('version', 'controller version that is no version', { controllerVersion: 'not a version' }, 'controllerVersion'),
    iss('manifest-missing', 'manifest file that does not exist', { manifestSource: 'file', manifestFile: 'no-such-controller.yaml' }, 'manifestFile'),
    iss('manifest-sha', 'manifest SHA-256 that is no digest', { manifestSha256: 'abc' }, 'manifestSha256'),
    iss('namespace', 'namespace Kubernetes refuses', { namespace: 'Kube_System' }, 'namespace'),
    iss('pull-config', 'pull secret config that is not base64 JSON', { imagePullSecret: 'mirror', imagePullSecretConfig: 'not-json' }, 'imagePullSecretConfig'),
    iss('pull-secret-missing', 'pull secret that does not exist in the cluster', { imagePullSecret: 'missing-pull' }, 'imagePullSecret'),
    iss('timeout', 'timeout that is no number', { timeoutMinutes: 'abc' }, 'timeoutMinutes'),
    iss('release-url', 'release base URL that is not https', { releaseBaseUrl: 'ftp://example.com' }, 'releaseBaseUrl'),
    ...kubeCases('InstallSealedSecrets', 'iss'),

    flux('git-url-empty', 'no git URL', { gitUrl: '' }, 'gitUrl'),
    flux('git-url-garbage', 'git URL that is no URL', { gitUrl: 'not a url' }, 'gitUrl'),
    flux('git-url-http', 'a token over plain HTTP', { allowInsecureHttp: 'false' }, 'gitUrl'),
    flux('git-branch', 'branch name git refuses', { gitBranch: 'bad..branch' }, 'gitBranch'),
    flux('git-branch-missing', 'branch that does not exist', { gitBranch: 'no-such-branch' }, 'gitBranch'),
    flux('git-path', 'path out of the repository', { gitPath: '../escape' }, 'gitPath'),
    flux('interval', 'sync interval that is no duration', { syncInterval: 'often' }, 'syncInterval'),
    flux('token-empty', 'token auth without a token', { gitToken: '' }, 'gitToken'),
    flux('token-wrong', 'a token the git server refuses', { gitToken: 'wrong-token-4711' }, 'gitToken'),
    flux('ssh-no-key', 'ssh auth without a key file', { gitAuth: 'ssh', sshKeySecureFile: '' }, 'sshKeySecureFile'),
    flux('azure-no-client', 'azure auth without a client ID', { gitAuth: 'azure', workloadIdentityClientId: '' }, 'workloadIdentityClientId'),
    flux('components', 'a component Flux does not have', { components: 'source-controller,foo-controller' }, 'components'),
    flux('version', 'Flux version that is no version', { fluxVersion: 'two' }, 'fluxVersion'),
    flux('manifest-missing', 'install manifest file that does not exist', { installSource: 'file', installManifestFile: 'no-such-install.yaml' }, 'installManifestFile'),
    flux('ca-missing', 'CA file that does not exist', { caFile: 'no-such-ca.pem' }, 'caFile'),
    flux('namespace', 'namespace Kubernetes refuses', { namespace: 'Flux System' }, 'namespace'),
    flux('sync-name', 'sync name Kubernetes refuses', { syncName: 'Flux_System' }, 'syncName'),
    flux('wait-for', 'waitFor outside the pick list', { waitFor: 'forever' }, 'waitFor'),
    flux('default-sa', 'default service account name Kubernetes refuses', { defaultServiceAccount: 'Bad Name' }, 'defaultServiceAccount'),
    flux('pull-config', 'pull secret config that is not base64 JSON', { imagePullSecret: 'mirror', imagePullSecretConfig: 'not-json' }, 'imagePullSecretConfig'),
    ...kubeCases('FluxBootstrap', 'flux'),

    reg('name', 'system name Kubernetes refuses', { systemName: 'Payments!' }, 'systemName'),
    reg('name-empty', 'no system name', { systemName: '' }, 'systemName'),
    reg('cluster-role', 'ClusterRole that exists nowhere', { clusterRole: 'no-such-role' }, 'clusterRole'),
    reg('project', 'project that does not exist', { project: 'nope' }, /project/i),
    reg('platform-repo', 'platform repository that does not exist', { platformRepository: 'missing-repo' }, 'platformRepository'),
    reg('platform-branch', 'platform branch that does not exist', { platformBranch: 'release' }, 'platformBranch'),
    reg('webhook-http', 'webhook over plain HTTP', { alertWebhookUrl: 'http://hooks.example.com/x' }, 'alertWebhookUrl'),
    reg('webhook-empty', 'alerts without a webhook', { alertWebhookUrl: '' }, 'alertWebhookUrl'),
    reg('access-token', 'an access token Azure DevOps refuses', { accessToken: 'not-a-token' }, /accessToken/),
    reg('confirm', 'deregistration not confirmed by the system name', { action: 'deregister', confirmDeletion: 'paymnets' }, 'confirmDeletion'),
    reg('cert-garbage', 'sealing certificate that is no certificate', { sealingCertificate: 'not-a-cert.pem' }, 'sealingCertificate'),
    reg('cert-missing', 'sealing certificate file that does not exist', { sealingCertificate: 'no-such.crt' }, 'sealingCertificate'),
    reg('cert-folder', 'sealing certificate that is a folder', { sealingCertificate: 'a-folder' }, 'sealingCertificate'),
    reg('org-url', 'organization URL that is no URL', { organizationUrl: 'not a url' }, 'organizationUrl'),
    reg('org-unreachable', 'organization that is not there', { organizationUrl: 'https://127.0.0.1:1/contoso/' }, 'organizationUrl'),
    reg('group-id', 'Entra group object ID that is no GUID', { entraGroupObjectId: 'not-a-guid' }, 'entraGroupObjectId'),
    reg('interval', 'sync interval that is no duration', { syncInterval: 'weekly' }, 'syncInterval'),
    reg('pod-security', 'Pod Security level outside the pick list', { podSecurity: 'privileged' }, 'podSecurity'),
    reg('scope', 'sealing scope outside the pick list', { sealingScope: 'global' }, 'sealingScope'),
    reg('system-path', 'system path out of the repository', { systemPath: '../../etc' }, 'systemPath'),
    reg('systems-folder', 'systems folder out of the repository', { systemsFolder: '../outside' }, 'systemsFolder'),
    reg('namespace', 'namespace Kubernetes refuses', { namespace: 'Bad_NS' }, 'namespace'),
    reg('auto-complete', 'a boolean that is no boolean', { changeMode: 'pullRequest', autoComplete: 'maybe' }, 'autoComplete'),
    ...kubeCases('RegisterSystem', 'reg', { applyNow: 'true' }).filter((c) => !/connection-type|kube-ep-missing|arm-no-rg/.test(c.id)),
  ];
}

/** What one case did. */
export interface CaseResult {
  id: string;
  task: TaskName;
  what: string;
  failed: boolean;
  errors: string[];
  /** The run failed with one error naming the expected input, without a stack trace. */
  clear: boolean;
  unclear?: string;
  /** Calls that changed something (emulators, API server, git) while the case ran. */
  mutations: string[];
  leaks: string[];
  /** The error was one the task did not expect: with system.debug its stack is in a debug line. */
  debugStack: boolean;
  durationMs: number;
}

export interface AuditedRun {
  label: string;
  run: RunResult;
  succeeded: boolean;
  leaks: string[];
}

export const STACK = /\n\s+at .+:\d+:\d+\)?|\bat (Object|Module|process|async)\.[\w<>]+ \(/;

/** Requests of an emulator that change something (token and read-only POSTs are not). */
export function mutatingRequests(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => {
    if (!['PUT', 'PATCH', 'POST', 'DELETE'].includes(r.method)) return false;
    const p = r.path.toLowerCase();
    return !(/\/oauth2(\/v2\.0)?\/token$/.test(p) // Entra ID token requests
      || /\/oidctoken$/.test(p) // the job's OIDC token
      || p.endsWith('/permissionevaluationbatch') // Azure DevOps Security API: asks, changes nothing
      || /\/listcluster(user|admin)credential$/.test(p) // ARM's read action for AKS credentials
      || /git-upload-pack$/.test(p)); // git fetch
  });
}

/** Refs of every bare repository on the git server, to prove nothing was pushed. */
function gitRefs(root: string): string {
  if (!existsSync(root)) return '';
  return readdirSync(root).sort().map((repo) => {
    try {
      return `${repo}\n${execFileSync('git', ['-C', join(root, repo), 'for-each-ref', '--format=%(refname) %(objectname)'], { encoding: 'utf8' })}`;
    } catch {
      return `${repo} (unreadable)`;
    }
  }).join('\n');
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const s = statSync(p);
    if (s.isDirectory()) out.push(...filesUnder(p));
    else if (s.isFile()) out.push(p);
  }
  return out;
}

function snapshot(dir: string): Map<string, number> {
  return new Map(filesUnder(dir).map((f) => [f, statSync(f).mtimeMs]));
}

/**
 * Secrets in what a run left behind: its visible output, the files it left in the agent's temp
 * folder and the files it added or changed in the work folder. The kubeconfig a task hands to
 * later steps (output kubeconfigPath) carries the cluster's credentials by design: it must be
 * owner-only, like every kubeconfig a task writes.
 */
export function secretLeaks(run: RunResult, secrets: string[], workBefore: Map<string, number>, work: string): string[] {
  const leaks: string[] = [];
  const forms = secrets.flatMap((s) => forbiddenForms(s).map((f) => ({ secret: s, form: f })));
  const visible = visibleOutput(run);
  for (const { secret, form } of forms) if (visible.includes(form)) leaks.push(`output shows a form of secret ${secret.slice(0, 6)}…`);
  if (/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/.test(visible)) leaks.push('output shows a JWT');
  const kubeconfigOutput = run.variables.kubeconfigPath?.value;
  const changed = filesUnder(work).filter((f) => workBefore.get(f) !== statSync(f).mtimeMs);
  for (const file of [...filesUnder(run.tempDir), ...changed]) {
    const text = readFileSync(file, 'latin1');
    const mode = statSync(file).mode & 0o777;
    if (/^kind:\s*Config$/m.test(text) && /^users:/m.test(text) && (mode & 0o077) !== 0) leaks.push(`kubeconfig ${file} is not owner-only (mode ${mode.toString(8)})`);
    if (file === kubeconfigOutput) continue;
    for (const { secret, form } of forms) {
      if (text.includes(form)) {
        leaks.push(`${file} holds a form of secret ${secret.slice(0, 6)}…`);
        break;
      }
    }
  }
  return leaks;
}

/** Secrets in the API server's audit log (metadata: object names, request URIs, user agents). */
export function auditLogLeaks(env: ReliabilityEnvironment): string[] {
  const file = env.options.cluster.logs.audit;
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const leaks: string[] = [];
  for (const secret of env.secrets()) for (const form of forbiddenForms(secret)) {
    if (form.length >= 8 && text.includes(form)) {
      leaks.push(`the API server's audit log holds a form of secret ${secret.slice(0, 6)}…`);
      break;
    }
  }
  return leaks;
}

function taskWrites(env: ReliabilityEnvironment, since: Date): AuditEvent[] {
  return auditEvents(env.options.cluster.logs.audit, (e) => !e.dryRun && Date.parse(e.requestReceivedTimestamp) >= since.getTime()
    && (e.user?.username === env.taskUser || e.impersonatedUser?.username === env.taskUser) && (e.responseStatus?.code ?? 0) < 400);
}

function resolveSpecial(env: ReliabilityEnvironment, inputs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = v === '@other' ? b64(env.otherPair.certPem) : v === '@cert' ? b64(env.pair.certPem) : v;
  return out;
}

function runOptions(env: ReliabilityEnvironment, task: TaskName, inputs: Record<string, string>, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    task,
    node: 'node20',
    workingDirectory: env.work,
    timeoutMs: 240_000,
    endpoints: endpointsOf(env),
    variables: { 'System.Debug': 'true', 'System.CollectionUri': env.emulators.devops.collectionUrl, 'System.TeamFoundationCollectionUri': env.emulators.devops.collectionUrl },
    env: { NODE_EXTRA_CA_CERTS: ensureEmulatorTrustBundle() },
    ...extra,
    inputs,
  };
}

/**
 * What the log shows, debug lines excepted: with system.debug the pipeline layer prints the stack of
 * an error it did not expect as a debug line, for diagnosis (counted apart, see debugStack).
 */
export function shownOutput(run: RunResult): string {
  return `${run.stdout.split(/\r?\n/).filter((l) => !l.startsWith('##vso[task.debug]') && !l.startsWith('##[debug]')).join('\n')}\n${run.stderr}`;
}

function namesInput(message: string, names: string | RegExp): boolean {
  if (names instanceof RegExp) {
    const quoted = [...message.matchAll(/input '?([A-Za-z]+)'?/gi)].map((m) => m[1]!);
    return quoted.some((n) => names.test(n)) || (names.test(message) && /input|service connection|project/i.test(message));
  }
  return message.includes(`Input '${names}'`) || new RegExp(`input '?${names}'?\\b|\\b${names} input\\b`, 'i').test(message) || message.includes(`'${names}' / '`) || message.includes(`/ '${names}'`);
}

/** Runs one case and checks everything the issue asks of it. */
export async function runBadInputCase(env: ReliabilityEnvironment, c: BadInputCase): Promise<CaseResult> {
  const started = Date.now();
  const since = new Date(started - 1000);
  const marks = { arm: env.emulators.arm.requests.length, entra: env.emulators.entra.requests.length, devops: env.emulators.devops.requests.length };
  const refs = gitRefs(env.options.git.root);
  const workBefore = snapshot(env.work);
  const inputs = resolveSpecial(env, { ...goodInputs(env, c.task), ...c.inputs });
  const run = await runTask(runOptions(env, c.task, inputs, c.run?.(env)));
  try {
    const mutations = [
      ...(['arm', 'entra', 'devops'] as const).flatMap((k) => mutatingRequests(env.emulators[k].requests.slice(marks[k])).map((r) => `${k}: ${r.method} ${r.path} ${r.status ?? ''}`)),
      ...taskWrites(env, since).map((e) => `api server: ${e.verb} ${e.requestURI} ${e.responseStatus?.code ?? ''}`),
      ...(gitRefs(env.options.git.root) !== refs ? ['git: refs changed'] : []),
    ];
    const message = run.errors[0] ?? run.completeMessage ?? '';
    let unclear: string | undefined;
    if (run.result !== 'Failed') unclear = `the run ended ${run.result ?? `without a result (exit ${run.exitCode})`}`;
    else if (run.errors.length !== 1) unclear = `${run.errors.length} errors: ${run.errors.join(' | ')}`;
    else if (STACK.test(shownOutput(run))) {
      const all = shownOutput(run);
      const at = all.search(STACK);
      unclear = `a stack trace in the output: ${all.slice(Math.max(0, at - 300), at + 200)}`;
    }
    else if (!namesInput(message, c.names)) unclear = `the message names no input ${String(c.names)}: ${message}`;
    return {
      id: c.id, task: c.task, what: c.what, failed: run.result === 'Failed', errors: run.errors, clear: !unclear, unclear, mutations,
      leaks: secretLeaks(run, env.secrets(), workBefore, env.work), debugStack: STACK.test(run.stdout.replace(/%0A/g, '\n')), durationMs: Date.now() - started,
    };
  } finally {
    rmSync(run.tempDir, { recursive: true, force: true });
  }
}

/** A deterministic shuffle (mulberry32) so a seed gives the same order. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const rand = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs the matrix (in the seed's order, `concurrency` at a time); the results in that order. */
export async function runBadInputMatrix(env: ReliabilityEnvironment, o: { seed?: number; concurrency?: number; filter?: (c: BadInputCase) => boolean; onResult?: (r: CaseResult) => void } = {}): Promise<CaseResult[]> {
  const cases = shuffled(badInputCases().filter(o.filter ?? (() => true)), o.seed ?? 1);
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  // Cases running side by side share time windows: a write seen in a window is charged to every
  // case in it, which can only over-report.
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await runBadInputCase(env, cases[i]!);
      o.onResult?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 1) }, worker));
  return results;
}

/** A successful run of each task with system.debug on, audited for secrets. */
export async function runSuccessfulRuns(env: ReliabilityEnvironment, o: { tasks?: TaskName[]; onRun?: (r: AuditedRun) => void } = {}): Promise<AuditedRun[]> {
  const order: TaskName[] = o.tasks ?? ['AksBootstrap', 'InstallSealedSecrets', 'FluxBootstrap', 'RegisterSystem'];
  const audited: AuditedRun[] = [];
  for (const task of order) {
    const workBefore = snapshot(env.work);
    const run = await runTask(runOptions(env, task, goodInputs(env, task)));
    const leaks = secretLeaks(run, env.secrets(), workBefore, env.work);
    const kubeconfig = run.variables.kubeconfigPath?.value;
    if (kubeconfig && existsSync(kubeconfig) && (statSync(kubeconfig).mode & 0o077) !== 0) leaks.push(`kubeconfig ${kubeconfig} is not owner-only`);
    const r = { label: `${task} (succeeds, system.debug)`, run, succeeded: run.result === 'Succeeded', leaks };
    audited.push(r);
    o.onRun?.(r);
    rmSync(run.tempDir, { recursive: true, force: true });
  }
  return audited;
}
