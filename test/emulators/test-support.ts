// Small things the emulator tests share.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Retries that keep throttling/5xx tests in milliseconds (the SDK default base delay is 1 s). */
export const fastRetries = { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 };

/** LRO polling every 5 ms instead of 2 s. */
export const fastPolling = { updateIntervalInMs: 5 };

/** A self-signed certificate and its key, as a service connection's PEM holds them. */
export function selfSignedCertificate(commonName = 'service-principal'): { certPem: string; keyPem: string; pem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', `/CN=${commonName}`], { cwd: dir, stdio: 'ignore' });
    const certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const keyPem = readFileSync(join(dir, 'key.pem'), 'utf8');
    return { certPem, keyPem, pem: `${keyPem}${certPem}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
