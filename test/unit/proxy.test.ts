// shared/net/proxy: which requests go through the agent's proxy, as the agent decides it.
import { describe, expect, it } from 'vitest';
import { azureProxyOptions, devOpsProxyOptions, proxyUrlFor } from '../../shared/net/proxy';

const proxy = { url: 'http://proxy.corp:8080', username: 'agent', password: 'p@ss:word', bypass: ['\\.internal\\.corp', '^https://10\\.'] };

describe('the agent proxy', () => {
  it('carries the credentials, URL-encoded, for every request not in the bypass list', () => {
    expect(proxyUrlFor('https://management.azure.com/subscriptions', proxy)).toBe('http://agent:p%40ss%3Aword@proxy.corp:8080/');
    expect(proxyUrlFor('https://aks.internal.corp:443', proxy)).toBeUndefined();
    expect(proxyUrlFor('https://10.0.0.4:443', proxy)).toBeUndefined();
    expect(proxyUrlFor('https://100.64.0.1', proxy)).toBeDefined();
    expect(proxyUrlFor('https://management.azure.com', undefined)).toBeUndefined();
  });

  it('matches the bypass list case-insensitively and ignores entries that are no regular expression', () => {
    expect(proxyUrlFor('https://AKS.INTERNAL.CORP', proxy)).toBeUndefined();
    expect(proxyUrlFor('https://x.example', { ...proxy, bypass: ['(unclosed'] })).toBeDefined();
  });

  it('speaks each SDK\'s option shape', () => {
    expect(azureProxyOptions('https://login.microsoftonline.com', proxy)).toEqual({ host: 'http://proxy.corp', port: 8080, username: 'agent', password: 'p@ss:word' });
    expect(azureProxyOptions('https://x.internal.corp', proxy)).toBeUndefined();
    expect(devOpsProxyOptions(proxy)).toEqual({ proxyUrl: 'http://proxy.corp:8080', proxyUsername: 'agent', proxyPassword: 'p@ss:word', proxyBypassHosts: proxy.bypass });
  });
});
