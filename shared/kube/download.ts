import { get as httpGet } from 'node:http';
import { get as httpsGet, type Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { proxyAgentFor, type ProxySettings } from '../net/proxy';

export interface DownloadOptions {
  /** An agent for HTTPS (extra CA); the proxy, when there is one, takes its place. */
  agent?: Agent;
  /** The agent's proxy, for every URL of the download (redirects included) it does not bypass. */
  proxy?: ProxySettings;
  timeoutMs?: number;
  signal?: AbortSignal;
  maxBytes?: number;
}

/** GETs a URL, following redirects (release downloads redirect to a CDN); errors say what failed. */
export async function download(url: string, options: DownloadOptions = {}, redirects = 5): Promise<Buffer> {
  const res = await open(url, options);
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    if (redirects === 0) throw new Error(`Downloading ${url}: too many redirects`);
    return download(new URL(res.headers.location, url).toString(), options, redirects - 1);
  }
  if (status !== 200) {
    res.resume();
    throw new Error(`Downloading ${url} failed: HTTP ${status}${status === 404 ? ' (does this version exist? is the base URL right?)' : ''}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += chunk.length;
    if (size > (options.maxBytes ?? 50 * 1024 * 1024)) throw new Error(`Downloading ${url}: larger than ${options.maxBytes ?? 50 * 1024 * 1024} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function open(url: string, options: DownloadOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const get = u.protocol === 'https:' ? httpsGet : u.protocol === 'http:' ? httpGet : undefined;
    if (!get) return reject(new Error(`Downloading ${url}: only http and https URLs are supported`));
    const agent = proxyAgentFor(u, options.proxy) ?? (u.protocol === 'https:' ? options.agent : undefined);
    const req = get(u, { agent, signal: options.signal }, resolve);
    req.on('error', (e) => reject(new Error(`Downloading ${url} failed: ${e.message}`)));
    req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`timed out after ${options.timeoutMs ?? 60_000} ms`)));
  });
}
