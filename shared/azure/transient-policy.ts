// Two failures the Azure SDK's own retry policy gives up on at once, though the service did not
// refuse anything: a 429 that came without Retry-After (throttling answered by a gateway or a
// proxy), and an answer whose body was cut off or stalled ("Error reading response as text").
// Both are sent again after a back-off; a cut-off answer only for a request safe to repeat, as the
// caller says: Resource Manager's verbs but POST and its credential reads (list*Credential), and
// every request of Entra ID's token flow (a second token is as good as the first).
import { setTimeout as wait } from 'node:timers/promises';
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

export interface TransientOptions {
  /** Tries after the first (default 4). */
  maxRetries?: number;
  /** First back-off; doubles each try (default 1 s, at most 16 s). */
  retryDelayInMs?: number;
  /** Whether a request whose answer was cut off may be sent again (default: every verb but POST). */
  repeatable?: (request: PipelineRequest) => boolean;
}

/** Resource Manager: every verb but POST is idempotent; the POSTs this extension makes read credentials. */
export const armRepeatable = (request: PipelineRequest) => request.method !== 'POST' || /\/list\w*Credentials?(\?|$)/i.test(new URL(request.url).pathname);

/** The body of the answer could not be read to its end: the connection dropped or stalled half-way. */
function isCutOff(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string } | undefined;
  return e?.name === 'RestError' && e.code === 'PARSE_ERROR' && /reading response/i.test(e.message ?? '');
}

export function transientPolicy(options: TransientOptions = {}): PipelinePolicy {
  const maxRetries = options.maxRetries ?? 4;
  const base = options.retryDelayInMs ?? 1000;
  const repeatable = options.repeatable ?? ((request: PipelineRequest) => request.method !== 'POST');
  return {
    name: 'transientPolicy',
    async sendRequest(request, next): Promise<PipelineResponse> {
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await next(request);
          if (response.status !== 429 || response.headers.get('retry-after') || attempt >= maxRetries) return response;
        } catch (error) {
          if (attempt >= maxRetries || request.abortSignal?.aborted || !isCutOff(error) || !repeatable(request)) throw error;
        }
        await wait(Math.min(16_000, base * 2 ** attempt), undefined, { signal: request.abortSignal as AbortSignal | undefined });
      }
    },
  };
}
