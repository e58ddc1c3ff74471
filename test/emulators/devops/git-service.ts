// Azure Repos' Git REST surface (repositories, pushes, refs, items, pull requests) on top of real
// bare repositories, with the permission checks and branch policies the service applies. Enums
// arrive as numbers from azure-devops-node-api and as strings from REST callers; both are
// accepted, responses use the service's string forms.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BareRepository, ChangeConflict, ZERO_ID, type FileChange, type GitIdentity } from './bare-repository.js';
import type { Permission } from './permissions.js';
import { policyReasons, VssError, vssErrors } from './vss-errors.js';

export interface IdentityRef {
  id: string;
  displayName: string;
  uniqueName: string;
  url?: string;
  imageUrl?: string;
  descriptor?: string;
}

export interface Project {
  id: string;
  name: string;
}

/** Answers whether an identity holds a permission (at project scope when repository is omitted). */
export interface AccessCheck {
  has(identity: IdentityRef, permission: Permission, project: Project, repository?: string): boolean;
}

export type MergeStrategy = 'noFastForward' | 'squash' | 'rebase' | 'rebaseMerge';
/** GitPullRequestMergeStrategy order (1..4): "the first strategy allowed" follows it. */
export const MERGE_STRATEGIES: readonly MergeStrategy[] = ['noFastForward', 'squash', 'rebase', 'rebaseMerge'];

/** The two branch policies the emulator models: Minimum number of reviewers, Limit merge types. */
export interface BranchPolicy {
  requiredReviewers?: number;
  allowedMergeTypes?: MergeStrategy[];
}

export interface AutoCompleteNotification {
  pullRequestId: number;
  /** What Azure DevOps tells the user who set auto-complete (AutoCompleteUpdatedNotification). */
  reason: string;
  /** Whether auto-complete was cancelled (autoCompleteSetBy cleared). */
  cancelled: boolean;
}

interface RepositoryRecord {
  id: string;
  name: string;
  project: Project;
  git: BareRepository;
  defaultBranch?: string;
  pushes: Array<Record<string, unknown>>;
}

type PullRequestStatus = 'active' | 'abandoned' | 'completed';

interface PullRequestRecord {
  id: number;
  repositoryId: string;
  title: string;
  description: string;
  sourceRefName: string;
  targetRefName: string;
  status: PullRequestStatus;
  isDraft: boolean;
  createdBy: IdentityRef;
  creationDate: Date;
  closedDate?: Date;
  closedBy?: IdentityRef;
  mergeStatus: 'queued' | 'succeeded' | 'conflicts' | 'failure';
  mergeFailureMessage?: string;
  mergeId: string;
  lastMergeSourceCommit?: string;
  lastMergeTargetCommit?: string;
  lastMergeCommit?: string;
  reviewers: Json[];
  completionOptions?: Json;
  mergeOptions?: Json;
  autoCompleteSetBy?: IdentityRef;
}

type Json = Record<string, unknown>;

/** /Service/Git/Settings/MaxRebaseCommitCount on the hosted service (500 on Azure DevOps Server). */
const MAX_REBASE_COMMITS = 100;
const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const changeTypeFlags: Record<number, string> = { 1: 'add', 2: 'edit', 8: 'rename', 16: 'delete' };

function changeKinds(value: unknown): string[] {
  if (typeof value === 'number') return Object.entries(changeTypeFlags).filter(([flag]) => value & Number(flag)).map(([, name]) => name);
  return String(value ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean);
}

function isBase64(contentType: unknown): boolean {
  return contentType === 1 || String(contentType ?? '').toLowerCase() === 'base64encoded';
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function truthy(value: unknown): boolean {
  return value === true || String(value).toLowerCase() === 'true';
}

function pullRequestStatus(value: unknown): PullRequestStatus | 'all' | 'notSet' | undefined {
  const byNumber: Record<number, PullRequestStatus | 'all' | 'notSet'> = { 0: 'notSet', 1: 'active', 2: 'abandoned', 3: 'completed', 4: 'all' };
  if (typeof value === 'number' || /^\d+$/.test(String(value))) return byNumber[Number(value)];
  const text = String(value ?? '').toLowerCase();
  return (['active', 'abandoned', 'completed', 'all', 'notSet'] as const).find((status) => status.toLowerCase() === text);
}

/** mergeStrategy as node-api sends it (1..4) or as REST callers do ("squash"); undefined when unset. */
export function parseMergeStrategy(value: unknown): MergeStrategy | undefined {
  if (!present(value)) return undefined;
  if (typeof value === 'number' || /^\d+$/.test(String(value))) {
    const strategy = MERGE_STRATEGIES[Number(value) - 1];
    if (!strategy) throw new VssError(400, 'NotSupportedException', 'Merge strategy not supported.', 'mscorlib');
    return strategy;
  }
  const strategy = MERGE_STRATEGIES.find((candidate) => candidate.toLowerCase() === String(value).toLowerCase());
  if (!strategy) throw new VssError(400, 'NotSupportedException', 'Merge strategy not supported.', 'mscorlib');
  return strategy;
}

/**
 * The strategy a completion uses: the explicit one; else the first one the target branch's
 * "Limit merge types" policy allows; else squash when the deprecated squashMerge is true, else
 * noFastForward (GitPullRequestCompletionOptions.mergeStrategy/squashMerge documentation).
 */
function strategyFor(options: Json | undefined, allowed: MergeStrategy[] | undefined): MergeStrategy {
  const explicit = parseMergeStrategy(options?.mergeStrategy);
  if (explicit) return explicit;
  if (allowed) return MERGE_STRATEGIES.find((strategy) => allowed.includes(strategy))!;
  return truthy(options?.squashMerge) ? 'squash' : 'noFastForward';
}

function itemPath(path: unknown): string {
  return String(path ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
}

function branchRef(branch: string): string {
  return branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
}

export class GitService {
  private readonly repositories = new Map<string, RepositoryRecord>();
  private readonly pullRequests = new Map<number, PullRequestRecord>();
  private readonly policies = new Map<string, BranchPolicy>();
  private readonly autoCompleting = new Set<number>();
  readonly autoCompleteNotifications: AutoCompleteNotification[] = [];
  private nextPushId = 1;
  private nextPullRequestId = 1;
  private nextReviewer = 1;

  constructor(
    private readonly collectionUrl: string,
    private readonly serverUrl: string,
    private readonly organization: string,
    private readonly reposRoot: string,
    private readonly access: AccessCheck = { has: () => true },
  ) {}

  private repositoryUrl(repository: RepositoryRecord): string {
    return `${this.collectionUrl}${repository.project.id}/_apis/git/repositories/${repository.id}`;
  }

  remoteUrl(repository: { project: Project; name: string }): string {
    return `${this.serverUrl}/${this.organization}/${encodeURIComponent(repository.project.name)}/_git/${encodeURIComponent(repository.name)}`;
  }

  private projectJson(project: Project): Json {
    return {
      id: project.id, name: project.name, url: `${this.collectionUrl}_apis/projects/${project.id}`,
      state: 'wellFormed', revision: 1, visibility: 'private', lastUpdateTime: new Date(0).toISOString(),
    };
  }

  repositoryJson(repository: RepositoryRecord): Json {
    const remoteUrl = this.remoteUrl(repository);
    return {
      id: repository.id,
      name: repository.name,
      url: this.repositoryUrl(repository),
      project: this.projectJson(repository.project),
      ...(repository.defaultBranch ? { defaultBranch: repository.defaultBranch } : {}),
      size: 0,
      remoteUrl,
      sshUrl: `git@ssh.dev.azure.com:v3/${this.organization}/${encodeURIComponent(repository.project.name)}/${encodeURIComponent(repository.name)}`,
      webUrl: remoteUrl,
      isDisabled: false,
      isInMaintenance: false,
    };
  }

  // ---- permissions -------------------------------------------------------------------------

  /** Read access as Azure DevOps checks it: the project must be visible and Read granted. */
  canRead(identity: IdentityRef, repository: RepositoryRecord): boolean {
    return this.access.has(identity, 'ViewProject', repository.project) && this.access.has(identity, 'GenericRead', repository.project, repository.name);
  }

  private demand(identity: IdentityRef, permission: Permission, repository: RepositoryRecord, scope: 'repository' | 'branch'): void {
    if (!this.access.has(identity, permission, repository.project, repository.name)) throw vssErrors.needsPermission(identity.uniqueName, permission, scope);
  }

  /**
   * The refusal of one ref update for lack of permission, or undefined: creating a branch needs
   * Create branch, any other update (including a delete) Contribute.
   */
  refUpdateRefusal(repository: RepositoryRecord, identity: IdentityRef, name: string, createsRef: boolean): VssError | undefined {
    const createsBranch = createsRef && name.startsWith('refs/heads/');
    const permission = createsBranch ? 'CreateBranch' : 'GenericContribute';
    if (this.access.has(identity, permission, repository.project, repository.name)) return undefined;
    return vssErrors.needsPermission(identity.uniqueName, permission, createsBranch ? 'branch' : 'repository');
  }

  // ---- repositories ------------------------------------------------------------------------

  /** By name or id, without any permission check (the emulator's own lookups). */
  findRepository(project: Project | undefined, nameOrId: string): RepositoryRecord | undefined {
    const wanted = nameOrId.toLowerCase();
    for (const repository of this.repositories.values()) {
      if (project && repository.project.id !== project.id) continue;
      if (repository.id === wanted || repository.name.toLowerCase() === wanted) return repository;
    }
    return undefined;
  }

  /** What a caller may see: missing and unreadable look the same (404 TF401019). */
  repository(project: Project | undefined, nameOrId: string, identity: IdentityRef): RepositoryRecord {
    const repository = this.findRepository(project, nameOrId);
    if (!repository || !this.canRead(identity, repository)) throw vssErrors.repositoryNotFound(nameOrId);
    return repository;
  }

  async createRepository(project: Project, body: Json, identity: IdentityRef): Promise<Json> {
    const name = String(body.name ?? '').trim();
    if (!name || /[\\/:*?"<>|;#$*{},+=[\]]/.test(name) || name.startsWith('_') || name.endsWith('.')) {
      throw vssErrors.invalidArgument(`TF401025: '${name}' is not a valid name. Names can't begin or end with periods or underscores, or contain special characters.`);
    }
    if (!this.access.has(identity, 'CreateRepository', project)) throw vssErrors.needsPermission(identity.uniqueName, 'CreateRepository', 'project');
    if (this.findRepository(project, name)) throw vssErrors.repositoryExists(name);
    const id = randomUUID();
    const git = await BareRepository.create(join(this.reposRoot, `${id}.git`));
    const repository: RepositoryRecord = { id, name, project, git, pushes: [] };
    this.repositories.set(id, repository);
    return this.repositoryJson(repository);
  }

  listRepositories(project: Project | undefined, identity: IdentityRef): Json[] {
    return [...this.repositories.values()]
      .filter((repository) => (!project || repository.project.id === project.id) && this.canRead(identity, repository))
      .map((repository) => this.repositoryJson(repository));
  }

  getRepository(project: Project | undefined, nameOrId: string, identity: IdentityRef): Json {
    return this.repositoryJson(this.repository(project, nameOrId, identity));
  }

  deleteRepository(project: Project | undefined, nameOrId: string, identity: IdentityRef): void {
    const repository = this.repository(project, nameOrId, identity);
    this.repositories.delete(repository.id);
  }

  /** After a push over git's own protocol: the first branch becomes the default, as in Azure Repos. */
  async noticeGitPush(repositoryId: string): Promise<void> {
    const repository = this.repositories.get(repositoryId);
    if (!repository) return;
    if (!repository.defaultBranch) {
      const refs = await repository.git.refs();
      const branch = refs.has('refs/heads/main') ? 'refs/heads/main' : [...refs.keys()].find((name) => name.startsWith('refs/heads/'));
      if (branch) {
        repository.defaultBranch = branch;
        await repository.git.setHead(branch);
      }
    }
    await this.refsMoved(repository);
  }

  private commitJson(repository: RepositoryRecord, commitId: string, info: { treeId: string; parents: string[]; author: GitIdentity; committer: GitIdentity; comment: string }): Json {
    const person = (identity: GitIdentity) => ({ name: identity.name, email: identity.email, date: (identity.date ?? new Date()).toISOString() });
    return {
      treeId: info.treeId, commitId, author: person(info.author), committer: person(info.committer), comment: info.comment,
      parents: info.parents, url: `${this.repositoryUrl(repository)}/commits/${commitId}`,
    };
  }

  private changesOf(commit: Json): FileChange[] {
    const changes = (commit.changes as Json[] | undefined) ?? [];
    return changes.map((change): FileChange => {
      const kinds = changeKinds(change.changeType);
      const path = itemPath((change.item as Json | undefined)?.path);
      const newContent = change.newContent as Json | undefined;
      const content = newContent ? Buffer.from(String(newContent.content ?? ''), isBase64(newContent.contentType) ? 'base64' : 'utf8') : undefined;
      if (!path) throw vssErrors.invalidArgument('The path of a change is required.');
      if (kinds.includes('rename')) return { kind: 'rename', from: itemPath(change.sourceServerItem), path, content };
      if (kinds.includes('delete')) return { kind: 'delete', path };
      if (kinds.includes('add')) return { kind: 'add', path, content: content ?? Buffer.alloc(0) };
      if (kinds.includes('edit')) return { kind: 'edit', path, content: content ?? Buffer.alloc(0) };
      throw vssErrors.invalidArgument(`Unsupported change type ${String(change.changeType)}.`);
    });
  }

  /**
   * POST pushes: one commit on one ref. A ref that does not exist yet is created from
   * `oldObjectId` (the base commit, or forty zeros for a first commit); an existing ref must
   * still point at `oldObjectId` (409 TF401028 otherwise).
   */
  async createPush(project: Project | undefined, nameOrId: string, body: Json, pusher: IdentityRef): Promise<Json> {
    const repository = this.repository(project, nameOrId, pusher);
    const refUpdates = (body.refUpdates as Json[] | undefined) ?? [];
    const commits = (body.commits as Json[] | undefined) ?? [];
    if (refUpdates.length !== 1 || commits.length !== 1) throw vssErrors.pushCount();
    const [refUpdate] = refUpdates;
    const [commit] = commits;
    const refName = String(refUpdate.name ?? '');
    const explicitParents = (commit.parents as string[] | undefined) ?? [];
    const given = present(refUpdate.oldObjectId) ? String(refUpdate.oldObjectId).toLowerCase() : explicitParents[0]?.toLowerCase();
    if (!refName || present(refUpdate.newObjectId) || present(commit.commitId) || !String(commit.comment ?? '').trim()
      || !((commit.changes as unknown[] | undefined)?.length) || !given || given.length !== 40) {
      throw vssErrors.invalidParameters();
    }
    if (!refName.startsWith('refs/')) throw vssErrors.invalidArgument(`TF401021: '${refName}' is not a valid name for a Git ref. Visit https://go.microsoft.com/fwlink/?LinkId=800646 for more information on Git ref naming.`);

    const current = await repository.git.resolveRef(refName);
    if (current && current !== given) throw vssErrors.staleRef(refName);
    const oldObjectId = current ?? ZERO_ID;
    // A new ref starts from the base commit given as oldObjectId (none for a first commit).
    const parent = current ?? (given === ZERO_ID ? undefined : given);
    if (parent && !(await repository.git.objectExists(parent))) throw vssErrors.unresolvableToCommit(parent);
    const refusal = this.refUpdateRefusal(repository, pusher, refName, !current);
    if (refusal) throw refusal;

    const author: GitIdentity = { name: String((commit.author as Json | undefined)?.name ?? pusher.displayName), email: String((commit.author as Json | undefined)?.email ?? pusher.uniqueName) };
    let result;
    try {
      result = await repository.git.commit(parent, this.changesOf(commit), String(commit.comment), author);
    } catch (error) {
      if (error instanceof ChangeConflict) throw error.reason === 'exists' ? vssErrors.itemExists(error.path) : vssErrors.pathMissingAtCommit(error.path, parent ?? ZERO_ID);
      throw error;
    }
    const newObjectId = result.commitId;
    if (!(await repository.git.updateRef(refName, newObjectId, oldObjectId))) throw vssErrors.staleRef(refName);
    if (!repository.defaultBranch && refName.startsWith('refs/heads/')) {
      repository.defaultBranch = refName;
      await repository.git.setHead(refName);
    }

    const pushId = this.nextPushId++;
    const push = {
      commits: [this.commitJson(repository, newObjectId, await repository.git.commitInfo(newObjectId))],
      refUpdates: [{ repositoryId: repository.id, name: refName, oldObjectId, newObjectId }],
      repository: this.repositoryJson(repository),
      pushedBy: pusher,
      pushId,
      date: new Date().toISOString(),
      url: `${this.repositoryUrl(repository)}/pushes/${pushId}`,
    };
    repository.pushes.push(push);
    await this.refsMoved(repository);
    return push;
  }

  getPush(project: Project | undefined, nameOrId: string, pushId: number, identity: IdentityRef): Json | undefined {
    return this.repository(project, nameOrId, identity).pushes.find((push) => push.pushId === pushId);
  }

  async getRefs(project: Project | undefined, nameOrId: string, filter: string | undefined, filterContains: string | undefined, identity: IdentityRef): Promise<Json[]> {
    const repository = this.repository(project, nameOrId, identity);
    const prefix = filter ? `refs/${filter.replace(/^refs\//, '')}` : 'refs/';
    const refs = [...(await repository.git.refs()).entries()]
      .filter(([name]) => name.startsWith(prefix) && (!filterContains || name.toLowerCase().includes(filterContains.toLowerCase())))
      .sort(([a], [b]) => a.localeCompare(b));
    return refs.map(([name, objectId]) => ({ name, objectId, url: `${this.repositoryUrl(repository)}/refs?filter=${encodeURIComponent(name.slice(5))}` }));
  }

  /** POST refs: per-ref results; missing permissions show as createBranchPermissionRequired / writePermissionRequired. */
  async updateRefs(project: Project | undefined, nameOrId: string, updates: Json[], identity: IdentityRef): Promise<Json[]> {
    const repository = this.repository(project, nameOrId, identity);
    const results: Json[] = [];
    for (const update of updates) {
      const name = String(update.name ?? '');
      const oldObjectId = String(update.oldObjectId ?? ZERO_ID).toLowerCase();
      const newObjectId = String(update.newObjectId ?? ZERO_ID).toLowerCase();
      let updateStatus = 'succeeded';
      const exists = name.startsWith('refs/') && (await repository.git.resolveRef(name)) !== undefined;
      const refusal = name.startsWith('refs/') ? this.refUpdateRefusal(repository, identity, name, !exists && newObjectId !== ZERO_ID) : undefined;
      if (!name.startsWith('refs/')) updateStatus = 'invalidRefName';
      else if (refusal) updateStatus = /'CreateBranch'/.test(refusal.message) ? 'createBranchPermissionRequired' : 'writePermissionRequired';
      else if (newObjectId !== ZERO_ID && !(await repository.git.objectExists(newObjectId))) updateStatus = 'unresolvableToCommit';
      else if (!(await repository.git.updateRef(name, newObjectId, oldObjectId))) updateStatus = 'staleOldObjectId';
      if (updateStatus === 'succeeded' && !repository.defaultBranch && name.startsWith('refs/heads/') && newObjectId !== ZERO_ID) {
        repository.defaultBranch = name;
        await repository.git.setHead(name);
      }
      results.push({
        repositoryId: repository.id, name, oldObjectId, newObjectId, isLocked: false,
        updateStatus, success: updateStatus === 'succeeded', rejectedBy: null, customMessage: null,
      });
    }
    await this.refsMoved(repository);
    return results;
  }

  /** Resolves `versionDescriptor.*` (branch, commit, tag) to a commit id. */
  private async resolveVersion(repository: RepositoryRecord, version: string | undefined, versionType: string | undefined): Promise<{ commitId?: string; label: string }> {
    const type = (versionType ?? 'branch').toLowerCase();
    if (type === 'commit' || type === '2') return { commitId: version, label: `<Commit: ${version}>` };
    if (type === 'tag' || type === '1') return { commitId: await repository.git.resolveRef(`refs/tags/${version}`), label: `<Tag: ${version}>` };
    const branch = version ? `refs/heads/${version.replace(/^refs\/heads\//, '')}` : repository.defaultBranch;
    return { commitId: branch ? await repository.git.resolveRef(branch) : undefined, label: `<Branch: ${branch?.replace(/^refs\/heads\//, '') ?? ''} >` };
  }

  async getItem(project: Project | undefined, nameOrId: string, query: URLSearchParams, identity: IdentityRef): Promise<{ json: Json | Json[]; content?: Buffer }> {
    const repository = this.repository(project, nameOrId, identity);
    const path = itemPath(query.get('path') ?? query.get('scopePath') ?? '/');
    const { commitId, label } = await this.resolveVersion(repository, query.get('versionDescriptor.version') ?? query.get('versionDescriptor[version]') ?? undefined, query.get('versionDescriptor.versionType') ?? undefined);
    if (!commitId) throw vssErrors.itemNotFound(path, repository.name, label);
    const recursion = (query.get('recursionLevel') ?? 'none').toLowerCase();
    const file = path ? await repository.git.readFile(commitId, path) : undefined;
    const itemUrl = (itemPathValue: string) => `${this.repositoryUrl(repository)}/items?path=${encodeURIComponent(`/${itemPathValue}`)}&versionType=Branch&version=${encodeURIComponent(label)}`;
    if (file) {
      const json: Json = { objectId: file.objectId, gitObjectType: 'blob', commitId, path: `/${path}`, url: itemUrl(path) };
      if (query.get('includeContent') === 'true') json.content = file.content.toString('utf8');
      return { json, content: file.content };
    }
    const entries = await repository.git.listTree(commitId, path, recursion === 'full' || recursion === '120');
    if (!entries) throw vssErrors.itemNotFound(path, repository.name, label);
    const folder: Json = { objectId: '', gitObjectType: 'tree', commitId, path: `/${path}`, isFolder: true, url: itemUrl(path) };
    if (recursion === 'none' || recursion === '0') return { json: folder };
    return {
      json: [folder, ...entries.map((entry) => ({
        objectId: entry.objectId, gitObjectType: entry.type, commitId, path: `/${entry.path}`, ...(entry.type === 'tree' ? { isFolder: true } : {}), url: itemUrl(entry.path),
      }))],
    };
  }

  // ---- branch policies ---------------------------------------------------------------------

  private policyKey(project: Project, repository: string | undefined, branch: string): string {
    return `${project.id}|${repository?.toLowerCase() ?? '*'}|${branchRef(branch)}`;
  }

  /** Sets (replaces) the policies of a branch; repository omitted = every repository of the project. */
  setBranchPolicy(project: Project, repository: string | undefined, branch: string, policy: BranchPolicy): void {
    const allowed = policy.allowedMergeTypes?.map((type) => parseMergeStrategy(type)!);
    if (allowed && allowed.length === 0) throw new Error('allowedMergeTypes needs at least one merge type (Azure DevOps requires one when "Limit merge types" is on).');
    this.policies.set(this.policyKey(project, repository, branch), { requiredReviewers: policy.requiredReviewers, allowedMergeTypes: allowed });
  }

  clearBranchPolicy(project: Project, repository: string | undefined, branch: string): void {
    this.policies.delete(this.policyKey(project, repository, branch));
  }

  /** Every policy that applies adds up: the most reviewers, the merge types all of them allow. */
  private policyFor(repository: RepositoryRecord, targetRefName: string): { requiredReviewers: number; allowedMergeTypes?: MergeStrategy[] } {
    const applicable = [this.policyKey(repository.project, repository.name, targetRefName), this.policyKey(repository.project, undefined, targetRefName)]
      .map((key) => this.policies.get(key))
      .filter((policy): policy is BranchPolicy => policy !== undefined);
    let allowedMergeTypes: MergeStrategy[] | undefined;
    for (const policy of applicable) {
      if (!policy.allowedMergeTypes) continue;
      allowedMergeTypes = allowedMergeTypes ? allowedMergeTypes.filter((type) => policy.allowedMergeTypes!.includes(type)) : [...policy.allowedMergeTypes];
    }
    return { requiredReviewers: Math.max(0, ...applicable.map((policy) => policy.requiredReviewers ?? 0)), allowedMergeTypes };
  }

  /** Approvals that count for "Minimum number of reviewers": votes of 5 or 10 by anyone but the creator. */
  private approvals(pullRequest: PullRequestRecord): number {
    return pullRequest.reviewers.filter((reviewer) => Number(reviewer.vote) >= 5 && reviewer.id !== pullRequest.createdBy.id).length;
  }

  // ---- pull requests -----------------------------------------------------------------------

  private pullRequestJson(pullRequest: PullRequestRecord): Json {
    const repository = this.repositories.get(pullRequest.repositoryId)!;
    const url = `${this.repositoryUrl(repository)}/pullRequests/${pullRequest.id}`;
    const commitRef = (commitId: string | undefined) => commitId ? { commitId, url: `${this.repositoryUrl(repository)}/commits/${commitId}` } : undefined;
    const completionOptions = pullRequest.completionOptions && {
      ...pullRequest.completionOptions,
      ...(present(pullRequest.completionOptions.mergeStrategy) ? { mergeStrategy: parseMergeStrategy(pullRequest.completionOptions.mergeStrategy) } : {}),
    };
    return {
      repository: { id: repository.id, name: repository.name, url: this.repositoryUrl(repository), project: this.projectJson(repository.project), remoteUrl: this.remoteUrl(repository) },
      pullRequestId: pullRequest.id,
      codeReviewId: pullRequest.id,
      status: pullRequest.status,
      createdBy: pullRequest.createdBy,
      creationDate: pullRequest.creationDate.toISOString(),
      ...(pullRequest.closedDate ? { closedDate: pullRequest.closedDate.toISOString(), closedBy: pullRequest.closedBy } : {}),
      title: pullRequest.title,
      description: pullRequest.description,
      sourceRefName: pullRequest.sourceRefName,
      targetRefName: pullRequest.targetRefName,
      mergeStatus: pullRequest.mergeStatus,
      ...(pullRequest.mergeFailureMessage ? { mergeFailureMessage: pullRequest.mergeFailureMessage } : {}),
      isDraft: pullRequest.isDraft,
      mergeId: pullRequest.mergeId,
      lastMergeSourceCommit: commitRef(pullRequest.lastMergeSourceCommit),
      lastMergeTargetCommit: commitRef(pullRequest.lastMergeTargetCommit),
      lastMergeCommit: commitRef(pullRequest.lastMergeCommit),
      reviewers: pullRequest.reviewers,
      ...(completionOptions ? { completionOptions } : {}),
      ...(pullRequest.mergeOptions ? { mergeOptions: pullRequest.mergeOptions } : {}),
      ...(pullRequest.autoCompleteSetBy ? { autoCompleteSetBy: pullRequest.autoCompleteSetBy } : {}),
      url,
      supportsIterations: true,
      artifactId: `vstfs:///Git/PullRequestId/${repository.project.id}%2f${repository.id}%2f${pullRequest.id}`,
    };
  }

  /** Azure Repos computes a merge as soon as a PR is created or its branches move. */
  private async evaluateMerge(pullRequest: PullRequestRecord): Promise<string | undefined> {
    const repository = this.repositories.get(pullRequest.repositoryId)!;
    const source = await repository.git.resolveRef(pullRequest.sourceRefName);
    const target = await repository.git.resolveRef(pullRequest.targetRefName);
    if (!source || !target) {
      pullRequest.mergeStatus = 'failure';
      return undefined;
    }
    pullRequest.lastMergeSourceCommit = source;
    pullRequest.lastMergeTargetCommit = target;
    pullRequest.mergeFailureMessage = undefined;
    const tree = await repository.git.mergeTree(target, source);
    pullRequest.mergeStatus = tree ? 'succeeded' : 'conflicts';
    return tree;
  }

  async createPullRequest(project: Project | undefined, nameOrId: string, body: Json, creator: IdentityRef): Promise<Json> {
    const sourceRefName = String(body.sourceRefName ?? '');
    const targetRefName = String(body.targetRefName ?? '');
    if (!sourceRefName || !targetRefName) throw vssErrors.missingPullRequestRef();
    if (!String(body.title ?? '').trim()) throw vssErrors.invalidPullRequestTitle();
    const repository = this.repository(project, nameOrId, creator);
    if (String(body.description ?? '').length > 4000) throw vssErrors.descriptionTooLong();
    if (sourceRefName === targetRefName) throw vssErrors.sameSourceAndTarget();
    this.demand(creator, 'PullRequestContribute', repository, 'repository');
    const refs = await repository.git.refs();
    if (!refs.has(sourceRefName) || !refs.has(targetRefName) || !sourceRefName.startsWith('refs/heads/') || !targetRefName.startsWith('refs/heads/')) {
      throw vssErrors.branchesMissing();
    }
    const existing = [...this.pullRequests.values()].find((candidate) =>
      candidate.repositoryId === repository.id && candidate.status === 'active' && candidate.sourceRefName === sourceRefName && candidate.targetRefName === targetRefName);
    if (existing) throw vssErrors.pullRequestExists(existing.id);

    const pullRequest: PullRequestRecord = {
      id: this.nextPullRequestId++,
      repositoryId: repository.id,
      title: String(body.title),
      description: String(body.description ?? ''),
      sourceRefName,
      targetRefName,
      status: 'active',
      isDraft: truthy(body.isDraft),
      createdBy: creator,
      creationDate: new Date(),
      mergeStatus: 'queued',
      mergeId: randomUUID(),
      reviewers: ((body.reviewers as Json[] | undefined) ?? []).map((reviewer) => ({ ...reviewer, vote: 0, reviewerUrl: '' })),
      completionOptions: body.completionOptions as Json | undefined,
      mergeOptions: body.mergeOptions as Json | undefined,
    };
    this.pullRequests.set(pullRequest.id, pullRequest);
    const created = this.pullRequestJson(pullRequest);
    await this.evaluateMerge(pullRequest);
    return created;
  }

  private pullRequest(repository: RepositoryRecord | undefined, id: number): PullRequestRecord {
    const pullRequest = this.pullRequests.get(id);
    if (!pullRequest || (repository && pullRequest.repositoryId !== repository.id)) throw vssErrors.pullRequestNotFound(id);
    return pullRequest;
  }

  async getPullRequest(project: Project | undefined, nameOrId: string | undefined, id: number, identity: IdentityRef): Promise<Json> {
    const pullRequest = this.pullRequest(nameOrId ? this.repository(project, nameOrId, identity) : undefined, id);
    const repository = this.repositories.get(pullRequest.repositoryId)!;
    if ((project && repository.project.id !== project.id) || !this.canRead(identity, repository)) throw vssErrors.pullRequestNotFound(id);
    if (pullRequest.status === 'active') await this.evaluateMerge(pullRequest);
    return this.pullRequestJson(pullRequest);
  }

  listPullRequests(project: Project | undefined, nameOrId: string, query: URLSearchParams, identity: IdentityRef): Json[] {
    const repository = this.repository(project, nameOrId, identity);
    const status = pullRequestStatus(query.get('searchCriteria.status') ?? 'active') ?? 'active';
    const source = query.get('searchCriteria.sourceRefName');
    const target = query.get('searchCriteria.targetRefName');
    const creator = query.get('searchCriteria.creatorId');
    return [...this.pullRequests.values()]
      .filter((pullRequest) => pullRequest.repositoryId === repository.id)
      .filter((pullRequest) => status === 'all' || (status === 'notSet' ? pullRequest.status === 'active' : pullRequest.status === status))
      .filter((pullRequest) => (!source || pullRequest.sourceRefName === source) && (!target || pullRequest.targetRefName === target) && (!creator || pullRequest.createdBy.id === creator))
      .sort((a, b) => b.id - a.id)
      .map((pullRequest) => this.pullRequestJson(pullRequest));
  }

  /**
   * PATCH pullRequests/{id}, in the order of GitPullRequestsController.UpdatePullRequestInternal:
   * title, repository, the fields that cannot be sent, retarget, merge status, completion
   * (status=completed with lastMergeSourceCommit), else the plain update with auto-complete.
   */
  async updatePullRequest(project: Project | undefined, nameOrId: string, id: number, body: Json, caller: IdentityRef): Promise<Json> {
    if (typeof body.title === 'string' && !body.title.trim()) throw vssErrors.invalidPullRequestTitle();
    const repository = this.repository(project, nameOrId, caller);
    const bodyRepositoryId = String((body.repository as Json | undefined)?.id ?? EMPTY_GUID).toLowerCase();
    if (bodyRepositoryId !== EMPTY_GUID && bodyRepositoryId !== repository.id) throw vssErrors.repositoryMismatch();
    const requested = present(body.status) ? pullRequestStatus(body.status) : undefined;
    const isDefaultDate = (value: unknown) => !present(value) || /^0001-01-01/.test(String(value));
    if (!isDefaultDate(body.creationDate) || !isDefaultDate(body.closedDate) || present(body.createdBy) || present(body.lastMergeCommit)
      || (present(body.lastMergeSourceCommit) && requested !== 'completed') || present(body.lastMergeTargetCommit)
      || (present(body.mergeId) && String(body.mergeId) !== EMPTY_GUID) || (present(body.pullRequestId) && Number(body.pullRequestId) !== 0)
      || present(body.repository) || present(body.sourceRefName) || present(body.reviewers)) {
      throw vssErrors.invalidPullRequestUpdate();
    }
    const pullRequest = this.pullRequest(repository, id);

    if (present(body.targetRefName)) return this.retarget(repository, pullRequest, String(body.targetRefName), caller);

    if (present(body.mergeStatus) && body.mergeStatus !== 0 && String(body.mergeStatus).toLowerCase() !== 'notset') {
      if (body.mergeStatus !== 1 && String(body.mergeStatus).toLowerCase() !== 'queued') throw vssErrors.mergeStatusUpdate();
      if (pullRequest.status === 'active') await this.evaluateMerge(pullRequest);
      return this.pullRequestJson(pullRequest);
    }

    if (requested === 'completed') {
      const commitId = String((body.lastMergeSourceCommit as Json | undefined)?.commitId ?? '');
      if (commitId.length !== 40) throw vssErrors.lastMergeSourceCommitRequired();
      await this.tryCommit(repository, pullRequest, commitId.toLowerCase(), body.completionOptions as Json | undefined, caller);
      return this.pullRequestJson(pullRequest);
    }

    if (typeof body.description === 'string' && body.description.length > 4000) throw vssErrors.descriptionTooLong();
    let autoCompleteAuthority: string | undefined;
    const autoCompleteId = (body.autoCompleteSetBy as Json | undefined)?.id;
    if (present(autoCompleteId)) {
      const value = String(autoCompleteId).toLowerCase();
      if (!GUID.test(value) || (value !== caller.id.toLowerCase() && value !== EMPTY_GUID)) throw vssErrors.invalidAutoCompleteSetBy();
      if (truthy((body.completionOptions as Json | undefined)?.bypassPolicy)) throw vssErrors.bypassWithAutoComplete();
      autoCompleteAuthority = value;
    }
    this.demand(caller, 'PullRequestContribute', repository, 'repository');
    if (pullRequest.status === 'completed') throw vssErrors.notEditable();
    if (present(body.completionOptions)) parseMergeStrategy((body.completionOptions as Json).mergeStrategy);

    if (typeof body.title === 'string') pullRequest.title = body.title;
    if (typeof body.description === 'string') pullRequest.description = body.description;
    if (present(body.isDraft)) pullRequest.isDraft = truthy(body.isDraft);
    if (present(body.completionOptions)) pullRequest.completionOptions = body.completionOptions as Json;
    if (present(body.mergeOptions)) pullRequest.mergeOptions = body.mergeOptions as Json;
    if (autoCompleteAuthority !== undefined) pullRequest.autoCompleteSetBy = autoCompleteAuthority === EMPTY_GUID ? undefined : caller;
    if (requested === 'abandoned' && pullRequest.status === 'active') {
      pullRequest.status = 'abandoned';
      pullRequest.closedDate = new Date();
      pullRequest.closedBy = caller;
    } else if (requested === 'active' && pullRequest.status === 'abandoned') {
      pullRequest.status = 'active';
      pullRequest.closedDate = undefined;
      pullRequest.closedBy = undefined;
    }
    await this.tryAutoComplete(repository, pullRequest);
    return this.pullRequestJson(pullRequest);
  }

  private async retarget(repository: RepositoryRecord, pullRequest: PullRequestRecord, targetRefName: string, caller: IdentityRef): Promise<Json> {
    this.demand(caller, 'PullRequestContribute', repository, 'repository');
    if (pullRequest.status !== 'active') throw vssErrors.notEditable();
    if (!targetRefName.startsWith('refs/heads/') || !(await repository.git.resolveRef(targetRefName))) throw vssErrors.branchesMissing();
    if (targetRefName === pullRequest.sourceRefName) throw vssErrors.sameSourceAndTarget();
    pullRequest.targetRefName = targetRefName;
    await this.evaluateMerge(pullRequest);
    return this.pullRequestJson(pullRequest);
  }

  /**
   * A completion asked for with PATCH status=completed (TeamFoundationGitPullRequestService
   * .TryCommit and TryEnterCompletionQueue): Contribute to pull requests and Contribute, the
   * source branch still at lastMergeSourceCommit, then the branch policies — a failing one
   * refuses with 403 unless the caller may bypass policies (REST completions bypass
   * automatically then).
   */
  private async tryCommit(repository: RepositoryRecord, pullRequest: PullRequestRecord, lastSourceCommitSeen: string, completionOptions: Json | undefined, caller: IdentityRef): Promise<void> {
    this.demand(caller, 'PullRequestContribute', repository, 'repository');
    this.demand(caller, 'GenericContribute', repository, 'repository');
    if (pullRequest.status === 'abandoned') throw vssErrors.notEditable();
    if (pullRequest.status === 'completed') return;
    const source = await repository.git.resolveRef(pullRequest.sourceRefName);
    if (!source || !(await repository.git.resolveRef(pullRequest.targetRefName))) throw vssErrors.branchesMissing();
    if (source !== lastSourceCommitSeen) throw vssErrors.pullRequestStale();

    const options: Json = completionOptions ?? { ...pullRequest.completionOptions, bypassPolicy: false };
    const policy = this.policyFor(repository, pullRequest.targetRefName);
    const strategy = strategyFor(options, policy.allowedMergeTypes);
    const rejection = policy.allowedMergeTypes && !policy.allowedMergeTypes.includes(strategy) ? policyReasons.mergeStrategyNotAllowed
      : this.approvals(pullRequest) < policy.requiredReviewers ? policyReasons.rejectedByPolicy : undefined;
    if (rejection && !this.access.has(caller, 'PullRequestBypassPolicy', repository.project, repository.name)) throw vssErrors.rejectedByPolicy(rejection);

    pullRequest.completionOptions = options;
    await this.merge(repository, pullRequest, strategy, caller);
  }

  /**
   * What the auto-complete job does for a PR with autoCompleteSetBy: nothing while the merge does
   * not succeed (conflicts), the PR is a draft or a blocking policy is not met; when the merge-type
   * policy forbids the strategy, auto-complete is cancelled ("Current merge strategy is not allowed
   * by policy."); otherwise the PR is completed on behalf of the identity that set auto-complete,
   * and auto-complete is cleared whatever that attempt gives.
   */
  private async tryAutoComplete(repository: RepositoryRecord, pullRequest: PullRequestRecord): Promise<void> {
    if (pullRequest.status !== 'active' || !pullRequest.autoCompleteSetBy || pullRequest.isDraft || this.autoCompleting.has(pullRequest.id)) return;
    this.autoCompleting.add(pullRequest.id);
    try {
      await this.evaluateMerge(pullRequest);
      if (pullRequest.mergeStatus !== 'succeeded') return;
      const policy = this.policyFor(repository, pullRequest.targetRefName);
      const strategy = strategyFor(pullRequest.completionOptions, policy.allowedMergeTypes);
      if (policy.allowedMergeTypes && !policy.allowedMergeTypes.includes(strategy)) {
        pullRequest.autoCompleteSetBy = undefined;
        this.autoCompleteNotifications.push({ pullRequestId: pullRequest.id, reason: policyReasons.mergeStrategyNotAllowed, cancelled: true });
        return;
      }
      if (this.approvals(pullRequest) < policy.requiredReviewers) return;
      const authority = pullRequest.autoCompleteSetBy;
      try {
        this.demand(authority, 'PullRequestContribute', repository, 'repository');
        this.demand(authority, 'GenericContribute', repository, 'repository');
        pullRequest.completionOptions = { ...pullRequest.completionOptions, triggeredByAutoComplete: true };
        await this.merge(repository, pullRequest, strategy, authority);
      } catch (error) {
        if (!(error instanceof VssError)) throw error;
        this.autoCompleteNotifications.push({ pullRequestId: pullRequest.id, reason: error.message, cancelled: true });
      } finally {
        pullRequest.autoCompleteSetBy = undefined;
      }
    } finally {
      this.autoCompleting.delete(pullRequest.id);
    }
  }

  /** Branches of a repository moved: pending auto-completes get another chance, as the job would. */
  private async refsMoved(repository: RepositoryRecord): Promise<void> {
    for (const pullRequest of [...this.pullRequests.values()]) {
      if (pullRequest.repositoryId === repository.id && pullRequest.autoCompleteSetBy) await this.tryAutoComplete(repository, pullRequest);
    }
  }

  /** Records an approval (vote 10) by a reviewer other than the creator, then lets auto-complete run. */
  async approvePullRequest(id: number, reviewer?: IdentityRef): Promise<Json> {
    const pullRequest = this.pullRequest(undefined, id);
    const repository = this.repositories.get(pullRequest.repositoryId)!;
    if (pullRequest.status !== 'active') throw vssErrors.notEditable();
    const number = this.nextReviewer++;
    const voter = reviewer ?? { id: randomUUID(), displayName: `Reviewer ${number}`, uniqueName: `reviewer${number}@example.com` };
    pullRequest.reviewers = [...pullRequest.reviewers.filter((existing) => existing.id !== voter.id), { ...voter, vote: 10, isRequired: false, reviewerUrl: `${this.repositoryUrl(repository)}/pullRequests/${id}/reviewers/${voter.id}` }];
    await this.tryAutoComplete(repository, pullRequest);
    return this.pullRequestJson(pullRequest);
  }

  /**
   * The rebase strategies as TeamFoundationGitPullRequestService.RebasePullRequestAndUpdateConflicts
   * does them. "rebase" when the target is an ancestor of the source is a fast-forward: the target
   * moves to the source commit itself, ids kept. Otherwise each commit the target lacks is replayed
   * on it (new ids; at most 100 on the hosted service, else mergeStatus failure with Azure's
   * message), and a conflict leaves the PR active with mergeStatus conflicts. "rebaseMerge" then
   * adds a two-parent merge of the target and the rebased source, fast-forwardable or not.
   */
  private async rebase(repository: RepositoryRecord, pullRequest: PullRequestRecord, strategy: 'rebase' | 'rebaseMerge', message: string, by: GitIdentity): Promise<string | undefined> {
    const source = pullRequest.lastMergeSourceCommit!;
    const target = pullRequest.lastMergeTargetCommit!;
    const fastForwardable = await repository.git.isAncestor(target, source);
    if (strategy === 'rebase' && fastForwardable) return source;
    let rebased = source;
    if (!fastForwardable) {
      const commits = await repository.git.commitsBetween(target, source);
      if (commits.length > MAX_REBASE_COMMITS) {
        pullRequest.mergeStatus = 'failure';
        pullRequest.mergeFailureMessage = `Pull requests with more than ${MAX_REBASE_COMMITS} commits cannot be rebased.`;
        return undefined;
      }
      const replayed = await repository.git.replay(commits, target, by);
      if (!replayed) {
        pullRequest.mergeStatus = 'conflicts';
        return undefined;
      }
      rebased = replayed;
    }
    if (strategy === 'rebase') return rebased;
    return repository.git.commitTree(await repository.git.treeOf(rebased), [target, rebased], message, by);
  }

  /**
   * Merges with the strategy and completes. With conflicts (or a target that moved meanwhile) the
   * PR stays active with mergeStatus conflicts, as when the completion job fails.
   */
  private async merge(repository: RepositoryRecord, pullRequest: PullRequestRecord, strategy: MergeStrategy, by: IdentityRef): Promise<void> {
    const tree = await this.evaluateMerge(pullRequest);
    if (!pullRequest.lastMergeSourceCommit || !pullRequest.lastMergeTargetCommit) throw vssErrors.branchesMissing();

    const source = pullRequest.lastMergeSourceCommit;
    const target = pullRequest.lastMergeTargetCommit;
    const options = pullRequest.completionOptions;
    const message = String(options?.mergeCommitMessage ?? `Merged PR ${pullRequest.id}: ${pullRequest.title}`);
    const author: GitIdentity = { name: by.displayName, email: by.uniqueName };
    let mergeCommit: string | undefined;
    if (strategy === 'rebase' || strategy === 'rebaseMerge') mergeCommit = await this.rebase(repository, pullRequest, strategy, message, author);
    else if (!tree) return;
    else if (strategy === 'squash') mergeCommit = await repository.git.commitTree(tree, [target], message, author);
    else mergeCommit = await repository.git.commitTree(tree, [target, source], message, author);
    if (!mergeCommit) return;

    if (!(await repository.git.updateRef(pullRequest.targetRefName, mergeCommit, target))) throw vssErrors.pullRequestStale();
    if (truthy(options?.deleteSourceBranch)) await repository.git.updateRef(pullRequest.sourceRefName, ZERO_ID, source);
    pullRequest.lastMergeCommit = mergeCommit;
    pullRequest.status = 'completed';
    pullRequest.closedDate = new Date();
    pullRequest.closedBy = by;
  }
}
