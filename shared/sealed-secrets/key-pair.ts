import { X509Certificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

export interface KeyPairFacts {
  /** SHA-256 fingerprint of the certificate (DER), colon-separated hex as openssl prints it. */
  fingerprint: string;
  notAfter: Date;
  bits: number;
  subject: string;
  warnings: string[];
}

/** A key pair that cannot be the sealing key; the message says what is wrong and what is expected. */
export class KeyPairError extends Error {
  override readonly name = 'KeyPairError';
}

/**
 * Checks a sealing key pair before anything is installed: both parse, the key is RSA of at least
 * 2048 bits, the certificate belongs to the key, and it has not expired (a warning within 30 days,
 * since kubeseal refuses an expired certificate).
 */
export function checkKeyPair(certPem: string, keyPem: string, now = new Date()): KeyPairFacts {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new KeyPairError(`The certificate is not a PEM X.509 certificate (${(error as Error).message}). Expected the tls.crt of the key pair.`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new KeyPairError('The private key is not a PEM private key. Expected the tls.key of the key pair (PKCS#1 or PKCS#8).');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new KeyPairError(`The private key is ${key.asymmetricKeyType?.toUpperCase() ?? 'not RSA'}; Sealed Secrets needs an RSA key (for example: openssl req -x509 -newkey rsa:4096 ...).`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new KeyPairError(`The RSA key has ${bits} bits; at least 2048 are needed (4096 recommended).`);
  if (!cert.checkPrivateKey(key)) {
    throw new KeyPairError(`The certificate (${cert.subject.replace(/\n/g, ', ')}, fingerprint ${cert.fingerprint256}) does not belong to the private key. Expected the certificate made from this key.`);
  }
  const notAfter = new Date(cert.validTo);
  if (notAfter <= now) {
    throw new KeyPairError(`The certificate expired on ${notAfter.toISOString()}; kubeseal refuses to seal with it. Make a new key pair, or renew the certificate for the same key.`);
  }
  const warnings: string[] = [];
  const days = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
  if (days < 30) warnings.push(`The sealing certificate expires in ${days} day(s), on ${notAfter.toISOString()}; renew it for the same key before then.`);
  return { fingerprint: cert.fingerprint256, notAfter, bits, subject: cert.subject.replace(/\n/g, ', '), warnings };
}

/** The public key of a certificate, for sealing. */
export function publicKeyOf(certPem: string): KeyObject {
  return createPublicKey(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }));
}

/** A short, stable id of a certificate, for naming its key Secret. */
export function shortId(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex').slice(0, 10);
}

/** Checks a sealing certificate on its own (what teams and RegisterSystem seal with): PEM X.509, RSA, not expired. */
export function checkCertificate(certPem: string, now = new Date()): Omit<KeyPairFacts, 'warnings'> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new KeyPairError(`The file is not a PEM X.509 certificate (${(error as Error).message}). Expected the sealing certificate (tls.crt of the Sealed Secrets key pair)`);
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'rsa') throw new KeyPairError(`The certificate's key is ${key.asymmetricKeyType?.toUpperCase() ?? 'not RSA'}; Sealed Secrets seals with RSA keys`);
  const notAfter = new Date(cert.validTo);
  if (notAfter <= now) throw new KeyPairError(`The certificate expired on ${notAfter.toISOString()}; kubeseal refuses to seal with it. Use the cluster's current certificate`);
  return { fingerprint: cert.fingerprint256, notAfter, bits: key.asymmetricKeyDetails?.modulusLength ?? 0, subject: cert.subject.replace(/\n/g, ', ') };
}
