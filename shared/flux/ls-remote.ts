import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { proxyAgentFor, type ProxySettings } from '../net/proxy';

/** The server answered, and what it said is about the input: the credential or the branch. */
export class BranchHeadRefused extends Error {
  constructor(message: string, readonly reason: 'credential' | 'branch') {
    super(message);
  }
}

/**
 * The commit at the head of a branch, read over Git's smart HTTP protocol (what `git ls-remote`
 * does), with the same basic-auth credential Flux uses; no git binary, no credential on a command
 * line. Returns undefined when the server cannot be asked this way.
 */
export async function branchHead(url: string, branch: string, auth?: { username: string; password: string }, caPem?: string, signal?: AbortSignal, proxy?: ProxySettings): Promise<string> {
  const target = new URL(`${url.replace(/\/+$/, '')}/info/refs?service=git-upload-pack`);
  const headers: Record<string, string> = { 'User-Agent': 'git/2.39 aks-gitops-tasks', Accept: 'application/x-git-upload-pack-advertisement' };
  if (auth) headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, { headers, ca: caPem, signal, agent: proxyAgentFor(target, proxy, caPem ? { ca: caPem } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 401 || res.statusCode === 403) reject(new BranchHeadRefused(`the Git server refused the credential (HTTP ${res.statusCode})`, 'credential'));
        else if (res.statusCode !== 200) reject(new Error(`the Git server answered HTTP ${res.statusCode} for ${target.origin}${target.pathname}`));
        else resolve(Buffer.concat(chunks));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timed out reading the branch head')));
    req.end();
  });
  const ref = `refs/heads/${branch}`;
  for (const line of pktLines(body)) {
    const [sha, name] = line.split('\0')[0].trim().split(' ');
    if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
  }
  throw new BranchHeadRefused(`the repository has no branch '${branch}'`, 'branch');
}

function* pktLines(buf: Buffer): Generator<string> {
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = parseInt(buf.subarray(at, at + 4).toString('ascii'), 16);
    if (Number.isNaN(len)) return;
    if (len === 0) {
      at += 4;
      continue;
    }
    yield buf.subarray(at + 4, at + len).toString('utf8');
    at += len;
  }
}
