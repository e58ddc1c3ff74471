// Sovereign clouds: where a service connection's tokens come from and where its ARM lives, when the
// connection's data does not say so itself (environmentAuthorityUrl / activeDirectoryAuthority).

export interface Cloud {
  name: string;
  authorityHost: string;
  resourceManagerUrl: string;
}

export const clouds: Record<string, Cloud> = {
  azurecloud: { name: 'AzureCloud', authorityHost: 'https://login.microsoftonline.com', resourceManagerUrl: 'https://management.azure.com' },
  azureusgovernment: { name: 'AzureUSGovernment', authorityHost: 'https://login.microsoftonline.us', resourceManagerUrl: 'https://management.usgovcloudapi.net' },
  azurechinacloud: { name: 'AzureChinaCloud', authorityHost: 'https://login.chinacloudapi.cn', resourceManagerUrl: 'https://management.chinacloudapi.cn' },
};

/** Hosts MSAL knows: instance discovery works for them; anything else (Azure Stack, emulators) must skip it. */
const knownAuthorityHosts = new Set([
  'login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net',
  'login.microsoftonline.us', 'login.usgovcloudapi.net',
  'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn',
  'login.microsoftonline.de',
]);

export function isKnownAuthorityHost(authorityHost: string): boolean {
  return knownAuthorityHosts.has(new URL(authorityHost).hostname.toLowerCase());
}

export function cloudByName(environment: string | undefined): Cloud | undefined {
  return clouds[(environment ?? 'AzureCloud').toLowerCase()];
}
