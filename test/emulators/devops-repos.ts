// Repositories of the Azure DevOps emulator as a team member uses them: created through the REST
// API, changed with the git CLI over the emulator's smart HTTP (a PAT as basic auth, carried in a
// git config header so it is on no command line), read back as a tree of files.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ensureEmulatorCa } from './ca.js';

const run = promisify(execFile);

export interface DevOpsRepos {
  /** Creates a repository (REST) and, with files, pushes them as its first commit on `branch`. */
  create(name: string, files?: Record<string, string>, branch?: string): Promise<{ url: string; head?: string }>;
  /** One commit on a branch (null deletes a file); returns its SHA. */
  commit(name: string, files: Record<string, string | null>, message?: string, branch?: string): Promise<string>;
  /** Every file of a branch, path -> content; undefined when the branch does not exist. */
  tree(name: string, branch?: string): Promise<Record<string, string> | undefined>;
  head(name: string, branch?: string): Promise<string | undefined>;
  /** Message and parents of a commit. */
  commitOf(name: string, sha: string): Promise<{ message: string; parents: string[] }>;
  url(name: string): string;
  /** Points branch `to` at the head of `from` (creating or moving it); returns that commit. */
  branch(name: string, from: string, to: string): Promise<string>;
  /**
   * A clone with every branch in `dir`, as a pipeline's `checkout: self` with `fetchDepth: 0` and
   * `persistCredentials: true` leaves it: the job's token in the clone's own git configuration.
   */
  checkout(name: string, dir: string): Promise<void>;
}

export function devopsRepos(o: { collectionUrl: string; project: string; pat: string; token: string }): DevOpsRepos {
  const url = (name: string) => `${o.collectionUrl}${encodeURIComponent(o.project)}/_git/${encodeURIComponent(name)}`;
  const env = {
    ...process.env,
    GIT_SSL_CAINFO: ensureEmulatorCa().caPath,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`team:${o.pat}`).toString('base64')}`,
    GIT_AUTHOR_NAME: 'Team Member', GIT_AUTHOR_EMAIL: 'team@example.com', GIT_COMMITTER_NAME: 'Team Member', GIT_COMMITTER_EMAIL: 'team@example.com',
  };
  const git = async (args: string[], cwd?: string) => (await run('git', args, { cwd, env, maxBuffer: 64 << 20 })).stdout.trim();
  const head = async (name: string, branch = 'main') => {
    try {
      const out = await git(['ls-remote', url(name), `refs/heads/${branch}`]);
      return out.split(/\s+/)[0] || undefined;
    } catch (error) {
      if (/not found/.test((error as Error).message)) return undefined;
      throw error;
    }
  };
  const withClone = async <T>(name: string, branch: string, fn: (dir: string, exists: boolean) => Promise<T>): Promise<T> => {
    const dir = mkdtempSync(join(tmpdir(), 'team-clone-'));
    try {
      const exists = Boolean(await head(name, branch));
      if (exists) await git(['clone', '--quiet', '--branch', branch, url(name), dir]);
      else {
        await git(['init', '--quiet', `--initial-branch=${branch}`], dir);
        await git(['remote', 'add', 'origin', url(name)], dir);
      }
      return await fn(dir, exists);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const commit: DevOpsRepos['commit'] = (name, files, message = 'Update', branch = 'main') => withClone(name, branch, async (dir) => {
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, path);
      if (content === null) rmSync(full, { force: true });
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    await git(['add', '--all'], dir);
    await git(['commit', '--quiet', '--allow-empty', '-m', message], dir);
    await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], dir);
    return git(['rev-parse', 'HEAD'], dir);
  });
  return {
    url,
    head,
    commit,
    branch: (name, from, to) => withClone(name, from, async (dir) => {
      await git(['push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${to}`], dir);
      return git(['rev-parse', 'HEAD'], dir);
    }),
    async checkout(name, dir) {
      await git(['clone', '--quiet', '--no-checkout', url(name), dir]);
      await git(['config', 'http.extraheader', `AUTHORIZATION: bearer ${o.token}`], dir);
      await git(['checkout', '--quiet', 'main'], dir);
    },
    commitOf: (name, sha) => withClone(name, 'main', async (dir) => {
      await git(['fetch', '--quiet', 'origin', sha], dir);
      const [parents, ...message] = (await git(['log', '-1', '--format=%P%n%B', sha], dir)).split('\n');
      return { message: message.join('\n').trim(), parents: parents!.split(' ').filter(Boolean) };
    }),
    async create(name, files, branch = 'main') {
      // node:https with the emulator's CA: this process may not have NODE_EXTRA_CA_CERTS (npm start).
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${o.collectionUrl}${encodeURIComponent(o.project)}/_apis/git/repositories?api-version=7.1`, {
          method: 'POST',
          ca: readFileSync(ensureEmulatorCa().caPath),
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${o.token}` },
        }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => { text += c.toString(); });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ name }));
      });
      if (status !== 201) throw new Error(`creating repository ${name}: ${status} ${body}`);
      if (!files) return { url: url(name) };
      return { url: url(name), head: await commit(name, files, 'Initial commit', branch) };
    },
    tree: (name, branch = 'main') => withClone(name, branch, async (dir, exists) => {
      if (!exists) return undefined;
      const files: Record<string, string> = {};
      const walk = (at: string) => {
        for (const entry of readdirSync(at)) {
          if (entry === '.git') continue;
          const path = join(at, entry);
          if (statSync(path).isDirectory()) walk(path);
          else files[relative(dir, path)] = readFileSync(path, 'utf8');
        }
      };
      walk(dir);
      return files;
    }),
  };
}
