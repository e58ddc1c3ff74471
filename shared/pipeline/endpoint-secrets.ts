import { yamlLib } from './lazy-yaml';
import type { Endpoint } from './agent';
import type { SecretRegistry } from './secrets';

// Authorization parameters that identify rather than authenticate (the agent's own masker skips
// these too); everything else in a service connection is treated as secret.
const NOT_SECRET = new Set(['tenantid', 'role', 'scope', 'authenticationtype', 'authorizationtype', 'clustercontext', 'issuedat', 'expiresat', 'audience', 'serviceaccountcertificate', 'acceptuntrustedcerts']);

/** Registers every secret an endpoint carries, including the credentials inside a kubeconfig. */
export function registerEndpointSecrets(endpoint: Endpoint, secrets: SecretRegistry): void {
  for (const [key, value] of Object.entries(endpoint.authParams)) {
    const k = key.toLowerCase();
    if (NOT_SECRET.has(k) || !value) continue;
    if (k === 'kubeconfig') registerKubeconfigSecrets(value, secrets);
    else secrets.add(value);
  }
}

/**
 * A kubeconfig is multi-line and mostly not secret (masking "apiVersion: v1" would garble logs);
 * register the credentials it holds: tokens, passwords, client keys and certificates.
 */
export function registerKubeconfigSecrets(kubeconfig: string, secrets: SecretRegistry): void {
  let doc: { users?: { user?: Record<string, unknown> }[] } | undefined;
  try {
    doc = yamlLib().parse(kubeconfig) as typeof doc;
  } catch {
    // Unparseable: fall back to masking every line rather than risk printing a credential.
    secrets.add(kubeconfig);
    return;
  }
  for (const entry of doc?.users ?? []) {
    const user = entry?.user ?? {};
    for (const key of ['token', 'password', 'client-key-data', 'client-certificate-data']) {
      const v = user[key];
      if (typeof v === 'string') secrets.add(v);
    }
    const provider = user['auth-provider'] as { config?: Record<string, string> } | undefined;
    for (const key of ['access-token', 'refresh-token', 'client-secret', 'id-token']) {
      const v = provider?.config?.[key];
      if (v) secrets.add(v);
    }
  }
}
