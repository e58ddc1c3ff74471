// Entra ID's token endpoint error body, as MSAL parses it (error, error_description with the
// AADSTS code first, error_codes). Messages are the service's own wording.
import { randomUUID } from 'node:crypto';

export interface AadstsError {
  status: number;
  body: {
    error: string;
    error_description: string;
    error_codes: number[];
    timestamp: string;
    trace_id: string;
    correlation_id: string;
    error_uri: string;
  };
}

function aadsts(status: number, error: string, code: number, message: string, correlationId = randomUUID()): AadstsError {
  const traceId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

export const aadstsErrors = {
  tenantNotFound: (tenant: string) =>
    aadsts(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`),
  missingParameter: (name: string) =>
    aadsts(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  unsupportedGrantType: (grant: string) =>
    aadsts(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`),
  applicationNotFound: (clientId: string, tenant: string) =>
    aadsts(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`),
  missingClientCredential: () =>
    aadsts(401, 'invalid_client', 7000216, `'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.`),
  invalidClientSecret: (clientId: string) =>
    aadsts(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`),
  invalidScope: (scope: string) =>
    aadsts(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`),
  resourceNotFound: (resource: string, tenant: string) =>
    aadsts(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`),
  malformedAssertion: () =>
    aadsts(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.'),
  unsupportedAssertionType: (type: string) =>
    aadsts(400, 'invalid_request', 50027, `Invalid client_assertion_type '${type}'.`),
  certificateNotRegistered: (clientId: string, thumbprint: string) =>
    aadsts(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployguide/graph-api-reference to learn how to configure keys for an application.]`),
  invalidAssertionSignature: () =>
    aadsts(401, 'invalid_client', 700027, 'Client assertion failed signature validation.'),
  invalidAssertionAudience: (audience: string) =>
    aadsts(401, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${audience}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`),
  certificateAssertionAudience: (audience: string) =>
    aadsts(401, 'invalid_client', 70021, `No matching federated identity record found for presented assertion. Assertion Issuer: '${audience}'.`),
  assertionClaimsMismatch: (clientId: string) =>
    aadsts(401, 'invalid_client', 50105, `The client assertion 'iss' and 'sub' claims must both be the client id '${clientId}'.`),
  assertionExpired: (now: number, nbf: number | undefined, exp: number | undefined) =>
    aadsts(400, 'invalid_client', 700024, `Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${nbf === undefined ? 'unknown' : iso(nbf)}, expiry time of assertion ${exp === undefined ? 'unknown' : iso(exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`),
  federatedIssuerNotFound: (issuer: string) =>
    aadsts(400, 'invalid_request', 700211, `No matching federated identity record found for presented assertion issuer '${issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`),
  federatedSubjectNotFound: (subject: string) =>
    aadsts(400, 'invalid_request', 700213, `No matching federated identity record found for presented assertion subject '${subject}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`),
  federatedKeysUnavailable: (issuer: string) =>
    aadsts(400, 'invalid_request', 50166, `Request to External OIDC endpoint failed. Issuer: '${issuer}'.`),
  federatedSignatureInvalid: (kid: string) =>
    aadsts(400, 'invalid_request', 5002738, `Invalid JWT token. No matching key found for kid '${kid}' in the issuer's signing keys, or the signature is invalid.`),
};

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}
