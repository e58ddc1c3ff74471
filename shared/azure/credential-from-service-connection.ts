// An AzureRM service connection becomes a TokenCredential plus everything needed to call ARM in
// the connection's cloud. Every secret the connection holds, and every token or assertion made
// from it, goes through `onSecret` before anything else can see it (the pipeline layer registers
// them with setSecret, so the agent masks them in logs).
import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { cloudByName, isKnownAuthorityHost } from './clouds.js';
import { requestPipelineOidcToken, type PipelineOidcRequest } from './pipeline-oidc-token.js';
import { requiredValue, valueOf, type AzureRmConnection } from './service-connection.js';
import { transientPolicy } from './transient-policy.js';
import { azureProxyOptions, type ProxySettings } from '../net/proxy.js';

/** The AKS AAD server application; a token for this scope authenticates to Entra-enabled clusters. */
export const AKS_SERVER_SCOPE = '6dae42f8-4368-4678-94ff-3960e28e3630/.default';

export type AzureAuthScheme = 'WorkloadIdentityFederation' | 'ServicePrincipal' | 'ManagedServiceIdentity';

export interface RetryOptions {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
}

export interface CredentialOptions {
  /** Called with every secret, token and assertion before it can be printed. */
  onSecret?: (value: string) => void;
  /** Workload identity federation: how this job asks Azure DevOps for its OIDC token. */
  oidc?: PipelineOidcRequest;
  /** Retries of the token requests (Entra ID, IMDS). */
  retryOptions?: RetryOptions;
  /** The agent's proxy, for Entra ID and the OIDC token request (never for IMDS, which is link-local). */
  proxy?: ProxySettings;
}

export interface AzureCredentials {
  credential: TokenCredential;
  scheme: AzureAuthScheme;
  tenantId: string;
  /** Application (client) id of the service principal or user-assigned identity, when known. */
  clientId?: string;
  subscriptionId: string;
  subscriptionName?: string;
  /** e.g. AzureCloud, AzureUSGovernment, AzureStack */
  environment: string;
  /** Resource Manager URL without trailing slash: the ARM client's `endpoint`. */
  resourceManagerUrl: string;
  /** Token scope for ARM calls. */
  armScope: string;
  /** Entra ID authority host without trailing slash. */
  authorityHost: string;
  /** True when the authority is not a public Microsoft cloud (Azure Stack, private clouds, emulators). */
  disableInstanceDiscovery: boolean;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Multi-line secrets are masked line by line too, so a PEM printed piecewise stays hidden. */
function reportSecret(onSecret: ((value: string) => void) | undefined, value: string | undefined): void {
  if (!onSecret || !value) return;
  onSecret(value);
  if (value.includes('\n')) {
    for (const line of value.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed && !trimmed.startsWith('-----')) onSecret(trimmed);
    }
  }
}

function reportingTokens(credential: TokenCredential, onSecret: ((value: string) => void) | undefined): TokenCredential {
  if (!onSecret) return credential;
  return {
    async getToken(scopes, options) {
      const token = await credential.getToken(scopes, options);
      if (token) onSecret(token.token);
      return token;
    },
  };
}

function authorityHostOf(connection: AzureRmConnection, tenantId: string): string {
  const configured = valueOf(connection.data, 'activeDirectoryAuthority') ?? valueOf(connection.data, 'environmentAuthorityUrl');
  if (configured) {
    const url = new URL(configured);
    // Some connections carry the tenant in the authority URL; MSAL wants the host only.
    const path = url.pathname.split('/').filter((segment) => segment && segment.toLowerCase() !== tenantId.toLowerCase());
    return withoutTrailingSlash(`${url.origin}/${path.join('/')}`);
  }
  const cloud = cloudByName(valueOf(connection.data, 'environment'));
  if (!cloud) {
    throw new Error(`The Azure Resource Manager service connection '${connection.id}' is for environment '${valueOf(connection.data, 'environment')}' but names no authority (environmentAuthorityUrl).`);
  }
  return cloud.authorityHost;
}

function schemeOf(connection: AzureRmConnection): AzureAuthScheme {
  switch ((connection.scheme ?? '').toLowerCase()) {
    case 'workloadidentityfederation':
      return 'WorkloadIdentityFederation';
    case 'serviceprincipal':
      return 'ServicePrincipal';
    case 'managedserviceidentity':
      return 'ManagedServiceIdentity';
    default:
      throw new Error(connection.scheme
        ? `The Azure Resource Manager service connection '${connection.id}' uses the authentication scheme '${connection.scheme}'; supported are WorkloadIdentityFederation, ServicePrincipal and ManagedServiceIdentity.`
        : `The Azure Resource Manager service connection '${connection.id}' has no authentication scheme (ENDPOINT_AUTH_SCHEME_${connection.id}).`);
  }
}

export function credentialFromServiceConnection(connection: AzureRmConnection, options: CredentialOptions = {}): AzureCredentials {
  const { onSecret, retryOptions } = options;
  const scheme = schemeOf(connection);
  const tenantId = requiredValue(connection, 'authParams', 'tenantid', 'tenant id');
  const subscriptionId = requiredValue(connection, 'data', 'subscriptionId', 'subscription id');
  const environment = valueOf(connection.data, 'environment') ?? 'AzureCloud';

  const resourceManagerUrl = withoutTrailingSlash(connection.url || valueOf(connection.data, 'environmentUrl') || cloudByName(environment)?.resourceManagerUrl || '');
  if (!resourceManagerUrl) throw new Error(`The Azure Resource Manager service connection '${connection.id}' has no Resource Manager URL (ENDPOINT_URL_${connection.id}).`);
  const resourceId = valueOf(connection.data, 'activeDirectoryServiceEndpointResourceId');
  const armScope = resourceId ? `${resourceId}/.default` : `${resourceManagerUrl}/.default`;

  const authorityHost = authorityHostOf(connection, tenantId);
  const disableInstanceDiscovery = !isKnownAuthorityHost(authorityHost);
  const proxyOptions = azureProxyOptions(authorityHost, options.proxy);
  // Per try, as for Resource Manager: a 429 without Retry-After or a token answer cut off half-way
  // would otherwise end the sign-in at once.
  const transient = { policy: transientPolicy({ maxRetries: retryOptions?.maxRetries, retryDelayInMs: retryOptions?.retryDelayInMs, repeatable: () => true }), position: 'perRetry' as const };
  const common = { authorityHost, disableInstanceDiscovery, additionalPolicies: [transient], ...(retryOptions ? { retryOptions } : {}), ...(proxyOptions ? { proxyOptions } : {}) };

  let credential: TokenCredential;
  let clientId: string | undefined;
  if (scheme === 'ServicePrincipal') {
    clientId = requiredValue(connection, 'authParams', 'serviceprincipalid', 'service principal id');
    const authenticationType = (valueOf(connection.authParams, 'authenticationType') ?? 'spnKey').toLowerCase();
    if (authenticationType === 'spncertificate') {
      const certificate = requiredValue(connection, 'authParams', 'servicePrincipalCertificate', 'certificate');
      reportSecret(onSecret, certificate);
      credential = new ClientCertificateCredential(tenantId, clientId, { certificate }, common);
    } else {
      const secret = requiredValue(connection, 'authParams', 'serviceprincipalkey', 'client secret');
      reportSecret(onSecret, secret);
      credential = new ClientSecretCredential(tenantId, clientId, secret, common);
    }
  } else if (scheme === 'WorkloadIdentityFederation') {
    clientId = requiredValue(connection, 'authParams', 'serviceprincipalid', 'service principal id');
    const oidc = options.oidc;
    if (!oidc?.accessToken) {
      throw new Error(`The service connection '${connection.id}' uses workload identity federation, which needs the job's access token (System.AccessToken) to request an OIDC token.`);
    }
    reportSecret(onSecret, oidc.accessToken);
    credential = new ClientAssertionCredential(tenantId, clientId, async () => {
      const assertion = await requestPipelineOidcToken({ ...oidc, proxy: options.proxy }, connection.id);
      reportSecret(onSecret, assertion);
      return assertion;
    }, common);
  } else {
    clientId = valueOf(connection.authParams, 'serviceprincipalid') ?? valueOf(connection.data, 'msiClientId');
    credential = new ManagedIdentityCredential({ ...(clientId ? { clientId } : {}), additionalPolicies: [transient], ...(retryOptions ? { retryOptions } : {}) });
  }

  return {
    credential: reportingTokens(credential, onSecret),
    scheme,
    tenantId,
    clientId,
    subscriptionId,
    subscriptionName: valueOf(connection.data, 'subscriptionName'),
    environment,
    resourceManagerUrl,
    armScope,
    authorityHost,
    disableInstanceDiscovery,
  };
}
