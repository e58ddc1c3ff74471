/** An Azure DevOps refusal, in words that say which permission or object is missing and what to do. */
export class ReposError extends Error {
  override readonly name = 'ReposError';
  constructor(message: string, readonly hint: string, readonly status?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const NETWORK_CODES = /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/** What azure-devops-node-api rejects with (typed-rest-client's error). */
export type AdoError = Error & { statusCode?: number; result?: { message?: string; typeKey?: string } };

/** The names Azure DevOps' Security pages give the Git permissions. */
export const PERMISSION_NAMES: Record<string, string> = {
  CreateRepository: 'Create repository',
  GenericContribute: 'Contribute',
  CreateBranch: 'Create branch',
  PullRequestContribute: 'Contribute to pull requests',
  GenericRead: 'Read',
  ForcePush: 'Force push',
  PolicyExempt: 'Bypass policies when pushing',
};

/**
 * Turns a failed Azure DevOps call into a ReposError: `doing` says what was attempted, `where`
 * which project, repository or branch. 401 is the token, 403 TF401027 names the permission.
 */
export function explain(error: unknown, doing: string, where: string): Error {
  const e = error as AdoError & { code?: string };
  if (e instanceof ReposError) return e;
  if (typeof e?.statusCode !== 'number') {
    if (e?.code && NETWORK_CODES.test(e.code)) {
      return new ReposError(`Could not reach Azure DevOps while ${doing} in ${where} (${e.code}: ${e.message}).`,
        "Check the organizationUrl input, and that the agent reaches it (DNS, firewall, the agent's proxy).", undefined, { cause: e });
    }
    if (e instanceof Error && e.name === 'AbortError') return e;
    // azure-devops-node-api's own failures (e.g. "Failed to find api location" after a cut-off
    // answer) name nothing: say what was being done where.
    return new ReposError(`Azure DevOps: ${doing} in ${where} failed: ${e instanceof Error ? e.message : String(e)}`,
      'Run the step again; if it keeps failing, check the organizationUrl input and the network between the agent and Azure DevOps.', undefined, { cause: e });
  }
  const message = (e.result?.message ?? e.message ?? '').trim();
  if (e.statusCode === 401) {
    return new ReposError(`Azure DevOps refused the access token while ${doing} (401).`,
      'Check the accessToken input: $(System.AccessToken) of this job, or a PAT that has not expired with the Code (Read & write) scope.', 401, { cause: e });
  }
  const permission = /TF401027: You need the Git '(\w+)' permission.*identity '([^']*)', scope '([^']*)'/.exec(message);
  if (permission) {
    const [, name, identity, scope] = permission;
    return new ReposError(`Azure DevOps refused ${doing} in ${where}: ${identity} lacks the Git permission '${PERMISSION_NAMES[name!] ?? name}' (${name}) at ${scope} scope.`,
      `Grant it under Project settings > Repositories > ${scope === 'project' ? 'All repositories' : where} > Security to ${identity} (for $(System.AccessToken): the project's or collection's Build Service account).`, 403, { cause: e });
  }
  if (/TF402455/.test(message)) {
    return new ReposError(`Azure DevOps refused ${doing} in ${where}: the branch is protected by policies (${message}).`,
      "Set the task's changeMode to pullRequest, or grant 'Bypass policies when pushing' to the identity.", 403, { cause: e });
  }
  return new ReposError(`Azure DevOps refused ${doing} in ${where} (${e.statusCode}): ${message}`, 'See the message; the request changed nothing.', e.statusCode, { cause: e });
}
