// The token issuer Azure DevOps uses for workload identity federation
// (https://vstoken.dev.azure.com/{organizationId}): a separate host in Azure, a separate loopback
// server here, with OIDC discovery and JWKS that Entra fetches to verify the assertion.
import { randomUUID } from 'node:crypto';
import { sendJson, startEmulatorServer, type EmulatorServer } from '../emulator-server.js';
import { createSigningKey, nowSeconds, signJwt } from '../jwt.js';

export interface OidcIssuer {
  /** e.g. https://127.0.0.1:41999/<organizationId> */
  issuer: string;
  mint(subject: string, audience: string, lifetimeSeconds: number, extraClaims?: Record<string, unknown>): { token: string; expiresOn: number };
  stop(): Promise<void>;
}

export async function startOidcIssuer(organizationId: string): Promise<OidcIssuer> {
  const key = createSigningKey();
  let issuer = '';
  const server: EmulatorServer = await startEmulatorServer({
    name: 'vstoken',
    handler: (request, response) => {
      if (request.method === 'GET' && request.path === `/${organizationId}/.well-known/openid-configuration`) {
        return sendJson(response, 200, {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks`,
          subject_types_supported: ['public'],
          response_types_supported: ['id_token'],
          claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'nbf'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid'],
        });
      }
      if (request.method === 'GET' && request.path === `/${organizationId}/.well-known/jwks`) {
        return sendJson(response, 200, { keys: [key.jwk] });
      }
      sendJson(response, 404, { message: 'Not found' });
    },
  });
  issuer = `${server.url}/${organizationId}`;
  return {
    issuer,
    mint(subject, audience, lifetimeSeconds, extraClaims = {}) {
      const iat = nowSeconds();
      const expiresOn = iat + lifetimeSeconds;
      const token = signJwt({ jti: randomUUID(), sub: subject, aud: audience, iss: issuer, nbf: iat, exp: expiresOn, iat, ...extraClaims }, key);
      return { token, expiresOn };
    },
    stop: () => server.stop(),
  };
}
