import { readFileSync } from 'node:fs';
import type { ClusterConnectionInput } from '../pipeline/cluster-connection-inputs';
import { TaskError } from '../pipeline/errors';
import type { ClusterAccess } from '../kube/access';
import { accessFromKubeconfig, accessFromServiceConnection } from '../kube/connection';

/**
 * Turns the "Cluster connection" inputs into access to the API server: a kubeconfig file, a
 * Kubernetes service connection, or (with AKS support) an Azure Resource Manager connection.
 */
export async function clusterAccess(input: ClusterConnectionInput, registerSecret: (value: string) => void): Promise<ClusterAccess> {
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
    case 'azureResourceManager':
      throw new TaskError(
        "This version cannot fetch AKS credentials through an Azure Resource Manager connection yet; nothing was changed.",
        "Set connectionType to 'kubeconfig' with the kubeconfigPath output of AksBootstrap, or use a Kubernetes service connection.",
      );
  }
  for (const secret of [access.token, access.password, access.clientKeyPem]) if (secret) registerSecret(secret);
  return access;
}
