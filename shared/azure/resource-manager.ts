// The few Azure Resource Manager calls outside Microsoft.ContainerService that AksBootstrap makes
// before and around a cluster write: what the caller may do (the permissions API), the subnet,
// a user-assigned identity, and role assignments. They go through the AKS client's own pipeline,
// so they carry its token scope, retries, user agent and proxy settings.
//
// Contracts (Azure/azure-rest-api-specs):
// - Permissions_ListForResourceGroup / Permissions_ListForResource (authorization, 2022-04-01):
//   GET {scope}/providers/Microsoft.Authorization/permissions → {value: [{actions, notActions, …}], nextLink}.
// - RoleAssignments_Get / RoleAssignments_Create (authorization, 2022-04-01):
//   {scope}/providers/Microsoft.Authorization/roleAssignments/{name}, body {properties: {roleDefinitionId,
//   principalId, principalType}}; 409 RoleAssignmentExists when the same assignment has another name.
// - Subnets_Get (network, 2024-05-01): properties.addressPrefix / addressPrefixes.
// - UserAssignedIdentities_Get (msi, 2023-01-31): properties.principalId, clientId.
import { createDefaultHttpClient, createPipelineRequest, type HttpClient, type Pipeline } from '@azure/core-rest-pipeline';

const AUTHORIZATION_API = '2022-04-01';
const NETWORK_API = '2024-05-01';
const IDENTITY_API = '2023-01-31';

/** One role's worth of what a caller may do at a scope. */
export interface Permission {
  actions: string[];
  notActions: string[];
}

export interface SubnetInfo {
  id: string;
  addressPrefixes: string[];
}

/** An ARM failure with its status and error code (the shape azureError understands). */
export class ArmCallError extends Error {
  override readonly name = 'RestError';
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly target?: string) {
    super(message);
  }
}

/** Built-in roles the task names or assigns (their GUIDs are the same in every tenant). */
export const BUILT_IN_ROLES = {
  networkContributor: { name: 'Network Contributor', id: '4d97b98b-1d4f-4787-a291-c67834d212e7' },
} as const;

/** `*` matches any characters; ARM compares actions case-insensitively. */
function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

/**
 * Whether the permissions allow an action the way ARM decides it: one permission (one role)
 * lists it in its actions and not in its own notActions. Deny assignments are not in this answer.
 */
export function isPermitted(permissions: Permission[], action: string): boolean {
  return permissions.some((p) => p.actions.some((a) => actionMatches(a, action)) && !p.notActions.some((a) => actionMatches(a, action)));
}

export class ResourceManager {
  constructor(
    /** The ARM client's pipeline (`ContainerServiceClient.pipeline`): its token, retries and proxy policies. */
    private readonly pipeline: Pipeline,
    /** The Resource Manager URL, e.g. https://management.azure.com (no trailing slash). */
    private readonly endpoint: string,
    /** The HTTP client the ARM client was given, if any (the default one otherwise). */
    private readonly httpClient: HttpClient = createDefaultHttpClient(),
  ) {}

  private async call<T>(method: 'GET' | 'PUT', path: string, apiVersion: string, signal?: AbortSignal, body?: unknown): Promise<{ status: number; body: T | undefined }> {
    const query = path.includes('api-version=') ? '' : `${path.includes('?') ? '&' : '?'}api-version=${apiVersion}`;
    const url = `${this.endpoint.replace(/\/+$/, '')}${path}${query}`;
    const request = createPipelineRequest({
      url, method, abortSignal: signal,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    request.headers.set('Accept', 'application/json');
    if (body !== undefined) request.headers.set('Content-Type', 'application/json');
    const response = await this.pipeline.sendRequest(this.httpClient, request);
    let parsed: unknown;
    try {
      parsed = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.status >= 400) {
      const error = (parsed as { error?: { code?: string; message?: string; target?: string } } | undefined)?.error;
      throw new ArmCallError(response.status, error?.code ?? `HTTP${response.status}`, error?.message ?? `${method} ${path} answered ${response.status}`, error?.target);
    }
    return { status: response.status, body: parsed as T };
  }

  /** What the caller may do at a scope (a resource group or a resource id). */
  async permissions(scope: string, signal?: AbortSignal): Promise<Permission[]> {
    const out: Permission[] = [];
    let path: string | undefined = `${scope}/providers/Microsoft.Authorization/permissions`;
    while (path) {
      const page: { body: { value?: Partial<Permission>[]; nextLink?: string } | undefined } = await this.call('GET', path, AUTHORIZATION_API, signal);
      const body = page.body;
      for (const p of body?.value ?? []) out.push({ actions: p.actions ?? [], notActions: p.notActions ?? [] });
      path = body?.nextLink ? (({ pathname, search }) => `${pathname}${search}`)(new URL(body.nextLink)) : undefined;
    }
    return out;
  }

  /** The subnet, or undefined when it does not exist. */
  async subnet(id: string, signal?: AbortSignal): Promise<SubnetInfo | undefined> {
    try {
      const { body } = await this.call<{ id?: string; properties?: { addressPrefix?: string; addressPrefixes?: string[] } }>('GET', id, NETWORK_API, signal);
      const p = body?.properties ?? {};
      return { id: body?.id ?? id, addressPrefixes: [...(p.addressPrefixes ?? []), ...(p.addressPrefix ? [p.addressPrefix] : [])] };
    } catch (error) {
      if (error instanceof ArmCallError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  /** The object (principal) id of a user-assigned managed identity. */
  async identityPrincipalId(id: string, signal?: AbortSignal): Promise<string> {
    const { body } = await this.call<{ properties?: { principalId?: string } }>('GET', id, IDENTITY_API, signal);
    const principalId = body?.properties?.principalId;
    if (!principalId) throw new ArmCallError(404, 'NotFound', `The identity ${id} has no principal id.`);
    return principalId;
  }

  async roleAssignmentExists(scope: string, name: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.call('GET', `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, AUTHORIZATION_API, signal);
      return true;
    } catch (error) {
      if (error instanceof ArmCallError && error.statusCode === 404) return false;
      throw error;
    }
  }

  /** Assigns a built-in role; 'exists' when the principal holds it at that scope already (under any name). */
  async assignRole(a: { scope: string; name: string; subscriptionId: string; roleId: string; principalId: string; principalType: 'ServicePrincipal' | 'User' | 'Group' }, signal?: AbortSignal): Promise<'created' | 'exists'> {
    try {
      const { status } = await this.call('PUT', `${a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.name}`, AUTHORIZATION_API, signal, {
        properties: { roleDefinitionId: `/subscriptions/${a.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${a.roleId}`, principalId: a.principalId, principalType: a.principalType },
      });
      return status === 201 ? 'created' : 'exists';
    } catch (error) {
      if (error instanceof ArmCallError && error.code === 'RoleAssignmentExists') return 'exists';
      throw error;
    }
  }
}
