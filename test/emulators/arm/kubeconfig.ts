// Kubeconfigs as AKS returns them in CredentialResults (base64 in `value`): admin = local
// account; user on an Entra cluster = kubelogin exec plugin (or the legacy azure auth-provider
// for format=azure); user on a local-accounts cluster = the same static credential as admin.
import { stringify } from 'yaml';
import { AKS_SERVER_APP_ID } from '../entra/entra-emulator.js';
import type { ClusterEndpoint } from './cluster-factory.js';

/** kubelogin's public client (the AKS AAD client application). */
const AKS_CLIENT_APP_ID = '80faf920-1908-4b52-b5ef-a8e7bedfc67a';

interface KubeconfigInput {
  clusterName: string;
  resourceGroup: string;
  endpoint: ClusterEndpoint;
}

function kubeconfig(input: KubeconfigInput, contextName: string, userName: string, user: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': Buffer.from(input.endpoint.caPem).toString('base64'), server: input.endpoint.server }, name: input.clusterName }],
    contexts: [{ context: { cluster: input.clusterName, user: userName }, name: contextName }],
    'current-context': contextName,
    kind: 'Config',
    preferences: {},
    users: [{ name: userName, user }],
  });
}

export function adminKubeconfig(input: KubeconfigInput): string {
  return kubeconfig(input, `${input.clusterName}-admin`, `clusterAdmin_${input.resourceGroup}_${input.clusterName}`, { token: input.endpoint.adminToken });
}

export function localUserKubeconfig(input: KubeconfigInput): string {
  return kubeconfig(input, input.clusterName, `clusterUser_${input.resourceGroup}_${input.clusterName}`, { token: input.endpoint.adminToken });
}

export function entraUserKubeconfig(input: KubeconfigInput & { tenantId: string; format: 'exec' | 'azure' }): string {
  const userName = `clusterUser_${input.resourceGroup}_${input.clusterName}`;
  if (input.format === 'azure') {
    return kubeconfig(input, input.clusterName, userName, {
      'auth-provider': {
        config: { 'apiserver-id': AKS_SERVER_APP_ID, 'client-id': AKS_CLIENT_APP_ID, 'config-mode': '1', environment: 'AzurePublicCloud', 'tenant-id': input.tenantId },
        name: 'azure',
      },
    });
  }
  return kubeconfig(input, input.clusterName, userName, {
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      args: ['get-token', '--environment', 'AzurePublicCloud', '--server-id', AKS_SERVER_APP_ID, '--client-id', AKS_CLIENT_APP_ID, '--tenant-id', input.tenantId, '--login', 'devicecode'],
      command: 'kubelogin',
      env: null,
      installHint: '\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n',
      provideClusterInfo: false,
      interactiveMode: 'IfAvailable',
    },
  });
}
