import type { KubeObject } from '../kube/objects';
import type { AzureRepos, PermissionCheck, PullRequest, Project, Repository } from '../repos/azure-repos';
import { PERMISSION_NAMES, ReposError } from '../repos/errors';
import { describeChanges, fileChanges, type FileChange } from './changes';
import { BUILT_IN_CLUSTER_ROLES, clusterRoleIn, type PolicyRule } from './cluster-role';
import { GUARDRAILS_FILE, renderGuardrails, renderSystem } from './render';
import { starterFiles } from './starter';
import { systemsIndex } from './systems-index';
import { repoPath, type Sealing, type SystemSecrets, type SystemSpec } from './system';

export interface Delivery {
  project: string;
  platformRepository: string;
  platformBranch: string;
  systemsFolder: string;
  changeMode: 'commit' | 'pullRequest';
  autoComplete: boolean;
}

export interface RegisterOptions extends Delivery {
  action: 'register' | 'deregister';
  spec: SystemSpec;
  /** Filled in with the team repository's credential; the URL comes from the repository. */
  secrets: Omit<SystemSecrets, 'git'> & { gitToken: string };
  sealing: Sealing;
  systemRepository: string;
  createRepository: boolean;
  /** Who tenants ask for exceptions, named in the guardrail's message. */
  contact: string;
  /** Whether a ClusterRole exists in the cluster, when the task can reach it. */
  clusterRoleInCluster?: (name: string) => Promise<boolean>;
  signal?: AbortSignal;
  log: (line: string) => void;
  progress: (percent: number, operation: string) => void;
}

export interface RegisterResult {
  repository?: Repository;
  repositoryCreated: boolean;
  starterCommit?: string;
  /** The commit on the platform branch (commit mode) or on the pull request's branch. */
  commitId?: string;
  pullRequest?: PullRequest & { created: boolean };
  /** What changed in the platform repository, one line each; empty when nothing did. */
  changes: string[];
  folder: string;
  /** The rendered objects (register only), for an apply at once. */
  objects: KubeObject[];
}

/** Refused input, raised before anything is written; the task turns it into an InputError. */
export class RegistrationInputError extends Error {
  constructor(readonly input: string, readonly problem: string, readonly expected: string) {
    super(problem);
  }
}

const PR_PREFIX = 'register-system/';
const GIT_USER = 'flux';

/**
 * Registers (or deregisters) a system in the platform repository: reads everything first and
 * refuses bad input or missing objects before any write; then creates the team repository with
 * its starter layout when missing, and writes the system's folder as one commit or one pull
 * request. Files equal to what is there are not written, so a re-run changes nothing.
 */
export async function registerSystem(repos: AzureRepos, o: RegisterOptions): Promise<RegisterResult> {
  o.progress(5, `Reading project ${o.project} and repository ${o.platformRepository}`);
  const project = await repos.project(o.project);
  const platform = await repos.repository(project, o.platformRepository);
  if (!platform) throw new RegistrationInputError('platformRepository', `repository '${o.platformRepository}' does not exist in project ${project.name}, or the access token cannot read it (TF401019)`, "the platform repository's name, readable by the token's identity (Git permission 'Read')");
  const targetHead = await repos.head(platform, o.platformBranch);
  if (!targetHead) throw new RegistrationInputError('platformBranch', `branch '${o.platformBranch}' does not exist in ${platform.name}`, 'an existing branch of the platform repository, e.g. main');

  const folder = `${repoPath(o.systemsFolder)}/${o.spec.name}`.replace(/^\//, '');
  const result: RegisterResult = { repositoryCreated: false, changes: [], folder, objects: [] };
  const deregistering = o.action === 'deregister';

  let team = await repos.repository(project, o.systemRepository);
  let rules: PolicyRule[] | undefined;
  if (!deregistering) {
    if (!team && !o.createRepository) {
      throw new RegistrationInputError('systemRepository', `repository '${o.systemRepository}' does not exist in project ${project.name}, or the token cannot read it`, 'an existing repository, or createRepository: true to create it');
    }
    o.progress(15, `Checking ClusterRoles ${o.spec.clusterRole}${o.spec.entraGroup ? ` and ${o.spec.entraGroup.clusterRole}` : ''}`);
    rules = await checkClusterRoles(repos, platform, targetHead, o);
  }
  // Known once the team repository exists (it is created below, after every check).
  let gitUrl = team ? cloneUrl(team.remoteUrl) : '';

  // What the platform repository should hold, and the branch to compare with.
  o.progress(30, `Rendering ${folder}`);
  const plan = async (base: string) => {
    const current = await repos.files(platform, base, repoPath(o.systemsFolder), (p) => p.startsWith(`${folder}/`) || p === indexPath(o) || p === guardrailsPath(o));
    const inFolder = Object.fromEntries(Object.entries(current).filter(([p]) => p.startsWith(`${folder}/`)).map(([p, c]) => [p.slice(folder.length + 1), c]));
    const desired: Record<string, string | null> = Object.fromEntries(Object.keys(inFolder).map((p) => [`${folder}/${p}`, null]));
    if (deregistering) {
      if (current[indexPath(o)] !== undefined) desired[indexPath(o)] = systemsIndex(current[indexPath(o)], { remove: o.spec.name });
    } else {
      const system = renderSystem({ ...o.spec, source: { ...o.spec.source, url: gitUrl } },
        { git: { username: GIT_USER, password: o.secrets.gitToken }, alertWebhookUrl: o.secrets.alertWebhookUrl }, o.sealing, inFolder);
      const guardrails = renderGuardrails(o.contact);
      for (const [p, c] of Object.entries(system.files)) desired[`${folder}/${p}`] = c;
      desired[guardrailsPath(o)] = guardrails.files[GUARDRAILS_FILE]!;
      desired[indexPath(o)] = systemsIndex(current[indexPath(o)], { add: o.spec.name });
      result.objects = [...guardrails.objects, ...system.objects];
    }
    const changes = fileChanges(desired, current);
    return { changes, lines: describeChanges(changes, current) };
  };

  // Everything was read and checked: from here on, writes. The team repository is written
  // before the platform repository; so that a refusal of the second cannot leave the first
  // half-done, both sets of permissions are asked for first.
  const starter = deregistering ? undefined : await starterChanges(repos, team, o, rules);
  if (!deregistering && (!team || starter?.changes.length)) await requirePermissions(repos, project, team, platform, o);
  if (!deregistering) {
    if (!team) {
      o.progress(45, `Creating repository ${o.systemRepository} in ${project.name}`);
      team = await repos.createRepository(project, o.systemRepository);
      result.repositoryCreated = true;
      gitUrl = cloneUrl(team.remoteUrl);
      o.log(`Created repository ${team.name}: ${gitUrl}`);
    }
    if (starter?.changes.length) {
      const path = repoPath(o.spec.source.path) || '/';
      result.starterCommit = await repos.push(team, o.spec.source.branch, starter.head, `Starter layout for system ${o.spec.name} at ${path}`, starter.changes);
      o.log(`Pushed the starter layout to ${team.name} ${o.spec.source.branch}:${path} (${result.starterCommit.slice(0, 12)}).`);
    }
    result.repository = team;
  } else {
    result.repository = team;
  }

  o.progress(60, `Writing ${folder} to ${platform.name} (${o.changeMode === 'commit' ? `a commit on ${o.platformBranch}` : 'a pull request'})`);
  const verb = deregistering ? 'Deregister' : 'Register';
  for (let attempt = 1; ; attempt++) {
    try {
      if (o.changeMode === 'commit') {
        const head = attempt === 1 ? targetHead : await repos.head(platform, o.platformBranch);
        const { changes, lines } = await plan(head!);
        result.changes = lines;
        if (!changes.length) return result;
        result.commitId = await repos.push(platform, o.platformBranch, head, commitMessage(verb, o.spec.name, lines), changes);
      } else {
        await deliverAsPullRequest(repos, platform, o, plan, result, verb);
      }
      return result;
    } catch (error) {
      // Another writer moved the branch between our read and our push: read again and re-plan.
      if (error instanceof ReposError && error.status === 409 && attempt < 4) {
        o.log(`${o.platformBranch} moved while writing (another run?); reading it again (attempt ${attempt + 1}).`);
        continue;
      }
      throw error;
    }
  }
}

async function deliverAsPullRequest(repos: AzureRepos, platform: Repository, o: RegisterOptions, plan: (base: string) => Promise<{ changes: FileChange[]; lines: string[] }>,
  result: RegisterResult, verb: string): Promise<void> {
  const targetHead = (await repos.head(platform, o.platformBranch))!;
  const open = await repos.activePullRequest(platform, `${PR_PREFIX}${o.spec.name}`, o.platformBranch);
  let pr: (PullRequest & { created: boolean }) | undefined = open && { ...open, created: false };
  const branch = pr?.sourceBranch ?? await freshBranch(repos, platform, o.spec.name, targetHead);
  const branchHead = pr ? await repos.head(platform, branch) : undefined;
  // Against the open pull request's branch when there is one, else against the target.
  const { changes, lines } = await plan(branchHead ?? targetHead);
  result.changes = lines;
  if (!changes.length && (!pr || pr.autoComplete || !o.autoComplete)) {
    if (pr) result.pullRequest = pr;
    return;
  }
  if (changes.length) result.commitId = await repos.push(platform, branch, branchHead, commitMessage(verb, o.spec.name, lines), changes, targetHead);
  const title = `${verb} system ${o.spec.name}`;
  const description = `${title} in ${o.systemsFolder} (RegisterSystem@1).\n\n${lines.map((l) => `- ${l}`).join('\n')}`;
  if (!pr) pr = { ...(await repos.createPullRequest(platform, branch, o.platformBranch, title, description)), created: true };
  if (changes.length || (o.autoComplete && !pr.autoComplete)) pr = { ...(await repos.updatePullRequest(platform, pr, { title, description, autoComplete: o.autoComplete })), created: pr.created };
  result.pullRequest = pr;
}

/** The branch of a new pull request; a leftover branch of a finished one gets a suffix. */
async function freshBranch(repos: AzureRepos, platform: Repository, system: string, targetHead: string): Promise<string> {
  const plain = `${PR_PREFIX}${system}`;
  return (await repos.head(platform, plain)) ? `${plain}-${targetHead.slice(0, 8)}` : plain;
}

async function checkClusterRoles(repos: AzureRepos, platform: Repository, head: string, o: RegisterOptions): Promise<PolicyRule[] | undefined> {
  const wanted = [{ input: 'clusterRole', name: o.spec.clusterRole }, ...(o.spec.entraGroup ? [{ input: 'entraGroupClusterRole', name: o.spec.entraGroup.clusterRole }] : [])];
  let files: Record<string, string> | undefined;
  let tenantRules: PolicyRule[] | undefined;
  for (const { input, name } of wanted) {
    files ??= await repos.files(platform, head, '', (p) => /\.ya?ml$/i.test(p) && !p.startsWith(`${repoPath(o.systemsFolder)}/`));
    const inRepo = clusterRoleIn(files, name);
    if (input === 'clusterRole') tenantRules = inRepo?.rules;
    if (inRepo) {
      o.log(`ClusterRole ${name}: defined in ${platform.name}/${inRepo.path}.`);
      continue;
    }
    if (BUILT_IN_CLUSTER_ROLES.includes(name)) continue;
    if (o.clusterRoleInCluster && await o.clusterRoleInCluster(name)) {
      o.log(`ClusterRole ${name}: exists in the cluster (not in ${platform.name}).`);
      continue;
    }
    throw new RegistrationInputError(input, `the ClusterRole '${name}' exists neither in ${platform.name} (branch ${o.platformBranch}) nor ${o.clusterRoleInCluster ? 'in the cluster' : 'among the built-in roles'}`,
      `a ClusterRole the platform defines (commit it under infrastructure/ first), or one of ${BUILT_IN_CLUSTER_ROLES.join(', ')}`);
  }
  return tenantRules;
}

/** The starter layout to push at the system's path: none when the path already has files. */
async function starterChanges(repos: AzureRepos, team: Repository | undefined, o: RegisterOptions, rules?: PolicyRule[]): Promise<{ head?: string; changes: FileChange[] }> {
  const head = team ? await repos.head(team, o.spec.source.branch) : undefined;
  const path = repoPath(o.spec.source.path);
  const existing = head ? await repos.files(team!, head, path) : {};
  if (Object.keys(existing).length) return { head, changes: [] };
  return { head, changes: fileChanges(starterFiles(o.spec, { rules, certPem: o.sealing.certPem, platformRepository: o.platformRepository }), existing) };
}

/** Fails, naming each missing permission, before the first write (when Azure DevOps can say). */
async function requirePermissions(repos: AzureRepos, project: Project, team: Repository | undefined, platform: Repository, o: RegisterOptions): Promise<void> {
  const checks: PermissionCheck[] = [
    ...(team ? [] : [{ permission: 'CreateRepository' as const, project }]),
    { permission: 'GenericContribute', project, repository: team, branch: team ? o.spec.source.branch : undefined },
    { permission: 'CreateBranch', project, repository: team },
    ...(o.changeMode === 'commit'
      ? [{ permission: 'GenericContribute' as const, project, repository: platform, branch: o.platformBranch }]
      : [{ permission: 'CreateBranch' as const, project, repository: platform }, { permission: 'GenericContribute' as const, project, repository: platform },
        { permission: 'PullRequestContribute' as const, project, repository: platform }]),
  ];
  const missing = await repos.missingPermissions(checks);
  if (!missing?.length) return;
  const where = (c: PermissionCheck) => (c.repository ? `repository ${c.repository.name}${c.branch ? ` (branch ${c.branch})` : ''}` : `project ${c.project.name}${team || c.permission === 'CreateRepository' ? '' : ` (for the new repository ${o.systemRepository})`}`);
  throw new ReposError(`The access token's identity lacks ${missing.map((c) => `'${PERMISSION_NAMES[c.permission]}' on ${where(c)}`).join(', ')}. Nothing was written.`,
    'Grant them under Project settings > Repositories > Security (for $(System.AccessToken): to the project\'s or collection\'s Build Service account), then run again.', 403);
}


function commitMessage(verb: string, system: string, lines: string[]): string {
  return `${verb} system ${system}\n\n${lines.map((l) => `- ${l}`).join('\n')}\n\nWritten by RegisterSystem@1.`;
}

const indexPath = (o: Pick<Delivery, 'systemsFolder'>) => `${repoPath(o.systemsFolder)}/kustomization.yaml`.replace(/^\//, '');
const guardrailsPath = (o: Pick<Delivery, 'systemsFolder'>) => `${repoPath(o.systemsFolder)}/${GUARDRAILS_FILE}`.replace(/^\//, '');

/** A clone URL without user info (Azure DevOps puts the organization there; Flux's secret authenticates). */
function cloneUrl(remoteUrl: string): string {
  const url = new URL(remoteUrl);
  url.username = '';
  url.password = '';
  return url.toString();
}
