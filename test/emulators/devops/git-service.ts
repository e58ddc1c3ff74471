// Azure Repos' Git REST surface (repositories, pushes, refs, items, pull requests) on top of real
// bare repositories. Enums arrive as numbers from azure-devops-node-api and as strings from
// REST callers; both are accepted, responses use the service's string forms.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BareRepository, ChangeConflict, ZERO_ID, type FileChange, type GitIdentity } from './bare-repository.js';
import { vssErrors } from './vss-errors.js';

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

interface RepositoryRecord {
  id: string;
  name: string;
  project: Project;
  git: BareRepository;
  defaultBranch?: string;
  pushes: Array<Record<string, unknown>>;
}

type PullRequestStatus = 'active' | 'abandoned' | 'completed';
type MergeStrategy = 'noFastForward' | 'squash' | 'rebase' | 'rebaseMerge';

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
  mergeId: string;
  lastMergeSourceCommit?: string;
  lastMergeTargetCommit?: string;
  lastMergeCommit?: string;
  reviewers: unknown[];
  completionOptions?: Record<string, unknown>;
  autoCompleteSetBy?: IdentityRef;
}

type Json = Record<string, unknown>;

const changeTypeFlags: Record<number, string> = { 1: 'add', 2: 'edit', 8: 'rename', 16: 'delete' };

function changeKinds(value: unknown): string[] {
  if (typeof value === 'number') return Object.entries(changeTypeFlags).filter(([flag]) => value & Number(flag)).map(([, name]) => name);
  return String(value ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean);
}

function isBase64(contentType: unknown): boolean {
  return contentType === 1 || String(contentType ?? '').toLowerCase() === 'base64encoded';
}

function pullRequestStatus(value: unknown): PullRequestStatus | 'all' | undefined {
  const byNumber: Record<number, PullRequestStatus | 'all'> = { 1: 'active', 2: 'abandoned', 3: 'completed', 4: 'all' };
  if (typeof value === 'number' || /^\d+$/.test(String(value))) return byNumber[Number(value)];
  const text = String(value ?? '').toLowerCase();
  return (['active', 'abandoned', 'completed', 'all'] as const).find((status) => status === text);
}

function mergeStrategy(options: Json | undefined): MergeStrategy {
  const value = options?.mergeStrategy;
  const byNumber: Record<number, MergeStrategy> = { 1: 'noFastForward', 2: 'squash', 3: 'rebase', 4: 'rebaseMerge' };
  if (typeof value === 'number') return byNumber[value] ?? 'noFastForward';
  if (typeof value === 'string') return (['noFastForward', 'squash', 'rebase', 'rebaseMerge'] as const).find((s) => s.toLowerCase() === value.toLowerCase()) ?? 'noFastForward';
  return options?.squashMerge ? 'squash' : 'noFastForward';
}

function itemPath(path: unknown): string {
  return String(path ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
}

export class GitService {
  private readonly repositories = new Map<string, RepositoryRecord>();
  private readonly pullRequests = new Map<number, PullRequestRecord>();
  private nextPushId = 1;
  private nextPullRequestId = 1;

  constructor(
    private readonly collectionUrl: string,
    private readonly serverUrl: string,
    private readonly organization: string,
    private readonly reposRoot: string,
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

  /** Where git http-backend finds the repository, relative to reposRoot. */
  findRepository(project: Project | undefined, nameOrId: string): RepositoryRecord | undefined {
    const wanted = nameOrId.toLowerCase();
    for (const repository of this.repositories.values()) {
      if (project && repository.project.id !== project.id) continue;
      if (repository.id === wanted || repository.name.toLowerCase() === wanted) return repository;
    }
    return undefined;
  }

  private repository(project: Project | undefined, nameOrId: string): RepositoryRecord {
    const repository = this.findRepository(project, nameOrId);
    if (!repository) throw vssErrors.repositoryNotFound(nameOrId);
    return repository;
  }

  async createRepository(project: Project, body: Json): Promise<Json> {
    const name = String(body.name ?? '').trim();
    if (!name || /[\\/:*?"<>|;#$*{},+=[\]]/.test(name) || name.startsWith('_') || name.endsWith('.')) {
      throw vssErrors.invalidArgument(`TF401025: '${name}' is not a valid name. Names can't begin or end with periods or underscores, or contain special characters.`);
    }
    if (this.findRepository(project, name)) throw vssErrors.repositoryExists(name);
    const id = randomUUID();
    const git = await BareRepository.create(join(this.reposRoot, `${id}.git`));
    const repository: RepositoryRecord = { id, name, project, git, pushes: [] };
    this.repositories.set(id, repository);
    return this.repositoryJson(repository);
  }

  listRepositories(project: Project | undefined): Json[] {
    return [...this.repositories.values()].filter((repository) => !project || repository.project.id === project.id).map((repository) => this.repositoryJson(repository));
  }

  getRepository(project: Project | undefined, nameOrId: string): Json {
    return this.repositoryJson(this.repository(project, nameOrId));
  }

  deleteRepository(project: Project | undefined, nameOrId: string): void {
    const repository = this.repository(project, nameOrId);
    this.repositories.delete(repository.id);
  }

  /** After a push over git's own protocol: the first branch becomes the default, as in Azure Repos. */
  async noticeGitPush(repositoryId: string): Promise<void> {
    const repository = this.repositories.get(repositoryId);
    if (!repository || repository.defaultBranch) return;
    const refs = await repository.git.refs();
    const branch = refs.has('refs/heads/main') ? 'refs/heads/main' : [...refs.keys()].find((name) => name.startsWith('refs/heads/'));
    if (branch) {
      repository.defaultBranch = branch;
      await repository.git.setHead(branch);
    }
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

  async createPush(project: Project | undefined, nameOrId: string, body: Json, pusher: IdentityRef): Promise<Json> {
    const repository = this.repository(project, nameOrId);
    const refUpdates = (body.refUpdates as Json[] | undefined) ?? [];
    const commits = (body.commits as Json[] | undefined) ?? [];
    if (refUpdates.length !== 1) throw vssErrors.invalidArgument('A push must update exactly one ref.');
    const refName = String(refUpdates[0].name ?? '');
    const oldObjectId = String(refUpdates[0].oldObjectId ?? ZERO_ID).toLowerCase();
    if (!refName.startsWith('refs/')) throw vssErrors.invalidArgument(`TF401025: '${refName}' is not a valid ref name.`);

    const current = (await repository.git.resolveRef(refName)) ?? ZERO_ID;
    if (current !== oldObjectId) throw vssErrors.staleRef(refName);

    let parent = oldObjectId === ZERO_ID ? undefined : oldObjectId;
    const created: Json[] = [];
    for (const commit of commits) {
      const explicitParents = (commit.parents as string[] | undefined) ?? [];
      if (explicitParents.length) parent = explicitParents[0];
      const author: GitIdentity = { name: String((commit.author as Json | undefined)?.name ?? pusher.displayName), email: String((commit.author as Json | undefined)?.email ?? pusher.uniqueName) };
      const comment = String(commit.comment ?? '');
      let result;
      try {
        result = await repository.git.commit(parent, this.changesOf(commit), comment, author);
      } catch (error) {
        if (error instanceof ChangeConflict) {
          throw error.reason === 'exists' ? vssErrors.itemExists(error.path) : vssErrors.itemNotFound(error.path, repository.name, parent ?? ZERO_ID);
        }
        throw error;
      }
      created.push(this.commitJson(repository, result.commitId, { ...(await repository.git.commitInfo(result.commitId)) }));
      parent = result.commitId;
    }
    const newObjectId = parent ?? ZERO_ID;
    if (!(await repository.git.updateRef(refName, newObjectId, oldObjectId))) throw vssErrors.staleRef(refName);
    if (!repository.defaultBranch && refName.startsWith('refs/heads/')) {
      repository.defaultBranch = refName;
      await repository.git.setHead(refName);
    }

    const pushId = this.nextPushId++;
    const push = {
      commits: created,
      refUpdates: [{ repositoryId: repository.id, name: refName, oldObjectId, newObjectId }],
      repository: this.repositoryJson(repository),
      pushedBy: pusher,
      pushId,
      date: new Date().toISOString(),
      url: `${this.repositoryUrl(repository)}/pushes/${pushId}`,
    };
    repository.pushes.push(push);
    return push;
  }

  getPush(project: Project | undefined, nameOrId: string, pushId: number): Json | undefined {
    return this.repository(project, nameOrId).pushes.find((push) => push.pushId === pushId);
  }

  async getRefs(project: Project | undefined, nameOrId: string, filter: string | undefined, filterContains: string | undefined): Promise<Json[]> {
    const repository = this.repository(project, nameOrId);
    const prefix = filter ? `refs/${filter.replace(/^refs\//, '')}` : 'refs/';
    const refs = [...(await repository.git.refs()).entries()]
      .filter(([name]) => name.startsWith(prefix) && (!filterContains || name.toLowerCase().includes(filterContains.toLowerCase())))
      .sort(([a], [b]) => a.localeCompare(b));
    return refs.map(([name, objectId]) => ({ name, objectId, url: `${this.repositoryUrl(repository)}/refs?filter=${encodeURIComponent(name.slice(5))}` }));
  }

  async updateRefs(project: Project | undefined, nameOrId: string, updates: Json[]): Promise<Json[]> {
    const repository = this.repository(project, nameOrId);
    const results: Json[] = [];
    for (const update of updates) {
      const name = String(update.name ?? '');
      const oldObjectId = String(update.oldObjectId ?? ZERO_ID).toLowerCase();
      const newObjectId = String(update.newObjectId ?? ZERO_ID).toLowerCase();
      let updateStatus = 'succeeded';
      if (!name.startsWith('refs/')) updateStatus = 'invalidRefName';
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

  async getItem(project: Project | undefined, nameOrId: string, query: URLSearchParams): Promise<{ json: Json | Json[]; content?: Buffer }> {
    const repository = this.repository(project, nameOrId);
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

  private pullRequestJson(pullRequest: PullRequestRecord): Json {
    const repository = this.repositories.get(pullRequest.repositoryId)!;
    const url = `${this.repositoryUrl(repository)}/pullRequests/${pullRequest.id}`;
    const commitRef = (commitId: string | undefined) => commitId ? { commitId, url: `${this.repositoryUrl(repository)}/commits/${commitId}` } : undefined;
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
      isDraft: pullRequest.isDraft,
      mergeId: pullRequest.mergeId,
      lastMergeSourceCommit: commitRef(pullRequest.lastMergeSourceCommit),
      lastMergeTargetCommit: commitRef(pullRequest.lastMergeTargetCommit),
      lastMergeCommit: commitRef(pullRequest.lastMergeCommit),
      reviewers: pullRequest.reviewers,
      ...(pullRequest.completionOptions ? { completionOptions: pullRequest.completionOptions } : {}),
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
    const tree = await repository.git.mergeTree(target, source);
    pullRequest.mergeStatus = tree ? 'succeeded' : 'conflicts';
    return tree;
  }

  async createPullRequest(project: Project | undefined, nameOrId: string, body: Json, creator: IdentityRef): Promise<Json> {
    const repository = this.repository(project, nameOrId);
    const sourceRefName = String(body.sourceRefName ?? '');
    const targetRefName = String(body.targetRefName ?? '');
    const refs = await repository.git.refs();
    if (!refs.has(sourceRefName) || !refs.has(targetRefName) || !sourceRefName.startsWith('refs/heads/') || !targetRefName.startsWith('refs/heads/')) {
      throw vssErrors.branchesMissing();
    }
    if (sourceRefName === targetRefName) throw vssErrors.invalidArgument('TF401402: The source and target branches of a pull request must differ.');
    const existing = [...this.pullRequests.values()].find((candidate) =>
      candidate.repositoryId === repository.id && candidate.status === 'active' && candidate.sourceRefName === sourceRefName && candidate.targetRefName === targetRefName);
    if (existing) throw vssErrors.pullRequestExists(existing.id);

    const pullRequest: PullRequestRecord = {
      id: this.nextPullRequestId++,
      repositoryId: repository.id,
      title: String(body.title ?? ''),
      description: String(body.description ?? ''),
      sourceRefName,
      targetRefName,
      status: 'active',
      isDraft: Boolean(body.isDraft),
      createdBy: creator,
      creationDate: new Date(),
      mergeStatus: 'queued',
      mergeId: randomUUID(),
      reviewers: ((body.reviewers as Json[] | undefined) ?? []).map((reviewer) => ({ ...reviewer, vote: 0, reviewerUrl: '' })),
      completionOptions: body.completionOptions as Json | undefined,
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

  async getPullRequest(project: Project | undefined, nameOrId: string | undefined, id: number): Promise<Json> {
    const pullRequest = this.pullRequest(nameOrId ? this.repository(project, nameOrId) : undefined, id);
    if (pullRequest.status === 'active') await this.evaluateMerge(pullRequest);
    return this.pullRequestJson(pullRequest);
  }

  listPullRequests(project: Project | undefined, nameOrId: string, query: URLSearchParams): Json[] {
    const repository = this.repository(project, nameOrId);
    const status = pullRequestStatus(query.get('searchCriteria.status') ?? 'active') ?? 'active';
    const source = query.get('searchCriteria.sourceRefName');
    const target = query.get('searchCriteria.targetRefName');
    const creator = query.get('searchCriteria.creatorId');
    return [...this.pullRequests.values()]
      .filter((pullRequest) => pullRequest.repositoryId === repository.id)
      .filter((pullRequest) => status === 'all' || pullRequest.status === status)
      .filter((pullRequest) => (!source || pullRequest.sourceRefName === source) && (!target || pullRequest.targetRefName === target) && (!creator || pullRequest.createdBy.id === creator))
      .sort((a, b) => b.id - a.id)
      .map((pullRequest) => this.pullRequestJson(pullRequest));
  }

  async updatePullRequest(project: Project | undefined, nameOrId: string, id: number, body: Json, caller: IdentityRef): Promise<Json> {
    const repository = this.repository(project, nameOrId);
    const pullRequest = this.pullRequest(repository, id);
    if (typeof body.title === 'string') pullRequest.title = body.title;
    if (typeof body.description === 'string') pullRequest.description = body.description;
    if (typeof body.isDraft === 'boolean') pullRequest.isDraft = body.isDraft;
    if (body.completionOptions) pullRequest.completionOptions = { ...pullRequest.completionOptions, ...(body.completionOptions as Json) };
    const requested = body.status === undefined ? undefined : pullRequestStatus(body.status);

    const autoComplete = body.autoCompleteSetBy as Json | undefined;
    if (autoComplete?.id && autoComplete.id !== '00000000-0000-0000-0000-000000000000') {
      // No branch policies exist here, so auto-complete completes at once, as it would.
      pullRequest.autoCompleteSetBy = { ...caller, id: String(autoComplete.id) };
      await this.complete(repository, pullRequest, undefined, caller);
    } else if (requested === 'completed') {
      const expected = String((body.lastMergeSourceCommit as Json | undefined)?.commitId ?? '');
      await this.complete(repository, pullRequest, expected, caller);
    } else if (requested === 'abandoned' || requested === 'active') {
      if (pullRequest.status === 'completed') throw vssErrors.notActive(pullRequest.id);
      pullRequest.status = requested;
      if (requested === 'abandoned') {
        pullRequest.closedDate = new Date();
        pullRequest.closedBy = caller;
      }
    }
    return this.pullRequestJson(pullRequest);
  }

  private async complete(repository: RepositoryRecord, pullRequest: PullRequestRecord, expectedSource: string | undefined, caller: IdentityRef): Promise<void> {
    if (pullRequest.status !== 'active') throw vssErrors.notActive(pullRequest.id);
    const tree = await this.evaluateMerge(pullRequest);
    if (!pullRequest.lastMergeSourceCommit || !pullRequest.lastMergeTargetCommit) throw vssErrors.branchesMissing();
    if (expectedSource !== undefined && expectedSource !== pullRequest.lastMergeSourceCommit) throw vssErrors.pullRequestStale();
    if (!tree) throw vssErrors.mergeConflicts(pullRequest.id);

    const source = pullRequest.lastMergeSourceCommit;
    const target = pullRequest.lastMergeTargetCommit;
    const options = pullRequest.completionOptions;
    const strategy = mergeStrategy(options);
    const message = String(options?.mergeCommitMessage ?? `Merged PR ${pullRequest.id}: ${pullRequest.title}`);
    const author: GitIdentity = { name: caller.displayName, email: caller.uniqueName };
    let mergeCommit: string;
    if (strategy === 'squash') mergeCommit = await repository.git.commitTree(tree, [target], message, author);
    else if ((strategy === 'rebase' || strategy === 'rebaseMerge') && (await repository.git.isAncestor(target, source))) mergeCommit = source;
    else mergeCommit = await repository.git.commitTree(tree, [target, source], message, author);

    if (!(await repository.git.updateRef(pullRequest.targetRefName, mergeCommit, target))) throw vssErrors.pullRequestStale();
    if (options?.deleteSourceBranch) await repository.git.updateRef(pullRequest.sourceRefName, ZERO_ID, source);
    pullRequest.lastMergeCommit = mergeCommit;
    pullRequest.status = 'completed';
    pullRequest.closedDate = new Date();
    pullRequest.closedBy = caller;
  }

}
