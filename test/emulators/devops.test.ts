// azure-devops-node-api, unmodified, against the Azure DevOps emulator: route discovery, Git
// (repositories, pushes, refs, items, pull requests) on real repositories that git clones over
// HTTP, OIDC tokens for workload identity federation, and secure file download with a ticket.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as azdev from 'azure-devops-node-api';
import { GitVersionType, PullRequestStatus, VersionControlChangeType, ItemContentType, GitPullRequestMergeStrategy, GitRefUpdateStatus } from 'azure-devops-node-api/interfaces/GitInterfaces.js';
import type { IGitApi } from 'azure-devops-node-api/GitApi.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEmulatorCa } from './ca.js';
import { startDevOpsEmulator, type DevOpsEmulator } from './devops/devops-emulator.js';
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
    await expect(git.createPush({ refUpdates: [{ name: 'refs/heads/main', oldObjectId: firstCommit }], commits: [{ comment: 'stale', changes: [] }] }, repository.id!, 'Platform'))
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
