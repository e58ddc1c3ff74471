import { get as httpGet } from 'node:http';
import { get as httpsGet, type Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { proxyAgentFor, type ProxySettings } from '../net/proxy';
import { delayBefore, isRetryable, sleep } from './retry';

export interface DownloadOptions {
  /** An agent for HTTPS (extra CA); the proxy, when there is one, takes its place. */
  agent?: Agent;
  /** The agent's proxy, for every URL of the download (redirects included) it does not bypass. */
  proxy?: ProxySettings;
  timeoutMs?: number;
  signal?: AbortSignal;
  maxBytes?: number;
  /** How long to keep trying after throttling, 5xx answers and dropped or cut-off transfers (default 2 min). */
  retryDeadlineMs?: number;
}

/** A download that failed in a way worth another try: a server that is busy or down, a transfer cut off. */
class TransientDownloadError extends Error {
  constructor(message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * GETs a URL, following redirects (release downloads redirect to a CDN); errors say what failed.
 * Throttling (429, with its Retry-After), 5xx answers, resets, stalls and bodies cut short are
 * retried with back-off until `retryDeadlineMs`, as a mirror or GitHub have bad minutes.
 */
export async function download(url: string, options: DownloadOptions = {}): Promise<Buffer> {
  const deadlineMs = options.retryDeadlineMs ?? 120_000;
  const started = Date.now();
  for (let n = 0; ; n++) {
    try {
      return await downloadOnce(url, options, 5);
    } catch (error) {
      const transient = error instanceof TransientDownloadError || isRetryable(error) || /timed out|aborted|cut short/i.test((error as Error).message);
      if (options.signal?.aborted || !transient) throw error;
      const delay = error instanceof TransientDownloadError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : delayBefore(n, error, { deadlineMs, baseDelayMs: 500 });
      if (Date.now() - started + delay > deadlineMs) {
        throw new Error(`${(error as Error).message} (gave up after ${n + 1} attempts in ${Math.round((Date.now() - started) / 1000)} s)`);
      }
      await sleep(delay, options.signal);
    }
  }
}

async function downloadOnce(url: string, options: DownloadOptions, redirects: number): Promise<Buffer> {
  const res = await open(url, options);
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    if (redirects === 0) throw new Error(`Downloading ${url}: too many redirects`);
    return downloadOnce(new URL(res.headers.location, url).toString(), options, redirects - 1);
  }
  if (status !== 200) {
    res.resume();
    if (TRANSIENT_STATUS.has(status)) {
      const retryAfter = Number(res.headers['retry-after']);
      throw new TransientDownloadError(`Downloading ${url} failed: HTTP ${status}`, Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, 60) : undefined);
    }
    throw new Error(`Downloading ${url} failed: HTTP ${status}${status === 404 ? ' (does this version exist? is the base URL right?)' : ''}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      size += chunk.length;
      if (size > (options.maxBytes ?? 50 * 1024 * 1024)) throw new Error(`Downloading ${url}: larger than ${options.maxBytes ?? 50 * 1024 * 1024} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (/larger than/.test((error as Error).message)) throw error;
    throw new TransientDownloadError(`Downloading ${url} failed: the transfer was cut short after ${size} bytes (${(error as Error).message})`);
  }
  const expected = Number(res.headers['content-length']);
  if (Number.isFinite(expected) && size < expected) throw new TransientDownloadError(`Downloading ${url} failed: the transfer was cut short after ${size} of ${expected} bytes`);
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
