// An AzureRM service connection as the agent hands it, made into a credential and an AKS
// management client; the job's own identity (System.AccessToken, System.OidcRequestUri) is
// what workload identity federation exchanges for the connection's OIDC token.
import type { ContainerServiceClient } from '@azure/arm-containerservice';
import { armClient } from '../azure/arm-client';
import { type AzureCredentials, credentialFromServiceConnection } from '../azure/credential-from-service-connection';
import type { PipelineOidcRequest } from '../azure/pipeline-oidc-token';
import type { AgentPort, Endpoint } from '../pipeline/agent';
import { InputError } from '../pipeline/errors';
import type { ProxySettings } from '../net/proxy';

export interface AzureConnection {
  azure: AzureCredentials;
  client: ContainerServiceClient;
}

/** SDK defaults plus two more tries: creating a cluster is worth a little patience with ARM. */
const ARM_RETRIES = { maxRetries: 5, retryDelayInMs: 1000, maxRetryDelayInMs: 30_000 };
/** Entra ID rarely throttles; a wrong authority or a dead network should fail fast. */
const TOKEN_RETRIES = { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 4000 };

/**
 * How this job asks Azure DevOps for an OIDC token (workload identity federation). The job's
 * access token is registered as a secret as soon as it is read.
 */
export function pipelineOidcRequest(agent: AgentPort, onSecret: (value: string) => void): PipelineOidcRequest | undefined {
  const params = agent.endpoint('SystemVssConnection')?.authParams ?? {};
  const accessToken = Object.entries(params).find(([k]) => k.toLowerCase() === 'accesstoken')?.[1] || agent.variable('System.AccessToken');
  if (!accessToken) return undefined;
  onSecret(accessToken);
  return {
    accessToken,
    requestUri: agent.variable('System.OidcRequestUri'),
    collectionUri: agent.variable('System.CollectionUri') ?? agent.variable('System.TeamFoundationCollectionUri'),
    projectId: agent.variable('System.TeamProjectId'),
    hostType: agent.variable('System.HostType'),
    planId: agent.variable('System.PlanId'),
    jobId: agent.variable('System.JobId'),
  };
}

/** The credential and AKS client of a service connection; an incomplete connection names its input. */
export function connectAzure(endpoint: Endpoint, input: string, options: { onSecret: (value: string) => void; oidc?: PipelineOidcRequest; userAgentPrefix?: string; proxy?: ProxySettings }): AzureConnection {
  let azure: AzureCredentials;
  try {
    azure = credentialFromServiceConnection(endpoint, { onSecret: options.onSecret, oidc: options.oidc, retryOptions: TOKEN_RETRIES, proxy: options.proxy });
  } catch (error) {
    throw new InputError(input, (error as Error).message.replace(/\.$/, ''));
  }
  return { azure, client: armClient(azure, { retryOptions: ARM_RETRIES, userAgentPrefix: options.userAgentPrefix, proxy: options.proxy }) };
}
