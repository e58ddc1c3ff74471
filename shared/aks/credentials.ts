// Credentials of an AKS cluster: for the kubeconfig output, and as ClusterAccess for the tasks that
// reach the cluster through an Azure Resource Manager connection. For Entra ID clusters the user
// is a bearer token for the AKS server application obtained with the service connection's own
// credential, never kubelogin's exec plugin (not installed on agents, and interactive by default).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { parse, stringify } from 'yaml';
import { AKS_SERVER_SCOPE } from '../azure/credential-from-service-connection';
import type { ClusterAccess } from '../kube/access';
import { accessFromKubeconfig } from '../kube/connection';
import { TaskError } from '../pipeline/errors';
import { azureError } from './errors';
import { type Client, getCluster } from './read-cluster';
import type { ClusterTarget } from './spec';

/** Fetch a new token this long before the current one expires. */
const REFRESH_MARGIN_MS = 5 * 60_000;

export interface CredentialOptions {
  admin: boolean;
  /** Every credential is handed here before it is used. */
  onSecret: (value: string) => void;
  signal?: AbortSignal;
  /** The input that asks for admin credentials, for the message when a cluster has none. */
  adminInput?: string;
}

interface KubeconfigDoc {
  users?: { name?: string; user?: Record<string, unknown> }[];
}

export const isEntraCluster = (c: ManagedCluster) => c.aadProfile?.managed === true;

/** The credentials a kubeconfig carries (tokens, passwords, client keys and certificates). */
export function kubeconfigSecrets(yaml: string): string[] {
  const doc = parse(yaml) as KubeconfigDoc;
  return (doc.users ?? []).flatMap((u) => ['token', 'password', 'client-key-data', 'client-certificate-data'].map((k) => u.user?.[k]))
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
}

async function credentialKubeconfig(client: Client, t: ClusterTarget, o: CredentialOptions): Promise<string> {
  const kind = o.admin ? 'admin' : 'user';
  let value: Uint8Array | undefined;
  try {
    const result = o.admin
      ? await client.managedClusters.listClusterAdminCredentials(t.resourceGroup, t.name, { abortSignal: o.signal })
      : await client.managedClusters.listClusterUserCredentials(t.resourceGroup, t.name, { abortSignal: o.signal });
    value = result.kubeconfigs?.[0]?.value;
  } catch (error) {
    if (o.admin && /local accounts/i.test(String((error as Error)?.message))) {
      throw new TaskError(`Input '${o.adminInput ?? 'useClusterAdmin'}': cluster ${t.name} has local accounts disabled, so it has no admin credentials.`, 'Use user credentials: the task then signs in with Entra ID.');
    }
    throw azureError(error, `Fetching the ${kind} credentials of cluster ${t.name}`);
  }
  if (!value) throw new TaskError(`Azure returned no ${kind} credentials for cluster ${t.name}.`);
  const yaml = Buffer.from(value).toString('utf8');
  for (const secret of kubeconfigSecrets(yaml)) o.onSecret(secret);
  return yaml;
}

/** The kubeconfig with its users' credentials replaced by a bearer token (or nothing). */
function withUserToken(yaml: string, token: string | undefined): string {
  const doc = parse(yaml) as KubeconfigDoc;
  for (const u of doc.users ?? []) u.user = token ? { token } : {};
  return stringify(doc);
}

/**
 * A token source for the AKS server application: cached, refreshed before it expires, one request
 * at a time.
 */
export function aksTokenSource(credential: TokenCredential, onSecret: (value: string) => void): (signal?: AbortSignal) => Promise<string> {
  let current: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;
  return async (signal) => {
    const refreshAt = current ? (current.refreshAfterTimestamp ?? current.expiresOnTimestamp - REFRESH_MARGIN_MS) : 0;
    if (current && Date.now() < refreshAt) return current.token;
    pending ??= (async () => {
      try {
        const next = await credential.getToken(AKS_SERVER_SCOPE, { abortSignal: signal });
        if (!next) throw new Error('Entra ID returned no token for the AKS server application');
        onSecret(next.token);
        return (current = next);
      } finally {
        pending = undefined;
      }
    })();
    return (await pending).token;
  };
}

export interface Kubeconfig {
  yaml: string;
  kind: 'admin' | 'user' | 'entra token';
  /** When the Entra token in it expires. */
  expiresOn?: Date;
}

/** A self-contained kubeconfig: admin or user credentials, or an Entra token on Entra ID clusters. */
export async function clusterKubeconfig(client: Client, credential: TokenCredential, t: ClusterTarget, cluster: ManagedCluster, o: CredentialOptions): Promise<Kubeconfig> {
  const yaml = await credentialKubeconfig(client, t, o);
  if (o.admin || !isEntraCluster(cluster)) return { yaml, kind: o.admin ? 'admin' : 'user' };
  let token: AccessToken | null;
  try {
    token = await credential.getToken(AKS_SERVER_SCOPE, { abortSignal: o.signal });
  } catch (error) {
    throw azureError(error, `Getting an Entra ID token for cluster ${t.name}`);
  }
  if (!token) throw new TaskError(`Entra ID returned no token for cluster ${t.name}.`);
  o.onSecret(token.token);
  return { yaml: withUserToken(yaml, token.token), kind: 'entra token', expiresOn: new Date(token.expiresOnTimestamp) };
}

/** Writes the kubeconfig readable by the agent's user only; the agent removes its temp folder after the job. */
export function writeKubeconfig(dir: string, t: ClusterTarget, yaml: string): string {
  const path = join(dir, `kubeconfig-${t.resourceGroup}-${t.name}`);
  // A file left by an earlier step could have wider permissions; mode applies to new files only.
  rmSync(path, { force: true });
  writeFileSync(path, yaml, { mode: 0o600, flag: 'wx' });
  return path;
}

/** Access to the cluster's API server through ARM: what the other tasks' Azure connection uses. */
export async function aksClusterAccess(client: Client, credential: TokenCredential, t: ClusterTarget, o: CredentialOptions & { clusterInput: string; resourceGroupInput?: string }): Promise<ClusterAccess> {
  const cluster = await getCluster(client, t, o).catch((error: unknown) => {
    // Azure's errors name AksBootstrap's input; these tasks call the resource group otherwise.
    if (error instanceof TaskError && o.resourceGroupInput) throw new TaskError(error.message.replace("(input 'resourceGroup')", `(input '${o.resourceGroupInput}')`), error.hint, { cause: error.cause });
    throw error;
  });
  if (!cluster) {
    throw new TaskError(`Input '${o.clusterInput}': there is no AKS cluster ${t.name} in resource group ${t.resourceGroup}.`, 'Create it first (AksBootstrap), or fix the cluster or resource group name.');
  }
  const yaml = await credentialKubeconfig(client, t, o);
  if (o.admin || !isEntraCluster(cluster)) return accessFromKubeconfig(yaml);
  const access = await accessFromKubeconfig(withUserToken(yaml, undefined));
  access.tokenSource = aksTokenSource(credential, o.onSecret);
  return access;
}
