// Where the real binaries of the platform are: the cache that bins/build.mjs fills.
import { existsSync } from 'node:fs';
import { binaryPaths } from './bins/build.mjs';

export type BinaryName =
  | 'etcd' | 'kube-apiserver' | 'kubectl' | 'kube-controller-manager' | 'kube-scheduler'
  | 'source-controller' | 'kustomize-controller' | 'helm-controller' | 'notification-controller'
  | 'sealed-secrets-controller' | 'kubeseal' | 'jsonnet';

export type BinaryPaths = Record<BinaryName, string>;

let cached: BinaryPaths | undefined;

/**
 * Paths of the built binaries; fails with one clear message when one of those required is not
 * in the cache yet.
 */
export function platformBinaries(required?: BinaryName[]): BinaryPaths {
  const paths = cached ??= binaryPaths() as BinaryPaths;
  const missing = (required ?? Object.keys(paths) as BinaryName[]).filter((n) => !existsSync(paths[n]));
  if (missing.length) {
    throw new Error(`the local platform's binaries are not built yet (missing: ${missing.join(', ')}); `
      + 'run "npm run platform:build" (a first build takes 10-30 minutes)');
  }
  return paths;
}
