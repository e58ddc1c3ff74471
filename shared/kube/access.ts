/** Everything needed to reach and authenticate to an API server, as plain values. */
export interface ClusterAccess {
  /** https://host:port of the API server. */
  server: string;
  /** PEM CA bundle of the API server's certificate; the system roots when absent. */
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  /** A static bearer token. */
  token?: string;
  /** A bearer token source (e.g. Entra ID for AKS); asked before every request, it caches itself. */
  tokenSource?: (signal?: AbortSignal) => Promise<string>;
  username?: string;
  password?: string;
  /** HTTP(S) proxy URL for reaching the server. */
  proxyUrl?: string;
  /** Where these credentials came from, for messages (e.g. "input 'kubeconfig' (/path)"). */
  origin?: string;
}
