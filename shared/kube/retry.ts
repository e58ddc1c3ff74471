import { KubeApiError } from './errors';

export interface RetryOptions {
  /** Give up when the next attempt would start after this many ms from the first. */
  deadlineMs: number;
  /** First back-off; doubles each attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Which errors are worth another try (default isRetryable). */
  retryable?: (error: unknown) => boolean;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

/**
 * Throttling, unavailable servers and dropped connections are worth another try; anything else is
 * final. A 500 is retried only when the server asks for it (Retry-After): server-side apply
 * reports a malformed object as a 500 "failed to create typed patch object".
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof KubeApiError) {
    return error.status === 429 || error.status === 502 || error.status === 503 || error.status === 504 || (error.status >= 500 && error.retryAfterSeconds !== undefined);
  }
  const e = error as { code?: string; message?: string } | undefined;
  return !!e && ((e.code !== undefined && NETWORK_CODES.has(e.code)) || /socket hang up/i.test(e.message ?? ''));
}

/** For reads, which change nothing: a 500 too (etcd timeouts and leader changes answer 500). */
export function isRetryableRead(error: unknown): boolean {
  return isRetryable(error) || (error instanceof KubeApiError && error.status === 500);
}

/**
 * A dry-run writes nothing either, so a 500 is worth another try, except the one server-side apply
 * gives a malformed object ("failed to create typed patch object"), which no retry mends.
 */
export function isRetryableDryRun(error: unknown): boolean {
  return isRetryable(error) || (error instanceof KubeApiError && error.status === 500 && !/typed (patch )?object|typed value/i.test(error.apiMessage));
}

export function delayBefore(attempt: number, error: unknown, options: RetryOptions): number {
  if (error instanceof KubeApiError && error.retryAfterSeconds !== undefined) return error.retryAfterSeconds * 1000;
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5000;
  const exp = Math.min(max, base * 2 ** attempt);
  return exp / 2 + Math.random() * (exp / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `attempt` until it succeeds, fails for good, or the deadline leaves no room for another try. */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions, signal?: AbortSignal, onRetry?: (error: unknown, delayMs: number, n: number) => void): Promise<T> {
  const started = Date.now();
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal?.aborted || !(options.retryable ?? isRetryable)(error)) throw error;
      const delay = delayBefore(n, error, options);
      if (Date.now() - started + delay > options.deadlineMs) {
        const note = ` (gave up after ${n + 1} attempts in ${Math.round((Date.now() - started) / 1000)}s)`;
        if (error instanceof KubeApiError) throw error.withNote(note);
        throw Object.assign(error as Error, { message: `${(error as Error).message}${note}` });
      }
      onRetry?.(error, delay, n + 1);
      await sleep(delay, signal);
    }
  }
}
