// A local git remote: a Node HTTP(S) server in front of Debian's git http-backend (CGI), with
// bare repositories in a temp folder and basic auth, so Flux's source secret is really used.
// Smart HTTP only (what go-git and the git CLI speak); credentials over plain HTTP are fine for
// Flux (it sets InsecureCredentialsOverHTTP for http:// URLs).
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createCA, issueCert } from './pki.js';
import { removeAtExit } from './processes.js';

const run = promisify(execFile);
const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitServerOptions {
  /** Required credentials (basic auth); omit both, or set anonymous, to serve without auth. */
  username?: string;
  password?: string;
  anonymous?: boolean;
  /** Serve HTTPS with a certificate of a CA of its own (see caPem). */
  tls?: boolean;
}

export interface CommitOptions {
  branch?: string;
  /** Path -> content; null deletes the file. */
  files: Record<string, string | null>;
  message?: string;
  /** Branch to start from when `branch` does not exist yet (default: the repository's HEAD). */
  from?: string;
}

/** Where a running git server is; enough for gitClient() in another process (e.g. a test worker). */
export interface GitServerInfo {
  /** http(s)://127.0.0.1:<port> */
  baseUrl: string;
  username?: string;
  password?: string;
  /** The CA of the HTTPS certificate (tls only). */
  caPem?: string;
  /** Folder of the bare repositories. */
  root: string;
  /** A folder the client may use for clones. */
  workRoot: string;
}

export interface GitClient extends GitServerInfo {
  /** Clone URL of a repository (no credentials in it). */
  url(repo: string): string;
  createRepo(repo: string, opts?: { files?: Record<string, string>; branch?: string; message?: string }): Promise<{ url: string; head?: string }>;
  /** Commits a change and pushes it through the server (as a user would); returns the new SHA. */
  commit(repo: string, opts: CommitOptions): Promise<string>;
  /** SHA of a branch tip, or undefined when the branch does not exist. */
  head(repo: string, branch?: string): Promise<string | undefined>;
  readFile(repo: string, path: string, branch?: string): Promise<string | undefined>;
}

export interface GitServer extends GitClient {
  info: GitServerInfo;
  stop(): Promise<void>;
}

export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const dir = mkdtempSync(join(tmpdir(), 'git-server-'));
  const forgetDir = removeAtExit(dir);
  const root = join(dir, 'repos');
  mkdirSync(root);
  const anonymous = opts.anonymous || (!opts.username && !opts.password);
  const expectedAuth = anonymous ? undefined
    : `Basic ${Buffer.from(`${opts.username ?? ''}:${opts.password ?? ''}`).toString('base64')}`;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (expectedAuth && req.headers.authorization !== expectedAuth) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    serveCgi(req, res, root, anonymous ? undefined : opts.username);
  };

  let server: Server;
  let caPem: string | undefined;
  if (opts.tls) {
    const pki = join(dir, 'pki');
    mkdirSync(pki);
    const ca = createCA(pki, 'ca', 'git-server-ca');
    const cert = issueCert(pki, ca, 'server', { commonName: 'git-server', usage: 'server', altNames: ['IP:127.0.0.1', 'DNS:localhost'] });
    caPem = ca.certPem;
    server = createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, handler);
  } else {
    server = createHttpServer(handler);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const info: GitServerInfo = {
    baseUrl,
    username: anonymous ? undefined : opts.username,
    password: anonymous ? undefined : opts.password,
    caPem,
    root,
    workRoot: join(dir, 'work'),
  };
  mkdirSync(info.workRoot);
  const client = gitClient(info);
  return {
    ...client,
    info,
    async stop() {
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
      forgetDir();
    },
  };
}

/** Repository helpers for a git server, usable from any process on this machine. */
export function gitClient(info: GitServerInfo): GitClient {
  const { baseUrl, root } = info;
  const anonymous = !info.username && !info.password;
  const dir = mkdtempSync(join(info.workRoot, 'client-'));
  let caFile: string | undefined;
  if (info.caPem) {
    caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, info.caPem);
  }
  // The git CLI as a user with a clean configuration of its own.
  const home = join(dir, 'home');
  mkdirSync(home);
  const gitEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Platform Test', GIT_AUTHOR_EMAIL: 'platform-test@example.invalid',
    GIT_COMMITTER_NAME: 'Platform Test', GIT_COMMITTER_EMAIL: 'platform-test@example.invalid',
    ...(caFile ? { GIT_SSL_CAINFO: caFile } : {}),
  };
  const git = async (args: string[], cwd?: string) => (await run('git', args, { cwd, env: gitEnv, maxBuffer: 64 << 20 })).stdout.trim();
  const authedUrl = (repo: string) => {
    const u = new URL(`${baseUrl}/${repo}.git`);
    if (!anonymous) { u.username = encodeURIComponent(info.username ?? ''); u.password = encodeURIComponent(info.password ?? ''); }
    return u.toString();
  };
  const bare = (repo: string) => join(root, `${repo}.git`);
  let work = 0;
  const workDir = () => {
    const d = join(dir, 'work', String(++work));
    mkdirSync(d, { recursive: true });
    return d;
  };
  const writeFiles = (wd: string, files: Record<string, string | null>) => {
    for (const [path, content] of Object.entries(files)) {
      const target = join(wd, path);
      if (content === null) rmSync(target, { force: true });
      else {
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, content);
      }
    }
  };
  const head = async (repo: string, branch?: string) => {
    try {
      return await git(['--git-dir', bare(repo), 'rev-parse', '--verify', '--quiet', branch ? `refs/heads/${branch}^{commit}` : 'HEAD^{commit}']);
    } catch {
      return undefined;
    }
  };

  const client: GitClient = {
    ...info,
    url: (repo) => `${baseUrl}/${repo}.git`,
    async createRepo(repo, o = {}) {
      const branch = o.branch ?? 'main';
      await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare(repo)]);
      await git(['--git-dir', bare(repo), 'config', 'http.receivepack', 'true']);
      if (!o.files) return { url: client.url(repo) };
      const wd = workDir();
      await git(['init', '--quiet', `--initial-branch=${branch}`], wd);
      writeFiles(wd, o.files);
      await git(['add', '--all'], wd);
      await git(['commit', '--quiet', '--allow-empty', '-m', o.message ?? 'Initial commit'], wd);
      await git(['push', '--quiet', authedUrl(repo), `HEAD:refs/heads/${branch}`], wd);
      rmSync(wd, { recursive: true, force: true });
      return { url: client.url(repo), head: await head(repo, branch) };
    },
    async commit(repo, o) {
      const branch = o.branch ?? 'main';
      const wd = workDir();
      const exists = await head(repo, branch);
      const base = exists ? branch : o.from;
      await git(['clone', '--quiet', ...(base ? ['--branch', base] : []), authedUrl(repo), wd]);
      if (!exists) await git(['checkout', '--quiet', '-B', branch], wd);
      writeFiles(wd, o.files);
      await git(['add', '--all'], wd);
      await git(['commit', '--quiet', '--allow-empty', '-m', o.message ?? 'Update'], wd);
      await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], wd);
      const sha = await git(['rev-parse', 'HEAD'], wd);
      rmSync(wd, { recursive: true, force: true });
      return sha;
    },
    head,
    async readFile(repo, path, branch) {
      try {
        return await git(['--git-dir', bare(repo), 'show', `${branch ? `refs/heads/${branch}` : 'HEAD'}:${path}`]);
      } catch {
        return undefined;
      }
    },
  };
  return client;
}

/** Runs git http-backend for one request (RFC 3875 CGI) and relays its response. */
function serveCgi(req: IncomingMessage, res: ServerResponse, root: string, user: string | undefined): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    ...(user ? { REMOTE_USER: user, AUTH_TYPE: 'Basic' } : {}),
    ...(req.headers['content-type'] ? { CONTENT_TYPE: req.headers['content-type'] } : {}),
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
  };
  const cgi = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  cgi.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => { /* backend may stop reading early */ });
  let head = Buffer.alloc(0);
  let headersSent = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) { res.write(chunk); return; }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0) return;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    headersSent = true;
    res.write(head.subarray(end));
  });
  cgi.on('close', (code) => {
    if (!headersSent) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`git http-backend failed (${code}): ${stderr}`);
      return;
    }
    res.end();
  });
}
