// The seam between the ARM emulator and whatever runs the cluster's API server. test/platform's
// startControlPlane() is the real one (a fresh kube-apiserver + etcd per cluster); unit tests
// use a small fake. What the emulator asks for is in ClusterSpec; what it needs back is in
// ClusterEndpoint.

/** How the API server must trust Entra ID for an AKS-managed Entra ID (aadProfile.managed) cluster. */
export interface EntraIdAuthentication {
  tenantId: string;
  /** The v1 issuer Entra puts in `iss` (https://<entra emulator>/<tenant>/); its discovery is at <issuer>.well-known/openid-configuration. */
  issuerUrl: string;
  /** Token audiences to accept: the AKS AAD server application. */
  audiences: string[];
  /** CA that signs the issuer's HTTPS certificate (the emulator CA). */
  caPem: string;
  /** Claim naming the user: `oid` (object id of the user or service principal). */
  usernameClaim: 'oid';
  /** Claim with the Entra group object ids. */
  groupsClaim: 'groups';
  /** aadProfile.adminGroupObjectIDs: AKS binds these groups to cluster-admin. */
  adminGroupObjectIds: string[];
  /** Principals (object ids) with 'Azure Kubernetes Service RBAC Cluster Admin' on the cluster's scope: also cluster-admin. */
  adminPrincipalIds: string[];
}

export interface ClusterSpec {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  /** Resolved patch version, e.g. 1.34.2. */
  kubernetesVersion: string;
  /** Set for Entra-enabled clusters only: the API server must then accept Entra access tokens. */
  entraId?: EntraIdAuthentication;
  /** The ManagedCluster resource as ARM stores it (properties included). */
  resource: Record<string, unknown>;
}

export interface ClusterEndpoint {
  /** https://127.0.0.1:<port> of the cluster's kube-apiserver. */
  server: string;
  /** CA of the API server's serving certificate (PEM). */
  caPem: string;
  /** A cluster-admin bearer token: the "local account" AKS hands out in admin credentials. */
  adminToken: string;
  /** Stops the control plane and removes its files. */
  stop(): Promise<void>;
}

export type ClusterFactory = (spec: ClusterSpec) => Promise<ClusterEndpoint>;
