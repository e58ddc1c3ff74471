export { armClient, type ArmClientOptions } from './arm-client.js';
export { clouds, isKnownAuthorityHost, type Cloud } from './clouds.js';
export {
  AKS_SERVER_SCOPE,
  credentialFromServiceConnection,
  type AzureAuthScheme,
  type AzureCredentials,
  type CredentialOptions,
  type RetryOptions,
} from './credential-from-service-connection.js';
export { requestPipelineOidcToken, type PipelineOidcRequest } from './pipeline-oidc-token.js';
export type { AzureRmConnection } from './service-connection.js';
export { ArmCallError, BUILT_IN_ROLES, isPermitted, ResourceManager, type Permission, type SubnetInfo } from './resource-manager.js';
