// ARM's error contract: {"error":{"code","message"}} (common-types ErrorResponse), with the codes
// and wording ARM and the AKS resource provider really use, so callers can branch on `code`.
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly target?: string,
    readonly subcode?: string,
  ) {
    super(message);
  }

  body() {
    return { error: { code: this.code, message: this.message, ...(this.target ? { target: this.target } : {}), ...(this.subcode ? { subcode: this.subcode } : {}) } };
  }
}

function utc(date: Date): string {
  return date.toLocaleString('en-US', { timeZone: 'UTC' }).replace(',', '');
}

export const armErrors = {
  missingApiVersion: () =>
    new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.'),
  invalidApiVersion: (version: string, supported: string[]) =>
    new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${version}' is invalid. The supported versions are '${supported.join(',')}'.`),
  unsupportedApiVersion: (version: string, type: string, supported: string[]) =>
    new ArmError(400, 'NoRegisteredProviderFound', `No registered resource provider found for location 'global' and API version '${version}' for type '${type}'. The supported api-versions are '${supported.join(', ')}'.`),
  authorizationMissing: () =>
    new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."' }),
  tokenInvalid: () =>
    new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token is invalid."' }),
  tokenExpired: (expiry: Date) =>
    new ArmError(401, 'ExpiredAuthenticationToken', `The access token expiry UTC time '${utc(expiry)}' is earlier than current UTC time '${utc(new Date())}'.`, { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token has expired."' }),
  tokenAudience: (audience: string, allowed: string[]) =>
    new ArmError(401, 'InvalidAuthenticationTokenAudience', `The access token has been obtained for wrong audience or resource '${audience}'. It should exactly match with one of the allowed audiences ${allowed.map((value) => `'${value}'`).join(',')}.`, { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token has been obtained for wrong audience or resource."' }),
  tokenTenant: (issuer: string, tenantId: string, authority: string) =>
    new ArmError(401, 'InvalidAuthenticationTokenTenant', `The access token is from the wrong issuer '${issuer}'. It must match the tenant '${authority}/${tenantId}/' associated with this subscription. Please use the authority (URL) '${authority}/${tenantId}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`),
  authorizationFailed: (clientId: string, objectId: string, action: string, scope: string) =>
    new ArmError(403, 'AuthorizationFailed', `The client '${clientId}' with object id '${objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`),
  // ARM's linked access check: the caller may write the resource but not use what it links to.
  // Message as in MicrosoftDocs/SupportArticles-docs …/error-code-linkedauthorizationfailed.md and
  // Azure/AKS#357 (403 LinkedAuthorizationFailed on 'Microsoft.Network/virtualNetworks/subnets/join/action').
  linkedAuthorizationFailed: (clientId: string, objectId: string, action: string, scope: string, linkedAction: string, linkedScope: string) =>
    new ArmError(403, 'LinkedAuthorizationFailed', `The client '${clientId}' with object id '${objectId}' has permission to perform action '${action}' on scope '${scope}'; however, it does not have permission to perform action '${linkedAction}' on the linked scope(s) '${linkedScope}' or the linked scope(s) are invalid.`),
  // Optimistic concurrency (learn.microsoft.com/azure/aks/use-etags, MicrosoftDocs/azure-aks-docs
  // articles/aks/use-etags.md): 412 PreconditionFailed when If-Match does not match the stored eTag
  // or If-None-Match: * finds the resource; 400 BadRequest for an If-None-Match other than * and for
  // both headers at once. The wording for a missing resource is AKS's (quoted in Azure/azure-cli#30309);
  // the others are the emulator's own.
  preconditionNotFound: () =>
    new ArmError(412, 'PreconditionFailed', 'Resource not found but ETag header is provided. If this is a request to create, please do not provide ETag.'),
  preconditionMismatch: (given: string, current: string) =>
    new ArmError(412, 'PreconditionFailed', `The eTag '${given}' provided in the if-match header does not match the current eTag '${current}' of the resource.`),
  preconditionExists: () =>
    new ArmError(412, 'PreconditionFailed', "The resource already exists, and the if-none-match header is '*'."),
  invalidIfNoneMatch: (value: string) =>
    new ArmError(400, 'BadRequest', `The if-none-match header can only be empty or '*'; it is '${value}'.`),
  bothPreconditions: () =>
    new ArmError(400, 'BadRequest', 'The if-match and if-none-match headers cannot be used together.'),
  // Role assignments (RoleAssignments_Create, api-version 2022-04-01).
  roleAssignmentExists: () =>
    new ArmError(409, 'RoleAssignmentExists', 'The role assignment already exists.'),
  roleDefinitionDoesNotExist: (id: string) =>
    new ArmError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${id}' does not exist.`),
  roleAssignmentNotFound: (name: string) =>
    new ArmError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`),
  identityNotFound: (type: string, name: string, resourceGroup: string) =>
    new ArmError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  subscriptionNotFound: (subscriptionId: string) =>
    new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`),
  resourceGroupNotFound: (resourceGroup: string) =>
    new ArmError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`),
  resourceNotFound: (type: string, name: string, resourceGroup: string) =>
    new ArmError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  subnetResourceNotFound: (id: string) =>
    new ArmError(404, 'NotFound', `Resource ${id} not found.`),
  invalidRequestContent: (detail: string) =>
    new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${detail}'.`),
  invalidResourceName: (name: string) =>
    new ArmError(400, 'InvalidResourceName', `Resource name ${name} is invalid. The name can be between 1 and 63 characters long, must start and end with an alphanumeric character and can contain only alphanumerics, underscores and hyphens.`),
  locationRequired: () =>
    new ArmError(400, 'LocationRequired', 'The location property is required for this definition.'),
  invalidResourceLocation: (name: string, existing: string, resourceGroup: string, requested: string) =>
    new ArmError(400, 'InvalidResourceLocation', `The resource '${name}' already exists in location '${existing}' in resource group '${resourceGroup}'. A resource with the same name cannot be created in location '${requested}'. Please select a new resource name.`),
  invalidParameter: (message: string, target?: string) =>
    new ArmError(400, 'InvalidParameter', message, {}, target),
  noSystemPool: () =>
    new ArmError(400, 'MustDefineAtLeastOneSystemPool', 'Must define at least one system pool.'),
  versionNotSupported: (version: string) =>
    new ArmError(400, 'AgentPoolK8sVersionNotSupported', `Version ${version} is not supported in this region. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list`),
  versionDowngrade: (from: string, to: string) =>
    new ArmError(400, 'NotAllowedK8sVersionDowngrading', `Downgrading kubernetes version ${from} to ${to} is not allowed. Available upgrades can be checked with [az aks get-upgrades].`),
  propertyChangeNotAllowed: (property: string) =>
    new ArmError(400, 'PropertyChangeNotAllowed', `Changing property '${property}' is not allowed.`, {}, property),
  subnetNotFound: (subnet: string, vnet: string, resourceGroup: string, subscriptionId: string) =>
    new ArmError(400, 'SubnetNotFound', `Could not find subnet ${subnet} in vnet ${vnet} from resource group ${resourceGroup} of subscription ${subscriptionId}.`),
  linkedInvalidPropertyId: (value: string, path: string) =>
    new ArmError(400, 'LinkedInvalidPropertyId', `Property id '${value}' at path '${path}' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.`),
  operationInProgress: (kind: string, operationId: string, started: Date) =>
    new ArmError(409, 'OperationNotAllowed', `Operation is not allowed because there's an in progress ${kind} managed cluster operation (operation ID: ${operationId}) on the managed cluster started on UTC ${started.toISOString().replace(/\.\d+Z$/, 'Z')}. Please wait for it to finish before starting a new operation. You can also use 'az aks operation-abort ...' to abort the ongoing operation.`),
  staticCredentialNotAllowed: () =>
    new ArmError(400, 'BadRequest', 'Getting static credential is not allowed because this cluster is set to disable local accounts.'),
  controlPlaneNotReady: (state: string) =>
    new ArmError(409, 'OperationNotAllowed', `The managed cluster is in provisioning state '${state}' and has no API server to hand out credentials for yet.`),
  localAccountsNeedAad: () =>
    new ArmError(400, 'BadRequest', 'To disable local accounts, the cluster must have AKS-managed Azure AD integration enabled.'),
  aadCannotBeDisabled: () =>
    new ArmError(400, 'BadRequest', 'Managed Azure AD integration can not be disabled once enabled.'),
};
