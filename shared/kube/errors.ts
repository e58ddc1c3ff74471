/** An error from the Kubernetes API, naming the object and the API server's reason. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly apiMessage: string,
    readonly ref?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${ref ? `${ref}: ` : ''}${reason}${apiMessage ? `: ${apiMessage}` : ''}`);
  }

  /** The same error with a note added to the server's message. */
  withNote(note: string): KubeApiError {
    return new KubeApiError(this.status, this.reason, `${this.apiMessage}${note}`, this.ref, this.retryAfterSeconds);
  }

  /** The same error, attributed to an object. */
  about(ref: string): KubeApiError {
    return new KubeApiError(this.status, this.reason, this.apiMessage, ref, this.retryAfterSeconds);
  }

  static fromResponse(status: number, body: string, retryAfter?: string): KubeApiError {
    let reason = STATUS_REASONS[status] ?? `HTTP ${status}`;
    let message = '';
    try {
      const s = JSON.parse(body) as { kind?: string; reason?: string; message?: string };
      if (s.kind === 'Status') {
        reason = s.reason || reason;
        message = s.message ?? '';
      }
    } catch {
      message = body.slice(0, 500).trim();
    }
    const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    return new KubeApiError(status, reason, message, undefined, seconds);
  }
}

const STATUS_REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 410: 'Gone',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/** Bad manifests: names the file (or URL) and the document number. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly origin: string,
    readonly document: number | undefined,
    problem: string,
  ) {
    super(`${origin}${document !== undefined ? `, document ${document}` : ''}: ${problem}`);
  }
}

/** Objects did not become ready in time; lists each one's last status message. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(
    readonly seconds: number,
    readonly pending: { ref: string; message: string }[],
  ) {
    super(`Timed out after ${seconds}s waiting for ${pending.length} object(s) to become ready:\n${pending.map((p) => `  ${p.ref}: ${p.message}`).join('\n')}`);
  }
}

/** An object reported a terminal failure while being waited for. */
export class ObjectFailedError extends Error {
  override readonly name = 'ObjectFailedError';
  constructor(
    readonly ref: string,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`${ref} failed: ${reason ? `${reason}: ` : ''}${detail}`);
  }
}
