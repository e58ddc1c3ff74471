import type { Endpoint } from './agent';
import { registerEndpointSecrets } from './endpoint-secrets';
import { InputError } from './errors';
import type { TaskContext } from './task-context';

/** How a task reaches the cluster, read from the "Cluster connection" input group. */
export type ClusterConnectionInput =
  | { kind: 'azureResourceManager'; azure: Endpoint; resourceGroup: string; clusterName: string; admin: boolean }
  | { kind: 'kubernetesServiceConnection'; endpoint: Endpoint }
  | { kind: 'kubeconfig'; path: string; context?: string };

export function readClusterConnection(ctx: TaskContext): ClusterConnectionInput {
  const { inputs } = ctx;
  const kind = inputs.choice<ClusterConnectionInput['kind']>('connectionType') ?? 'azureResourceManager';
  switch (kind) {
    case 'azureResourceManager':
      return {
        kind,
        azure: readEndpoint(ctx, 'azureSubscription'),
        resourceGroup: resourceGroupName(inputs.required('azureResourceGroup'), 'azureResourceGroup'),
        clusterName: clusterName(inputs.required('kubernetesCluster'), 'kubernetesCluster'),
        admin: inputs.bool('useClusterAdmin'),
      };
    case 'kubernetesServiceConnection':
      return { kind, endpoint: readEndpoint(ctx, 'kubernetesServiceConnection') };
    case 'kubeconfig':
      return { kind, path: inputs.filePath('kubeconfig')!, context: inputs.string('kubeContext') };
  }
}

/** Reads the service connection an input refers to and registers its secrets at once. */
export function readEndpoint(ctx: TaskContext, input: string): Endpoint {
  const id = ctx.inputs.required(input);
  const endpoint = ctx.agent.endpoint(id);
  if (!endpoint) {
    throw new InputError(input, `the service connection '${id}' was not handed to the task`, 'the name or ID of a service connection this pipeline is authorized to use');
  }
  registerEndpointSecrets(endpoint, ctx.secrets);
  return endpoint;
}

export function resourceGroupName(value: string, input: string): string {
  if (!/^[-\w._()]{1,90}$/.test(value) || value.endsWith('.')) {
    throw new InputError(input, `'${value}' is not a valid resource group name`, '1 to 90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period');
  }
  return value;
}

export function clusterName(value: string, input: string): string {
  if (!/^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/.test(value)) {
    throw new InputError(input, `'${value}' is not a valid AKS cluster name`, '1 to 63 letters, digits, hyphens or underscores, starting and ending with a letter or digit');
  }
  return value;
}
