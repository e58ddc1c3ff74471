import { createHmac, randomBytes, X509Certificate } from 'node:crypto';
import { parseDocument } from 'yaml';
import type { KubeObject } from '../kube/objects';
import { sealSecret, type SecretToSeal } from '../sealed-secrets/seal';
import type { Sealing } from './system';

/**
 * Sealing is randomised, so sealing the same value twice gives a different file. To keep a re-run
 * from committing new ciphertext every time, each SealedSecret carries a salted HMAC of what was
 * sealed (values, certificate, scope, name): the existing file is kept when the HMAC of today's
 * values matches. The HMAC is one-way and salted, and the values are high-entropy tokens, so
 * it tells nothing about them; it changes when a value, the certificate or the scope does.
 */
export const SEALED_FROM = 'aks-gitops.io/sealed-from';

function digest(salt: string, secret: SecretToSeal, sealing: Sealing): string {
  const values = Object.entries(secret.stringData ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const fingerprint = new X509Certificate(sealing.certPem).fingerprint256;
  return createHmac('sha256', salt).update(JSON.stringify([secret.namespace, secret.name, sealing.scope, fingerprint, values])).digest('base64url');
}

/** The SealedSecret of a secret: the previous one when it seals the same values, else a new sealing. */
export function sealedOrKept(secret: SecretToSeal, sealing: Sealing, previousYaml: string | undefined): KubeObject {
  const previous = previousYaml ? parsePrevious(previousYaml) : undefined;
  const stamp = previous?.metadata.annotations?.[SEALED_FROM];
  const [salt, mac] = stamp?.split(':') ?? [];
  if (previous && salt && mac && digest(salt, secret, sealing) === mac) return previous;
  const fresh = sealSecret(secret, sealing.certPem, sealing.scope) as KubeObject;
  const newSalt = randomBytes(12).toString('base64url');
  // On the SealedSecret only: the unsealed Secret's metadata comes from spec.template.
  fresh.metadata = { ...fresh.metadata, annotations: { ...(fresh.metadata.annotations ?? {}), [SEALED_FROM]: `${newSalt}:${digest(newSalt, secret, sealing)}` } };
  return fresh;
}

function parsePrevious(text: string): KubeObject | undefined {
  try {
    const o = parseDocument(text).toJS() as KubeObject | null;
    return o?.kind === 'SealedSecret' ? o : undefined;
  } catch {
    return undefined;
  }
}
