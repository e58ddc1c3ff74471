// Azure DevOps calls that failed without being carried out are tried again a few times: a 429
// (throttled: the request was refused, so even a write is safe to send again), a call whose route
// could not be looked up (it was never sent) and, where the caller says the call is safe to
// repeat, 5xx answers and dropped connections.

const NETWORK = /\b(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN)\b|socket hang up/i;

export interface TransientRetryOptions {
  /** Also 5xx and dropped connections (the call is idempotent). */
  idempotent?: boolean;
  attempts?: number;
  baseDelayMs?: number;
  signal?: AbortSignal;
}

/** Whether an error of azure-devops-node-api (typed-rest-client) is worth another try. */
export function isTransient(error: unknown, idempotent: boolean): boolean {
  const e = error as { statusCode?: number; code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.statusCode === 429) return true;
  // The client found no route for the call, because the OPTIONS answer that lists the routes came
  // without its body: the call itself was never sent, so even a write is safe to try again.
  if (e.statusCode === undefined && /^Failed to find api location for area/.test(e.message ?? '')) return true;
  if (!idempotent) return false;
  return (e.statusCode !== undefined && e.statusCode >= 500 && e.statusCode !== 501) || NETWORK.test(`${e.code ?? ''} ${e.message ?? ''}`);
}

export async function retryTransient<T>(call: () => Promise<T>, o: TransientRetryOptions = {}): Promise<T> {
  const attempts = o.attempts ?? 5;
  for (let n = 1; ; n++) {
    try {
      return await call();
    } catch (error) {
      if (n >= attempts || o.signal?.aborted || !isTransient(error, o.idempotent ?? false)) throw error;
      const delay = (o.baseDelayMs ?? 500) * 2 ** (n - 1);
      await new Promise<void>((resolve) => setTimeout(resolve, delay));
    }
  }
}
