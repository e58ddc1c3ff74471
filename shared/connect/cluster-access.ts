import { readFileSync } from 'node:fs';
import type { PipelineOidcRequest } from '../azure/pipeline-oidc-token';
import { proxyUrlFor, type ProxySettings } from '../net/proxy';
import type { ClusterConnectionInput } from '../pipeline/cluster-connection-inputs';
import { TaskError } from '../pipeline/errors';
import type { TaskContext } from '../pipeline/task-context';
import type { ClusterAccess } from '../kube/access';
import { accessFromKubeconfig, accessFromServiceConnection } from '../kube/connection';

export interface AzureAccessOptions {
  /** Workload identity federation: how the job asks for its OIDC token (see pipelineOidcRequest). */
  oidc?: PipelineOidcRequest;
  signal?: AbortSignal;
  proxy?: ProxySettings;
}

/** clusterAccess with everything taken from the task context, workload identity federation included. */
export async function clusterAccessFor(ctx: TaskContext, input: ClusterConnectionInput): Promise<ClusterAccess> {
  const register = (value: string) => ctx.secrets.add(value);
  let access: ClusterAccess;
  if (input.kind !== 'azureResourceManager') access = await clusterAccess(input, register);
  else {
    const { pipelineOidcRequest } = await import('./azure');
    access = await clusterAccess(input, register, { oidc: pipelineOidcRequest(ctx.agent, register), signal: ctx.signal, proxy: ctx.proxy });
  }
  // A proxy-url in the kubeconfig wins; otherwise the agent's proxy, unless the server is bypassed.
  return { ...access, proxyUrl: access.proxyUrl ?? proxyUrlFor(access.server, ctx.proxy) };
}

/**
 * Turns the "Cluster connection" inputs into access to the API server: a kubeconfig file, a
 * Kubernetes service connection, or an Azure Resource Manager connection (AKS credentials through
 * ARM; Entra ID clusters with a refreshed token for the AKS server application).
 */
export async function clusterAccess(input: ClusterConnectionInput, registerSecret: (value: string) => void, azure: AzureAccessOptions = {}): Promise<ClusterAccess> {
  let access: ClusterAccess;
  switch (input.kind) {
    case 'kubeconfig':
      try {
        access = await accessFromKubeconfig(readFileSync(input.path, 'utf8'), input.context);
      } catch (error) {
        throw new TaskError(`Input 'kubeconfig': ${input.path} cannot be used: ${(error as Error).message}.`, 'Point it at a kubeconfig file such as the kubeconfigPath output of AksBootstrap.');
      }
      break;
    case 'kubernetesServiceConnection':
      try {
        access = await accessFromServiceConnection(input.endpoint);
      } catch (error) {
        throw new TaskError(`Input 'kubernetesServiceConnection': ${(error as Error).message}.`, 'Check the service connection in Project settings > Service connections.');
      }
      break;
    case 'azureResourceManager': {
      // Loaded on demand: the Azure SDKs are not needed by the other two connection types.
      const { connectAzure } = await import('./azure');
      const { aksClusterAccess } = await import('../aks/credentials');
      const { azure: credentials, client } = connectAzure(input.azure, 'azureSubscription', { onSecret: registerSecret, oidc: azure.oidc, proxy: azure.proxy });
      access = await aksClusterAccess(client, credentials.credential, { resourceGroup: input.resourceGroup, name: input.clusterName }, {
        admin: input.admin, onSecret: registerSecret, signal: azure.signal, clusterInput: 'kubernetesCluster', resourceGroupInput: 'azureResourceGroup', adminInput: 'useClusterAdmin',
      });
      break;
    }
  }
  for (const secret of [access.token, access.password, access.clientKeyPem]) if (secret) registerSecret(secret);
  const origin = input.kind === 'kubeconfig' ? `input 'kubeconfig' (${input.path})`
    : input.kind === 'kubernetesServiceConnection' ? "input 'kubernetesServiceConnection'"
      : `input 'kubernetesCluster' (${input.resourceGroup}/${input.clusterName})`;
  return { ...access, origin };
}
