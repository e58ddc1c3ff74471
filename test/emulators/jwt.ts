// Just enough JOSE for the emulators: RS256 tokens they mint, RS256/PS256 assertions they verify
// (MSAL signs certificate assertions with PS256), JWKS documents other parties verify against.
import { constants, createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';

export type JsonObject = Record<string, unknown>;

export function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Public JWK as published in a JWKS document. */
  jwk: JsonObject;
}

export function createSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = base64url(randomBytes(20));
  const exported = publicKey.export({ format: 'jwk' }) as JsonObject;
  // Entra publishes the same value as kid and x5t; clients pick the key by kid.
  return { kid, privateKey, publicKey, jwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid, x5t: kid, n: exported.n, e: exported.e } };
}

export function signJwt(payload: JsonObject, key: SigningKey, extraHeader: JsonObject = {}): string {
  const header = { typ: 'JWT', alg: 'RS256', kid: key.kid, ...extraHeader };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(signingInput), key.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

export interface DecodedJwt {
  header: JsonObject;
  payload: JsonObject;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as JsonObject;
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as JsonObject;
    if (typeof header !== 'object' || typeof payload !== 'object' || !header || !payload) return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
  } catch {
    return undefined;
  }
}

export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  switch (jwt.header.alg) {
    case 'RS256':
      return verify('sha256', data, publicKey, jwt.signature);
    case 'PS256':
      return verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, jwt.signature);
    default:
      return false;
  }
}

export function publicKeyFromJwk(jwk: JsonObject): KeyObject {
  return createPublicKey({ key: jwk as never, format: 'jwk' });
}

export interface CertificateInfo {
  publicKey: KeyObject;
  /** base64url SHA-1 of the DER certificate: the `x5t` header. */
  x5t: string;
  /** base64url SHA-256 of the DER certificate: the `x5t#S256` header. */
  x5tS256: string;
  /** Upper-case hex SHA-1, as Entra prints thumbprints. */
  thumbprintHex: string;
}

export function certificateInfo(certPem: string): CertificateInfo {
  const certificate = new X509Certificate(certPem);
  return {
    publicKey: certificate.publicKey,
    x5t: base64url(createHash('sha1').update(certificate.raw).digest()),
    x5tS256: base64url(createHash('sha256').update(certificate.raw).digest()),
    thumbprintHex: createHash('sha1').update(certificate.raw).digest('hex').toUpperCase(),
  };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
