import { shortId } from './key-pair';

export const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';

/**
 * The Secret the controller reads its sealing key from: type kubernetes.io/tls, labelled active,
 * named after the certificate so a rotated key gets a new Secret and the old one stays to decrypt.
 */
export function keySecret(certPem: string, keyPem: string, namespace: string, prefix = 'sealed-secrets-key') {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${prefix}-byok-${shortId(certPem)}`,
      namespace,
      labels: { [KEY_LABEL]: 'active', 'app.kubernetes.io/managed-by': 'aks-gitops-tasks' },
    },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(certPem).toString('base64'),
      'tls.key': Buffer.from(keyPem).toString('base64'),
    },
  };
}
