// Everything an example pipeline expects to exist around it, made locally: Entra ID, ARM and Azure
// DevOps emulators (every AKS cluster a full local cluster that runs the real controllers), the
// landing zone the pipeline names (subscription, resource groups, subnet, admin group), a
// workload-identity service connection, the platform-components repository in Azure Repos (the
// Azure DevOps emulator, where Flux reads it and RegisterSystem writes to it), and a fresh Sealed
// Secrets key pair (openssl) in the variable group the pipelines name. What it returns is
// what Azure DevOps would hold: the environment file, the pipeline-settings variables, and the
// few values that cannot be the same on this machine (repository URL, release mirror).
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { makeKeyPair } from '../agent/fixtures';
import { startAzureEmulators, type AzureEmulators } from '../emulators/azure-emulators';
import { ensureEmulatorTrustBundle } from '../emulators/ca';
import { fullClusterFactory, type FullClusters } from '../emulators/full-cluster-factory';
import { devopsRepos, type DevOpsRepos } from '../emulators/devops-repos';
import type { PipelineDefinition } from './definition';
import type { LocalEnvironment, PipelineVariables } from './environment';
import { landingZoneOf, type LandingZone } from './landing-zone';

export interface LocalStackOptions {
  /** The pipelines to prepare for (their AksBootstrap steps name the landing zone). */
  pipelines: PipelineDefinition[];
  /** Base URL serving the Flux and Sealed Secrets release files at GitHub's paths. */
  releasesBaseUrl: string;
  /** The platform repository to push: a folder, e.g. examples/platform-components. */
  platformRepository: { name: string; dir: string };
  /** Key pair bits; 4096 as the README recommends, less for quicker tests. */
  keyBits?: number;
}

export interface LocalStack {
  emulators: AzureEmulators;
  clusters: FullClusters;
  landingZone: LandingZone;
  environment: LocalEnvironment;
  pipelineVariables: PipelineVariables;
  /** Values of pipeline variables that must differ on this machine. */
  overrides: Record<string, string>;
  keyPair: { certPem: string; keyPem: string };
  /** The flux-reader account's PAT (Code: Read), Flux's git credential in the variable group. */
  fluxReaderToken: string;
  platformRepositoryUrl: string;
  /** The project's repositories (platform-components, the teams'), as a team member reaches them. */
  repos: DevOpsRepos;
  /** What the platform repository's first commit holds (a checkout, for pipelines that read it). */
  platformFiles: Record<string, string>;
  /** The Entra application behind the service connections. */
  servicePrincipal: { clientId: string; objectId: string };
  stop(): Promise<void>;
}

/** Every file of a folder, by path relative to it (what a first commit of it holds). */
export function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at)) {
      const path = join(at, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return files;
}

/** The platform repository's branches besides main (prod): the dev and test environments'. */
export const ENVIRONMENT_BRANCHES = ['dev', 'test'];
/** The branch examples/bootstrap.yml's dev cluster follows (its `platformBranch` variable). */
export const PLATFORM_BRANCH = 'dev';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const landingZone = landingZoneOf(o.pipelines);
  const clusters = fullClusterFactory();
  const emulators = await startAzureEmulators({ clusterFactory: clusters.factory, subscriptionId: landingZone.subscriptionId });
  try {
    const { arm, entra, devops, tenantId, subscriptionId } = emulators;
    for (const group of landingZone.clusterResourceGroups) arm.addResourceGroup({ subscriptionId, name: group, location: landingZone.location });
    for (const subnet of landingZone.subnets) {
      arm.addResourceGroup({ subscriptionId, name: subnet.resourceGroup, location: landingZone.location });
      const id = arm.addSubnet({ subscriptionId, resourceGroup: subnet.resourceGroup, vnet: subnet.vnet, name: subnet.name, addressPrefix: '10.240.0.0/22' });
      if (id.toLowerCase() !== subnet.id.toLowerCase()) throw new Error(`the emulator made subnet ${id}, the pipeline names ${subnet.id}`);
    }

    // Workload identity federation: the service connection's identity trusts the organization's
    // OIDC issuer for this connection's subject, and is in the clusters' admin group.
    const project = devops.addProject({ name: 'platform' });
    const planId = randomUUID();
    const jobId = randomUUID();
    const serviceConnections: LocalEnvironment['serviceConnections'] = {};
    let servicePrincipal = { clientId: '', objectId: '' };
    for (const name of landingZone.serviceConnections) {
      const connection = devops.addServiceConnection({ name, project: project.name });
      const app = entra.addApp({ tenantId, clientId: randomUUID(), federated: { issuer: devops.oidcIssuer, subject: connection.subject }, groups: landingZone.adminGroupObjectIds });
      servicePrincipal = { clientId: app.clientId, objectId: app.objectId };
      // What the README asks of the service connection: Contributor on the clusters' resource
      // groups, Network Contributor on the subnets (the emulator then checks every call).
      arm.grantClusterDeployer({
        principalId: app.objectId,
        resourceGroupIds: landingZone.clusterResourceGroups.map((g) => `/subscriptions/${subscriptionId}/resourceGroups/${g}`),
        subnetIds: landingZone.subnets.map((subnet) => subnet.id),
      });
      serviceConnections[name] = {
        id: connection.id,
        type: 'azurerm',
        url: `${arm.url}/`,
        scheme: 'WorkloadIdentityFederation',
        params: { tenantid: tenantId, serviceprincipalid: app.clientId, workloadIdentityFederationIssuer: devops.oidcIssuer, workloadIdentityFederationSubject: connection.subject },
        data: {
          subscriptionId, subscriptionName: 'Platform', environment: 'AzureCloud', scopeLevel: 'Subscription',
          // Where Entra ID is: the emulator instead of login.microsoftonline.com.
          environmentAuthorityUrl: `${entra.url}/`, activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
        },
      };
    }

    const keyPair = makeKeyPair({ bits: o.keyBits ?? 4096, days: 3650 });
    const environmentName = landingZone.environment ?? 'dev';
    // The same pair as a secure file, for pipelines that take the key that way (keySource: secureFile).
    const secureFile = devops.addSecureFile({ project: project.name, name: `sealed-secrets-${environmentName}.pem`, content: keyPair.certPem + keyPair.keyPem });
    const files = { ...filesOf(o.platformRepository.dir), [`sealed-secrets/${environmentName}.crt`]: keyPair.certPem };
    // The flux-reader account's PAT: Code (Read) on the project's repositories.
    const readerPat = devops.addPersonalAccessToken();
    const repos = devopsRepos({ collectionUrl: devops.collectionUrl, project: project.name, pat: readerPat, token: devops.systemAccessToken });
    const { url: platformRepositoryUrl } = await repos.create(o.platformRepository.name, files);
    // One branch per environment: main is prod's; dev and test start at the same commit.
    for (const branch of ENVIRONMENT_BRANCHES) await repos.branch(o.platformRepository.name, 'main', branch);

    const environment: LocalEnvironment = {
      serviceConnections,
      secureFiles: { [secureFile.name]: { id: secureFile.id, ticket: secureFile.ticket } },
      systemVariables: {
        'System.CollectionUri': devops.collectionUrl,
        'System.TeamFoundationCollectionUri': devops.collectionUrl,
        'System.TeamProject': project.name,
        'System.TeamProjectId': project.id,
        'System.PlanId': planId,
        'System.JobId': jobId,
        'System.OidcRequestUri': devops.oidcRequestUri({ project: project.name, planId, jobId }),
        // Pipelines that check out `self` (register-system.yml, promote.yml) live in the platform repository.
        'Build.Repository.Name': o.platformRepository.name,
      },
      accessToken: devops.systemAccessToken,
      // The Library's variable groups the pipelines name: the environment's sealing key pair and
      // Flux's read token, as the README sets them up.
      variableGroups: Object.fromEntries([...new Set(o.pipelines.flatMap((p) => p.variableGroups.map((g) => g.name)))].map((name) => [name, {
        variables: { sealedSecretsCert: b64(keyPair.certPem) },
        secrets: { sealedSecretsKey: b64(keyPair.keyPem), fluxGitToken: readerPat },
      }])),
      // The emulators' CA, for Node (tasks) and for git and curl (bash steps).
      env: { NODE_EXTRA_CA_CERTS: ensureEmulatorTrustBundle(), GIT_SSL_CAINFO: ensureEmulatorTrustBundle(), CURL_CA_BUNDLE: ensureEmulatorTrustBundle() },
    };
    return {
      emulators,
      clusters,
      landingZone,
      environment,
      pipelineVariables: {
        variables: {},
        secrets: {
          // register-system.yml: the team repository's read PAT and the team channel's webhook
          // (nothing listens there locally: Flux's alerts to it fail and are logged).
          systemReadToken: readerPat,
          teamsWebhookUrl: `${devops.url}/teams-webhook/${randomUUID()}`,
        },
      },
      overrides: { platformRepoUrl: platformRepositoryUrl, githubReleasesUrl: o.releasesBaseUrl },
      keyPair,
      fluxReaderToken: readerPat,
      platformRepositoryUrl,
      repos,
      platformFiles: files,
      servicePrincipal,
      stop: () => emulators.stop(),
    };
  } catch (error) {
    await emulators.stop();
    throw error;
  }
}
