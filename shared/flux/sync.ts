import type { KubeObject } from '../kube/objects';

export interface SyncSpec {
  name: string;
  namespace: string;
  url: string;
  branch: string;
  path: string;
  interval: string;
  /** The credential Secret's name; none for public repositories and workload identity. */
  secretName?: string;
  provider?: 'azure';
  /** Impersonated by the Kustomization (the lockdown's default account would deny the platform). */
  serviceAccountName?: string;
}

export const OWNED_BY = { 'app.kubernetes.io/managed-by': 'aks-gitops-tasks' };

/** A folder in the repository in one spelling (`clusters/dev`, `./clusters/dev/` -> `./clusters/dev`), for comparing. */
export function normalizedPath(path: string): string {
  const parts = path.split('/').filter((p) => p && p !== '.');
  return `./${parts.join('/')}`;
}

/** The GitRepository and Kustomization that make Flux pull the environment's folder. */
export function syncObjects(s: SyncSpec): [KubeObject, KubeObject] {
  const gitRepository = {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: s.name, namespace: s.namespace, labels: OWNED_BY },
    spec: {
      interval: s.interval,
      url: s.url,
      ref: { branch: s.branch },
      ...(s.secretName ? { secretRef: { name: s.secretName } } : {}),
      ...(s.provider ? { provider: s.provider } : {}),
    },
  };
  const kustomization = {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: s.name, namespace: s.namespace, labels: OWNED_BY },
    spec: {
      interval: '10m',
      path: normalizedPath(s.path),
      prune: true,
      sourceRef: { kind: 'GitRepository', name: s.name },
      ...(s.serviceAccountName ? { serviceAccountName: s.serviceAccountName } : {}),
    },
  };
  return [gitRepository as KubeObject, kustomization as KubeObject];
}

export type GitCredential =
  | { kind: 'token'; username: string; password: string; caPem?: string }
  | { kind: 'ssh'; identity: string; knownHosts: string }
  | { kind: 'none' };

/** The source Secret in the format source-controller reads (flux create secret git). */
export function sourceSecret(name: string, namespace: string, credential: GitCredential): KubeObject | undefined {
  let stringData: Record<string, string>;
  if (credential.kind === 'token') {
    stringData = { username: credential.username, password: credential.password, ...(credential.caPem ? { 'ca.crt': credential.caPem } : {}) };
  } else if (credential.kind === 'ssh') {
    stringData = { identity: credential.identity, known_hosts: credential.knownHosts };
  } else {
    return undefined;
  }
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: OWNED_BY }, type: 'Opaque', stringData } as KubeObject;
}
