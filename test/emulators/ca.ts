// The emulators speak HTTPS only, because the Azure SDKs refuse bearer tokens over plain HTTP.
// One CA signs one serving certificate for 127.0.0.1/localhost; every process that talks to an
// emulator trusts the CA through NODE_EXTRA_CA_CERTS, which Node reads only at process start.
// So this must be synchronous: vitest.config.ts calls it before any worker is forked.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface EmulatorCaFiles {
  /** CA certificate (PEM): the value for NODE_EXTRA_CA_CERTS. */
  caPath: string;
  /** Serving certificate for 127.0.0.1 and localhost, signed by the CA (PEM). */
  certPath: string;
  /** Private key of the serving certificate (PEM). */
  keyPath: string;
}

export interface EmulatorCaPems {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const emulatorCaDir = join(homedir(), '.cache', 'aks-gitops-tasks', 'emulator-ca');

function filesIn(dir: string): EmulatorCaFiles {
  return { caPath: join(dir, 'ca.pem'), certPath: join(dir, 'server.pem'), keyPath: join(dir, 'server-key.pem') };
}

const SERVER_NAMES = 'IP:127.0.0.1,DNS:localhost,DNS:*.azure.test';

function complete(files: EmulatorCaFiles): boolean {
  if (!(existsSync(files.caPath) && existsSync(files.certPath) && existsSync(files.keyPath))) return false;
  // A serving certificate from before the names were added is made anew.
  return (new X509Certificate(readFileSync(files.certPath)).subjectAltName ?? '').includes('*.azure.test');
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates the CA and serving certificate once (cached across runs) and returns their paths. */
export function ensureEmulatorCa(): EmulatorCaFiles {
  const files = filesIn(emulatorCaDir);
  if (complete(files)) return files;

  mkdirSync(join(emulatorCaDir, '..'), { recursive: true });
  // Built in a private folder and renamed into place, so concurrent first runs never see half a CA.
  const work = mkdtempSync(join(emulatorCaDir, '..', 'emulator-ca.tmp-'));
  try {
    writeFileSync(
      join(work, 'server.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        // *.azure.test: names only a test's forward proxy resolves (requests that skip it fail).
        `subjectAltName=${SERVER_NAMES}`,
      ].join('\n') + '\n',
    );
    openssl(work, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem',
      '-days', '3650', '-subj', '/CN=aks-gitops-tasks emulator CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    openssl(work, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr',
      '-subj', '/CN=127.0.0.1']);
    openssl(work, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
      '-out', 'server.pem', '-days', '3650', '-extfile', 'server.ext']);
    for (const leftover of ['server.csr', 'server.ext', 'ca.srl']) rmSync(join(work, leftover), { force: true });
    try {
      if (existsSync(emulatorCaDir)) {
        // An older CA (without today's names): set aside, then replaced whole.
        const old = `${emulatorCaDir}.old-${process.pid}-${Date.now()}`;
        renameSync(emulatorCaDir, old);
        rmSync(old, { recursive: true, force: true });
      }
      renameSync(work, emulatorCaDir);
    } catch (error) {
      // Another process won the race; its CA is as good as ours.
      if (!complete(files)) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!complete(files)) throw new Error(`emulator CA could not be created in ${emulatorCaDir}`);
  return files;
}

let cachedPems: EmulatorCaPems | undefined;

export function readEmulatorCa(): EmulatorCaPems {
  if (!cachedPems) {
    const files = ensureEmulatorCa();
    cachedPems = {
      caPem: readFileSync(files.caPath, 'utf8'),
      certPem: readFileSync(files.certPath, 'utf8'),
      keyPem: readFileSync(files.keyPath, 'utf8'),
    };
  }
  return cachedPems;
}

/**
 * The file to put in NODE_EXTRA_CA_CERTS. Node takes a single file there, and machines often
 * already point it at a corporate or system bundle; so the result is that bundle plus the
 * emulator CA (or the bundle itself when it already holds the CA).
 */
export function ensureEmulatorTrustBundle(previous: string | undefined = process.env.NODE_EXTRA_CA_CERTS): string {
  const { caPath } = ensureEmulatorCa();
  const caPem = readFileSync(caPath, 'utf8');
  if (!previous || previous === caPath) return caPath;
  let existing = '';
  try {
    existing = readFileSync(previous, 'utf8');
  } catch {
    return caPath;
  }
  if (existing.includes(caPem.trim())) return previous;
  const content = `${existing.trimEnd()}\n${caPem}`;
  const bundle = join(emulatorCaDir, `node-extra-ca-certs-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.pem`);
  if (!existsSync(bundle)) {
    const temporary = `${bundle}.${process.pid}.tmp`;
    writeFileSync(temporary, content);
    renameSync(temporary, bundle);
  }
  return bundle;
}
