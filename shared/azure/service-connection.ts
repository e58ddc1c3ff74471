// An AzureRM service connection exactly as the agent hands it to a task: ENDPOINT_URL_<id>,
// ENDPOINT_AUTH_SCHEME_<id>, ENDPOINT_AUTH_PARAMETER_<id>_<KEY> and ENDPOINT_DATA_<id>_<KEY>.
// The pipeline layer reads them (task-lib keeps the auth parameters in its vault) and passes
// plain values (shared/pipeline's Endpoint fits as it is); keys may arrive in any case (the
// pipeline lower-cases data keys), so lookups ignore case.

export interface AzureRmConnection {
  /** The endpoint id (the input's value: a GUID). */
  id: string;
  /** ENDPOINT_URL_<id>: the Resource Manager URL, e.g. https://management.azure.com/ */
  url?: string;
  /** WorkloadIdentityFederation | ServicePrincipal | ManagedServiceIdentity (any case). */
  scheme?: string;
  /** tenantid, serviceprincipalid, serviceprincipalkey, authenticationType, servicePrincipalCertificate, ... */
  authParams: Record<string, string>;
  /** subscriptionId, subscriptionName, environment, environmentAuthorityUrl, activeDirectoryAuthority, ... */
  data: Record<string, string>;
}

export function valueOf(values: Record<string, string> | undefined, name: string): string | undefined {
  if (!values) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(values)) {
    if (key.toLowerCase() === wanted && value !== undefined && value !== null && String(value).trim() !== '') return String(value).trim();
  }
  return undefined;
}

export function requiredValue(connection: AzureRmConnection, source: 'authParams' | 'data', name: string, description: string): string {
  const value = valueOf(connection[source], name);
  if (value === undefined) {
    const variable = source === 'authParams' ? `ENDPOINT_AUTH_PARAMETER_${connection.id}_${name.toUpperCase()}` : `ENDPOINT_DATA_${connection.id}_${name.toUpperCase()}`;
    throw new Error(`The Azure Resource Manager service connection '${connection.id}' has no ${description} (${variable}); edit the service connection and make sure it is complete.`);
  }
  return value;
}
