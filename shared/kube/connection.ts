import { readFileSync } from 'node:fs';
// The config module alone: the package index would also bundle every generated API client.
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { ClusterAccess } from './access';

/**
 * Cluster access from a kubeconfig (text), honouring the chosen context, inline and file
 * certificates, tokens, basic auth, proxy-url, and exec or auth-provider users (asked for a
 * fresh token per request, as kubectl does).
 */
export async function accessFromKubeconfig(text: string, context?: string): Promise<ClusterAccess> {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw new Error(`The kubeconfig has no context '${context}'; it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster) throw new Error(`The kubeconfig has no cluster for context '${kc.getCurrentContext() || '(none)'}'`);
  const access: ClusterAccess = {
    server: cluster.server,
    insecureSkipTlsVerify: cluster.skipTLSVerify || undefined,
    tlsServerName: cluster.tlsServerName,
    proxyUrl: cluster.proxyUrl,
    caPem: cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined,
  };
  if (!user) return access;
  access.clientCertPem = user.certData ? Buffer.from(user.certData, 'base64').toString('utf8') : user.certFile ? readFileSync(user.certFile, 'utf8') : undefined;
  access.clientKeyPem = user.keyData ? Buffer.from(user.keyData, 'base64').toString('utf8') : user.keyFile ? readFileSync(user.keyFile, 'utf8') : undefined;
  if (user.username) {
    access.username = user.username;
    access.password = user.password;
  }
  if (user.token) access.token = user.token;
  else if (user.exec || user.authProvider) {
    access.tokenSource = async () => {
      const opts: { headers?: Record<string, string> } = {};
      await kc.applyToHTTPSOptions(opts as never);
      const auth = opts.headers?.Authorization ?? '';
      if (!auth.startsWith('Bearer ')) throw new Error('The kubeconfig user\'s exec or auth-provider plugin returned no token');
      return auth.slice('Bearer '.length);
    };
  }
  return access;
}

/**
 * Cluster access from a Kubernetes service connection, as the agent hands it: `Kubeconfig`
 * (auth parameters kubeconfig and clusterContext), or `ServiceAccount` / `AzureSubscription`
 * (the server URL, the token base64-encoded in apiToken, the CA base64-encoded in
 * serviceAccountCertificate), like Microsoft's Kubernetes tasks read them.
 */
export async function accessFromServiceConnection(connection: {
  url?: string;
  scheme?: string;
  authParams: Record<string, string>;
  data: Record<string, string>;
}): Promise<ClusterAccess> {
  const params = lowerKeys(connection.authParams);
  const scheme = (connection.data.authorizationtype ?? connection.scheme ?? '').toLowerCase();
  if (scheme === 'kubeconfig' || params.kubeconfig) {
    if (!params.kubeconfig) throw new Error('The Kubernetes service connection has no kubeconfig');
    const access = await accessFromKubeconfig(params.kubeconfig, params.clustercontext || undefined);
    if (connection.data.acceptuntrustedcerts === 'true') access.insecureSkipTlsVerify = true;
    return access;
  }
  if (!connection.url) throw new Error('The Kubernetes service connection has no server URL');
  if (!params.apitoken) throw new Error('The Kubernetes service connection has no service account token (apiToken)');
  const token = Buffer.from(params.apitoken, 'base64').toString('utf8');
  const ca = params.serviceaccountcertificate;
  return {
    server: connection.url,
    token,
    caPem: ca ? (ca.includes('-----BEGIN') ? ca : Buffer.from(ca, 'base64').toString('utf8')) : undefined,
    insecureSkipTlsVerify: connection.data.acceptuntrustedcerts === 'true' || undefined,
  };
}

const lowerKeys = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
