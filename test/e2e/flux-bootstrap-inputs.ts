// The inputs every FluxBootstrap@1 run of the e2e tests shares: the kubeconfig and the Git server's
// CA in the working folder, the repository's ./clusters/dev on main, and the platform's releases.
import type { GitServer } from '../platform/git-server';
import type { PlatformInfo } from '../platform/platform';

export function fluxBootstrapInputs(git: GitServer, repo: string, releases: PlatformInfo['releases']): Record<string, string> {
  return {
    connectionType: 'kubeconfig',
    kubeconfig: 'kubeconfig',
    gitUrl: git.url(repo),
    caFile: 'git-ca.pem',
    gitBranch: 'main',
    gitPath: './clusters/dev',
    gitUsername: git.username!,
    gitToken: git.password!,
    releaseBaseUrl: releases.baseUrl,
    fluxVersion: releases.fluxVersion,
  };
}
