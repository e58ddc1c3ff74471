import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh RSA key and self-signed certificate (PEM), made with openssl as a user would. */
export function makeKeyPair(options: { days?: number; bits?: number; subject?: string } = {}): { keyPem: string; certPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'keypair-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', `rsa:${options.bits ?? 2048}`, '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'),
      '-days', String(options.days ?? 365), '-subj', options.subject ?? '/CN=sealed-secret/O=sealed-secret',
    ], { stdio: 'ignore' });
    return { keyPem: readFileSync(join(dir, 'tls.key'), 'utf8'), certPem: readFileSync(join(dir, 'tls.crt'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Every form of a secret a test must not find in visible output. */
export function forbiddenForms(secret: string): string[] {
  const forms = [secret, b64(secret)];
  if (secret.includes('\n')) {
    forms.push(...secret.split('\n').map((l) => l.trim()).filter((l) => l.length >= 6 && !l.startsWith('-----')));
  }
  return forms;
}
