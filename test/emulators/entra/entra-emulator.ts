// Entra ID (login.microsoftonline.com) as far as confidential clients and managed identities use
// it: OIDC discovery, the client-credentials token endpoint (secret, certificate assertion,
// federated assertion) and the IMDS managed-identity endpoint. Tokens are v1 access tokens signed
// with a key published in JWKS, so ARM and the Kubernetes API server can verify them for real.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { readEmulatorCa } from '../ca.js';
import { sendJson, startEmulatorServer, type EmulatorRequest, type EmulatorServer, type Fault, type RecordedRequest } from '../emulator-server.js';
import { certificateInfo, createSigningKey, decodeJwt, nowSeconds, signJwt, verifyJwtSignature, type DecodedJwt, type JsonObject } from '../jwt.js';
import { aadstsErrors, type AadstsError } from './aadsts-errors.js';
import { OidcIssuerKeys } from './oidc-issuer-keys.js';

/** The AKS AAD server application: tokens for an Entra-enabled cluster carry it as audience. */
export const AKS_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';
/** The Azure DevOps resource (app id), for service principals calling Azure DevOps. */
export const AZURE_DEVOPS_APP_ID = '499b84ac-1321-427f-aa17-267ca6975798';
export const FEDERATED_TOKEN_AUDIENCE = 'api://AzureADTokenExchange';

const defaultResources = [
  'https://management.azure.com',
  'https://management.core.windows.net',
  'https://graph.microsoft.com',
  AKS_SERVER_APP_ID,
  AZURE_DEVOPS_APP_ID,
];

export interface FederatedCredential {
  issuer: string;
  subject: string;
  /** Default: api://AzureADTokenExchange */
  audiences?: string[];
}

export interface EntraAppRegistration {
  tenantId: string;
  clientId: string;
  /** Object id of the service principal: the `oid` (and `sub`) of its tokens. Generated when absent. */
  objectId?: string;
  displayName?: string;
  secret?: string | string[];
  /** Certificate(s) registered on the app (PEM; only the certificate part is used). */
  certPem?: string | string[];
  federated?: FederatedCredential | FederatedCredential[];
  /** Entra groups the service principal is a member of (`groups` claim). */
  groups?: string[];
}

export interface EntraApp {
  tenantId: string;
  clientId: string;
  objectId: string;
  displayName: string;
  secrets: string[];
  certificates: string[];
  federated: FederatedCredential[];
  groups: string[];
}

export interface ManagedIdentityRegistration {
  tenantId: string;
  clientId: string;
  objectId?: string;
  /** ARM id of a user-assigned identity. */
  resourceId?: string;
  /** The VM's system-assigned identity: used when the request names no identity. */
  systemAssigned?: boolean;
  groups?: string[];
}

export type Grant = 'client_secret' | 'client_certificate' | 'federated_assertion' | 'managed_identity';

export interface IssuedToken {
  tenantId: string;
  clientId: string;
  resource: string;
  grant: Grant;
  /** CAE requests carry a `claims` parameter; the SDK pipeline sends one of each. */
  claimsRequested: boolean;
  expiresOn: number;
  token: string;
}

export type AccessTokenCheck =
  | { ok: true; claims: JsonObject }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'audience' | 'issuer'; claims?: JsonObject };

export interface EntraEmulatorOptions {
  /** Lifetime of issued access tokens (default 3599 s, like Entra's expires_in). */
  tokenLifetimeSeconds?: number;
  /** Tolerance after an assertion's `exp`. Entra allows minutes; the default 0 keeps expiry tests exact. */
  clockSkewSeconds?: number;
  /** CA used to reach federated issuers' discovery documents (default: the emulator CA). */
  trustedCaPem?: string;
}

export interface EntraEmulator {
  /** The authority host for @azure/identity (`authorityHost`), e.g. https://127.0.0.1:41000 */
  url: string;
  /** Base URL for IMDS (plain HTTP, as in Azure): set AZURE_POD_IDENTITY_AUTHORITY_HOST to it. */
  imdsUrl: string;
  requests: RecordedRequest[];
  issued: IssuedToken[];
  addTenant(tenantId: string): void;
  addApp(app: EntraAppRegistration): EntraApp;
  removeApp(tenantId: string, clientId: string): void;
  addManagedIdentity(identity: ManagedIdentityRegistration): ManagedIdentityRegistration & { objectId: string };
  /** Accept tokens for another resource (application ID URI or app id). */
  addResource(resource: string): void;
  setTokenLifetime(seconds: number): void;
  /** v1 issuer of access tokens for a tenant (what `iss` says and what an API server must trust). */
  issuer(tenantId: string): string;
  /** v2 issuer (the OIDC configuration MSAL reads). */
  v2Issuer(tenantId: string): string;
  jwks(): { keys: JsonObject[] };
  /** Mint a token directly (tests of expiry and audience checks in the other emulators). */
  issueToken(params: { tenantId: string; clientId: string; resource: string; lifetimeSeconds?: number }): string;
  verifyAccessToken(token: string, expectedAudiences: string[]): AccessTokenCheck;
  injectFault(fault: Fault): void;
  stop(): Promise<void>;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const NOT_BEFORE_SKEW_SECONDS = 300;

function toList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function normalizeResource(resource: string): string {
  return resource.replace(/\/+$/, '').toLowerCase();
}

export async function startEntraEmulator(options: EntraEmulatorOptions = {}): Promise<EntraEmulator> {
  const signingKey = createSigningKey();
  const tenants = new Map<string, Map<string, EntraApp>>();
  const managedIdentities: Array<ManagedIdentityRegistration & { objectId: string }> = [];
  const resources = new Set(defaultResources.map(normalizeResource));
  const issued: IssuedToken[] = [];
  const issuerKeys = new OidcIssuerKeys(options.trustedCaPem ?? readEmulatorCa().caPem);
  const skew = options.clockSkewSeconds ?? 0;
  let tokenLifetime = options.tokenLifetimeSeconds ?? 3599;
  let base = '';

  const tenantApps = (tenantId: string) => tenants.get(tenantId.toLowerCase());
  const issuer = (tenantId: string) => `${base}/${tenantId}/`;
  const v2Issuer = (tenantId: string) => `${base}/${tenantId}/v2.0`;

  function mint(params: { tenantId: string; clientId: string; objectId: string; resource: string; grant: Grant; groups: string[]; lifetime: number; extra?: JsonObject }): { token: string; iat: number; exp: number } {
    const iat = nowSeconds();
    const exp = iat + params.lifetime;
    const claims: JsonObject = {
      aud: params.resource,
      iss: issuer(params.tenantId),
      iat,
      nbf: iat,
      exp,
      aio: randomUUID().replace(/-/g, ''),
      appid: params.clientId,
      // 1 = client secret, 2 = certificate or assertion, 0 = none (managed identity)
      appidacr: params.grant === 'client_secret' ? '1' : params.grant === 'managed_identity' ? '0' : '2',
      idp: issuer(params.tenantId),
      idtyp: 'app',
      oid: params.objectId,
      rh: `0.${randomUUID().replace(/-/g, '')}.`,
      sub: params.objectId,
      tid: params.tenantId,
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      ver: '1.0',
      ...(params.groups.length ? { groups: params.groups } : {}),
      ...params.extra,
    };
    return { token: signJwt(claims, signingKey, { x5t: signingKey.kid }), iat, exp };
  }

  function fail(response: http.ServerResponse, error: AadstsError): void {
    sendJson(response, error.status, error.body, { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' });
  }

  function timeRangeError(jwt: DecodedJwt): AadstsError | undefined {
    const now = nowSeconds();
    const exp = typeof jwt.payload.exp === 'number' ? jwt.payload.exp : undefined;
    const nbf = typeof jwt.payload.nbf === 'number' ? jwt.payload.nbf : undefined;
    // Clients round "now" (MSAL: Math.round), so nbf may lie a second ahead; Entra allows minutes.
    if (exp === undefined || now > exp + skew || (nbf !== undefined && now + NOT_BEFORE_SKEW_SECONDS < nbf)) return aadstsErrors.assertionExpired(now, nbf, exp);
    return undefined;
  }

  async function authenticateClient(app: EntraApp, tenantId: string, form: URLSearchParams, tokenEndpoints: string[]): Promise<Grant | AadstsError> {
    const secret = form.get('client_secret');
    if (secret !== null) return app.secrets.includes(secret) ? 'client_secret' : aadstsErrors.invalidClientSecret(app.clientId);

    const assertion = form.get('client_assertion');
    if (assertion === null) return aadstsErrors.missingClientCredential();
    const assertionType = form.get('client_assertion_type') ?? '';
    if (assertionType !== JWT_BEARER) return aadstsErrors.unsupportedAssertionType(assertionType);
    const jwt = decodeJwt(assertion);
    if (!jwt) return aadstsErrors.malformedAssertion();

    const federatedIssuer = typeof jwt.payload.iss === 'string' ? jwt.payload.iss : '';
    const signedByCertificate = jwt.header['x5t#S256'] !== undefined || jwt.header.x5t !== undefined || federatedIssuer === app.clientId;
    if (signedByCertificate) {
      const presented = String(jwt.header['x5t#S256'] ?? jwt.header.x5t ?? '');
      const certificate = app.certificates.map(certificateInfo).find((info) => info.x5tS256 === presented || info.x5t === presented);
      if (!certificate) return aadstsErrors.certificateNotRegistered(app.clientId, presented);
      if (!verifyJwtSignature(jwt, certificate.publicKey)) return aadstsErrors.invalidAssertionSignature();
      if (jwt.payload.iss !== app.clientId || jwt.payload.sub !== app.clientId) return aadstsErrors.assertionClaimsMismatch(app.clientId);
      const audiences = toList(jwt.payload.aud as string | string[] | undefined);
      if (!audiences.some((audience) => tokenEndpoints.includes(audience) || audience === `${base}/${tenantId}`)) {
        return aadstsErrors.certificateAssertionAudience(audiences.join(','));
      }
      return timeRangeError(jwt) ?? 'client_certificate';
    }

    const byIssuer = app.federated.filter((credential) => credential.issuer === federatedIssuer);
    if (byIssuer.length === 0) return aadstsErrors.federatedIssuerNotFound(federatedIssuer);
    const subject = String(jwt.payload.sub ?? '');
    const bySubject = byIssuer.filter((credential) => credential.subject === subject);
    if (bySubject.length === 0) return aadstsErrors.federatedSubjectNotFound(subject);
    const audiences = toList(jwt.payload.aud as string | string[] | undefined);
    if (!bySubject.some((credential) => (credential.audiences ?? [FEDERATED_TOKEN_AUDIENCE]).some((audience) => audiences.includes(audience)))) {
      return aadstsErrors.invalidAssertionAudience(audiences.join(','));
    }
    const kid = String(jwt.header.kid ?? '');
    let key;
    try {
      key = await issuerKeys.key(federatedIssuer, kid);
    } catch {
      return aadstsErrors.federatedKeysUnavailable(federatedIssuer);
    }
    if (!key || !verifyJwtSignature(jwt, key)) return aadstsErrors.federatedSignatureInvalid(kid);
    return timeRangeError(jwt) ?? 'federated_assertion';
  }

  async function tokenEndpoint(request: EmulatorRequest, response: http.ServerResponse, tenantId: string, v2: boolean): Promise<void> {
    const apps = tenantApps(tenantId);
    if (!apps) return fail(response, aadstsErrors.tenantNotFound(tenantId));
    const form = new URLSearchParams(request.body.toString('utf8'));
    const grantType = form.get('grant_type');
    if (!grantType) return fail(response, aadstsErrors.missingParameter('grant_type'));
    if (grantType !== 'client_credentials') return fail(response, aadstsErrors.unsupportedGrantType(grantType));
    const clientId = form.get('client_id');
    if (!clientId) return fail(response, aadstsErrors.missingParameter('client_id'));

    let resource: string;
    if (v2) {
      const scope = form.get('scope');
      if (!scope) return fail(response, aadstsErrors.missingParameter('scope'));
      const scopes = scope.split(' ').filter(Boolean);
      if (scopes.length !== 1 || !scopes[0].endsWith('/.default')) return fail(response, aadstsErrors.invalidScope(scope));
      resource = scopes[0].slice(0, -'/.default'.length);
    } else {
      resource = form.get('resource') ?? '';
      if (!resource) return fail(response, aadstsErrors.missingParameter('resource'));
    }

    const app = apps.get(clientId.toLowerCase());
    if (!app) return fail(response, aadstsErrors.applicationNotFound(clientId, tenantId));
    if (!resources.has(normalizeResource(resource))) return fail(response, aadstsErrors.resourceNotFound(resource, tenantId));

    const endpoints = [`${base}/${tenantId}/oauth2/v2.0/token`, `${base}/${tenantId}/oauth2/token`];
    const grant = await authenticateClient(app, tenantId, form, endpoints);
    if (typeof grant !== 'string') return fail(response, grant);

    const { token, iat, exp } = mint({ tenantId: app.tenantId, clientId: app.clientId, objectId: app.objectId, resource, grant, groups: app.groups, lifetime: tokenLifetime });
    issued.push({ tenantId: app.tenantId, clientId: app.clientId, resource, grant, claimsRequested: form.has('claims'), expiresOn: exp, token });
    const body: JsonObject = { token_type: 'Bearer', expires_in: exp - iat, ext_expires_in: exp - iat, access_token: token };
    if (!v2) Object.assign(body, { expires_on: String(exp), not_before: String(iat), resource });
    sendJson(response, 200, body, { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' });
  }

  /** Endpoints under the name the client used (Entra answers login.microsoftonline.com and its aliases alike); the issuer stays the tenant's. */
  function openIdConfiguration(tenantId: string, v2: boolean, host: string | undefined): JsonObject {
    const origin = host ? `https://${host}` : base;
    const prefix = `${origin}/${tenantId}`;
    return v2
      ? {
          token_endpoint: `${prefix}/oauth2/v2.0/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          jwks_uri: `${prefix}/discovery/v2.0/keys`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          // Under the name asked for, as Entra's own hosts answer: MSAL accepts only an issuer on the
          // authority's host (or a Microsoft one).
          issuer: `${origin}/${tenantId}/v2.0`,
          request_uri_parameter_supported: false,
          userinfo_endpoint: `${origin}/oidc/userinfo`,
          authorization_endpoint: `${prefix}/oauth2/v2.0/authorize`,
          device_authorization_endpoint: `${prefix}/oauth2/v2.0/devicecode`,
          end_session_endpoint: `${prefix}/oauth2/v2.0/logout`,
          claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'oid', 'tid', 'ver'],
          tenant_region_scope: 'EU',
          cloud_instance_name: 'microsoftonline.com',
          cloud_graph_host_name: 'graph.windows.net',
          msgraph_host: 'graph.microsoft.com',
        }
      : {
          token_endpoint: `${prefix}/oauth2/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          jwks_uri: `${origin}/common/discovery/keys`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
          scopes_supported: ['openid'],
          issuer: issuer(tenantId),
          authorization_endpoint: `${prefix}/oauth2/authorize`,
          claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'oid', 'tid', 'ver', 'groups'],
        };
  }

  const server: EmulatorServer = await startEmulatorServer({
    name: 'entra',
    handler: async (request, response) => {
      const segments = request.path.split('/').filter(Boolean);
      const [tenantId, ...rest] = segments;
      const route = rest.join('/');

      if (request.method === 'GET' && (route === 'discovery/keys' || route === 'discovery/v2.0/keys')) {
        return sendJson(response, 200, { keys: [signingKey.jwk] });
      }
      if (request.method === 'GET' && (route === 'v2.0/.well-known/openid-configuration' || route === '.well-known/openid-configuration')) {
        if (!tenantId || !tenantApps(tenantId)) return fail(response, aadstsErrors.tenantNotFound(tenantId ?? ''));
        return sendJson(response, 200, openIdConfiguration(tenantId, route.startsWith('v2.0'), request.headers.host));
      }
      if (request.method === 'POST' && (route === 'oauth2/v2.0/token' || route === 'oauth2/token')) {
        return tokenEndpoint(request, response, tenantId, route.startsWith('oauth2/v2.0'));
      }
      sendJson(response, 404, { error: 'not_found', error_description: `No route for ${request.method} ${request.path}` });
    },
  });
  base = server.url;

  // IMDS, as a VM's agent reaches it (http://169.254.169.254 in Azure; redirected here with
  // AZURE_POD_IDENTITY_AUTHORITY_HOST, which MSAL honours for the IMDS source).
  const imds: EmulatorServer = await startEmulatorServer({
    name: 'imds',
    insecure: true,
    handler: (request, response) => {
      if (request.path.replace(/\/$/, '') !== '/metadata/identity/oauth2/token' || request.method !== 'GET') {
        return sendJson(response, 404, { error: 'not_found', error_description: 'Not found' });
      }
      if (request.headers.metadata !== 'true') {
        return sendJson(response, 400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
      }
      const resource = request.query.get('resource');
      if (!resource) return sendJson(response, 400, { error: 'invalid_request', error_description: "Required query variable 'resource' is missing" });
      const clientId = request.query.get('client_id');
      const objectId = request.query.get('object_id');
      const resourceId = request.query.get('msi_res_id') ?? request.query.get('mi_res_id');
      const identity = managedIdentities.find((candidate) =>
        clientId ? candidate.clientId === clientId
          : objectId ? candidate.objectId === objectId
            : resourceId ? candidate.resourceId?.toLowerCase() === resourceId.toLowerCase()
              : candidate.systemAssigned);
      if (!identity) return sendJson(response, 400, { error: 'invalid_request', error_description: 'Identity not found' });
      if (!resources.has(normalizeResource(resource))) {
        const error = aadstsErrors.resourceNotFound(resource, identity.tenantId);
        return sendJson(response, 400, { error: error.body.error, error_description: error.body.error_description });
      }
      const { token, iat, exp } = mint({
        tenantId: identity.tenantId, clientId: identity.clientId, objectId: identity.objectId, resource, grant: 'managed_identity',
        groups: identity.groups ?? [], lifetime: tokenLifetime, extra: identity.resourceId ? { xms_mirid: identity.resourceId } : {},
      });
      issued.push({ tenantId: identity.tenantId, clientId: identity.clientId, resource, grant: 'managed_identity', claimsRequested: false, expiresOn: exp, token });
      sendJson(response, 200, {
        access_token: token, client_id: identity.clientId, expires_in: String(exp - iat), expires_on: String(exp),
        ext_expires_in: String(exp - iat), not_before: String(iat), resource, token_type: 'Bearer',
      });
    },
  });

  const emulator: EntraEmulator = {
    url: server.url,
    imdsUrl: imds.url,
    requests: server.requests,
    issued,
    addTenant(tenantId) {
      if (!tenants.has(tenantId.toLowerCase())) tenants.set(tenantId.toLowerCase(), new Map());
    },
    addApp(registration) {
      emulator.addTenant(registration.tenantId);
      const app: EntraApp = {
        tenantId: registration.tenantId,
        clientId: registration.clientId,
        objectId: registration.objectId ?? randomUUID(),
        displayName: registration.displayName ?? registration.clientId,
        secrets: toList(registration.secret),
        certificates: toList(registration.certPem),
        federated: toList(registration.federated),
        groups: registration.groups ?? [],
      };
      tenantApps(registration.tenantId)!.set(registration.clientId.toLowerCase(), app);
      return app;
    },
    removeApp(tenantId, clientId) {
      tenantApps(tenantId)?.delete(clientId.toLowerCase());
    },
    addManagedIdentity(registration) {
      emulator.addTenant(registration.tenantId);
      const identity = { ...registration, objectId: registration.objectId ?? randomUUID() };
      managedIdentities.push(identity);
      return identity;
    },
    addResource(resource) {
      resources.add(normalizeResource(resource));
    },
    setTokenLifetime(seconds) {
      tokenLifetime = seconds;
    },
    issuer,
    v2Issuer,
    jwks: () => ({ keys: [signingKey.jwk] }),
    issueToken({ tenantId, clientId, resource, lifetimeSeconds }) {
      const app = tenantApps(tenantId)?.get(clientId.toLowerCase());
      return mint({
        tenantId, clientId, objectId: app?.objectId ?? randomUUID(), resource, grant: 'client_secret', groups: app?.groups ?? [],
        lifetime: lifetimeSeconds ?? tokenLifetime,
      }).token;
    },
    verifyAccessToken(token, expectedAudiences) {
      const jwt = decodeJwt(token);
      if (!jwt) return { ok: false, reason: 'malformed' };
      const claims = jwt.payload;
      if (jwt.header.kid !== signingKey.kid || !verifyJwtSignature(jwt, signingKey.publicKey)) return { ok: false, reason: 'signature', claims };
      if (typeof claims.tid !== 'string' || claims.iss !== issuer(claims.tid)) return { ok: false, reason: 'issuer', claims };
      if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds()) return { ok: false, reason: 'expired', claims };
      const wanted = expectedAudiences.map((audience) => audience.toLowerCase());
      if (!wanted.includes(String(claims.aud).toLowerCase())) return { ok: false, reason: 'audience', claims };
      return { ok: true, claims };
    },
    injectFault: (fault) => server.faults.add(fault),
    async stop() {
      await Promise.all([server.stop(), imds.stop()]);
    },
  };
  return emulator;
}
