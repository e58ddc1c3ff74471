// Release downloads on a bad day: a mirror or GitHub that throttles, answers 5xx, drops the
// connection or cuts the body short is tried again until the deadline; what is final (404) is not.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { download } from '../../shared/kube/download';

const BODY = Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: released}\n'.repeat(50));
let server: Server | undefined;

/** A server answering each request with the next behaviour of `script` (the last one repeats). */
async function serve(script: ((res: import('node:http').ServerResponse) => void)[]): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  server = createServer((_req, res) => script[Math.min(hits++, script.length - 1)]!(res));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/controller.yaml`, hits: () => hits };
}

const ok = (res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-length': BODY.length }).end(BODY);

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

describe('download', () => {
  it('tries again after 503, 429 with Retry-After, a reset and a body cut short, then returns the whole file', async () => {
    const { url, hits } = await serve([
      (res) => res.writeHead(503).end('busy'),
      (res) => res.writeHead(429, { 'retry-after': '0' }).end(),
      (res) => res.socket?.destroy(),
      (res) => {
        res.writeHead(200, { 'content-length': BODY.length });
        res.write(BODY.subarray(0, 100));
        setTimeout(() => res.socket?.destroy(), 20);
      },
      ok,
    ]);
    const body = await download(url, { retryDeadlineMs: 30_000 });
    expect(body.equals(BODY)).toBe(true);
    expect(hits()).toBe(5);
  });

  it('gives up at the deadline with the last error and how many attempts it made', async () => {
    const { url, hits } = await serve([(res) => res.writeHead(502).end()]);
    await expect(download(url, { retryDeadlineMs: 1500 })).rejects.toThrow(/^Downloading http:\/\/127\.0\.0\.1:\d+\/controller\.yaml failed: HTTP 502 \(gave up after \d+ attempts in \d+ s\)$/);
    expect(hits()).toBeGreaterThan(1);
  });

  it('does not try again after a 404', async () => {
    const { url, hits } = await serve([(res) => res.writeHead(404).end()]);
    await expect(download(url)).rejects.toThrow(/HTTP 404 \(does this version exist/);
    expect(hits()).toBe(1);
  });
});
