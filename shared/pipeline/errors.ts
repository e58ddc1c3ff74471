/** Bad input: names the input, says what is wrong and what was expected. Raised before any change. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly input: string,
    readonly problem: string,
    readonly expected?: string,
  ) {
    super(`Input '${input}': ${problem}${expected ? `. Expected ${expected}.` : '.'}`);
  }
}

/**
 * A failure the user can act on: what happened, and what to do next. Tasks throw these for
 * known situations (a missing permission, a cluster that is not managed by this extension, ...).
 */
export class TaskError extends Error {
  override readonly name = 'TaskError';
  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Raised when a capability is designed in task.json but not in this version of the task. */
export class NotYetSupportedError extends TaskError {
  constructor(task: string, what: string) {
    super(
      `${task} validated its inputs, but this version of the extension cannot ${what} yet. Nothing was changed.`,
      'Pin the task to a version that supports it once released, or keep the equivalent script step for now.',
    );
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
}
