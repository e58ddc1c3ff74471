// The ARM emulator's ClusterFactory backed by the local platform: every managed cluster gets a
// fresh etcd + kube-apiserver (test/platform/control-plane.ts). For an AKS-managed Entra ID
// cluster the API server also trusts the Entra emulator through structured authentication
// configuration (a JWT authenticator for the AKS server application), and AKS's admin bindings
// are created, so Entra tokens work exactly as against AKS. What AKS adds is the same whether the
// cluster is a bare control plane or a full local cluster (full-cluster-factory.ts), so both
// factories share aksClusterFactory and differ only in how they start the API server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startControlPlane, type ControlPlaneOptions } from '../platform/control-plane.js';
import type { KubeApi } from '../platform/kube-api.js';
import type { ClusterEndpoint, ClusterFactory, ClusterSpec, EntraIdAuthentication } from './arm/cluster-factory.js';

/** kube-apiserver --authentication-config for an Entra-enabled cluster. */
export function entraAuthenticationConfig(entra: EntraIdAuthentication): string {
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthenticationConfiguration',
    jwt: [{
      issuer: { url: entra.issuerUrl, audiences: entra.audiences, certificateAuthority: entra.caPem },
      claimMappings: {
        // AKS names Entra principals by object id and groups by group object id, unprefixed.
        username: { claim: entra.usernameClaim, prefix: '' },
        groups: { claim: entra.groupsClaim, prefix: '' },
      },
    }],
  });
}

function clusterAdminBinding(name: string, subjects: Array<{ kind: 'Group' | 'User'; name: string }>) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { 'kubernetes.azure.com/managedby': 'aks' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: subjects.map((subject) => ({ apiGroup: 'rbac.authorization.k8s.io', ...subject })),
  };
}

/** What aksClusterFactory needs of a started API server. */
export interface StartedApiServer extends Omit<ClusterEndpoint, 'stop'> {
  api: KubeApi;
  stop(): Promise<void>;
}

/** Starts an API server (and whatever runs beside it) with the arguments AKS's features need. */
export type ApiServerStarter = (options: { name: string; extraApiServerArgs: string[] }, spec: ClusterSpec) => Promise<StartedApiServer>;

/** A ClusterFactory that adds to any started API server what AKS adds: Entra ID authentication and admin bindings. */
export function aksClusterFactory(start: ApiServerStarter): ClusterFactory {
  return async (spec) => {
    const configDir = spec.entraId ? mkdtempSync(join(tmpdir(), `aks-authn-${spec.name}-`)) : undefined;
    const extraApiServerArgs: string[] = [];
    if (spec.entraId && configDir) {
      const file = join(configDir, 'authentication-config.yaml');
      writeFileSync(file, entraAuthenticationConfig(spec.entraId), { mode: 0o600 });
      extraApiServerArgs.push(`--authentication-config=${file}`);
    }
    const removeConfig = () => configDir && rmSync(configDir, { recursive: true, force: true });
    let plane;
    try {
      plane = await start({ name: spec.name, extraApiServerArgs }, spec);
    } catch (error) {
      removeConfig();
      throw error;
    }
    try {
      const entra = spec.entraId;
      if (entra?.adminGroupObjectIds.length) {
        await plane.api.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
          clusterAdminBinding('aks-cluster-admin-binding-aad', entra.adminGroupObjectIds.map((id) => ({ kind: 'Group' as const, name: id }))));
      }
      if (entra?.adminPrincipalIds.length) {
        await plane.api.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
          clusterAdminBinding('aks-azure-rbac-cluster-admin', entra.adminPrincipalIds.map((id) => ({ kind: 'User' as const, name: id }))));
      }
    } catch (error) {
      await plane.stop();
      removeConfig();
      throw error;
    }
    const started = plane;
    return {
      server: started.server,
      caPem: started.caPem,
      adminToken: started.adminToken,
      async stop() {
        await started.stop();
        removeConfig();
      },
    };
  };
}

/** Bare control planes: the API behaves as on AKS, but no controller ever runs (no kubelet). */
export function controlPlaneClusterFactory(options: Pick<ControlPlaneOptions, 'baseDir' | 'startTimeoutMs'> = {}): ClusterFactory {
  return aksClusterFactory((args) => startControlPlane({ ...options, ...args }));
}
