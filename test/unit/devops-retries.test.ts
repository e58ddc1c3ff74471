// Azure DevOps on a bad minute (its emulator with injected faults): RegisterSystem's reads go
// through after 502/503/504 answers and dropped connections, a throttled push is sent again, a
// push that failed with a 5xx is not (it may have been carried out), an answer whose body was lost
// is not taken for "absent", and the pipeline's OIDC token
// request goes through after a reset and a 503.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestPipelineOidcToken } from '../../shared/azure/pipeline-oidc-token';
import { AzureRepos } from '../../shared/repos/azure-repos';
import { startDevOpsEmulator, type DevOpsEmulator } from '../emulators/devops/devops-emulator';
import { devopsRepos } from '../emulators/devops-repos';
import { trustEmulatorCa } from '../emulators/trust-emulator-ca';

trustEmulatorCa();
let devops: DevOpsEmulator;

beforeAll(async () => {
  devops = await startDevOpsEmulator({ organization: 'contoso' });
  devops.addProject({ name: 'platform' });
  await devopsRepos({ collectionUrl: devops.collectionUrl, project: 'platform', pat: devops.addPersonalAccessToken(), token: devops.systemAccessToken })
    .create('platform-components', { 'systems/dev/README.md': '# systems\n' });
});
afterAll(async () => devops?.stop());

/** The platform repository through a new client, and its main branch's head. */
async function openPlatformRepo() {
  const repos = new AzureRepos({ organizationUrl: devops.collectionUrl, token: devops.systemAccessToken });
  const project = await repos.project('platform');
  const repo = (await repos.repository(project, 'platform-components'))!;
  return { repos, repo, head: (await repos.head(repo, 'main'))! };
}

describe('AzureRepos', () => {
  it('reads a project through a 500', async () => {
    devops.injectFault({ method: 'GET', path: '/_apis/projects/platform', status: 500 });
    const before = devops.requests.length;
    const repos = new AzureRepos({ organizationUrl: devops.collectionUrl, token: devops.systemAccessToken });
    expect((await repos.project('platform')).name).toBe('platform');
    expect(devops.requests.slice(before).filter((r) => r.path.includes('/_apis/projects/platform')).map((r) => r.status)).toEqual([500, 200]);
  });

  it('reads through 502, 503, 504 and a reset', async () => {
    const { repos, repo, head } = await openPlatformRepo();
    const before = devops.requests.length;
    for (const fault of [{ status: 502 }, { status: 503 }, { reset: true }, { status: 504 }]) devops.injectFault({ method: 'GET', path: '/items', ...fault });
    const files = await repos.files(repo, head, 'systems/dev');
    expect(files).toEqual({ 'systems/dev/README.md': '# systems\n' });
    expect(devops.requests.slice(before).filter((r) => r.path.includes('/items')).length).toBeGreaterThanOrEqual(4);
  });

  it('does not take a 200 whose body was lost for an empty folder', async () => {
    const { repos, repo, head } = await openPlatformRepo();
    devops.injectFault({ method: 'GET', path: '/items', status: 200 });
    expect(await repos.files(repo, head, 'systems/dev', (p) => p.endsWith('README.md'))).toEqual({ 'systems/dev/README.md': '# systems\n' });
  });

  it('does not send a push again after a 503', async () => {
    const { repos, repo, head } = await openPlatformRepo();
    const before = devops.requests.length;
    devops.injectFault({ method: 'POST', path: '/pushes', status: 503 });
    await expect(repos.push(repo, 'main', head, 'Add a file', [{ path: 'systems/dev/x.yaml', action: 'add', content: 'x: 1\n' }])).rejects.toThrow(/503/);
    expect(devops.requests.slice(before).filter((r) => r.method === 'POST' && r.path.includes('/pushes')).length).toBe(1);
    expect(await repos.head(repo, 'main')).toBe(head);
  });

  it('sends a throttled push again', async () => {
    const { repos, repo, head } = await openPlatformRepo();
    const before = devops.requests.length;
    devops.injectFault({ method: 'POST', path: '/pushes', status: 429, headers: { 'Retry-After': '0' } });
    const commit = await repos.push(repo, 'main', head, 'Add a file', [{ path: 'systems/dev/y.yaml', action: 'add', content: 'y: 1\n' }]);
    expect(await repos.head(repo, 'main')).toBe(commit);
    expect(devops.requests.slice(before).filter((r) => r.method === 'POST' && r.path.includes('/pushes')).map((r) => r.status)).toEqual([429, 201]);
  });
});

describe('AzureRepos location discovery', () => {
  it('goes through after a 429 and a reset', async () => {
    devops.injectFault({ method: 'OPTIONS', path: '/_apis/git', status: 429 });
    devops.injectFault({ method: 'OPTIONS', path: '/_apis/git', reset: true });
    const repos = new AzureRepos({ organizationUrl: devops.collectionUrl, token: devops.systemAccessToken });
    const project = await repos.project('platform');
    const before = devops.requests.length;
    expect((await repos.repository(project, 'platform-components'))?.name).toBe('platform-components');
    expect(devops.requests.slice(before).filter((r) => r.method === 'OPTIONS' && r.path.includes('/_apis/git')).length).toBeGreaterThanOrEqual(2);
  });

  it('goes through after route listings without their body, for a write too (it was never sent)', async () => {
    const { repos, repo, head } = await openPlatformRepo();
    // A new client looks the routes up again; the first two answers come without a body.
    const fresh = new AzureRepos({ organizationUrl: devops.collectionUrl, token: devops.systemAccessToken });
    for (let i = 0; i < 2; i++) devops.injectFault({ method: 'OPTIONS', path: '/_apis/git', status: 200 });
    const commit = await fresh.push(repo, 'main', head, 'Add a file', [{ path: 'systems/dev/z.yaml', action: 'add', content: 'z: 1\n' }]);
    expect(await repos.head(repo, 'main')).toBe(commit);
  });
});

describe("the pipeline's OIDC token request", () => {
  it('goes through after a reset and a 503', async () => {
    const connection = devops.addServiceConnection({ name: 'sc-oidc', project: 'platform' });
    const requestUri = devops.oidcRequestUri({ project: 'platform' });
    devops.injectFault({ method: 'POST', path: '/oidctoken', reset: true });
    devops.injectFault({ method: 'POST', path: '/oidctoken', status: 503 });
    const token = await requestPipelineOidcToken({ accessToken: devops.systemAccessToken, requestUri }, connection.id);
    expect(token.split('.')).toHaveLength(3);
    expect(devops.requests.filter((r) => r.path.includes('/oidctoken')).length).toBe(3);
  });

  it('asks again when an answer came without its body', async () => {
    const connection = devops.addServiceConnection({ name: 'sc-oidc-empty', project: 'platform' });
    devops.injectFault({ method: 'POST', path: '/oidctoken', status: 200 });
    const token = await requestPipelineOidcToken({ accessToken: devops.systemAccessToken, requestUri: devops.oidcRequestUri({ project: 'platform' }) }, connection.id);
    expect(token.split('.')).toHaveLength(3);
  });
});

describe('AzureRepos errors', () => {
  // Last in the file: the faults not taken stay injected.
  it('say what was being done where when azure-devops-node-api fails on its own', async () => {
    // An OPTIONS answer without a body: the client finds no location for the Git area.
    for (let i = 0; i < 6; i++) devops.injectFault({ method: 'OPTIONS', path: '/_apis/git', status: 200 });
    const repos = new AzureRepos({ organizationUrl: devops.collectionUrl, token: devops.systemAccessToken });
    const project = await repos.project('platform');
    const error = await repos.repository(project, 'platform-components').catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^Azure DevOps: reading repository 'platform-components' in project platform failed: /);
  });
});
