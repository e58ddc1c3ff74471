// Downloaded manifests kept parsed in the agent's tool cache (loadManifests' cacheDir): the same
// bytes are parsed once, other bytes are parsed anew, a broken cache file costs only a parse, and
// what JSON cannot hold exactly is never cached.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '../../shared/kube/manifests';

let server: Server;
let base: string;
const files: Record<string, string> = {};
const cacheDir = mkdtempSync(join(tmpdir(), 'manifest-cache-'));
const cached = () => join(cacheDir, 'aks-gitops-tasks', 'manifests');

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

const names = async (path: string) => (await loadManifests([{ url: `${base}${path}` }], { cacheDir })).map((o) => o.metadata.name);

describe('parsed manifests in the tool cache', () => {
  it('parses a file once; later loads of the same bytes read the cache', async () => {
    files['/install.yaml'] = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n';
    expect(await names('/install.yaml')).toEqual(['a', 'b']);
    const [entry] = readdirSync(cached());
    expect(entry).toMatch(/^[0-9a-f]{64}\.json$/);
    // What the cache holds is what is used (changed here to tell the two apart).
    const file = join(cached(), entry!);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"b"', '"from-cache"'));
    expect(await names('/install.yaml')).toEqual(['a', 'from-cache']);
  });

  it('parses other bytes anew, and a broken cache file again', async () => {
    files['/other.yaml'] = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n';
    expect(await names('/other.yaml')).toEqual(['c']);
    for (const entry of readdirSync(cached())) writeFileSync(join(cached(), entry), '{not json');
    expect(await names('/other.yaml')).toEqual(['c']);
    expect(await names('/install.yaml')).toEqual(['a', 'b']);
  });

  it('does not cache values JSON would change (.inf)', async () => {
    rmSync(cached(), { recursive: true, force: true });
    files['/inf.yaml'] = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\nspec: {limit: .inf}\n';
    const [object] = await loadManifests([{ url: `${base}/inf.yaml` }], { cacheDir });
    expect((object!.spec as { limit: number }).limit).toBe(Infinity);
    expect(existsSync(cached()) ? readdirSync(cached()) : []).toEqual([]);
  });
});
