// Azure Repos keeps real Git objects; so does the emulator. Each repository is a bare repository
// driven with git plumbing, so a REST push produces commits that `git clone` (and Flux's
// source-controller) fetch over HTTP exactly as they would from dev.azure.com.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

export const ZERO_ID = '0000000000000000000000000000000000000000';

export interface GitIdentity {
  name: string;
  email: string;
  date?: Date;
}

export type FileChange =
  | { kind: 'add' | 'edit'; path: string; content: Buffer }
  | { kind: 'delete'; path: string }
  | { kind: 'rename'; from: string; path: string; content?: Buffer };

export class GitCommandError extends Error {
  constructor(message: string, readonly exitCode: number, readonly stderr: string) {
    super(message);
  }
}

export function runGit(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string; allowExitCodes?: number[] } = {}): Promise<{ stdout: Buffer; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: process.env.HOME, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const exitCode = code ?? -1;
      if (exitCode === 0 || options.allowExitCodes?.includes(exitCode)) resolve({ stdout: Buffer.concat(stdout), exitCode });
      else reject(new GitCommandError(`git ${args.join(' ')} failed (${exitCode}): ${Buffer.concat(stderr).toString('utf8').trim()}`, exitCode, Buffer.concat(stderr).toString('utf8')));
    });
    if (child.stdin) {
      // git may exit before reading all of its input; that is its answer, not our error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

function identityEnv(author: GitIdentity, committer: GitIdentity): NodeJS.ProcessEnv {
  const when = (identity: GitIdentity) => `${Math.floor((identity.date ?? new Date()).getTime() / 1000)} +0000`;
  return {
    GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email, GIT_AUTHOR_DATE: when(author),
    GIT_COMMITTER_NAME: committer.name, GIT_COMMITTER_EMAIL: committer.email, GIT_COMMITTER_DATE: when(committer),
  };
}

export class ChangeConflict extends Error {
  constructor(readonly reason: 'exists' | 'missing', readonly path: string) {
    super(`${reason} ${path}`);
  }
}

export class BareRepository {
  private constructor(readonly dir: string) {}

  static async create(dir: string, initialBranch = 'main'): Promise<BareRepository> {
    await runGit(['init', '--bare', '--quiet', `--initial-branch=${initialBranch}`, dir]);
    // Clients push over HTTP too (tests, `git push`); http-backend needs it enabled explicitly.
    await runGit(['config', 'http.receivepack', 'true'], { cwd: dir });
    return new BareRepository(dir);
  }

  private git(args: string[], options: Parameters<typeof runGit>[1] = {}) {
    return runGit(args, { ...options, cwd: this.dir });
  }

  async refs(): Promise<Map<string, string>> {
    const { stdout } = await this.git(['for-each-ref', '--format=%(objectname) %(refname)']);
    const refs = new Map<string, string>();
    for (const line of stdout.toString('utf8').split('\n').filter(Boolean)) {
      const [objectId, name] = line.split(' ');
      refs.set(name, objectId);
    }
    return refs;
  }

  async resolveRef(name: string): Promise<string | undefined> {
    return (await this.refs()).get(name);
  }

  async objectExists(objectId: string): Promise<boolean> {
    const { exitCode } = await this.git(['cat-file', '-e', `${objectId}^{commit}`], { allowExitCodes: [1, 128] });
    return exitCode === 0;
  }

  async setHead(branchRef: string): Promise<void> {
    await this.git(['symbolic-ref', 'HEAD', branchRef]);
  }

  async head(): Promise<string> {
    return (await this.git(['symbolic-ref', 'HEAD'])).stdout.toString('utf8').trim();
  }

  async treeOf(commitId: string): Promise<string> {
    return (await this.git(['rev-parse', `${commitId}^{tree}`])).stdout.toString('utf8').trim();
  }

  async commitInfo(commitId: string): Promise<{ treeId: string; parents: string[]; author: GitIdentity; committer: GitIdentity; comment: string }> {
    const { stdout } = await this.git(['cat-file', 'commit', commitId]);
    const text = stdout.toString('utf8');
    const [head, ...message] = text.split('\n\n');
    const parents: string[] = [];
    let treeId = '';
    const people: Record<string, GitIdentity> = {};
    for (const line of head.split('\n')) {
      const [key, ...rest] = line.split(' ');
      const value = rest.join(' ');
      if (key === 'tree') treeId = value;
      if (key === 'parent') parents.push(value);
      if (key === 'author' || key === 'committer') {
        const match = /^(.*) <(.*)> (\d+) [+-]\d{4}$/.exec(value);
        if (match) people[key] = { name: match[1], email: match[2], date: new Date(Number(match[3]) * 1000) };
      }
    }
    return { treeId, parents, author: people.author, committer: people.committer, comment: message.join('\n\n') };
  }

  /** Applies changes on top of `parent` (or an empty tree) and writes one commit. */
  async commit(parent: string | undefined, changes: FileChange[], message: string, author: GitIdentity, committer: GitIdentity = author): Promise<{ commitId: string; treeId: string }> {
    const indexFile = join(this.dir, `index-${randomUUID()}`);
    const env = { GIT_INDEX_FILE: indexFile };
    try {
      await this.git(parent ? ['read-tree', parent] : ['read-tree', '--empty'], { env });
      const tracked = async (path: string) => (await this.git(['ls-files', '--cached', '--', path], { env })).stdout.toString('utf8').split('\n').filter(Boolean);
      const write = async (path: string, content: Buffer) => {
        const blob = (await this.git(['hash-object', '-w', '--stdin'], { input: content })).stdout.toString('utf8').trim();
        await this.git(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
      };
      // Mode 0 entries delete paths; unlike --force-remove this needs no work tree.
      const remove = (paths: string[]) =>
        this.git(['update-index', '--index-info'], { env, input: paths.map((path) => `0 ${ZERO_ID}\t${path}\n`).join('') });
      for (const change of changes) {
        const existing = await tracked(change.path);
        const isFile = existing.includes(change.path);
        switch (change.kind) {
          case 'add':
            if (isFile) throw new ChangeConflict('exists', change.path);
            await write(change.path, change.content);
            break;
          case 'edit':
            if (!isFile) throw new ChangeConflict('missing', change.path);
            await write(change.path, change.content);
            break;
          case 'delete':
            // A folder path deletes everything below it, as in Azure Repos.
            if (existing.length === 0) throw new ChangeConflict('missing', change.path);
            await remove(existing);
            break;
          case 'rename': {
            const source = await tracked(change.from);
            if (!source.includes(change.from)) throw new ChangeConflict('missing', change.from);
            if (isFile) throw new ChangeConflict('exists', change.path);
            const content = change.content ?? (await this.git(['cat-file', 'blob', `:${change.from}`], { env })).stdout;
            await remove([change.from]);
            await write(change.path, content);
            break;
          }
        }
      }
      const treeId = (await this.git(['write-tree'], { env })).stdout.toString('utf8').trim();
      const args = ['commit-tree', treeId, ...(parent ? ['-p', parent] : []), '-F', '-'];
      const commitId = (await this.git(args, { env: identityEnv(author, committer), input: message })).stdout.toString('utf8').trim();
      return { commitId, treeId };
    } finally {
      await rm(indexFile, { force: true });
    }
  }

  async commitTree(treeId: string, parents: string[], message: string, author: GitIdentity): Promise<string> {
    const args = ['commit-tree', treeId, ...parents.flatMap((parent) => ['-p', parent]), '-F', '-'];
    return (await this.git(args, { env: identityEnv(author, author), input: message })).stdout.toString('utf8').trim();
  }

  /** Compare-and-swap a ref; false when it moved (another client won). */
  async updateRef(name: string, newId: string, oldId: string): Promise<boolean> {
    // An all-zero old value means "must not exist yet", which is git's own convention too.
    const args = newId === ZERO_ID ? ['update-ref', '-d', name, ...(oldId === ZERO_ID ? [] : [oldId])] : ['update-ref', name, newId, oldId];
    const { exitCode } = await this.git(args, { allowExitCodes: [1, 128] });
    return exitCode === 0;
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { exitCode } = await this.git(['merge-base', '--is-ancestor', ancestor, descendant], { allowExitCodes: [1] });
    return exitCode === 0;
  }

  /** Three-way merge without a work tree; undefined on conflicts. */
  async mergeTree(target: string, source: string): Promise<string | undefined> {
    const { stdout, exitCode } = await this.git(['merge-tree', '--write-tree', '--no-messages', target, source], { allowExitCodes: [1] });
    if (exitCode !== 0) return undefined;
    return stdout.toString('utf8').split('\n')[0].trim();
  }

  /** The commits of `source` that `target` lacks, oldest first (what a pull request brings). */
  async commitsBetween(target: string, source: string): Promise<string[]> {
    return (await this.git(['rev-list', '--reverse', '--topo-order', `${target}..${source}`])).stdout.toString('utf8').split('\n').filter(Boolean);
  }

  /**
   * Replays `commits` one by one on `onto`, as Azure Repos rebases a pull request (each commit
   * applied against its first parent, author and message kept, committer the one completing);
   * undefined when one of them conflicts. Done in a throw-away worktree of the bare repository.
   */
  async replay(commits: string[], onto: string, committer: GitIdentity): Promise<string | undefined> {
    const worktree = join(this.dir, `replay-${randomUUID()}`);
    await this.git(['worktree', 'add', '--quiet', '--detach', worktree, onto]);
    try {
      const env = { GIT_COMMITTER_NAME: committer.name, GIT_COMMITTER_EMAIL: committer.email };
      for (const commit of commits) {
        const { parents } = await this.commitInfo(commit);
        const args = ['cherry-pick', '--allow-empty', '--keep-redundant-commits', ...(parents.length > 1 ? ['-m', '1'] : []), commit];
        const { exitCode } = await runGit(args, { cwd: worktree, env, allowExitCodes: [1] });
        if (exitCode !== 0) return undefined;
      }
      return (await runGit(['rev-parse', 'HEAD'], { cwd: worktree })).stdout.toString('utf8').trim();
    } finally {
      await this.git(['worktree', 'remove', '--force', worktree]);
    }
  }

  async readFile(commitId: string, path: string): Promise<{ objectId: string; content: Buffer } | undefined> {
    const { stdout, exitCode } = await this.git(['rev-parse', '--verify', '--quiet', `${commitId}:${path}`], { allowExitCodes: [1, 128] });
    if (exitCode !== 0) return undefined;
    const objectId = stdout.toString('utf8').trim();
    const type = (await this.git(['cat-file', '-t', objectId])).stdout.toString('utf8').trim();
    if (type !== 'blob') return undefined;
    return { objectId, content: (await this.git(['cat-file', 'blob', objectId])).stdout };
  }

  /** Entries below `path` (a folder, '' for the root): one level or all. */
  async listTree(commitId: string, path: string, recursive: boolean): Promise<Array<{ path: string; objectId: string; type: 'blob' | 'tree' }> | undefined> {
    const treeish = path ? `${commitId}:${path}` : `${commitId}^{tree}`;
    const { exitCode } = await this.git(['rev-parse', '--verify', '--quiet', treeish], { allowExitCodes: [1, 128] });
    if (exitCode !== 0) return undefined;
    const { stdout } = await this.git(['ls-tree', ...(recursive ? ['-r', '-t'] : []), treeish]);
    return stdout.toString('utf8').split('\n').filter(Boolean).map((line) => {
      const [meta, name] = line.split('\t');
      const [, type, objectId] = meta.split(' ');
      return { path: path ? `${path}/${name}` : name, objectId, type: type as 'blob' | 'tree' };
    });
  }
}
