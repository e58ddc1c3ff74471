// @azure/identity, unmodified, against the Entra ID emulator: every credential type the service
// connections use, and the failures Entra really answers with.
import { AzurePipelinesCredential, ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import * as azdev from 'azure-devops-node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevOpsEmulator, type DevOpsEmulator } from './devops/devops-emulator.js';
import { AKS_SERVER_APP_ID, startEntraEmulator, type EntraEmulator } from './entra/entra-emulator.js';
import { decodeJwtPayload, selfSignedCertificate, sleep } from './test-support.js';
import { trustEmulatorCa } from './trust-emulator-ca.js';

trustEmulatorCa();

const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ARM_SCOPE = 'https://management.azure.com/.default';

describe('Entra ID emulator', () => {
  let entra: EntraEmulator;
  let devops: DevOpsEmulator;
  const options = () => ({ authorityHost: entra.url, disableInstanceDiscovery: true });

  beforeAll(async () => {
    entra = await startEntraEmulator();
    devops = await startDevOpsEmulator();
  });
  afterAll(async () => {
    await devops?.stop();
    await entra?.stop();
  });

  it('serves the OIDC configuration MSAL validates (same host as the authority)', async () => {
    entra.addTenant(tenantId);
    const response = await fetch(`${entra.url}/${tenantId}/v2.0/.well-known/openid-configuration`);
    const configuration = await response.json() as Record<string, string>;
    for (const field of ['authorization_endpoint', 'token_endpoint', 'issuer', 'jwks_uri']) expect(configuration[field]).toMatch(new RegExp(`^${entra.url}/`));
    const v1 = await (await fetch(`${entra.url}/${tenantId}/.well-known/openid-configuration`)).json() as Record<string, string>;
    expect(v1.issuer).toBe(`${entra.url}/${tenantId}/`);
  });

  it('issues a signed access token for a client secret, with aud = resource and the app identity', async () => {
    const app = entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000001', secret: 'p@ss' });
    const token = await new ClientSecretCredential(tenantId, app.clientId, 'p@ss', options()).getToken(ARM_SCOPE);
    const claims = decodeJwtPayload(token.token);
    expect(claims).toMatchObject({ aud: 'https://management.azure.com', tid: tenantId, appid: app.clientId, oid: app.objectId, appidacr: '1', ver: '1.0', iss: entra.issuer(tenantId) });
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000_000);
    expect(entra.verifyAccessToken(token.token, ['https://management.azure.com']).ok).toBe(true);
    expect(entra.verifyAccessToken(token.token, [AKS_SERVER_APP_ID])).toMatchObject({ ok: false, reason: 'audience' });
  });

  it('rejects a wrong secret with AADSTS7000215 and an unknown client with AADSTS700016', async () => {
    entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000002', secret: 'right' });
    await expect(new ClientSecretCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000002', 'wrong', options()).getToken(ARM_SCOPE))
      .rejects.toThrow(/AADSTS7000215: Invalid client secret provided/);
    await expect(new ClientSecretCredential(tenantId, 'c0a0b8f0-0000-4000-8000-00000000dead', 'x', options()).getToken(ARM_SCOPE))
      .rejects.toThrow(/AADSTS700016: Application with identifier 'c0a0b8f0-0000-4000-8000-00000000dead' was not found/);
    await expect(new ClientSecretCredential('11111111-2222-3333-4444-555555555555', 'c', 'x', options()).getToken(ARM_SCOPE))
      .rejects.toThrow(/AADSTS90002|Tenant '11111111-2222-3333-4444-555555555555' not found|endpoints_resolution_error/);
  });

  it('rejects resources it does not know (AADSTS500011)', async () => {
    entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000003', secret: 's' });
    await expect(new ClientSecretCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000003', 's', options()).getToken('https://unknown.example/.default'))
      .rejects.toThrow(/AADSTS500011/);
  });

  it('verifies a certificate assertion (PS256, x5t#S256) against the registered certificate', async () => {
    const registered = selfSignedCertificate();
    const other = selfSignedCertificate('someone-else');
    entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000004', certPem: registered.certPem });
    const token = await new ClientCertificateCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000004', { certificate: registered.pem }, options()).getToken(`${AKS_SERVER_APP_ID}/.default`);
    expect(decodeJwtPayload(token.token)).toMatchObject({ aud: AKS_SERVER_APP_ID, appidacr: '2' });
    expect(entra.issued.at(-1)).toMatchObject({ grant: 'client_certificate', clientId: 'c0a0b8f0-0000-4000-8000-000000000004' });
    await expect(new ClientCertificateCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000004', { certificate: other.pem }, options()).getToken(ARM_SCOPE))
      .rejects.toThrow(/AADSTS700027/);
  });

  it('accepts an Azure DevOps OIDC token as federated assertion only for the registered issuer and subject', async () => {
    const project = devops.addProject({ name: 'platform' });
    const connection = devops.addServiceConnection({ name: 'aks-prod', project: 'platform' });
    const other = devops.addServiceConnection({ name: 'someone-else', project: 'platform' });
    entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000005', federated: { issuer: devops.oidcIssuer, subject: connection.subject } });
    const web = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler(devops.systemAccessToken));
    const taskApi = await web.getTaskApi();
    const assertionFor = (serviceConnectionId: string) => async () =>
      (await taskApi.createOidcToken({}, project.id, 'build', 'plan-1', 'job-1', serviceConnectionId)).oidcToken!;

    const token = await new ClientAssertionCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000005', assertionFor(connection.id), options()).getToken(ARM_SCOPE);
    expect(entra.verifyAccessToken(token.token, ['https://management.azure.com']).ok).toBe(true);
    expect(decodeJwtPayload(devops.oidcTokens.at(-1)!.token)).toMatchObject({
      iss: devops.oidcIssuer, sub: `sc://org/platform/aks-prod`, aud: 'api://AzureADTokenExchange',
    });

    await expect(new ClientAssertionCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000005', assertionFor(other.id), options()).getToken(ARM_SCOPE))
      .rejects.toThrow(/AADSTS700213: No matching federated identity record found for presented assertion subject 'sc:\/\/org\/platform\/someone-else'/);
  });

  it("works with @azure/identity's own AzurePipelinesCredential (System.OidcRequestUri)", async () => {
    devops.addProject({ name: 'pipelines' });
    const connection = devops.addServiceConnection({ name: 'arm-pipelines', project: 'pipelines' });
    entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000008', federated: { issuer: devops.oidcIssuer, subject: connection.subject } });
    const previous = process.env.SYSTEM_OIDCREQUESTURI;
    process.env.SYSTEM_OIDCREQUESTURI = devops.oidcRequestUri({ project: 'pipelines' });
    try {
      const credential = new AzurePipelinesCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000008', connection.id, devops.systemAccessToken, options());
      const token = await credential.getToken(ARM_SCOPE);
      expect(decodeJwtPayload(token.token)).toMatchObject({ appid: 'c0a0b8f0-0000-4000-8000-000000000008', appidacr: '2' });
      expect(devops.requests.at(-1)?.query).toContain(`serviceConnectionId=${connection.id}`);
    } finally {
      if (previous === undefined) delete process.env.SYSTEM_OIDCREQUESTURI;
      else process.env.SYSTEM_OIDCREQUESTURI = previous;
    }
  });

  it('refuses a federated assertion signed by a key the issuer does not publish', async () => {
    const forger = await startDevOpsEmulator();
    try {
      forger.addProject({ name: 'platform' });
      const forged = forger.addServiceConnection({ name: 'aks-prod', project: 'platform' });
      // Same subject, but the token comes from another issuer that claims to be ours.
      entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000006', federated: { issuer: devops.oidcIssuer, subject: forged.subject } });
      const tokenFromForger = async () => {
        const web = new azdev.WebApi(forger.collectionUrl, azdev.getBearerHandler(forger.systemAccessToken));
        const token = (await (await web.getTaskApi()).createOidcToken({}, 'platform', 'build', 'p', 'j', forged.id)).oidcToken!;
        const [header, , signature] = token.split('.');
        const payload = { ...decodeJwtPayload(token), iss: devops.oidcIssuer };
        return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
      };
      await expect(new ClientAssertionCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000006', tokenFromForger, options()).getToken(ARM_SCOPE))
        .rejects.toThrow(/AADSTS5002738|AADSTS50166/);
    } finally {
      await forger.stop();
    }
  });

  it('lets tokens expire: a new token is fetched with a fresh assertion once the old one is stale', async () => {
    const project = devops.addProject({ name: 'expiry' });
    const connection = devops.addServiceConnection({ name: 'short-lived', project: 'expiry' });
    entra.addApp({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-000000000007', federated: { issuer: devops.oidcIssuer, subject: connection.subject } });
    entra.setTokenLifetime(2);
    devops.setOidcTokenLifetime(1);
    try {
      const web = new azdev.WebApi(devops.collectionUrl, azdev.getBearerHandler(devops.systemAccessToken));
      const taskApi = await web.getTaskApi();
      let assertions = 0;
      let firstAssertion = '';
      const credential = new ClientAssertionCredential(tenantId, 'c0a0b8f0-0000-4000-8000-000000000007', async () => {
        assertions++;
        const token = (await taskApi.createOidcToken({}, project.id, 'build', 'p', 'j', connection.id)).oidcToken!;
        firstAssertion ||= token;
        return token;
      }, options());
      const first = await credential.getToken(ARM_SCOPE);
      expect(first.expiresOnTimestamp - Date.now()).toBeLessThanOrEqual(3000);
      await sleep(2100);
      // The first assertion is now expired: Entra refuses it, so only a fresh one can succeed.
      const stale = await fetch(`${entra.url}/${tenantId}/oauth2/v2.0/token`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'c0a0b8f0-0000-4000-8000-000000000007', scope: ARM_SCOPE, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: firstAssertion }),
      });
      expect(stale.status).toBe(400);
      expect((await stale.json() as { error_codes: number[] }).error_codes).toEqual([700024]);
      const second = await credential.getToken(ARM_SCOPE);
      expect(second.token).not.toBe(first.token);
      expect(second.expiresOnTimestamp).toBeGreaterThan(Date.now());
      expect(assertions).toBeGreaterThanOrEqual(2);
    } finally {
      entra.setTokenLifetime(3599);
      devops.setOidcTokenLifetime(600);
    }
  });

  it('serves managed identity tokens through IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST)', async () => {
    const identity = entra.addManagedIdentity({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-0000000000aa', systemAssigned: true });
    const userAssigned = entra.addManagedIdentity({ tenantId, clientId: 'c0a0b8f0-0000-4000-8000-0000000000bb' });
    const previous = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = entra.imdsUrl;
    try {
      const systemToken = await new ManagedIdentityCredential().getToken(ARM_SCOPE);
      expect(decodeJwtPayload(systemToken.token)).toMatchObject({ appid: identity.clientId, oid: identity.objectId, tid: tenantId });
      const userToken = await new ManagedIdentityCredential({ clientId: userAssigned.clientId }).getToken(ARM_SCOPE);
      expect(decodeJwtPayload(userToken.token)).toMatchObject({ appid: userAssigned.clientId });
    } finally {
      if (previous === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
      else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = previous;
    }
  });
});
