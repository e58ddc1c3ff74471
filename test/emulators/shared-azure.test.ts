// shared/azure against the emulators: each AzureRM service-connection scheme, given as the agent
// hands it (ENDPOINT_URL/ENDPOINT_AUTH/ENDPOINT_DATA), becomes a credential the ARM SDK can use;
// every secret, assertion and token is reported before use; sovereign-cloud data is honoured.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armClient, credentialFromServiceConnection, type AzureRmConnection } from '../../shared/azure/index.js';
import type { Endpoint } from '../../shared/pipeline/agent.js';
import { startAzureEmulators, type AzureEmulators } from './azure-emulators.js';
import { createFakeClusters } from './fake-cluster-factory.js';
import { fastRetries, selfSignedCertificate, sleep } from './test-support.js';
import { trustEmulatorCa } from './trust-emulator-ca.js';

trustEmulatorCa();

/** What shared/pipeline's task-lib agent does with the agent's ENDPOINT_* variables (data keys lower-cased). */
function connectionFromAgentEnvironment(env: Record<string, string>, id: string): Endpoint {
  const auth = JSON.parse(env[`ENDPOINT_AUTH_${id}`]) as { scheme: string; parameters: Record<string, string> };
  const prefix = `ENDPOINT_DATA_${id}_`;
  const data = Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith(prefix)).map(([key, value]) => [key.slice(prefix.length).toLowerCase(), value]));
  return { id, url: env[`ENDPOINT_URL_${id}`], scheme: auth.scheme ?? env[`ENDPOINT_AUTH_SCHEME_${id}`], authParams: { ...auth.parameters }, data };
}

function agentEnvironment(id: string, url: string, scheme: string, parameters: Record<string, string>, data: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    [`ENDPOINT_URL_${id}`]: url,
    [`ENDPOINT_AUTH_${id}`]: JSON.stringify({ parameters, scheme }),
    [`ENDPOINT_AUTH_SCHEME_${id}`]: scheme,
    [`ENDPOINT_DATA_${id}`]: JSON.stringify(data),
  };
  for (const [key, value] of Object.entries(parameters)) env[`ENDPOINT_AUTH_PARAMETER_${id}_${key.toUpperCase()}`] = value;
  for (const [key, value] of Object.entries(data)) env[`ENDPOINT_DATA_${id}_${key.toUpperCase()}`] = value;
  return env;
}

describe('shared/azure: service connection to credential', () => {
  let emulators: AzureEmulators;
  let data: Record<string, string>;

  beforeAll(async () => {
    emulators = await startAzureEmulators({ clusterFactory: createFakeClusters().factory });
    data = {
      subscriptionId: emulators.subscriptionId, subscriptionName: 'Platform Prod', environment: 'AzureCloud', scopeLevel: 'Subscription',
      environmentAuthorityUrl: `${emulators.entra.url}/`, activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
    };
  });
  afterAll(async () => {
    await emulators?.stop();
  });

  async function versionsThrough(connection: AzureRmConnection, options: Parameters<typeof credentialFromServiceConnection>[1]) {
    const azure = credentialFromServiceConnection(connection, options);
    const versions = await armClient(azure, { retryOptions: fastRetries }).managedClusters.listKubernetesVersions('westeurope');
    return { azure, versions };
  }

  it('ServicePrincipal with a client secret (spnKey)', async () => {
    const id = randomUUID();
    const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), secret: 'spn-secret-value' });
    const env = agentEnvironment(id, `${emulators.arm.url}/`, 'ServicePrincipal', { tenantid: emulators.tenantId, serviceprincipalid: app.clientId, serviceprincipalkey: 'spn-secret-value', authenticationType: 'spnKey' }, data);
    const secrets: string[] = [];
    const { azure, versions } = await versionsThrough(connectionFromAgentEnvironment(env, id), { onSecret: (value) => secrets.push(value) });
    expect(versions.values?.length).toBeGreaterThan(0);
    expect(azure).toMatchObject({ scheme: 'ServicePrincipal', tenantId: emulators.tenantId, clientId: app.clientId, subscriptionId: emulators.subscriptionId, resourceManagerUrl: emulators.arm.url, authorityHost: emulators.entra.url, disableInstanceDiscovery: true, armScope: 'https://management.core.windows.net//.default' });
    expect(secrets[0]).toBe('spn-secret-value');
    const issued = emulators.entra.issued.filter((token) => token.clientId === app.clientId);
    expect(issued.length).toBeGreaterThan(0);
    for (const token of issued) expect(secrets).toContain(token.token);
  });

  it('ServicePrincipal with a certificate (spnCertificate), every PEM line reported', async () => {
    const id = randomUUID();
    const certificate = selfSignedCertificate();
    const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), certPem: certificate.certPem });
    const env = agentEnvironment(id, `${emulators.arm.url}/`, 'ServicePrincipal', { tenantid: emulators.tenantId, serviceprincipalid: app.clientId, authenticationType: 'spnCertificate', servicePrincipalCertificate: certificate.pem }, data);
    const secrets: string[] = [];
    await versionsThrough(connectionFromAgentEnvironment(env, id), { onSecret: (value) => secrets.push(value) });
    const keyLines = certificate.keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    for (const line of keyLines) expect(secrets).toContain(line);
    expect(emulators.entra.issued.at(-1)).toMatchObject({ clientId: app.clientId, grant: 'client_certificate' });
  });

  it('WorkloadIdentityFederation through System.OidcRequestUri, and through TaskApi with the job route values', async () => {
    const project = emulators.devops.addProject({ name: `wif-${randomUUID().slice(0, 8)}` });
    const connection = emulators.devops.addServiceConnection({ name: 'arm-wif', project: project.name });
    const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), federated: { issuer: emulators.devops.oidcIssuer, subject: connection.subject } });
    const env = agentEnvironment(connection.id, `${emulators.arm.url}/`, 'WorkloadIdentityFederation', {
      tenantid: emulators.tenantId, serviceprincipalid: app.clientId,
      workloadIdentityFederationIssuer: emulators.devops.oidcIssuer, workloadIdentityFederationSubject: connection.subject,
    }, data);
    const wif = connectionFromAgentEnvironment(env, connection.id);
    const secrets: string[] = [];

    const before = emulators.devops.oidcTokens.length;
    await versionsThrough(wif, {
      onSecret: (value) => secrets.push(value),
      oidc: { accessToken: emulators.devops.systemAccessToken, requestUri: emulators.devops.oidcRequestUri({ project: project.name }) },
    });
    const minted = emulators.devops.oidcTokens.slice(before);
    expect(minted.length).toBeGreaterThan(0);
    expect(minted.every((token) => token.serviceConnectionId === connection.id)).toBe(true);
    for (const token of minted) expect(secrets).toContain(token.token);
    expect(secrets).toContain(emulators.devops.systemAccessToken);

    const viaTaskApi = emulators.devops.oidcTokens.length;
    await versionsThrough(wif, {
      oidc: { accessToken: emulators.devops.systemAccessToken, collectionUri: emulators.devops.collectionUrl, projectId: project.id, hostType: 'build', planId: randomUUID(), jobId: randomUUID() },
    });
    expect(emulators.devops.oidcTokens.length).toBeGreaterThan(viaTaskApi);
    expect(emulators.devops.requests.some((request) => request.method === 'OPTIONS' && request.path.endsWith('/_apis/distributedtask'))).toBe(true);
  });

  it('WorkloadIdentityFederation asks for a fresh OIDC token once the access token and the assertion expired', async () => {
    const project = emulators.devops.addProject({ name: `refresh-${randomUUID().slice(0, 8)}` });
    const connection = emulators.devops.addServiceConnection({ name: 'short-lived', project: project.name });
    const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), federated: { issuer: emulators.devops.oidcIssuer, subject: connection.subject } });
    const env = agentEnvironment(connection.id, `${emulators.arm.url}/`, 'WorkloadIdentityFederation', { tenantid: emulators.tenantId, serviceprincipalid: app.clientId }, data);
    emulators.entra.setTokenLifetime(2);
    emulators.devops.setOidcTokenLifetime(1);
    try {
      const azure = credentialFromServiceConnection(connectionFromAgentEnvironment(env, connection.id), {
        oidc: { accessToken: emulators.devops.systemAccessToken, requestUri: emulators.devops.oidcRequestUri({ project: project.name }) },
      });
      const client = armClient(azure, { retryOptions: fastRetries });
      await client.managedClusters.listKubernetesVersions('westeurope');
      const first = emulators.devops.oidcTokens.filter((token) => token.serviceConnectionId === connection.id);
      await sleep(2200);
      expect(first.every((token) => token.expiresOn * 1000 < Date.now())).toBe(true);
      await client.managedClusters.listKubernetesVersions('westeurope');
      const all = emulators.devops.oidcTokens.filter((token) => token.serviceConnectionId === connection.id);
      expect(all.length).toBeGreaterThan(first.length);
      expect(emulators.entra.issued.filter((token) => token.clientId === app.clientId && token.expiresOn * 1000 > Date.now()).length).toBeGreaterThan(0);
    } finally {
      emulators.entra.setTokenLifetime(3599);
      emulators.devops.setOidcTokenLifetime(600);
    }
  });

  it('ManagedServiceIdentity through IMDS', async () => {
    const id = randomUUID();
    const identity = emulators.entra.addManagedIdentity({ tenantId: emulators.tenantId, clientId: randomUUID(), systemAssigned: true });
    const env = agentEnvironment(id, `${emulators.arm.url}/`, 'ManagedServiceIdentity', { tenantid: emulators.tenantId }, data);
    const previous = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = emulators.entra.imdsUrl;
    try {
      const tokens: string[] = [];
      await versionsThrough(connectionFromAgentEnvironment(env, id), { onSecret: (value) => tokens.push(value) });
      expect(emulators.entra.issued.at(-1)).toMatchObject({ clientId: identity.clientId, grant: 'managed_identity' });
      expect(tokens).toContain(emulators.entra.issued.at(-1)!.token);
    } finally {
      if (previous === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
      else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = previous;
    }
  });

  it("signs in through Entra ID's transient faults: a 429 without Retry-After and answers cut off half-way, metadata and token alike", async () => {
    const id = randomUUID();
    const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), secret: 'through-faults' });
    const env = agentEnvironment(id, `${emulators.arm.url}/`, 'ServicePrincipal', { tenantid: emulators.tenantId, serviceprincipalid: app.clientId, serviceprincipalkey: 'through-faults' }, data);
    const tokens = () => emulators.entra.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;
    const before = tokens();
    emulators.entra.injectFault({ path: 'openid-configuration', status: 429, body: { error: 'too_many_requests' } });
    emulators.entra.injectFault({ path: 'openid-configuration', cut: true });
    emulators.entra.injectFault({ path: '/oauth2/v2.0/token', status: 429, body: { error: 'too_many_requests' } });
    emulators.entra.injectFault({ path: '/oauth2/v2.0/token', cut: true });
    const { versions } = await versionsThrough(connectionFromAgentEnvironment(env, id), { retryOptions: fastRetries });
    expect(versions.values?.length).toBeGreaterThan(0);
    // The two faulted token requests and the one that got the token.
    expect(tokens() - before).toBe(3);
  });

  it('surfaces Entra ID refusals with their AADSTS code', async () => {
    const id = randomUUID();
    const app = emulators.entra.addApp({ tenantId: emulators.tenantId, clientId: randomUUID(), secret: 'right' });
    const env = agentEnvironment(id, `${emulators.arm.url}/`, 'ServicePrincipal', { tenantid: emulators.tenantId, serviceprincipalid: app.clientId, serviceprincipalkey: 'wrong' }, data);
    await expect(versionsThrough(connectionFromAgentEnvironment(env, id), {})).rejects.toThrow(/AADSTS7000215/);
  });

  it('derives authority, Resource Manager URL and instance discovery for sovereign clouds', () => {
    const base = { id: 'c1', scheme: 'ServicePrincipal', authParams: { tenantid: 't1', serviceprincipalid: 'a1', serviceprincipalkey: 's' } };
    const publicCloud = credentialFromServiceConnection({ ...base, url: 'https://management.azure.com/', data: { subscriptionId: 's1' } });
    expect(publicCloud).toMatchObject({ environment: 'AzureCloud', authorityHost: 'https://login.microsoftonline.com', resourceManagerUrl: 'https://management.azure.com', armScope: 'https://management.azure.com/.default', disableInstanceDiscovery: false });

    const usGov = credentialFromServiceConnection({ ...base, url: 'https://management.usgovcloudapi.net/', data: { subscriptionId: 's1', environment: 'AzureUSGovernment', environmentAuthorityUrl: 'https://login.microsoftonline.us/', activeDirectoryServiceEndpointResourceId: 'https://management.core.usgovcloudapi.net/' } });
    expect(usGov).toMatchObject({ authorityHost: 'https://login.microsoftonline.us', resourceManagerUrl: 'https://management.usgovcloudapi.net', armScope: 'https://management.core.usgovcloudapi.net//.default', disableInstanceDiscovery: false });

    const china = credentialFromServiceConnection({ ...base, url: '', data: { subscriptionId: 's1', environment: 'AzureChinaCloud' } });
    expect(china).toMatchObject({ authorityHost: 'https://login.chinacloudapi.cn', resourceManagerUrl: 'https://management.chinacloudapi.cn' });

    const stack = credentialFromServiceConnection({ ...base, url: 'https://management.local.azurestack.external/', data: { subscriptionId: 's1', environment: 'AzureStack', activeDirectoryAuthority: 'https://login.contoso.local/t1/' } });
    expect(stack).toMatchObject({ authorityHost: 'https://login.contoso.local', resourceManagerUrl: 'https://management.local.azurestack.external', armScope: 'https://management.local.azurestack.external/.default', disableInstanceDiscovery: true });
  });

  it('names what is missing or unsupported', () => {
    const base = { id: 'c9', url: 'https://management.azure.com/', data: { subscriptionId: 's1' } };
    expect(() => credentialFromServiceConnection({ ...base, scheme: 'ServicePrincipal', authParams: { serviceprincipalid: 'a', serviceprincipalkey: 's' } }))
      .toThrow(/no tenant id \(ENDPOINT_AUTH_PARAMETER_c9_TENANTID\)/);
    expect(() => credentialFromServiceConnection({ ...base, scheme: 'PublishProfile', authParams: { tenantid: 't' } })).toThrow(/authentication scheme 'PublishProfile'/);
    expect(() => credentialFromServiceConnection({ ...base, scheme: 'WorkloadIdentityFederation', authParams: { tenantid: 't', serviceprincipalid: 'a' } })).toThrow(/System.AccessToken/);
    expect(() => credentialFromServiceConnection({ ...base, data: {}, scheme: 'ServicePrincipal', authParams: { tenantid: 't', serviceprincipalid: 'a', serviceprincipalkey: 's' } }))
      .toThrow(/ENDPOINT_DATA_c9_SUBSCRIPTIONID/);
  });
});
