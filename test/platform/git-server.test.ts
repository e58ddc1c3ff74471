import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from './fixture.js';
import { startGitServer } from './git-server.js';

const run = promisify(execFile);
const { git } = usePlatform();
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
const withAuth = (url: string, user: string, password: string) => url.replace('://', `://${user}:${password}@`);
const scratch = mkdtempSync(join(tmpdir(), 'git-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('git server', () => {
  it('refuses requests without the right credentials', async () => {
    const repo = `auth-${Date.now()}`;
    await git.createRepo(repo, { files: { 'README.md': 'hi\n' } });
    await expect(run('git', ['ls-remote', git.url(repo)], { env })).rejects.toThrow(/could not read Username|Authentication failed/);
    await expect(run('git', ['ls-remote', withAuth(git.url(repo), git.username!, 'wrong')], { env })).rejects.toThrow(/Authentication failed/);
  });

  it('serves smart HTTP v0 (what go-git speaks) and v2 with basic auth', async () => {
    const repo = `proto-${Date.now()}`;
    const { head } = await git.createRepo(repo, { files: { 'clusters/dev/app.yaml': 'kind: ConfigMap\n' }, branch: 'main' });
    for (const version of ['0', '2']) {
      const { stdout } = await run('git', ['-c', `protocol.version=${version}`, 'ls-remote', withAuth(git.url(repo), git.username!, git.password!)], { env });
      expect(stdout).toContain(`${head}\trefs/heads/main`);
    }
    const dir = join(scratch, `clone-${repo}`);
    await run('git', ['-c', 'protocol.version=0', 'clone', '--quiet', withAuth(git.url(repo), git.username!, git.password!), dir], { env });
    expect(readFileSync(join(dir, 'clusters/dev/app.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
  });

  it('pushes commits to existing and new branches and reports their heads', async () => {
    const repo = `commits-${Date.now()}`;
    const { head: first } = await git.createRepo(repo, { files: { 'a.txt': 'one' } });
    const second = await git.commit(repo, { files: { 'a.txt': 'two', 'b/c.txt': 'new' }, message: 'change' });
    expect(second).not.toBe(first);
    expect(await git.head(repo, 'main')).toBe(second);
    expect(await git.readFile(repo, 'a.txt')).toBe('two');
    const dev = await git.commit(repo, { branch: 'dev', files: { 'a.txt': null } });
    expect(await git.head(repo, 'dev')).toBe(dev);
    expect(await git.readFile(repo, 'a.txt', 'dev')).toBeUndefined();
    expect(await git.readFile(repo, 'b/c.txt', 'dev')).toBe('new');
    expect(await git.head(repo, 'main')).toBe(second);
  });

  it('can serve without authentication, and over HTTPS', async () => {
    const open = await startGitServer({ anonymous: true, tls: true });
    try {
      const { head } = await open.createRepo('public', { files: { 'x': 'y' } });
      const { stdout } = await run('git', ['ls-remote', open.url('public')], { env: { ...env, GIT_SSL_CAINFO: writeCa(open.caPem!) } });
      expect(open.baseUrl).toMatch(/^https:/);
      expect(stdout).toContain(head);
    } finally {
      await open.stop();
    }
  });
});

function writeCa(pem: string): string {
  const file = join(scratch, 'ca.crt');
  writeFileSync(file, pem);
  return file;
}
