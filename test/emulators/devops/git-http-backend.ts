// Smart HTTP for the emulator's bare repositories through git's own CGI, so clones, fetches and
// pushes speak the real protocol (Flux's source-controller included).
import { spawn } from 'node:child_process';
import type http from 'node:http';
import type { EmulatorRequest } from '../emulator-server.js';

export interface GitHttpRequest {
  request: EmulatorRequest;
  /** Folder holding the bare repositories. */
  projectRoot: string;
  /** Path of the repository below projectRoot plus the protocol path, e.g. /<id>.git/info/refs */
  pathInfo: string;
  remoteUser: string;
}

export function serveGitHttp({ request, projectRoot, pathInfo, remoteUser }: GitHttpRequest, response: http.ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      PATH_INFO: pathInfo,
      REQUEST_METHOD: request.method,
      QUERY_STRING: request.url.search.replace(/^\?/, ''),
      CONTENT_TYPE: request.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(request.body.length),
      REMOTE_USER: remoteUser,
      REMOTE_ADDR: '127.0.0.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
    };
    if (request.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(request.headers['content-encoding']);
    if (request.headers['git-protocol']) env.GIT_PROTOCOL = String(request.headers['git-protocol']);

    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const output: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.on('error', reject);
    child.on('close', () => {
      const all = Buffer.concat(output);
      let split = all.indexOf('\r\n\r\n');
      let separatorLength = 4;
      if (split < 0) {
        split = all.indexOf('\n\n');
        separatorLength = 2;
      }
      if (split < 0) {
        response.writeHead(500, { 'Content-Type': 'text/plain' });
        response.end(`git http-backend produced no response: ${Buffer.concat(errors).toString('utf8')}`);
        resolve();
        return;
      }
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of all.subarray(0, split).toString('utf8').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      const body = all.subarray(split + separatorLength);
      response.writeHead(status, { ...headers, 'Content-Length': body.length });
      response.end(body);
      resolve();
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(request.body);
  });
}

export interface ReceivePackCommand {
  oldObjectId: string;
  newObjectId: string;
  refName: string;
}

/** The ref updates at the start of a git-receive-pack request (pkt-lines up to the first flush). */
export function parseReceivePackRequest(body: Buffer): { commands: ReceivePackCommand[]; capabilities: string[] } {
  const commands: ReceivePackCommand[] = [];
  let capabilities: string[] = [];
  let offset = 0;
  while (offset + 4 <= body.length) {
    const length = Number.parseInt(body.subarray(offset, offset + 4).toString('latin1'), 16);
    if (!Number.isFinite(length) || length === 0) break;
    const line = body.subarray(offset + 4, offset + length).toString('utf8').replace(/\n$/, '');
    offset += length;
    const [command, caps] = line.split('\0');
    if (caps !== undefined) capabilities = caps.trim().split(' ').filter(Boolean);
    if (command.startsWith('shallow ') || command.startsWith('push-cert')) continue;
    const [oldObjectId, newObjectId, refName] = command.trim().split(' ');
    if (refName) commands.push({ oldObjectId, newObjectId, refName });
  }
  return { commands, capabilities };
}

function pktLine(data: Buffer | string): Buffer {
  const payload = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'latin1'), payload]);
}

/**
 * Answers a push without applying it: "unpack ok" and one "ng <ref> <reason>" per ref, in the
 * side band when the client asked for it, so git prints `! [remote rejected] <ref> (<reason>)`.
 */
export function refuseReceivePack(response: http.ServerResponse, commands: ReceivePackCommand[], reasons: Map<string, string>, capabilities: string[]): void {
  const report = Buffer.concat([
    pktLine('unpack ok\n'),
    ...commands.map((command) => pktLine(`ng ${command.refName} ${reasons.get(command.refName) ?? 'another ref of this push was refused'}\n`)),
    Buffer.from('0000', 'latin1'),
  ]);
  const sideBand = capabilities.includes('side-band-64k') || capabilities.includes('side-band');
  const body = sideBand ? Buffer.concat([pktLine(Buffer.concat([Buffer.from([1]), report])), Buffer.from('0000', 'latin1')]) : report;
  response.writeHead(200, { 'Content-Type': 'application/x-git-receive-pack-result', 'Cache-Control': 'no-cache', 'Content-Length': body.length });
  response.end(body);
}
