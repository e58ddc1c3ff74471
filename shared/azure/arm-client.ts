// The AKS management client for a service connection's cloud. With @azure/arm-containerservice
// 25.x the URL comes from `endpoint` and the token scope from `credentials.scopes` (baseUri and
// $host are ignored), so both must be set for anything but the public cloud.
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { armRepeatable, transientPolicy } from './transient-policy.js';
import { azureProxyOptions, type ProxySettings } from '../net/proxy.js';
import type { AzureCredentials, RetryOptions } from './credential-from-service-connection.js';

export interface ArmClientOptions {
  retryOptions?: RetryOptions;
  /** Prepended to the User-Agent, e.g. "AksBootstrap/1.0.0". */
  userAgentPrefix?: string;
  /** The agent's proxy, unless Resource Manager is in its bypass list. */
  proxy?: ProxySettings;
}

export function armClient(
  azure: Pick<AzureCredentials, 'credential' | 'subscriptionId' | 'resourceManagerUrl' | 'armScope'>,
  options: ArmClientOptions = {},
): ContainerServiceClient {
  return new ContainerServiceClient(azure.credential, azure.subscriptionId, {
    endpoint: azure.resourceManagerUrl,
    credentials: { scopes: [azure.armScope] },
    ...(options.retryOptions ? { retryOptions: options.retryOptions } : {}),
    // Per try, next to the transport: it sees the raw 429 and the cut-off body the SDK's retries skip.
    additionalPolicies: [{ policy: transientPolicy({ maxRetries: options.retryOptions?.maxRetries, retryDelayInMs: options.retryOptions?.retryDelayInMs, repeatable: armRepeatable }), position: 'perRetry' }],
    ...(options.userAgentPrefix ? { userAgentOptions: { userAgentPrefix: options.userAgentPrefix } } : {}),
    ...withProxy(azureProxyOptions(azure.resourceManagerUrl, options.proxy)),
  });
}

const withProxy = (proxyOptions: ReturnType<typeof azureProxyOptions>) => (proxyOptions ? { proxyOptions } : {});
