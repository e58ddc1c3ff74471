import type { IGitApi } from 'azure-devops-node-api/GitApi';
import {
  GitVersionType, ItemContentType, PullRequestStatus, VersionControlChangeType, VersionControlRecursionType,
  type GitPullRequest, type GitRepository,
} from 'azure-devops-node-api/interfaces/GitInterfaces';
import { WebApi, getHandlerFromToken } from 'azure-devops-node-api/WebApi';
import { devOpsProxyOptions, type ProxySettings } from '../net/proxy';
import { retryTransient } from '../net/transient';
import { explain, ReposError, type AdoError } from './errors';

export interface FileChange {
  /** Repository path without a leading slash. */
  path: string;
  action: 'add' | 'edit' | 'delete';
  content?: string;
}

export interface Project {
  id: string;
  name: string;
}

export interface Repository {
  id: string;
  name: string;
  project: Project;
  remoteUrl: string;
  webUrl: string;
}

export interface PullRequest {
  id: number;
  url: string;
  sourceBranch: string;
  title: string;
  autoComplete: boolean;
}

export interface AzureReposOptions {
  organizationUrl: string;
  /** $(System.AccessToken) or a PAT; azure-devops-node-api picks Bearer or Basic from its form. */
  token: string;
  signal?: AbortSignal;
  /** The agent's proxy. */
  proxy?: ProxySettings;
}

const ZERO = '0'.repeat(40);
const READ_RETRIES = 5;
// Security namespace "Git Repositories" and its permission bits (Azure DevOps Security REST API).
const GIT_NAMESPACE = '2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87';
export const GIT_PERMISSIONS = { GenericRead: 2, GenericContribute: 4, CreateBranch: 16, CreateRepository: 256, PullRequestContribute: 16384 } as const;
export type GitPermission = keyof typeof GIT_PERMISSIONS;

export interface PermissionCheck {
  permission: GitPermission;
  project: Project;
  /** Omitted: the project (all repositories), as for CreateRepository. */
  repository?: Repository;
  branch?: string;
}
const heads = (branch: string) => `refs/heads/${branch}`;

/**
 * Azure Repos as RegisterSystem uses it, through azure-devops-node-api: projects, repositories,
 * branch heads, files at a commit, one-commit pushes and pull requests. Every failure comes back
 * as a ReposError naming the object and the permission; a 404 the client resolves as null
 * becomes undefined.
 */
export class AzureRepos {
  private gitApi?: Promise<IGitApi>;
  private readonly web: WebApi;

  constructor(private readonly o: AzureReposOptions) {
    const proxy = devOpsProxyOptions(o.proxy);
    // Reads (GET, HEAD, OPTIONS) are tried again after a 502, 503, 504 or a dropped connection, as
    // Azure DevOps has its bad minutes; writes are not repeated (a push is not idempotent).
    this.web = new WebApi(o.organizationUrl, getHandlerFromToken(o.token), { ...(proxy ? { proxy } : {}), allowRetries: true, maxRetries: READ_RETRIES });
  }

  get organizationUrl(): string {
    return this.o.organizationUrl;
  }

  private git(): Promise<IGitApi> {
    this.o.signal?.throwIfAborted();
    // Location discovery is a read: a throttled or dropped one is asked again.
    this.gitApi ??= retryTransient(() => this.web.getGitApi(), { idempotent: true, signal: this.o.signal });
    return this.gitApi;
  }

  private async call<T>(doing: string, where: string, fn: (git: IGitApi) => Promise<T>, idempotent = false): Promise<T> {
    const git = await this.git().catch((e: unknown) => { throw explain(e, 'connecting', this.o.organizationUrl); });
    try {
      // Throttled calls were refused, not carried out: sent again after a back-off, writes too.
      return await retryTransient(() => fn(git), { signal: this.o.signal, idempotent });
    } catch (error) {
      throw explain(error, doing, where);
    } finally {
      this.o.signal?.throwIfAborted();
    }
  }

  /**
   * A read whose empty answer (null) means "absent". azure-devops-node-api also answers null when a
   * 200's body was cut off on the way (it drops what it cannot parse), so an absence is asked once
   * more before it is believed: taking a cut-off listing for an empty folder would plan every file
   * as new.
   */
  private async read<T>(doing: string, where: string, fn: (git: IGitApi) => Promise<T>): Promise<T> {
    // Reads change nothing: a 5xx or a dropped connection is worth another try too.
    const first = await this.call(doing, where, fn, true);
    return first ?? this.call(doing, where, fn, true);
  }

  /** The project, or a ReposError: a missing project and one the token cannot see look the same. */
  async project(name: string): Promise<Project> {
    const core = await retryTransient(() => this.web.getCoreApi(), { idempotent: true, signal: this.o.signal }).catch((e: unknown) => { throw explain(e, 'connecting', this.o.organizationUrl); });
    let project;
    try {
      const read = () => retryTransient(() => core.getProject(name), { idempotent: true, signal: this.o.signal });
      project = (await read()) ?? (await read());
    } catch (error) {
      throw explain(error, `reading project '${name}'`, this.o.organizationUrl);
    }
    if (!project?.id) {
      throw new ReposError(`Project '${name}' does not exist in ${this.o.organizationUrl}, or the access token cannot see it (TF200016).`,
        "Check the project input; the token's identity needs 'View project-level information' on it (for $(System.AccessToken): the Build Service account).", 404);
    }
    return { id: project.id, name: project.name ?? name };
  }

  /** The repository, or undefined when it does not exist or the token cannot read it (TF401019). */
  async repository(project: Project, name: string): Promise<Repository | undefined> {
    const repo = await this.read(`reading repository '${name}'`, `project ${project.name}`, (git) => git.getRepository(name, project.id));
    return repo?.id ? this.toRepository(repo, project) : undefined;
  }

  async createRepository(project: Project, name: string): Promise<Repository> {
    try {
      const repo = await this.call(`creating repository '${name}'`, `project ${project.name}`, (git) => git.createRepository({ name, project: { id: project.id } }, project.id));
      if (repo?.id) return this.toRepository(repo, project);
    } catch (error) {
      // Another run created it first (TF400948): take it.
      if ((error as ReposError).status !== 409) throw error;
    }
    const existing = await this.repository(project, name);
    if (!existing) throw new ReposError(`Repository '${name}' could not be created in project ${project.name}.`, 'Create it by hand, then run again.');
    return existing;
  }

  /** The commit at the head of a branch, or undefined when the branch does not exist. */
  async head(repo: Repository, branch: string): Promise<string | undefined> {
    const refs = await this.read(`reading branch '${branch}'`, `repository ${repo.name}`, (git) => git.getRefs(repo.id, repo.project.id, `heads/${branch}`));
    return (refs ?? []).find((r) => r.name === heads(branch))?.objectId;
  }

  /** The files under a folder at a commit (paths relative to the repository root); {} when the folder is absent. */
  async files(repo: Repository, commit: string, folder: string, filter: (path: string) => boolean = () => true): Promise<Record<string, string>> {
    const version = { version: commit, versionType: GitVersionType.Commit };
    const items = await this.read(`listing ${folder || '/'}`, `repository ${repo.name}`,
      (git) => git.getItems(repo.id, repo.project.id, `/${folder}`, VersionControlRecursionType.Full, false, false, false, false, version));
    const paths = (items ?? []).filter((i) => !i.isFolder && i.gitObjectType !== 2 && i.path).map((i) => i.path!.replace(/^\//, '')).filter(filter);
    const out: Record<string, string> = {};
    // A few at a time: one request per file.
    for (let i = 0; i < paths.length; i += 8) {
      await Promise.all(paths.slice(i, i + 8).map(async (path) => {
        const item = await this.read(`reading ${path}`, `repository ${repo.name}`,
          (git) => git.getItem(repo.id, `/${path}`, repo.project.id, undefined, undefined, false, false, false, version, true));
        if (item?.content !== undefined) out[path] = item.content;
      }));
    }
    return out;
  }

  /**
   * One commit with all changes on a branch whose head is `base` (undefined: the branch does not
   * exist yet and is created from `from`, or as the first commit of an empty repository).
   * A lost race (TF401028) is thrown as ReposError with status 409, for the caller to re-plan.
   */
  async push(repo: Repository, branch: string, base: string | undefined, message: string, changes: FileChange[], from?: string): Promise<string> {
    const push = await this.call(`pushing to ${branch}`, `repository ${repo.name}`, (git) => git.createPush({
      refUpdates: [{ name: heads(branch), oldObjectId: base ?? from ?? ZERO }],
      commits: [{
        comment: message,
        changes: changes.map((c) => ({
          changeType: c.action === 'add' ? VersionControlChangeType.Add : c.action === 'edit' ? VersionControlChangeType.Edit : VersionControlChangeType.Delete,
          item: { path: `/${c.path}` },
          ...(c.action === 'delete' ? {} : { newContent: { content: Buffer.from(c.content ?? '', 'utf8').toString('base64'), contentType: ItemContentType.Base64Encoded } }),
        })),
      }],
    }, repo.id, repo.project.id));
    const commit = push?.commits?.[0]?.commitId ?? push?.refUpdates?.[0]?.newObjectId;
    if (!commit) throw new ReposError(`Azure DevOps accepted the push to ${branch} of ${repo.name} but returned no commit.`, 'Look at the branch history; run again to converge.');
    return commit;
  }

  async activePullRequest(repo: Repository, source: string, target: string): Promise<PullRequest | undefined> {
    const found = await this.read('looking for an open pull request', `repository ${repo.name}`,
      (git) => git.getPullRequests(repo.id, { sourceRefName: heads(source), targetRefName: heads(target), status: PullRequestStatus.Active }, repo.project.id));
    return found?.[0] ? this.toPullRequest(found[0], repo) : undefined;
  }

  async createPullRequest(repo: Repository, source: string, target: string, title: string, description: string): Promise<PullRequest> {
    const pr = await this.call('opening a pull request', `repository ${repo.name}`,
      (git) => git.createPullRequest({ sourceRefName: heads(source), targetRefName: heads(target), title, description: description.slice(0, 4000) }, repo.id, repo.project.id));
    if (!pr?.pullRequestId) throw new ReposError(`Azure DevOps did not open the pull request in ${repo.name}.`, 'Check that both branches exist and run again.');
    return this.toPullRequest(pr, repo);
  }

  /**
   * Title and description, and auto-complete set by the caller's own identity (the only one Azure
   * DevOps accepts). No merge strategy is sent, so the one the branch policy allows is used.
   */
  async updatePullRequest(repo: Repository, pr: PullRequest, update: { title: string; description: string; autoComplete: boolean }): Promise<PullRequest> {
    const me = update.autoComplete && !pr.autoComplete ? await this.identityId() : undefined;
    const body: GitPullRequest = {
      title: update.title,
      description: update.description.slice(0, 4000),
      ...(me ? { autoCompleteSetBy: { id: me }, completionOptions: { deleteSourceBranch: true, transitionWorkItems: false } } : {}),
    };
    const updated = await this.call(`updating pull request ${pr.id}`, `repository ${repo.name}`, (git) => git.updatePullRequest(body, repo.id, pr.id, repo.project.id));
    return updated?.pullRequestId ? this.toPullRequest(updated, repo) : pr;
  }

  /**
   * The checks the token's identity fails, asked of Azure DevOps without writing anything
   * (Security - Permissions Evaluation Batch); undefined when the service cannot answer, so the
   * writes themselves report what is missing.
   */
  async missingPermissions(checks: PermissionCheck[]): Promise<PermissionCheck[] | undefined> {
    if (!checks.length) return [];
    const evaluations = checks.map((c) => ({ securityNamespaceId: GIT_NAMESPACE, token: securityToken(c), permissions: GIT_PERMISSIONS[c.permission] }));
    try {
      const res = await this.web.rest.create<{ evaluations?: { value?: boolean }[] }>(
        `${this.o.organizationUrl.replace(/\/?$/, '/')}_apis/security/permissionevaluationbatch?api-version=7.1`,
        { alwaysAllowAdministrators: false, evaluations });
      const values = res.result?.evaluations;
      if (!values || values.length !== checks.length) return undefined;
      return checks.filter((_, i) => values[i]?.value === false);
    } catch {
      return undefined;
    } finally {
      this.o.signal?.throwIfAborted();
    }
  }

  private async identityId(): Promise<string> {
    try {
      const data = await this.web.connect();
      const id = data.authenticatedUser?.id;
      if (id) return id;
    } catch (error) {
      throw explain(error as AdoError, 'reading the identity of the access token', this.o.organizationUrl);
    }
    throw new ReposError('Azure DevOps did not say whose access token this is; auto-complete needs it.', 'Run without autoComplete, or with another token.');
  }

  private toRepository(repo: GitRepository, project: Project): Repository {
    return { id: repo.id!, name: repo.name!, project, remoteUrl: repo.remoteUrl ?? '', webUrl: repo.webUrl ?? repo.remoteUrl ?? '' };
  }

  private toPullRequest(pr: GitPullRequest, repo: Repository): PullRequest {
    return {
      id: pr.pullRequestId!,
      url: `${repo.webUrl}/pullrequest/${pr.pullRequestId}`,
      sourceBranch: (pr.sourceRefName ?? '').replace(/^refs\/heads\//, ''),
      title: pr.title ?? '',
      autoComplete: Boolean(pr.autoCompleteSetBy?.id),
    };
  }
}

/** The Git Repositories security token: repoV2/<project>[/<repository>[/refs/heads/<branch, each segment as UTF-16LE hex>]]. */
function securityToken(c: PermissionCheck): string {
  let token = `repoV2/${c.project.id}`;
  if (!c.repository) return token;
  token += `/${c.repository.id}`;
  if (!c.branch) return token;
  return `${token}/refs/heads/${c.branch.split('/').map((segment) => Buffer.from(segment, 'utf16le').toString('hex')).join('/')}`;
}
