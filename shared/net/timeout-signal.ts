/** A signal that aborts after a time or with its parent, and the means to stop its timer. */
export interface TimeoutSignal {
  readonly signal: AbortSignal;
  /** Stops the timer and lets go of the parent; call it once the work is done. */
  clear(): void;
}

/**
 * `parent`, or a timeout of `ms`, whichever comes first. Not `AbortSignal.any([parent,
 * AbortSignal.timeout(ms)])`: Node 20 holds a timeout signal inside `any()` only weakly, so a
 * garbage collection before it fires loses the timeout for good (nodejs/node#57736). Here the
 * timer holds the controller, and the parent's listener holds it too.
 */
export function timeoutSignal(ms: number, parent?: AbortSignal): TimeoutSignal {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  // As AbortSignal.timeout: a timer alone does not keep the process running.
  timer.unref();
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
