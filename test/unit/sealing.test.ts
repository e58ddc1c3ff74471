import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyPairError, checkKeyPair } from '../../shared/sealed-secrets/key-pair';
import { keySecret } from '../../shared/sealed-secrets/key-secret';
import { sealSecret, type SealingScope } from '../../shared/sealed-secrets/seal';
import { makeKeyPair } from '../agent/fixtures';
import { platformBinaries } from '../platform/binaries';

const dir = mkdtempSync(join(tmpdir(), 'sealing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pair = makeKeyPair({ bits: 2048 });

/** Unseals offline with the real kubeseal and the private key, as in a disaster recovery. */
function kubesealUnseal(sealed: object): { ok: boolean; secret?: { data: Record<string, string> }; error: string } {
  const keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, pair.keyPem);
  const r = spawnSync(platformBinaries(['kubeseal']).kubeseal, ['--recovery-unseal', '--recovery-private-key', keyFile, '-o', 'yaml'], { input: JSON.stringify(sealed), encoding: 'utf8' });
  return { ok: r.status === 0, secret: r.status === 0 ? parse(r.stdout) : undefined, error: r.stderr };
}

describe('sealing, checked by the real kubeseal', () => {
  it.each<SealingScope>(['strict', 'namespace-wide', 'cluster-wide'])('%s scope unseals to the original values', (scope) => {
    const sealed = sealSecret({ name: 'git-auth', namespace: 'team-a', stringData: { username: 'flux', password: 'p@ss wörd' }, data: { bin: Buffer.from([0, 1, 2, 255]) } }, pair.certPem, scope);
    const out = kubesealUnseal(sealed);
    expect(out.error).toBe('');
    expect(Buffer.from(out.secret!.data.password, 'base64').toString('utf8')).toBe('p@ss wörd');
    expect(Buffer.from(out.secret!.data.username, 'base64').toString('utf8')).toBe('flux');
    expect([...Buffer.from(out.secret!.data.bin, 'base64')]).toEqual([0, 1, 2, 255]);
  });

  it.each<[SealingScope, string, string, boolean]>([
    ['strict', 'team-a', 'other-name', false],
    ['strict', 'team-b', 'git-auth', false],
    ['namespace-wide', 'team-a', 'other-name', true],
    ['namespace-wide', 'team-b', 'git-auth', false],
    ['cluster-wide', 'team-b', 'other-name', true],
  ])('a %s secret moved to %s/%s unseals: %s', (scope, namespace, name, unseals) => {
    const sealed = sealSecret({ name: 'git-auth', namespace: 'team-a', stringData: { password: 'x' } }, pair.certPem, scope);
    const moved = { ...sealed, metadata: { ...sealed.metadata, name, namespace }, spec: { ...sealed.spec, template: { ...sealed.spec.template, metadata: { ...sealed.spec.template.metadata, name, namespace } } } };
    const out = kubesealUnseal(moved);
    expect(out.ok).toBe(unseals);
    if (!unseals) expect(out.error).toContain('no key could decrypt secret');
  });
});

describe('key pair checks', () => {
  it('accepts a matching RSA pair and reports its fingerprint', () => {
    const facts = checkKeyPair(pair.certPem, pair.keyPem);
    expect(facts.bits).toBe(2048);
    expect(facts.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(facts.warnings).toEqual([]);
  });

  it('refuses a certificate that belongs to another key', () => {
    const other = makeKeyPair({ bits: 2048 });
    expect(() => checkKeyPair(other.certPem, pair.keyPem)).toThrow(/does not belong to the private key/);
  });

  it('refuses a non-RSA key and a short RSA key', () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ec.key'), '-out', join(dir, 'ec.crt'), '-days', '30', '-subj', '/CN=ec'], { stdio: 'ignore' });
    expect(() => checkKeyPair(readFileSync(join(dir, 'ec.crt'), 'utf8'), readFileSync(join(dir, 'ec.key'), 'utf8'))).toThrow('The private key is EC; Sealed Secrets needs an RSA key');
    const small = makeKeyPair({ bits: 1024 });
    expect(() => checkKeyPair(small.certPem, small.keyPem)).toThrow('The RSA key has 1024 bits; at least 2048 are needed');
  });

  it('refuses an expired certificate and warns within 30 days of expiry', () => {
    const facts = checkKeyPair(pair.certPem, pair.keyPem);
    const soon = new Date(facts.notAfter.getTime() - 10 * 86_400_000);
    expect(checkKeyPair(pair.certPem, pair.keyPem, soon).warnings[0]).toMatch(/expires in \d+ day/);
    const later = new Date(facts.notAfter.getTime() + 86_400_000);
    expect(() => checkKeyPair(pair.certPem, pair.keyPem, later)).toThrow(KeyPairError);
    expect(() => checkKeyPair('garbage', pair.keyPem)).toThrow('The certificate is not a PEM X.509 certificate');
  });

  it('renders the key Secret the controller reads', () => {
    const s = keySecret(pair.certPem, pair.keyPem, 'kube-system');
    expect(s.type).toBe('kubernetes.io/tls');
    expect(s.metadata.labels['sealedsecrets.bitnami.com/sealed-secrets-key']).toBe('active');
    expect(s.metadata.name).toMatch(/^sealed-secrets-key-byok-[0-9a-f]{10}$/);
  });
});
