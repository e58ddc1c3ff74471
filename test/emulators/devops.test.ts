// azure-devops-node-api, unmodified, against the Azure DevOps emulator: route discovery, Git
// (repositories, pushes, refs, items, pull requests) on real repositories that git clones over
// HTTP, OIDC tokens for workload identity federation, and secure file download with a ticket.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as azdev from 'azure-devops-node-api';
import { GitVersionType, PullRequestAsyncStatus, PullRequestStatus, VersionControlChangeType, ItemContentType, GitPullRequestMergeStrategy, GitRefUpdateStatus } from 'azure-devops-node-api/interfaces/GitInterfaces.js';
import type { IGitApi } from 'azure-devops-node-api/GitApi.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEmulatorCa } from './ca.js';
import { gitSecurityToken, startDevOpsEmulator, type DevOpsEmulator } from './devops/devops-emulator.js';
import { decodeJwtPayload } from './test-support.js';
import { trustEmulatorCa } from './trust-emulator-ca.js';

trustEmulatorCa();

const ZERO = '0000000000000000000000000000000000000000';
// Async on purpose: the emulator serves git from this very process.
const run = promisify(execFile);

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('Azure DevOps emulator', () => {
  let devops: DevOpsEmulator;
  let git: IGitApi;
  let workdir: string;

  beforeAll(async () => {
    devops = await startDevOpsEmulator({ organization: 'contoso' });
    devops.addProject({ name: 'Platform' });
    const web = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler(devops.systemAccessToken));
    git = await web.getGitApi();
    workdir = mkdtempSync(join(tmpdir(), 'azdo-emulator-test-'));
  });
  afterAll(async () => {
    await devops?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('performs the route discovery node-api does and resolves a missing repository to null', async () => {
    expect(await git.getRepository('missing', 'Platform')).toBeNull();
    const paths = devops.requests.map((request) => `${request.method} ${request.path}`);
    expect(paths).toEqual(expect.arrayContaining(['OPTIONS /contoso/_apis/Location', 'GET /contoso/_apis/ResourceAreas', 'OPTIONS /contoso/_apis/git']));
    const last = devops.requests.at(-1)!;
    expect(last.headers.accept).toBe('application/json;api-version=7.2-preview.2');
    expect(last.status).toBe(404);
  });

  it('creates, gets and lists repositories; names are unique per project', async () => {
    const created = await git.createRepository({ name: 'platform-components' }, 'Platform');
    expect(created).toMatchObject({ name: 'platform-components', project: { name: 'Platform' }, remoteUrl: `${devops.url}/contoso/Platform/_git/platform-components` });
    expect((await git.getRepository('platform-components', 'Platform')).id).toBe(created.id);
    expect((await git.getRepository(created.id!, 'Platform')).name).toBe('platform-components');
    expect((await git.getRepositories('Platform')).map((repository) => repository.name)).toContain('platform-components');
    await expect(git.createRepository({ name: 'platform-components' }, 'Platform')).rejects.toThrow(/TF400948/);
  });

  it('pushes commits (add, edit, delete; raw and base64), lists and updates refs, and serves the tree to git over HTTP', async () => {
    const repository = await git.createRepository({ name: 'team-a' }, 'Platform');
    const first = await git.createPush({
      refUpdates: [{ name: 'refs/heads/main', oldObjectId: ZERO }],
      commits: [{
        comment: 'Bootstrap',
        changes: [
          { changeType: VersionControlChangeType.Add, item: { path: '/clusters/prod/flux.yaml' }, newContent: { content: 'kind: Kustomization\n', contentType: ItemContentType.RawText } },
          { changeType: VersionControlChangeType.Add, item: { path: '/README.md' }, newContent: { content: Buffer.from('# Team A\n').toString('base64'), contentType: ItemContentType.Base64Encoded } },
          { changeType: VersionControlChangeType.Add, item: { path: '/obsolete.txt' }, newContent: { content: 'x', contentType: ItemContentType.RawText } },
        ],
      }],
    }, repository.id!, 'Platform');
    const firstCommit = first.commits![0].commitId!;
    expect(first.refUpdates![0]).toMatchObject({ name: 'refs/heads/main', oldObjectId: ZERO, newObjectId: firstCommit });
    expect((await git.getRepository(repository.id!, 'Platform')).defaultBranch).toBe('refs/heads/main');

    const second = await git.createPush({
      refUpdates: [{ name: 'refs/heads/main', oldObjectId: firstCommit }],
      commits: [{
        comment: 'Edit and delete',
        changes: [
          { changeType: VersionControlChangeType.Edit, item: { path: '/clusters/prod/flux.yaml' }, newContent: { content: 'kind: Kustomization\nspec: {}\n', contentType: ItemContentType.RawText } },
          { changeType: VersionControlChangeType.Delete, item: { path: '/obsolete.txt' } },
        ],
      }],
    }, repository.id!, 'Platform');
    expect(second.commits![0].parents).toEqual([firstCommit]);
    const staleChange = { changeType: VersionControlChangeType.Add, item: { path: '/stale.txt' }, newContent: { content: 'x', contentType: ItemContentType.RawText } };
    await expect(git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: firstCommit }], commits: [{ comment: 'stale', changes: [staleChange] }] }, repository.id!, 'Platform'))
      .rejects.toThrow(/TF401028/);

    const refs = await git.getRefs(repository.id!, 'Platform', 'heads/');
    expect(refs.map((ref) => [ref.name, ref.objectId])).toEqual([['refs/heads/main', second.commits![0].commitId]]);
    const [branch] = await git.updateRefs([{ name: 'refs/heads/feature', oldObjectId: ZERO, newObjectId: firstCommit }], repository.id!, 'Platform');
    expect(branch).toMatchObject({ success: true, updateStatus: GitRefUpdateStatus.Succeeded });
    const [stale] = await git.updateRefs([{ name: 'refs/heads/feature', oldObjectId: ZERO, newObjectId: firstCommit }], repository.id!, 'Platform');
    expect(stale).toMatchObject({ success: false, updateStatus: GitRefUpdateStatus.StaleOldObjectId });

    const item = await git.getItem(repository.id!, '/clusters/prod/flux.yaml', 'Platform', undefined, undefined, undefined, undefined, undefined, { version: 'main', versionType: GitVersionType.Branch }, true);
    expect(item.content).toBe('kind: Kustomization\nspec: {}\n');
    expect(await git.getItem(repository.id!, '/obsolete.txt', 'Platform', undefined, undefined, undefined, undefined, undefined, { version: 'main', versionType: GitVersionType.Branch })).toBeNull();
    const content = await readAll(await git.getItemContent(repository.id!, '/README.md', 'Platform'));
    expect(content.toString()).toBe('# Team A\n');

    // The same commits over git's smart HTTP, authenticated like Flux would be (basic auth, PAT).
    const pat = devops.addPersonalAccessToken();
    const remote = new URL(devops.gitUrl('Platform', 'team-a'));
    remote.username = 'flux';
    remote.password = pat;
    const clone = join(workdir, 'team-a');
    // GIT_SSL_CAINFO, not http.sslCAInfo: the environment variable wins when both are set.
    const gitEnv = { ...process.env, GIT_SSL_CAINFO: ensureEmulatorCa().caPath, GIT_TERMINAL_PROMPT: '0' };
    await run('git', ['clone', '--quiet', remote.toString(), clone], { env: gitEnv });
    expect(readFileSync(join(clone, 'clusters/prod/flux.yaml'), 'utf8')).toBe('kind: Kustomization\nspec: {}\n');
    expect(existsSync(join(clone, 'obsolete.txt'))).toBe(false);
    expect((await run('git', ['-C', clone, 'rev-parse', 'HEAD'])).stdout.trim()).toBe(second.commits![0].commitId);

    const anonymous = new URL(devops.gitUrl('Platform', 'team-a'));
    await expect(run('git', ['ls-remote', anonymous.toString()], { env: gitEnv }))
      .rejects.toThrow(/Authentication failed|could not read Username/);
  });

  it('creates, finds and completes a pull request with a real merge', async () => {
    const repository = await git.createRepository({ name: 'systems' }, 'Platform');
    const base = await git.createPush({
      refUpdates: [{ name: 'refs/heads/main', oldObjectId: ZERO }],
      commits: [{ comment: 'init', changes: [{ changeType: VersionControlChangeType.Add, item: { path: '/systems/README.md' }, newContent: { content: 'systems\n', contentType: ItemContentType.RawText } }] }],
    }, repository.id!, 'Platform');
    const mainTip = base.commits![0].commitId!;
    await git.updateRefs([{ name: 'refs/heads/register/team-b', oldObjectId: ZERO, newObjectId: mainTip }], repository.id!, 'Platform');
    const change = await git.createPush({
      refUpdates: [{ name: 'refs/heads/register/team-b', oldObjectId: mainTip }],
      commits: [{ comment: 'Register team-b', changes: [{ changeType: VersionControlChangeType.Add, item: { path: '/systems/team-b/namespace.yaml' }, newContent: { content: 'kind: Namespace\n', contentType: ItemContentType.RawText } }] }],
    }, repository.id!, 'Platform');

    const created = await git.createPullRequest({ sourceRefName: 'refs/heads/register/team-b', targetRefName: 'refs/heads/main', title: 'Register team-b', description: 'Onboarding' }, repository.id!, 'Platform');
    expect(created).toMatchObject({ status: PullRequestStatus.Active, title: 'Register team-b', createdBy: { id: devops.buildIdentity.id } });
    expect(created.creationDate).toBeInstanceOf(Date);
    await expect(git.createPullRequest({ sourceRefName: 'refs/heads/register/team-b', targetRefName: 'refs/heads/main', title: 'again' }, repository.id!, 'Platform')).rejects.toThrow(/TF401179/);

    const found = await git.getPullRequests(repository.id!, { sourceRefName: 'refs/heads/register/team-b', status: PullRequestStatus.Active }, 'Platform');
    expect(found.map((pullRequest) => pullRequest.pullRequestId)).toEqual([created.pullRequestId]);
    const fetched = await git.getPullRequest(repository.id!, created.pullRequestId!, 'Platform');
    expect(fetched.lastMergeSourceCommit?.commitId).toBe(change.commits![0].commitId);

    const completed = await git.updatePullRequest({
      status: PullRequestStatus.Completed,
      lastMergeSourceCommit: fetched.lastMergeSourceCommit,
      completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.NoFastForward, deleteSourceBranch: true },
    }, repository.id!, created.pullRequestId!, 'Platform');
    expect(completed.status).toBe(PullRequestStatus.Completed);
    const mergeCommit = completed.lastMergeCommit!.commitId!;
    const [main] = await git.getRefs(repository.id!, 'Platform', 'heads/main');
    expect(main.objectId).toBe(mergeCommit);
    expect(await git.getRefs(repository.id!, 'Platform', 'heads/register/')).toEqual([]);
    const merged = await git.getItem(repository.id!, '/systems/team-b/namespace.yaml', 'Platform', undefined, undefined, undefined, undefined, undefined, { version: 'main' }, true);
    expect(merged.content).toBe('kind: Namespace\n');
    expect((await git.getPullRequestById(created.pullRequestId!, 'Platform')).status).toBe(PullRequestStatus.Completed);
  });

  it('issues OIDC tokens for a service connection (TaskApi and the System.OidcRequestUri form)', async () => {
    const project = devops.addProject({ name: 'Identity' });
    const connection = devops.addServiceConnection({ name: 'arm-prod', project: 'Identity' });
    const web = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler(devops.systemAccessToken));
    const { oidcToken } = await (await web.getTaskApi()).createOidcToken({}, project.id, 'build', 'plan-guid', 'job-guid', connection.id);
    expect(decodeJwtPayload(oidcToken!)).toMatchObject({ iss: devops.oidcIssuer, sub: 'sc://contoso/Identity/arm-prod', aud: 'api://AzureADTokenExchange' });

    const requestUri = devops.oidcRequestUri({ project: 'Identity' });
    const response = await fetch(`${requestUri}?api-version=7.1&serviceConnectionId=${connection.id}`, {
      method: 'POST', headers: { Authorization: `Bearer ${devops.systemAccessToken}`, 'Content-Type': 'application/json', 'X-TFS-FedAuthRedirect': 'Suppress' },
    });
    expect(response.status).toBe(200);
    expect(decodeJwtPayload((await response.json() as { oidcToken: string }).oidcToken).sub).toBe('sc://contoso/Identity/arm-prod');

    const discovery = await (await fetch(`${devops.oidcIssuer}/.well-known/openid-configuration`)).json() as { issuer: string; jwks_uri: string };
    expect(discovery.issuer).toBe(devops.oidcIssuer);
    expect(((await (await fetch(discovery.jwks_uri)).json()) as { keys: unknown[] }).keys).toHaveLength(1);

    const unauthenticated = await fetch(`${requestUri}?api-version=7.1&serviceConnectionId=${connection.id}`, { method: 'POST' });
    expect(unauthenticated.status).toBe(401);
  });

  it('downloads a secure file with its ticket (TaskAgentApi, PAT auth as securefiles-common uses)', async () => {
    const file = devops.addSecureFile({ project: 'Platform', name: 'sealed-secrets.key', content: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n' });
    const pat = devops.addPersonalAccessToken();
    const web = new azdev.WebApi(devops.collectionUrl, azdev.getPersonalAccessTokenHandler(pat));
    const taskAgent = await web.getTaskAgentApi();
    const content = await readAll(await taskAgent.downloadSecureFile('Platform', file.id, file.ticket, false));
    expect(content.toString()).toBe('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n');
    const request = devops.requests.find((candidate) => candidate.path.endsWith(`/securefiles/${file.id}`))!;
    expect(request.headers.authorization).toMatch(/^Basic /);
    expect(request.query).toContain(`ticket=${file.ticket}`);

    const wrongTicket = await readAll(await taskAgent.downloadSecureFile('Platform', file.id, 'not-the-ticket', false));
    expect(wrongTicket.toString()).toMatch(/ticket is not valid/);
  });

  it('requires authentication and an api-version on REST calls', async () => {
    const anonymous = await fetch(`${devops.collectionUrl}Platform/_apis/git/repositories?api-version=7.2-preview.2`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { message: string }).message).toMatch(/^TF400813/);
    const withoutVersion = await fetch(`${devops.collectionUrl}Platform/_apis/git/repositories`, { headers: { Authorization: `Bearer ${devops.systemAccessToken}` } });
    expect(withoutVersion.status).toBe(400);
    expect(((await withoutVersion.json()) as { typeKey: string }).typeKey).toBe('VssVersionNotSpecifiedException');
  });
});

type AdoError = Error & { statusCode?: number; result?: Record<string, unknown> };

async function failure(promise: Promise<unknown>): Promise<AdoError> {
  try {
    await promise;
  } catch (error) {
    return error as AdoError;
  }
  throw new Error('expected the call to fail');
}

const GIT_NEEDS_PERMISSION = 'Microsoft.TeamFoundation.Git.Server.GitNeedsPermissionException, Microsoft.TeamFoundation.Git.Server';

describe('Azure DevOps emulator: permissions, pull request rules and branch policies', () => {
  let devops: DevOpsEmulator;
  let web: azdev.WebApi;
  let git: IGitApi;
  let workdir: string;
  let gitEnv: NodeJS.ProcessEnv;
  let projects = 0;

  const newProject = () => devops.addProject({ name: `Team${++projects}` }).name;
  const add = (path: string, content: string) => ({ changeType: VersionControlChangeType.Add, item: { path }, newContent: { content, contentType: ItemContentType.RawText } });
  const denied = (permission: string, scope: string) =>
    `TF401027: You need the Git '${permission}' permission to perform this action. Details: identity '${devops.buildIdentity.uniqueName}', scope '${scope}'.`;

  /** A repository whose main has one commit. */
  async function seeded(project: string, name: string) {
    const repository = await git.createRepository({ name }, project);
    const push = await git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: ZERO }], commits: [{ comment: 'init', changes: [add('/README.md', 'hello\n')] }] }, repository.id!, project);
    return { repository, main: push.commits![0].commitId! };
  }

  /** main plus a feature branch one commit ahead (created in the same push, from main's tip), and its PR. */
  async function pullRequestSetup(project: string, name: string) {
    const { repository, main } = await seeded(project, name);
    const feature = await git.createPush({ refUpdates: [{ name: 'refs/heads/feature', oldObjectId: main }], commits: [{ comment: 'feature', changes: [add('/feature.txt', 'feature\n')] }] }, repository.id!, project);
    const pullRequest = await git.createPullRequest({ sourceRefName: 'refs/heads/feature', targetRefName: 'refs/heads/main', title: 'Feature' }, repository.id!, project);
    return { repository, main, feature: feature.commits![0].commitId!, pullRequest };
  }

  const headOf = async (repositoryId: string, project: string, branch: string) =>
    (await git.getRefs(repositoryId, project, `heads/${branch}`)).find((ref) => ref.name === `refs/heads/${branch}`)?.objectId;

  const parentsOf = async (repositoryId: string, commit: string) =>
    (await run('git', ['-C', join(devops.reposRoot, `${repositoryId}.git`), 'rev-list', '--parents', '-n', '1', commit])).stdout.trim().split(' ').slice(1);

  /** A clone authenticated as the build service (a PAT of that identity). */
  async function cloneAsBuildService(project: string, repository: string): Promise<string> {
    const remote = new URL(devops.gitUrl(project, repository));
    remote.username = 'build';
    remote.password = devops.addPersonalAccessToken(undefined, devops.buildIdentity);
    const clone = join(workdir, `${project}-${repository}`);
    await run('git', ['clone', '--quiet', remote.toString(), clone], { env: gitEnv });
    return clone;
  }

  async function commitIn(clone: string, file: string): Promise<void> {
    await run('git', ['-C', clone, 'checkout', '--quiet', '-B', 'main', 'origin/main'], { env: gitEnv }).catch(() => undefined);
    await run('sh', ['-c', `echo change > ${file}`], { cwd: clone });
    await run('git', ['-C', clone, 'add', file], { env: gitEnv });
    await run('git', ['-C', clone, '-c', 'user.name=Build', '-c', 'user.email=build@example.com', 'commit', '--quiet', '-m', file], { env: gitEnv });
  }

  beforeAll(async () => {
    devops = await startDevOpsEmulator({ organization: 'fabrikam' });
    web = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler(devops.systemAccessToken));
    git = await web.getGitApi();
    workdir = mkdtempSync(join(tmpdir(), 'azdo-emulator-permissions-'));
    gitEnv = { ...process.env, GIT_SSL_CAINFO: ensureEmulatorCa().caPath, GIT_TERMINAL_PROMPT: '0' };
  });
  afterAll(async () => {
    await devops?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('CreateRepository denied: 403 TF401027 at project scope in the standard error envelope; allowPermission undoes it', async () => {
    const project = newProject();
    devops.denyPermission({ permission: 'CreateRepository', project });
    const error = await failure(git.createRepository({ name: 'team-repo' }, project));
    expect(error.statusCode).toBe(403);
    expect(error.message).toBe(denied('CreateRepository', 'project'));
    expect(error.result).toEqual({
      $id: '1', innerException: null, message: denied('CreateRepository', 'project'),
      typeName: GIT_NEEDS_PERMISSION, typeKey: 'GitNeedsPermissionException', errorCode: 0, eventId: 3000,
    });

    // Another identity keeps the permission; the build service gets it back.
    const owner = devops.addPersonalAccessToken();
    const ownerGit = await new azdev.WebApi(devops.collectionUrl, azdev.getPersonalAccessTokenHandler(owner)).getGitApi();
    expect((await ownerGit.createRepository({ name: 'owners-repo' }, project)).name).toBe('owners-repo');
    devops.allowPermission({ permission: 'CreateRepository', project });
    expect((await git.createRepository({ name: 'team-repo' }, project)).name).toBe('team-repo');
  });

  it('GenericRead denied: every call on the repository is 404 TF401019 (node-api resolves null), git fetches are refused too', async () => {
    const project = newProject();
    const { repository } = await seeded(project, 'secret');
    await seeded(project, 'open');
    const clone = await cloneAsBuildService(project, 'secret');
    devops.denyPermission({ permission: 'GenericRead', project, repository: 'secret' });

    expect(await git.getRepository('secret', project)).toBeNull();
    expect(await git.getRepository(repository.id!, project)).toBeNull();
    expect(await git.getRefs(repository.id!, project)).toBeNull();
    expect(await git.getItem(repository.id!, '/README.md', project)).toBeNull();
    expect(await git.createPush({ refUpdates: [{ name: 'refs/heads/x', oldObjectId: ZERO }], commits: [{ comment: 'c', changes: [add('/x', 'x')] }] }, repository.id!, project)).toBeNull();
    expect((await git.getRepositories(project)).map((candidate) => candidate.name)).toEqual(['open']);
    const raw = await fetch(`${devops.collectionUrl}${project}/_apis/git/repositories/secret?api-version=7.1`, { headers: { Authorization: `Bearer ${devops.systemAccessToken}` } });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({
      typeKey: 'GitRepositoryNotFoundException',
      message: 'TF401019: The Git repository with name or identifier secret does not exist or you do not have permissions for the operation you are attempting.',
    });
    await expect(run('git', ['-C', clone, 'fetch', '--quiet', 'origin'], { env: gitEnv })).rejects.toThrow(/not found/);

    // Project-wide deny, one repository allowed explicitly.
    devops.allowPermission({ permission: 'GenericRead', project, repository: 'secret' });
    devops.denyPermission({ permission: 'GenericRead', project });
    devops.allowPermission({ permission: 'GenericRead', project, repository: 'open' });
    expect((await git.getRepositories(project)).map((candidate) => candidate.name)).toEqual(['open']);
    devops.allowPermission({ permission: 'GenericRead', project });
    expect((await git.getRepositories(project)).map((candidate) => candidate.name).sort()).toEqual(['open', 'secret']);
    await run('git', ['-C', clone, 'fetch', '--quiet', 'origin'], { env: gitEnv });
  });

  it('GenericContribute denied: pushes to an existing branch are 403 (REST and git push); creating a branch still works', async () => {
    const project = newProject();
    const { repository, main } = await seeded(project, 'contrib');
    const clone = await cloneAsBuildService(project, 'contrib');
    devops.denyPermission({ permission: 'GenericContribute', project, repository: 'contrib' });

    const error = await failure(git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: main }], commits: [{ comment: 'edit', changes: [add('/new.txt', 'x')] }] }, repository.id!, project));
    expect(error.statusCode).toBe(403);
    expect(error.message).toBe(denied('GenericContribute', 'repository'));
    expect(error.result?.typeKey).toBe('GitNeedsPermissionException');

    const branch = await git.createPush({ refUpdates: [{ name: 'refs/heads/topic', oldObjectId: main }], commits: [{ comment: 'topic', changes: [add('/topic.txt', 'x')] }] }, repository.id!, project);
    expect(branch.refUpdates![0]).toMatchObject({ name: 'refs/heads/topic', oldObjectId: ZERO });
    expect(branch.commits![0].parents).toEqual([main]);

    await commitIn(clone, 'over-http.txt');
    await expect(run('git', ['-C', clone, 'push', '--quiet', 'origin', 'main'], { env: gitEnv }))
      .rejects.toThrow(/remote rejected.*TF401027: You need the Git 'GenericContribute' permission/);
    expect(await headOf(repository.id!, project, 'main')).toBe(main);

    devops.allowPermission({ permission: 'GenericContribute', project, repository: 'contrib' });
    await run('git', ['-C', clone, 'push', '--quiet', 'origin', 'main'], { env: gitEnv });
    expect(await headOf(repository.id!, project, 'main')).not.toBe(main);
  });

  it('CreateBranch denied: the first push to an empty repository, new branches (REST, updateRefs, git push) are refused at branch scope', async () => {
    const project = newProject();
    devops.denyPermission({ permission: 'CreateBranch', project });
    const empty = await git.createRepository({ name: 'empty' }, project);
    const error = await failure(git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: ZERO }], commits: [{ comment: 'init', changes: [add('/a', 'a')] }] }, empty.id!, project));
    expect(error.statusCode).toBe(403);
    expect(error.message).toBe(denied('CreateBranch', 'branch'));
    expect(await git.getRefs(empty.id!, project)).toEqual([]);
    expect((await git.getRepository(empty.id!, project)).defaultBranch).toBeUndefined();

    devops.allowPermission({ permission: 'CreateBranch', project });
    const { repository, main } = await seeded(project, 'branches');
    const clone = await cloneAsBuildService(project, 'branches');
    devops.denyPermission({ permission: 'CreateBranch', project, repository: 'branches' });
    expect((await failure(git.createPush({ refUpdates: [{ name: 'refs/heads/topic', oldObjectId: main }], commits: [{ comment: 't', changes: [add('/t', 't')] }] }, repository.id!, project))).message)
      .toBe(denied('CreateBranch', 'branch'));
    const [refused] = await git.updateRefs([{ name: 'refs/heads/topic', oldObjectId: ZERO, newObjectId: main }], repository.id!, project);
    expect(refused).toMatchObject({ success: false, updateStatus: GitRefUpdateStatus.CreateBranchPermissionRequired });
    // Updating the existing branch is Contribute, still granted.
    await git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: main }], commits: [{ comment: 'edit', changes: [add('/b', 'b')] }] }, repository.id!, project);

    await run('git', ['-C', clone, 'checkout', '--quiet', '-b', 'topic'], { env: gitEnv });
    await run('git', ['-C', clone, '-c', 'user.name=Build', '-c', 'user.email=build@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'topic'], { env: gitEnv });
    await expect(run('git', ['-C', clone, 'push', '--quiet', 'origin', 'topic'], { env: gitEnv }))
      .rejects.toThrow(/remote rejected.*TF401027: You need the Git 'CreateBranch' permission/);
    expect(await headOf(repository.id!, project, 'topic')).toBeUndefined();
  });

  it('PullRequestContribute denied: creating and updating pull requests is 403 TF401027 at repository scope', async () => {
    const project = newProject();
    const { repository, pullRequest } = await pullRequestSetup(project, 'prs');
    await git.createPush({ refUpdates: [{ name: 'refs/heads/other', oldObjectId: (await headOf(repository.id!, project, 'main'))! }], commits: [{ comment: 'o', changes: [add('/o', 'o')] }] }, repository.id!, project);
    devops.denyPermission({ permission: 'PullRequestContribute', project, repository: 'prs' });

    const create = await failure(git.createPullRequest({ sourceRefName: 'refs/heads/other', targetRefName: 'refs/heads/main', title: 'Other' }, repository.id!, project));
    expect(create.statusCode).toBe(403);
    expect(create.message).toBe(denied('PullRequestContribute', 'repository'));
    const update = await failure(git.updatePullRequest({ title: 'Renamed' }, repository.id!, pullRequest.pullRequestId!, project));
    expect(update.statusCode).toBe(403);
    expect(update.message).toBe(denied('PullRequestContribute', 'repository'));
    expect((await git.getPullRequest(repository.id!, pullRequest.pullRequestId!, project)).title).toBe('Feature');
  });

  it('ViewProject denied: the project and every route under it are 404 as a missing project (TF200016 by name, VS800075 by id)', async () => {
    const name = newProject();
    const visible = newProject();
    const { repository } = await seeded(name, 'hidden-repo');
    const core = await web.getCoreApi();
    const id = (await core.getProject(name)).id!;
    devops.denyPermission({ permission: 'ViewProject', project: name });

    expect(await core.getProject(name)).toBeNull();
    expect(await core.getProject(id)).toBeNull();
    expect((await core.getProjects()).map((project) => project.name)).toContain(visible);
    expect((await core.getProjects()).map((project) => project.name)).not.toContain(name);
    expect(await git.getRepositories(name)).toBeNull();
    expect(await git.getRepository(repository.id!)).toBeNull();
    expect(await git.createRepository({ name: 'another' }, name)).toBeNull();

    const auth = { headers: { Authorization: `Bearer ${devops.systemAccessToken}` } };
    const byName = await fetch(`${devops.collectionUrl}_apis/projects/${name}?api-version=7.1`, auth);
    expect(byName.status).toBe(404);
    expect(await byName.json()).toMatchObject({
      typeKey: 'ProjectDoesNotExistWithNameException',
      message: `TF200016: The following project does not exist: ${name}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`,
    });
    const byId = await fetch(`${devops.collectionUrl}_apis/projects/${id}?api-version=7.1`, auth);
    expect(await byId.json()).toMatchObject({ typeKey: 'ProjectDoesNotExistException', message: `VS800075: The project with id '${id}' does not exist, or you do not have permission to access it.` });
    const route = await fetch(`${devops.collectionUrl}${name}/_apis/git/repositories?api-version=7.1`, auth);
    expect(route.status).toBe(404);
    expect(((await route.json()) as { message: string }).message).toMatch(/^TF200016/);

    devops.allowPermission({ permission: 'ViewProject', project: name });
    expect((await core.getProject(name)).id).toBe(id);
  });

  it('answers 401 to an unknown token, for REST calls and connectionData', async () => {
    const stranger = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler('not-a-token'));
    expect((await failure(stranger.connect())).statusCode).toBe(401);
    const response = await fetch(`${devops.collectionUrl}_apis/connectionData`, { headers: { Authorization: 'Bearer not-a-token' } });
    expect(response.status).toBe(401);
  });

  it('connectionData names the caller (webApi.connect() and LocationsApi.getConnectionData())', async () => {
    const connection = await web.connect();
    expect(connection.authenticatedUser).toMatchObject({ id: devops.buildIdentity.id, providerDisplayName: devops.buildIdentity.displayName, isActive: true });
    expect(connection.authorizedUser?.id).toBe(devops.buildIdentity.id);
    const viaLocations = await (await web.getLocationsApi()).getConnectionData();
    expect(viaLocations.authenticatedUser?.id).toBe(devops.buildIdentity.id);

    const person = { id: randomUUID(), displayName: 'Dana', uniqueName: 'dana@example.com' };
    const pat = devops.addPersonalAccessToken(undefined, person);
    const asPerson = await new azdev.WebApi(devops.collectionUrl, azdev.getPersonalAccessTokenHandler(pat)).connect();
    expect(asPerson.authenticatedUser).toMatchObject({ id: person.id, providerDisplayName: 'Dana', isActive: true });
  });

  it('PATCH pull request: only the updatable fields, autoCompleteSetBy = the caller or the empty GUID, no bypass with auto-complete', async () => {
    const project = newProject();
    const { repository, pullRequest } = await pullRequestSetup(project, 'patch');
    const id = pullRequest.pullRequestId!;
    const onlyUpdatable = 'You can only update reviewers, descriptions, titles, merge status, and status.';

    const fetched = await git.getPullRequest(repository.id!, id, project);
    for (const body of [{ ...fetched, title: 'Sent back whole' }, { title: 'x', reviewers: [{ id: randomUUID() }] }, { sourceRefName: 'refs/heads/main' }, { createdBy: devops.buildIdentity }]) {
      const error = await failure(git.updatePullRequest(body, repository.id!, id, project));
      expect(error.statusCode).toBe(400);
      expect(error.message).toBe(onlyUpdatable);
      expect(error.result?.typeKey).toBe('InvalidArgumentValueException');
    }
    const someoneElse = await failure(git.updatePullRequest({ autoCompleteSetBy: { id: randomUUID() } }, repository.id!, id, project));
    expect(someoneElse.statusCode).toBe(400);
    expect(someoneElse.message).toBe('Invalid pull request auto complete set by id. Valid values are either the current user identity id, or an empty guid (to unset auto complete).');
    expect((await failure(git.updatePullRequest({ autoCompleteSetBy: { id: 'me' } }, repository.id!, id, project))).statusCode).toBe(400);
    const me = (await web.connect()).authenticatedUser!.id!;
    const bypass = await failure(git.updatePullRequest({ autoCompleteSetBy: { id: me }, completionOptions: { bypassPolicy: true } }, repository.id!, id, project));
    expect(bypass.statusCode).toBe(400);
    expect(bypass.message).toBe('The bypass option cannot be used with auto-complete.');
    const completeWithoutCommit = await failure(git.updatePullRequest({ status: PullRequestStatus.Completed }, repository.id!, id, project));
    expect(completeWithoutCommit.message).toBe('You must specify a valid LastMergeSourceCommit to perform this operation.');

    const updated = await git.updatePullRequest({ title: 'Renamed', description: 'Why', isDraft: false, targetRefName: 'refs/heads/main' }, repository.id!, id, project);
    expect(updated).toMatchObject({ title: 'Feature', status: PullRequestStatus.Active }); // retargeting ignores the rest, as the service does
    expect((await git.updatePullRequest({ title: 'Renamed', description: 'Why' }, repository.id!, id, project))).toMatchObject({ title: 'Renamed', description: 'Why' });
    expect(await git.getPullRequest(repository.id!, id, project)).toMatchObject({ title: 'Renamed', status: PullRequestStatus.Active });

    // Without branch policies auto-complete completes at once.
    const completed = await git.updatePullRequest({ autoCompleteSetBy: { id: me }, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.Squash, deleteSourceBranch: true } }, repository.id!, id, project);
    expect(completed.status).toBe(PullRequestStatus.Completed);
    expect(await parentsOf(repository.id!, completed.lastMergeCommit!.commitId!)).toHaveLength(1);
  });

  it('Minimum reviewers: auto-complete is recorded and waits; approvePullRequest meets the policy and completes it', async () => {
    const project = newProject();
    const { repository, main, pullRequest } = await pullRequestSetup(project, 'reviewed');
    const id = pullRequest.pullRequestId!;
    devops.setBranchPolicy({ project, repository: 'reviewed', branch: 'main', requiredReviewers: 1 });
    const me = (await web.connect()).authenticatedUser!.id!;

    const pending = await git.updatePullRequest({ autoCompleteSetBy: { id: me }, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.NoFastForward, deleteSourceBranch: true } }, repository.id!, id, project);
    expect(pending).toMatchObject({ status: PullRequestStatus.Active, autoCompleteSetBy: { id: me }, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.NoFastForward, deleteSourceBranch: true } });
    expect(await headOf(repository.id!, project, 'main')).toBe(main);

    // The empty GUID unsets auto-complete; setting it again records it again.
    expect((await git.updatePullRequest({ autoCompleteSetBy: { id: '00000000-0000-0000-0000-000000000000' } }, repository.id!, id, project)).autoCompleteSetBy).toBeUndefined();
    await git.updatePullRequest({ autoCompleteSetBy: { id: me } }, repository.id!, id, project);

    // A direct completion is refused by the policy (403) while it is not met.
    const fetched = await git.getPullRequest(repository.id!, id, project);
    const refused = await failure(git.updatePullRequest({ status: PullRequestStatus.Completed, lastMergeSourceCommit: fetched.lastMergeSourceCommit }, repository.id!, id, project));
    expect(refused.statusCode).toBe(403);
    expect(refused.result).toMatchObject({ typeKey: 'GitPullRequestUpdateRejectedByPolicyException', message: 'TF401190: The update is rejected by policy' });

    await devops.approvePullRequest(id);
    const completed = await git.getPullRequest(repository.id!, id, project);
    expect(completed.status).toBe(PullRequestStatus.Completed);
    expect(completed.reviewers).toEqual([expect.objectContaining({ vote: 10 })]);
    expect(await headOf(repository.id!, project, 'main')).toBe(completed.lastMergeCommit!.commitId);
    expect(await parentsOf(repository.id!, completed.lastMergeCommit!.commitId!)).toHaveLength(2);
    expect(await headOf(repository.id!, project, 'feature')).toBeUndefined();
  });

  it('Limit merge types: an unset strategy uses the first allowed one; a forbidden one is refused (direct) or cancels auto-complete', async () => {
    const project = newProject();
    devops.setBranchPolicy({ project, branch: 'refs/heads/main', allowedMergeTypes: ['rebase', 'squash'] });
    const me = (await web.connect()).authenticatedUser!.id!;

    // Unset strategy: squash (GitPullRequestMergeStrategy 2) comes before rebase (3).
    const first = await pullRequestSetup(project, 'unset');
    const squashed = await git.updatePullRequest({ autoCompleteSetBy: { id: me } }, first.repository.id!, first.pullRequest.pullRequestId!, project);
    expect(squashed.status).toBe(PullRequestStatus.Completed);
    expect(await parentsOf(first.repository.id!, squashed.lastMergeCommit!.commitId!)).toEqual([first.main]);

    // A forbidden strategy on a direct completion: 403, the PR stays active; names and numbers alike.
    const second = await pullRequestSetup(project, 'direct');
    const id = second.pullRequest.pullRequestId!;
    const fetched = await git.getPullRequest(second.repository.id!, id, project);
    const refused = await failure(git.updatePullRequest({ status: PullRequestStatus.Completed, lastMergeSourceCommit: fetched.lastMergeSourceCommit, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.NoFastForward } }, second.repository.id!, id, project));
    expect(refused.statusCode).toBe(403);
    expect(refused.result).toMatchObject({ typeKey: 'GitPullRequestUpdateRejectedByPolicyException', message: 'Current merge strategy is not allowed by policy.' });
    const byName = await fetch(`${devops.collectionUrl}${project}/_apis/git/repositories/direct/pullrequests/${id}?api-version=7.1`, {
      method: 'PATCH', headers: { Authorization: `Bearer ${devops.systemAccessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: 'completed', lastMergeSourceCommit: { commitId: second.feature }, completionOptions: { mergeStrategy: 'noFastForward' } }),
    });
    expect(byName.status).toBe(403);
    expect((await git.getPullRequest(second.repository.id!, id, project)).status).toBe(PullRequestStatus.Active);
    // An allowed one completes: rebase of a branch made from main's tip fast-forwards main.
    const rebased = await git.updatePullRequest({ status: PullRequestStatus.Completed, lastMergeSourceCommit: fetched.lastMergeSourceCommit, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.Rebase } }, second.repository.id!, id, project);
    expect(rebased.status).toBe(PullRequestStatus.Completed);
    expect(await headOf(second.repository.id!, project, 'main')).toBe(second.feature);

    // A forbidden strategy with auto-complete: the PR stays active and auto-complete is cancelled.
    const third = await pullRequestSetup(project, 'auto');
    const cancelled = await git.updatePullRequest({ autoCompleteSetBy: { id: me }, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.RebaseMerge } }, third.repository.id!, third.pullRequest.pullRequestId!, project);
    expect(cancelled.status).toBe(PullRequestStatus.Active);
    expect(cancelled.autoCompleteSetBy).toBeUndefined();
    expect(devops.autoCompleteNotifications).toContainEqual({ pullRequestId: third.pullRequest.pullRequestId, reason: 'Current merge strategy is not allowed by policy.', cancelled: true });
    expect(await headOf(third.repository.id!, project, 'main')).toBe(third.main);

    // Holding "Bypass policies when completing pull requests" lets a REST completion through.
    devops.allowPermission({ permission: 'PullRequestBypassPolicy', project });
    const bypassed = await git.updatePullRequest({ status: PullRequestStatus.Completed, lastMergeSourceCommit: { commitId: third.feature }, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.NoFastForward } }, third.repository.id!, third.pullRequest.pullRequestId!, project);
    expect(bypassed.status).toBe(PullRequestStatus.Completed);
  });

  it('rebase strategies as Azure Repos runs them: a fast-forward keeps the commit id; a diverged target gets replayed commits, a conflict leaves the PR active', async () => {
    const project = newProject();
    const edit = (path: string, content: string) => ({ changeType: VersionControlChangeType.Edit, item: { path }, newContent: { content, contentType: ItemContentType.RawText } });
    const complete = async (repositoryId: string, id: number, mergeStrategy: GitPullRequestMergeStrategy) => {
      const fetched = await git.getPullRequest(repositoryId, id, project);
      return git.updatePullRequest({ status: PullRequestStatus.Completed, lastMergeSourceCommit: fetched.lastMergeSourceCommit, completionOptions: { mergeStrategy } }, repositoryId, id, project);
    };

    // Fast-forwardable ("Rebase and fast-forward"): the target moves to the source commit itself.
    const ff = await pullRequestSetup(project, 'fast-forward');
    const forwarded = await complete(ff.repository.id!, ff.pullRequest.pullRequestId!, GitPullRequestMergeStrategy.Rebase);
    expect(forwarded.status).toBe(PullRequestStatus.Completed);
    expect(forwarded.lastMergeCommit!.commitId).toBe(ff.feature);
    expect(await headOf(ff.repository.id!, project, 'main')).toBe(ff.feature);

    // The target moved on: the source commit is replayed on it, a new id whose parent is the target's tip.
    const diverged = await pullRequestSetup(project, 'diverged');
    const moved = (await git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: diverged.main }], commits: [{ comment: 'hotfix', changes: [add('/hotfix.txt', 'hotfix\n')] }] }, diverged.repository.id!, project)).commits![0].commitId!;
    const replayed = await complete(diverged.repository.id!, diverged.pullRequest.pullRequestId!, GitPullRequestMergeStrategy.Rebase);
    expect(replayed.status).toBe(PullRequestStatus.Completed);
    const head = (await headOf(diverged.repository.id!, project, 'main'))!;
    expect(head).not.toBe(diverged.feature);
    expect(await parentsOf(diverged.repository.id!, head)).toEqual([moved]);
    const checkout = await cloneAsBuildService(project, 'diverged');
    expect(readFileSync(join(checkout, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(readFileSync(join(checkout, 'hotfix.txt'), 'utf8')).toBe('hotfix\n');

    // "Rebase with merge commit" of a fast-forwardable PR: still a two-parent merge (semi-linear).
    const semi = await pullRequestSetup(project, 'semi-linear');
    const merged = await complete(semi.repository.id!, semi.pullRequest.pullRequestId!, GitPullRequestMergeStrategy.RebaseMerge);
    expect(await parentsOf(semi.repository.id!, merged.lastMergeCommit!.commitId!)).toEqual([semi.main, semi.feature]);

    // Both sides changed the same line: the replay conflicts, the PR stays active, main stays.
    const conflicting = await pullRequestSetup(project, 'conflicting');
    await git.createPush({ refUpdates: [{ name: 'refs/heads/feature', oldObjectId: conflicting.feature }], commits: [{ comment: 'ours', changes: [edit('/README.md', 'ours\n')] }] }, conflicting.repository.id!, project);
    const theirs = (await git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: conflicting.main }], commits: [{ comment: 'theirs', changes: [edit('/README.md', 'theirs\n')] }] }, conflicting.repository.id!, project)).commits![0].commitId!;
    const refused = await complete(conflicting.repository.id!, conflicting.pullRequest.pullRequestId!, GitPullRequestMergeStrategy.Rebase);
    expect(refused.status).toBe(PullRequestStatus.Active);
    expect(refused.mergeStatus).toBe(PullRequestAsyncStatus.Conflicts);
    expect(await headOf(conflicting.repository.id!, project, 'main')).toBe(theirs);

    // More commits than the hosted service rebases (100): failure with its message, main stays.
    const long = await pullRequestSetup(project, 'long');
    await git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: long.main }], commits: [{ comment: 'moved', changes: [add('/moved.txt', 'moved\n')] }] }, long.repository.id!, project);
    const clone = await cloneAsBuildService(project, 'long');
    await run('sh', ['-c', 'git checkout --quiet feature && for i in $(seq 1 100); do git -c user.name=B -c user.email=b@example.com commit --quiet --allow-empty -m "step $i"; done && git push --quiet origin feature'], { cwd: clone, env: gitEnv });
    const tooLong = await complete(long.repository.id!, long.pullRequest.pullRequestId!, GitPullRequestMergeStrategy.Rebase);
    expect(tooLong).toMatchObject({ status: PullRequestStatus.Active, mergeStatus: PullRequestAsyncStatus.Failure, mergeFailureMessage: 'Pull requests with more than 100 commits cannot be rebased.' });
  });

  it('records method, path and status of every request, so a test can assert that no write reached the server', async () => {
    const project = newProject();
    const { repository } = await pullRequestSetup(project, 'readonly');
    const from = devops.requests.length;
    await web.connect();
    await git.getRepository('readonly', project);
    await git.getRefs(repository.id!, project, 'heads/');
    await git.getItem(repository.id!, '/README.md', project, undefined, undefined, undefined, undefined, undefined, { version: 'main', versionType: GitVersionType.Branch }, true);
    await git.getPullRequests(repository.id!, { status: PullRequestStatus.Active }, project);
    const seen = devops.requests.slice(from);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    for (const request of seen) {
      expect(request.method).toMatch(/^[A-Z]+$/);
      expect(request.path).toMatch(/^\/fabrikam\//);
      expect(request.status).toBe(200);
    }
    expect(seen.filter((request) => ['POST', 'PATCH', 'PUT', 'DELETE'].includes(request.method))).toEqual([]);
    const writes = devops.requests.slice(0, from).filter((request) => ['POST', 'PATCH', 'PUT', 'DELETE'].includes(request.method));
    expect(writes.map((request) => `${request.method} ${request.status}`)).toContain('POST 201');
  });
});

describe('Azure DevOps emulator: Security API permission evaluation batch (through WebApi.rest)', () => {
  const GIT = '2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87';
  const PROJECT = '52d39943-cb85-4d7f-8fa8-c6baac873819';
  type Evaluation = { securityNamespaceId: string; token: string; permissions: number; value?: boolean };
  type Batch = { alwaysAllowAdministrators?: boolean; evaluations: Evaluation[] };

  let devops: DevOpsEmulator;
  let web: azdev.WebApi;
  let git: IGitApi;
  let projects = 0;

  const batchUrl = () => `${devops.collectionUrl}_apis/security/permissionevaluationbatch?api-version=7.1`;

  /** What a task sends: node-api has no Security client, so WebApi.rest.create with the api-version in the query. */
  async function evaluate(evaluations: Evaluation[], client = web): Promise<Evaluation[]> {
    const response = await client.rest.create<Batch>(batchUrl(), { alwaysAllowAdministrators: false, evaluations });
    expect(response.statusCode).toBe(200);
    return response.result!.evaluations;
  }
  const holds = async (token: string, permissions: number, client = web) => (await evaluate([{ securityNamespaceId: GIT, token, permissions }], client))[0].value;

  /** Each UTF-16 code unit as two hex bytes, low byte first (Encoding.Unicode in the client samples' TokenHelpers). */
  const utf16Hex = (text: string) => [...Array(text.length).keys()].map((i) => text.charCodeAt(i)).map((unit) => [unit & 0xff, unit >> 8].map((byte) => byte.toString(16).padStart(2, '0')).join('')).join('');
  const projectToken = (projectId: string) => `repoV2/${projectId}`;
  const repoToken = (projectId: string, repositoryId: string) => `repoV2/${projectId}/${repositoryId}`;
  const branchToken = (projectId: string, repositoryId: string, branch: string) => `repoV2/${projectId}/${repositoryId}/refs/heads/${branch.split('/').map(utf16Hex).join('/')}`;

  /** A project with two empty repositories. */
  async function setup() {
    const project = devops.addProject({ name: `Sec${++projects}` });
    const target = await git.createRepository({ name: 'target' }, project.name);
    const other = await git.createRepository({ name: 'other' }, project.name);
    return { project, name: project.name, target: target.id!, other: other.id! };
  }

  beforeAll(async () => {
    devops = await startDevOpsEmulator({ organization: 'northwind' });
    web = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler(devops.systemAccessToken));
    git = await web.getGitApi();
  });
  afterAll(async () => {
    await devops?.stop();
  });

  it('answers 200 with the batch in request order, each evaluation with its value (POST, Bearer, api-version in the query), and changes nothing', async () => {
    const { project, target } = await setup();
    const evaluations: Evaluation[] = [
      { securityNamespaceId: GIT, token: projectToken(project.id), permissions: 256 },
      { securityNamespaceId: GIT, token: repoToken(project.id, target), permissions: 4 },
      { securityNamespaceId: GIT, token: branchToken(project.id, target, 'main'), permissions: 16 },
    ];
    const response = await web.rest.create<Batch>(batchUrl(), { alwaysAllowAdministrators: false, evaluations });
    // alwaysAllowAdministrators is not written back when false (EmitDefaultValue = false).
    expect(response.result).toEqual({ evaluations: evaluations.map((evaluation) => ({ ...evaluation, value: true })) });

    const request = devops.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', path: '/northwind/_apis/security/permissionevaluationbatch', status: 200 });
    expect(request.query).toContain('api-version=7.1');
    expect(request.headers).toMatchObject({ accept: 'application/json', 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${devops.systemAccessToken}` });
    expect(JSON.parse(request.body)).toEqual({ alwaysAllowAdministrators: false, evaluations });
    expect(devops.permissionEvaluations.slice(-3).map((record) => [record.identity.id, record.project, record.repository, record.ref, record.value]))
      .toEqual([[devops.buildIdentity.id, project.name, undefined, undefined, true], [devops.buildIdentity.id, project.name, 'target', undefined, true], [devops.buildIdentity.id, project.name, 'target', 'refs/heads/main', true]]);
    expect((await git.getRepositories(project.name)).map((repository) => repository.name).sort()).toEqual(['other', 'target']);
  });

  it.each([
    { permission: 'GenericRead', bit: 2 },
    { permission: 'GenericContribute', bit: 4 },
    { permission: 'CreateBranch', bit: 16 },
    { permission: 'PullRequestContribute', bit: 16384 },
  ] as const)('$permission (bit $bit): a repository deny is false on that repository and its branches only; a project deny on every repository, which an explicit repository allow overrides', async ({ permission, bit }) => {
    const { project, name, target, other } = await setup();
    const scopes = async () => [
      await holds(projectToken(project.id), bit), await holds(repoToken(project.id, target), bit),
      await holds(branchToken(project.id, target, 'main'), bit), await holds(repoToken(project.id, other), bit),
    ];
    expect(await scopes()).toEqual([true, true, true, true]);

    devops.denyPermission({ permission, project: name, repository: 'target' });
    expect(await scopes()).toEqual([true, false, false, true]);
    devops.allowPermission({ permission, project: name, repository: 'target' });
    expect(await scopes()).toEqual([true, true, true, true]);

    devops.denyPermission({ permission, project: name });
    expect(await scopes()).toEqual([false, false, false, false]);
    devops.allowPermission({ permission, project: name, repository: 'target' });
    expect(await scopes()).toEqual([false, true, true, false]);
    devops.allowPermission({ permission, project: name });
    expect(await scopes()).toEqual([true, true, true, true]);
  });

  it('CreateRepository (bit 256): a project deny is false on the project token and everything below it, other projects keep it', async () => {
    const { project, name, target } = await setup();
    const elsewhere = await setup();
    devops.denyPermission({ permission: 'CreateRepository', project: name });
    expect(await holds(projectToken(project.id), 256)).toBe(false);
    expect(await holds(repoToken(project.id, target), 256)).toBe(false);
    expect(await holds(projectToken(elsewhere.project.id), 256)).toBe(true);
    devops.allowPermission({ permission: 'CreateRepository', project: name });
    expect(await holds(projectToken(project.id), 256)).toBe(true);
    expect(await holds(repoToken(project.id, target), 256)).toBe(true);
  });

  it.each([
    { permission: 'ForcePush', bit: 8 },
    { permission: 'PolicyExempt', bit: 128 },
    { permission: 'PullRequestBypassPolicy', bit: 32768 },
  ] as const)('$permission (bit $bit): not held until allowed (as for the build service), per repository or for the project', async ({ permission, bit }) => {
    const { project, name, target, other } = await setup();
    const scopes = async () => [await holds(projectToken(project.id), bit), await holds(repoToken(project.id, target), bit), await holds(repoToken(project.id, other), bit)];
    expect(await scopes()).toEqual([false, false, false]);
    devops.allowPermission({ permission, project: name, repository: 'target' });
    expect(await scopes()).toEqual([false, true, false]);
    devops.allowPermission({ permission, project: name });
    expect(await scopes()).toEqual([true, true, true]);
    devops.denyPermission({ permission, project: name });
    expect(await scopes()).toEqual([false, false, false]);
  });

  it('ViewProject: GENERIC_READ (bit 1) of the Project namespace on $PROJECT:vstfs:///Classification/TeamProject/<id>; the Git ACL does not depend on it', async () => {
    const { project, name, target } = await setup();
    const token = `$PROJECT:vstfs:///Classification/TeamProject/${project.id}`;
    const view = async () => (await evaluate([{ securityNamespaceId: PROJECT, token, permissions: 1 }]))[0].value;
    expect(await view()).toBe(true);
    devops.denyPermission({ permission: 'ViewProject', project: name });
    expect(await view()).toBe(false);
    expect(await holds(repoToken(project.id, target), 2)).toBe(true);
    devops.allowPermission({ permission: 'ViewProject', project: name });
    expect(await view()).toBe(true);
  });

  it('agrees with the writes it predicts: CreateRepository and GenericContribute denied are false and the writes are 403; allowed, true and the writes succeed', async () => {
    const { project, name, target } = await setup();
    const seed = await git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: ZERO }], commits: [{ comment: 'init', changes: [{ changeType: VersionControlChangeType.Add, item: { path: '/a.txt' }, newContent: { content: 'a', contentType: ItemContentType.RawText } }] }] }, target, name);
    const push = (base: string, path: string) => git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: base }], commits: [{ comment: path, changes: [{ changeType: VersionControlChangeType.Add, item: { path }, newContent: { content: 'x', contentType: ItemContentType.RawText } }] }] }, target, name);

    devops.denyPermission({ permission: 'CreateRepository', project: name });
    devops.denyPermission({ permission: 'GenericContribute', project: name, repository: 'target' });
    expect(await evaluate([
      { securityNamespaceId: GIT, token: projectToken(project.id), permissions: 256 },
      { securityNamespaceId: GIT, token: repoToken(project.id, target), permissions: 4 },
    ])).toMatchObject([{ value: false }, { value: false }]);
    expect((await failure(git.createRepository({ name: 'refused' }, name))).statusCode).toBe(403);
    expect((await failure(push(seed.commits![0].commitId!, '/b.txt'))).statusCode).toBe(403);

    devops.allowPermission({ permission: 'CreateRepository', project: name });
    devops.allowPermission({ permission: 'GenericContribute', project: name, repository: 'target' });
    expect(await evaluate([
      { securityNamespaceId: GIT, token: projectToken(project.id), permissions: 256 },
      { securityNamespaceId: GIT, token: repoToken(project.id, target), permissions: 4 },
    ])).toMatchObject([{ value: true }, { value: true }]);
    expect((await git.createRepository({ name: 'accepted' }, name)).name).toBe('accepted');
    expect((await push(seed.commits![0].commitId!, '/b.txt')).commits).toHaveLength(1);
  });

  it('several bits in one evaluation: true only when every one is held', async () => {
    const { project, name, target } = await setup();
    devops.denyPermission({ permission: 'CreateBranch', project: name, repository: 'target' });
    expect(await holds(repoToken(project.id, target), 4 | 16)).toBe(false);
    expect(await holds(repoToken(project.id, target), 4 | 2)).toBe(true);
  });

  it('branch tokens: refs/heads/ then each segment of the name as the hex of its UTF-16LE bytes, joined with "/"; trailing "/" and case do not matter', async () => {
    const { project, name, target } = await setup();
    // The devblogs example: "master" is refs/heads/6d0061007300740065007200.
    expect(utf16Hex('master')).toBe('6d0061007300740065007200');
    const token = branchToken(project.id, target, 'users/alice/fix-ü');
    expect(token).toBe(`repoV2/${project.id}/${target}/refs/heads/75007300650072007300/61006c00690063006500/6600690078002d00fc00`);
    expect(token).toBe(gitSecurityToken(project.id, target, 'refs/heads/users/alice/fix-ü'));

    devops.denyPermission({ permission: 'GenericContribute', project: name, repository: 'target' });
    // Terraform's form, the client samples' form (every part ends with "/"), upper case.
    for (const form of [token, `${token}/`, token.toUpperCase().replace('REPOV2', 'repoV2')]) expect(await holds(form, 4)).toBe(false);
    expect(devops.permissionEvaluations.at(-1)).toMatchObject({ repository: 'target', ref: 'refs/heads/users/alice/fix-ü', value: false });
    // Without branch-level ACLs every branch inherits its repository, the branches root too.
    expect(await holds(`repoV2/${project.id}/${target}/refs/heads`, 16)).toBe(true);
  });

  it("evaluates the caller's own permissions, Basic (PAT) as well as Bearer", async () => {
    const { project, name, target } = await setup();
    devops.denyPermission({ permission: 'GenericContribute', project: name, repository: 'target' });
    const person = new azdev.WebApi(devops.collectionUrl, azdev.getPersonalAccessTokenHandler(devops.addPersonalAccessToken()));
    const buildByPat = new azdev.WebApi(devops.collectionUrl, azdev.getPersonalAccessTokenHandler(devops.addPersonalAccessToken(undefined, devops.buildIdentity)));
    expect(await holds(repoToken(project.id, target), 4, person)).toBe(true);
    expect(await holds(repoToken(project.id, target), 4, buildByPat)).toBe(false);
    expect(String(devops.requests.at(-1)!.headers.authorization)).toMatch(/^Basic /);
  });

  it('tokens naming nothing the organization has: an unknown repository id inherits its project, an unknown project holds nothing', async () => {
    const { project, name } = await setup();
    devops.denyPermission({ permission: 'GenericContribute', project: name });
    expect(await holds(repoToken(project.id, randomUUID()), 4)).toBe(false);
    expect(await holds(repoToken(project.id, randomUUID()), 2)).toBe(true);
    expect(await holds(projectToken(randomUUID()), 2)).toBe(false);
    expect(await holds(`repoV2/${name}`, 2)).toBe(false);
  });

  it('is found through route discovery (OPTIONS _apis/Security) and takes the api-version from the Accept header as node-api clients send it', async () => {
    const { project } = await setup();
    const versioning = await web.vsoClient.getVersioningData('7.1', 'Security', 'cf1faa59-1b63-4448-bf04-13d981a46f5d', {});
    expect(versioning).toEqual({ apiVersion: '7.1', requestUrl: `${devops.collectionUrl}_apis/Security/PermissionEvaluationBatch` });
    const response = await web.rest.create<Batch>(versioning.requestUrl!, { evaluations: [{ securityNamespaceId: GIT, token: projectToken(project.id), permissions: 2 }] }, { acceptHeader: `application/json;api-version=${versioning.apiVersion}` });
    expect(response.result!.evaluations[0].value).toBe(true);
    expect(devops.requests.at(-1)!.headers.accept).toBe('application/json;api-version=7.1');
    expect(devops.requests.some((request) => request.method === 'OPTIONS' && request.path === '/northwind/_apis/Security')).toBe(true);
  });

  it('answers as the service does: no api-version 400, unknown token 401, a namespace the organization lacks fails the whole batch (500), a null token 400', async () => {
    const { project } = await setup();
    const valid = { securityNamespaceId: GIT, token: projectToken(project.id), permissions: 2 };
    const noVersion = await failure(web.rest.create(`${devops.collectionUrl}_apis/security/permissionevaluationbatch`, { evaluations: [valid] }));
    expect(noVersion).toMatchObject({ statusCode: 400, result: { typeKey: 'VssVersionNotSpecifiedException' } });
    const stranger = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler('not-a-token'));
    expect((await failure(stranger.rest.create(batchUrl(), { evaluations: [valid] }))).statusCode).toBe(401);

    const unknown = randomUUID();
    const invalid = await failure(web.rest.create(batchUrl(), { evaluations: [valid, { securityNamespaceId: unknown, token: 'x', permissions: 1 }] }));
    expect(invalid).toMatchObject({ statusCode: 500, result: { typeKey: 'InvalidSecurityNamespaceException', typeName: 'Microsoft.TeamFoundation.Framework.Server.InvalidSecurityNamespaceException, Microsoft.TeamFoundation.Framework.Server' } });
    expect(invalid.message).toContain(unknown);
    const nullToken = await failure(web.rest.create(batchUrl(), { evaluations: [{ securityNamespaceId: GIT, permissions: 2 }] }));
    expect(nullToken).toMatchObject({ statusCode: 400, result: { typeKey: 'ArgumentNullException', message: 'Value cannot be null.\r\nParameter name: token', typeName: 'System.ArgumentNullException, mscorlib' } });
    expect((await failure(web.rest.create(batchUrl(), {}))).statusCode).toBe(400);

    // The spec's example sends lower-case property names; Json.NET binds them all the same.
    const lower = await web.rest.create<Batch>(batchUrl(), { alwaysallowadministrators: true, evaluations: [{ securitynamespaceid: GIT.toUpperCase(), token: valid.token, permissions: 2 }] });
    expect(lower.result).toEqual({ evaluations: [{ ...valid, value: true }], alwaysAllowAdministrators: true });
  });

  it('says what it does not model (501): other namespaces Azure DevOps has, Git bits outside its permission model', async () => {
    const { project } = await setup();
    const build = await failure(web.rest.create(batchUrl(), { evaluations: [{ securityNamespaceId: '33344d9c-fc72-4d6f-aba5-fa317101a7e9', token: project.id, permissions: 128 }] }));
    expect(build).toMatchObject({ statusCode: 501, result: { typeKey: 'NotImplementedException' } });
    const createTag = await failure(web.rest.create(batchUrl(), { evaluations: [{ securityNamespaceId: GIT, token: projectToken(project.id), permissions: 32 }] }));
    expect(createTag.statusCode).toBe(501);
    expect(createTag.message).toContain('32 (CreateTag)');
  });
});
