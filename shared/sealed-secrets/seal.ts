import { constants, createCipheriv, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { publicKeyOf } from './key-pair';

export type SealingScope = 'strict' | 'namespace-wide' | 'cluster-wide';

const NAMESPACE_WIDE = 'sealedsecrets.bitnami.com/namespace-wide';
const CLUSTER_WIDE = 'sealedsecrets.bitnami.com/cluster-wide';

/** The OAEP label that binds a sealed value to its scope, as the controller computes it. */
export function labelFor(scope: SealingScope, namespace: string, name: string): Buffer {
  if (scope === 'cluster-wide') return Buffer.alloc(0);
  if (scope === 'namespace-wide') return Buffer.from(namespace);
  return Buffer.from(`${namespace}/${name}`);
}

/**
 * Encrypts one value the way kubeseal does (pkg/crypto HybridEncrypt): a random AES-256 session
 * key, RSA-OAEP(SHA-256) encrypted with the scope label; the value sealed with AES-GCM under a
 * zero nonce (safe: each session key is used once); output = uint16 length of the RSA part,
 * the RSA part, the GCM ciphertext and tag; base64.
 */
export function encryptValue(publicKey: KeyObject, value: Buffer, label: Buffer): string {
  const sessionKey = randomBytes(32);
  const rsa = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, sessionKey);
  const cipher = createCipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
  const body = Buffer.concat([cipher.update(value), cipher.final(), cipher.getAuthTag()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(rsa.length);
  return Buffer.concat([length, rsa, body]).toString('base64');
}

export interface SecretToSeal {
  name: string;
  namespace: string;
  type?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Plain values (what stringData holds). */
  stringData?: Record<string, string>;
  /** Binary values. */
  data?: Record<string, Buffer>;
}

/** A SealedSecret (bitnami.com/v1alpha1) for the secret, as kubeseal would write it. */
export function sealSecret(secret: SecretToSeal, certPem: string, scope: SealingScope = 'strict') {
  const publicKey = publicKeyOf(certPem);
  const label = labelFor(scope, secret.namespace, secret.name);
  const encryptedData: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) encryptedData[k] = encryptValue(publicKey, v, label);
  for (const [k, v] of Object.entries(secret.stringData ?? {})) encryptedData[k] = encryptValue(publicKey, Buffer.from(v, 'utf8'), label);
  // The controller derives the label from the SealedSecret's own annotations, so they must be there.
  const annotations = { ...(secret.annotations ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  if (scope === 'namespace-wide') annotations[NAMESPACE_WIDE] = 'true';
  if (scope === 'cluster-wide') annotations[CLUSTER_WIDE] = 'true';
  const metadata = {
    name: secret.name,
    namespace: secret.namespace,
    ...(Object.keys(annotations).length ? { annotations } : {}),
    ...(secret.labels ? { labels: secret.labels } : {}),
  };
  return {
    apiVersion: 'bitnami.com/v1alpha1',
    kind: 'SealedSecret',
    metadata,
    spec: {
      encryptedData: Object.fromEntries(Object.entries(encryptedData).sort(([a], [b]) => a.localeCompare(b))),
      template: { metadata, type: secret.type ?? 'Opaque' },
    },
  };
}
