// Serves the release files of release-assets.ts at GitHub-release paths, including GitHub's
// redirect from the release URL to a content host, so download code meets the same hops.
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { basename } from 'node:path';
import { releaseAssets, type ReleaseAsset, type ReleaseAssets } from './release-assets.js';

export interface ReleaseServer {
  /** http://127.0.0.1:<port>; a task's "release base URL" input takes this value. */
  baseUrl: string;
  assets: ReleaseAssets;
  /** Full URLs of the served files. */
  urls: { fluxInstall: string; sealedSecretsController: string };
  /** Paths requested so far (for tests that check what a task downloaded). */
  requests: string[];
  stop(): Promise<void>;
}

export async function startReleaseServer(): Promise<ReleaseServer> {
  const assets = releaseAssets();
  const byPath = new Map<string, ReleaseAsset>([assets.fluxInstall, assets.sealedSecretsController].map((a) => [a.path, a]));
  const byDigest = new Map<string, ReleaseAsset>([...byPath.values()].map((a) => [a.sha256, a]));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const latest = /^\/([^/]+\/[^/]+)\/releases\/latest\/download\/(.+)$/.exec(url.pathname);
    if (latest) {
      const match = [...byPath.values()].find((a) => a.path.startsWith(`/${latest[1]}/`) && a.path.endsWith(`/${latest[2]}`));
      if (match) { res.writeHead(302, { Location: match.path }).end(); return; }
    }
    const asset = byPath.get(url.pathname);
    if (asset) {
      res.writeHead(302, { Location: `/_objects/${asset.sha256}/${basename(asset.path)}` }).end();
      return;
    }
    const checksum = byPath.get(url.pathname.replace(/\.sha256$/, ''));
    if (checksum && url.pathname.endsWith('.sha256')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${checksum.sha256}  ${basename(checksum.path)}\n`);
      return;
    }
    const object = /^\/_objects\/([0-9a-f]{64})\/[^/]+$/.exec(url.pathname);
    const content = object ? byDigest.get(object[1]!) : undefined;
    if (content) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename=${basename(content.path)}` });
      if (req.method === 'HEAD') res.end();
      else createReadStream(content.file).pipe(res);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    baseUrl,
    assets,
    urls: { fluxInstall: baseUrl + assets.fluxInstall.path, sealedSecretsController: baseUrl + assets.sealedSecretsController.path },
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
