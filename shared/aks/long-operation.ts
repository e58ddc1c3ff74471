import type { OperationState, PollerLike } from '@azure/core-lro';
import { type TimeoutSignal, timeoutSignal } from '../net/timeout-signal';
import { TaskError } from '../pipeline/errors';
import { azureError } from './errors';

/** What a long operation needs from the caller: where to report, when to stop. */
export interface OperationContext {
  log: (line: string) => void;
  warn: (line: string) => void;
  progress: (percent: number, text: string) => void;
  /** Aborted when the pipeline cancels the step. */
  signal: AbortSignal;
  /** The user's timeout for everything Azure does in this run. */
  deadline: Deadline;
  /** How often to ask Azure about a running operation. */
  pollIntervalMs: number;
}

/** One timeout for the whole run, so that waiting twice (recreate) cannot double it. */
export class Deadline {
  private readonly at: number;
  constructor(readonly timeoutMs: number) {
    this.at = Date.now() + timeoutMs;
  }

  /** The cancel signal combined with what is left of the timeout; clear it once the wait ends. */
  signal(cancel: AbortSignal): TimeoutSignal {
    return timeoutSignal(Math.max(1, this.at - Date.now()), cancel);
  }

  get passed(): boolean {
    return Date.now() >= this.at;
  }
}

// How long AKS usually takes; only for the progress bar, which Azure gives no percentage for.
const TYPICAL_MS = { create: 8 * 60_000, update: 6 * 60_000, delete: 6 * 60_000, wait: 6 * 60_000 };
const REPORT_EVERY_MS = 30_000;
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

export const elapsed = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)}s` : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`);

/**
 * Reports progress of a running operation: at once, on a change of state and every 30 seconds.
 * The end is the caller's to report (done, or an error).
 */
export function progressReporter(what: string, kind: keyof typeof TYPICAL_MS, o: OperationContext): (status: string) => void {
  const started = Date.now();
  let last = started;
  let lastStatus = 'running';
  o.progress(0, `${what}: started`);
  return (status) => {
    const now = Date.now();
    if (TERMINAL.has(status) || (status === lastStatus && now - last < REPORT_EVERY_MS)) return;
    last = now;
    lastStatus = status;
    o.progress(Math.min(95, ((now - started) / TYPICAL_MS[kind]) * 100), `${what}: ${status}, ${elapsed(now - started)} elapsed`);
  };
}

/**
 * Runs an ARM long-running operation with the SDK's poller: progress while it runs, the user's
 * timeout, the pipeline's cancel, Azure's errors in words.
 */
export async function runLongOperation<T>(
  what: string,
  kind: 'create' | 'update' | 'delete',
  start: (options: { updateIntervalInMs: number; abortSignal: AbortSignal }) => PollerLike<OperationState<T>, T>,
  o: OperationContext,
): Promise<T> {
  const started = Date.now();
  const report = progressReporter(what, kind, o);
  const deadline = o.deadline.signal(o.signal);
  const abortSignal = deadline.signal;
  try {
    const poller = start({ updateIntervalInMs: o.pollIntervalMs, abortSignal });
    poller.onProgress((state) => report(state.status));
    const result = await poller.pollUntilDone({ abortSignal });
    o.progress(100, `${what}: done in ${elapsed(Date.now() - started)}`);
    return result;
  } catch (error) {
    throw stopReason(error, what, o) ?? azureError(error, what);
  } finally {
    deadline.clear();
  }
}

/** A timeout as a TaskError that says the operation goes on in Azure; undefined for anything else. */
export function stopReason(error: unknown, what: string, o: OperationContext): unknown {
  if (o.signal.aborted || !o.deadline.passed) return undefined;
  const ms = o.deadline.timeoutMs;
  const [n, unit] = ms % 60_000 ? [Math.round(ms / 1000), 'second'] : [ms / 60_000, 'minute'];
  const limit = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return new TaskError(
    `${what} did not finish within the timeout of ${limit} (input 'timeoutMinutes'); the operation goes on in Azure.`,
    'Run the step again to wait for it (it picks up where Azure is), or raise timeoutMinutes.',
    { cause: error },
  );
}
