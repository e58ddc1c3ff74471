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
