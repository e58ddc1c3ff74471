import type { SealingScope } from '../sealed-secrets/seal';

/** One product team ("system") on one cluster: what RegisterSystem renders into the platform repository. */
export interface SystemSpec {
  name: string;
  namespace: string;
  /** The platform's ClusterRole the system's Flux account is bound to, in the namespace. */
  clusterRole: string;
  /** The team's Entra ID group and the ClusterRole it gets in the namespace. */
  entraGroup?: { objectId: string; clusterRole: string };
  /** Pod Security level enforced in the namespace. */
  podSecurity: 'baseline' | 'restricted';
  /** Where Flux reads the team's manifests. */
  source: { url: string; branch: string; path: string; interval: string };
  alerts?: { provider: 'msteams' | 'slack' | 'generic'; channel?: string; severity: 'info' | 'error' };
}

/** The values that are sealed before anything is written. */
export interface SystemSecrets {
  /** Flux's credential for the team's repository (basic auth; Azure Repos ignores the user name). */
  git: { username: string; password: string };
  alertWebhookUrl?: string;
}

export interface Sealing {
  certPem: string;
  scope: SealingScope;
}

export const TENANT_LABEL = 'toolkit.fluxcd.io/tenant';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'aks-gitops-tasks' };

/** Names of the objects a system is made of (one place, so rendering and checks agree). */
export const namesOf = (s: Pick<SystemSpec, 'name'>) => ({
  serviceAccount: s.name,
  reconcilerBinding: `${s.name}-reconciler`,
  teamBinding: `${s.name}-team`,
  gitSecret: `${s.name}-git`,
  alertSecret: `${s.name}-alerts`,
  sync: s.name,
  networkPolicy: 'same-namespace-only',
});

/** A repository path without ./ or leading and trailing slashes. */
export function repoPath(path: string): string {
  return path.replace(/^\.?\/+/, '').replace(/\/+$/, '').replace(/^\.$/, '');
}
