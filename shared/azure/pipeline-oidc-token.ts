// Workload identity federation: the job asks Azure DevOps for an OIDC token naming the service
// connection, and that token is the client assertion Entra ID exchanges for an access token.
// It is short-lived, so it is requested anew every time an assertion is needed.
// The API class alone: the package index would bundle every Azure DevOps API client.
import { BearerCredentialHandler } from 'azure-devops-node-api/handlers/bearertoken';
import { TaskApi } from 'azure-devops-node-api/TaskApi';
import { devOpsProxyOptions, type ProxySettings } from '../net/proxy';
import { retryTransient } from '../net/transient';

export interface PipelineOidcRequest {
  /** System.AccessToken of the job. */
  accessToken: string;
  /** System.OidcRequestUri (preferred: the agent sets it; the host may differ from the collection's). */
  requestUri?: string;
  /** Otherwise the route pieces azure-devops-node-api's TaskApi.createOidcToken needs. */
  collectionUri?: string;
  projectId?: string;
  hostType?: string;
  planId?: string;
  jobId?: string;
  /** The agent's proxy. */
  proxy?: ProxySettings;
}

export async function requestPipelineOidcToken(request: PipelineOidcRequest, serviceConnectionId: string): Promise<string> {
  // azure-devops-node-api answers null when a 200's body was cut off: asked once more.
  return (await requestOnce(request, serviceConnectionId)) ?? (await requestOnce(request, serviceConnectionId))
    ?? noToken(serviceConnectionId);
}

function noToken(serviceConnectionId: string): never {
  throw new Error(`Azure DevOps returned no OIDC token for service connection '${serviceConnectionId}'.`);
}

async function requestOnce(request: PipelineOidcRequest, serviceConnectionId: string): Promise<string | undefined> {
  let token: string | undefined;
  try {
    if (request.requestUri) {
      const url = new URL(request.requestUri);
      url.searchParams.set('api-version', '7.1');
      url.searchParams.set('serviceConnectionId', serviceConnectionId);
      const client = new TaskApi(url.origin, [new BearerCredentialHandler(request.accessToken, false)], proxyOption(request.proxy));
      // Each request makes a new token: repeating one that failed on the way is harmless.
      const response = await retryTransient(() => client.rest.create<{ oidcToken?: string }>(url.toString(), {}, {
        additionalHeaders: { 'X-TFS-FedAuthRedirect': 'Suppress' },
      }), { idempotent: true });
      token = response.result?.oidcToken;
    } else {
      const { collectionUri, projectId, hostType, planId, jobId } = request;
      if (!collectionUri || !projectId || !hostType || !planId || !jobId) {
        throw new Error('neither System.OidcRequestUri nor System.CollectionUri, System.TeamProjectId, System.HostType, System.PlanId and System.JobId are available');
      }
      const taskApi = new TaskApi(collectionUri, [new BearerCredentialHandler(request.accessToken, false)], proxyOption(request.proxy));
      token = (await retryTransient(() => taskApi.createOidcToken({}, projectId, hostType, planId, jobId, serviceConnectionId), { idempotent: true })).oidcToken;
    }
  } catch (error) {
    throw new Error(`Requesting the pipeline's OIDC token for service connection '${serviceConnectionId}' failed: ${(error as Error).message}`);
  }
  return token || undefined;
}

const proxyOption = (proxy?: ProxySettings) => {
  const options = devOpsProxyOptions(proxy);
  return options ? { proxy: options } : undefined;
};
