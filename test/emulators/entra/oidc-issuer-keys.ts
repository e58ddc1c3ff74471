// How Entra trusts a federated issuer: OIDC discovery at <issuer>/.well-known/openid-configuration,
// then the JWKS at its jwks_uri, fetched over HTTPS. The emulator does the same over the network,
// so a federated assertion is only accepted when its issuer really publishes the signing key.
import https from 'node:https';
import type { KeyObject } from 'node:crypto';
import { publicKeyFromJwk, type JsonObject } from '../jwt.js';

function getJson(url: string, caPem: string): Promise<JsonObject> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca: caPem, headers: { Accept: 'application/json' }, timeout: 5000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if ((response.statusCode ?? 500) >= 300) {
          reject(new Error(`GET ${url} answered ${response.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject);
        } catch (error) {
          reject(error);
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

export class OidcIssuerKeys {
  private readonly cache = new Map<string, Map<string, KeyObject>>();

  constructor(private readonly caPem: string) {}

  /** The issuer's public key for `kid`; refetches once when the key is unknown (key rotation). */
  async key(issuer: string, kid: string): Promise<KeyObject | undefined> {
    const cached = this.cache.get(issuer)?.get(kid);
    if (cached) return cached;
    const keys = await this.fetchKeys(issuer);
    this.cache.set(issuer, keys);
    return keys.get(kid);
  }

  private async fetchKeys(issuer: string): Promise<Map<string, KeyObject>> {
    const discovery = await getJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, this.caPem);
    if (discovery.issuer !== issuer) throw new Error(`discovery document of ${issuer} names issuer ${String(discovery.issuer)}`);
    const jwks = await getJson(String(discovery.jwks_uri), this.caPem);
    const keys = new Map<string, KeyObject>();
    for (const jwk of (jwks.keys as JsonObject[] | undefined) ?? []) {
      if (typeof jwk.kid === 'string') keys.set(jwk.kid, publicKeyFromJwk(jwk));
    }
    return keys;
  }
}
