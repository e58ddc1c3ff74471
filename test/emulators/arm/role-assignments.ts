// Azure RBAC as ARM evaluates it for the calls the tasks make: built-in role definitions (their
// Actions and NotActions), role assignments per scope inherited by every scope below it, the
// permissions API answered from them, and the check a write must pass.
//
// Sources:
// - Role definitions: MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/
//   (general.md: Owner, Contributor, Reader, User Access Administrator, Role Based Access Control
//   Administrator; networking.md: Network Contributor; containers.md: the Azure Kubernetes Service
//   roles, e.g. "Azure Kubernetes Service Contributor Role" ed7f3fbd-… = managedClusters/read,
//   managedClusters/write, Microsoft.Resources/deployments/*, and no managedClusters/delete).
// - How ARM matches: an action is permitted when one permission (one role definition) lists it in
//   Actions (with `*` wildcards, case-insensitive) and not in that same permission's NotActions
//   (learn.microsoft.com/azure/role-based-access-control/role-definitions, "NotActions").
// - Scope inheritance: an assignment at a subscription or resource group applies to everything
//   below it (learn.microsoft.com/azure/role-based-access-control/scope-overview).
// - Permissions API: Permissions_ListForResourceGroup / Permissions_ListForResource
//   (Azure/azure-rest-api-specs specification/authorization, GET {scope}/providers/
//   Microsoft.Authorization/permissions) answers {value: [{actions, notActions, dataActions,
//   notDataActions}]}, one entry per role the caller holds at that scope.
// - Role assignments: RoleAssignments_Create (PUT {scope}/providers/Microsoft.Authorization/
//   roleAssignments/{name}, examples/RoleAssignments_CreateForResource.json: 201 on create, 200 on
//   an unchanged re-PUT); the same principal, role and scope under another name is 409
//   RoleAssignmentExists ("The role assignment already exists.").

export type RoleName =
  | 'Owner' | 'Contributor' | 'Reader'
  | 'User Access Administrator'
  | 'Role Based Access Control Administrator'
  | 'Network Contributor'
  | 'Azure Kubernetes Service Contributor Role'
  | 'Azure Kubernetes Service Cluster User Role'
  | 'Azure Kubernetes Service Cluster Admin Role'
  | 'Azure Kubernetes Service RBAC Cluster Admin';

export interface RoleDefinition {
  /** The built-in role's GUID (the same in every tenant). */
  id: string;
  name: RoleName;
  actions: string[];
  notActions: string[];
  /** Grants Kubernetes (data plane) access only: holding it alone does not put a principal under enforcement. */
  dataPlaneOnly?: boolean;
}

const role = (name: RoleName, id: string, actions: string[], notActions: string[] = [], dataPlaneOnly = false): RoleDefinition => ({ id, name, actions, notActions, dataPlaneOnly });

export const builtInRoles: Record<RoleName, RoleDefinition> = {
  Owner: role('Owner', '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', ['*']),
  Contributor: role('Contributor', 'b24988ac-6180-42a0-ab88-20f7382dd24c', ['*'], [
    'Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write', 'Microsoft.Authorization/elevateAccess/Action',
    'Microsoft.Blueprint/blueprintAssignments/write', 'Microsoft.Blueprint/blueprintAssignments/delete', 'Microsoft.Compute/galleries/share/action',
  ]),
  Reader: role('Reader', 'acdd72a7-3385-48ef-bd42-f606fba81ae7', ['*/read']),
  'User Access Administrator': role('User Access Administrator', '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*']),
  'Role Based Access Control Administrator': role('Role Based Access Control Administrator', 'f58310d9-a9f6-439a-9e8d-f62e7b41a168', [
    'Microsoft.Authorization/roleAssignments/write', 'Microsoft.Authorization/roleAssignments/delete', '*/read', 'Microsoft.Support/*',
  ]),
  'Network Contributor': role('Network Contributor', '4d97b98b-1d4f-4787-a291-c67834d212e7', [
    'Microsoft.Authorization/*/read', 'Microsoft.Insights/alertRules/*', 'Microsoft.Network/*', 'Microsoft.ResourceHealth/availabilityStatuses/read',
    'Microsoft.Resources/deployments/*', 'Microsoft.Resources/subscriptions/resourceGroups/read', 'Microsoft.Support/*',
  ]),
  'Azure Kubernetes Service Contributor Role': role('Azure Kubernetes Service Contributor Role', 'ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8', [
    'Microsoft.ContainerService/managedClusters/read', 'Microsoft.ContainerService/managedClusters/write', 'Microsoft.Resources/deployments/*',
  ]),
  'Azure Kubernetes Service Cluster User Role': role('Azure Kubernetes Service Cluster User Role', '4abbcc35-e782-43d8-92c5-2d3f1bd2253f', [
    'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action', 'Microsoft.ContainerService/managedClusters/read',
  ]),
  'Azure Kubernetes Service Cluster Admin Role': role('Azure Kubernetes Service Cluster Admin Role', '0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8', [
    'Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action', 'Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action',
    'Microsoft.ContainerService/managedClusters/read', 'Microsoft.ContainerService/managedClusters/runcommand/action',
  ]),
  // A data-plane role: cluster-admin inside Kubernetes (DataActions managedClusters/*), reads on ARM.
  'Azure Kubernetes Service RBAC Cluster Admin': role('Azure Kubernetes Service RBAC Cluster Admin', 'b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b', [
    'Microsoft.Authorization/*/read', 'Microsoft.Resources/subscriptions/operationresults/read', 'Microsoft.Resources/subscriptions/read',
    'Microsoft.Resources/subscriptions/resourceGroups/read', 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action',
  ], [], true),
};

export function roleById(roleDefinitionId: string): RoleDefinition | undefined {
  const guid = roleDefinitionId.split('/').at(-1)?.toLowerCase();
  return Object.values(builtInRoles).find((r) => r.id === guid);
}

export interface RoleAssignment {
  /** The assignment's name (a GUID); generated for assignments made by the test itself. */
  name: string;
  principalId: string;
  principalType?: string;
  role: RoleName;
  scope: string;
}

/** `*` matches any characters; ARM compares actions case-insensitively. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

export function permits(definition: Pick<RoleDefinition, 'actions' | 'notActions'>, action: string): boolean {
  return definition.actions.some((p) => actionMatches(p, action)) && !definition.notActions.some((p) => actionMatches(p, action));
}

const normalizeScope = (scope: string) => `/${scope.split('/').filter(Boolean).join('/')}`.toLowerCase();

/** True when `scope` is `parent` or lies below it (whole path segments). */
export function scopeContains(parent: string, scope: string): boolean {
  const p = normalizeScope(parent);
  const s = normalizeScope(scope);
  return s === p || s.startsWith(`${p}/`) || p === '/';
}

export class RoleAssignments {
  readonly list: RoleAssignment[] = [];

  add(assignment: RoleAssignment): void {
    this.list.push(assignment);
  }

  /** A principal is under enforcement once it holds any control-plane role anywhere. */
  governs(principalId: string): boolean {
    return this.list.some((a) => a.principalId === principalId && !builtInRoles[a.role].dataPlaneOnly);
  }

  /** The roles that apply to a principal at a scope (assigned there or above). */
  rolesAt(principalId: string, scope: string): RoleDefinition[] {
    const names = new Set(this.list.filter((a) => a.principalId === principalId && scopeContains(a.scope, scope)).map((a) => a.role));
    return [...names].map((name) => builtInRoles[name]);
  }

  allowed(principalId: string, action: string, scope: string): boolean {
    return this.rolesAt(principalId, scope).some((definition) => permits(definition, action));
  }

  find(scope: string, name: string): RoleAssignment | undefined {
    return this.list.find((a) => a.name.toLowerCase() === name.toLowerCase() && normalizeScope(a.scope) === normalizeScope(scope));
  }

  same(principalId: string, roleName: RoleName, scope: string): RoleAssignment | undefined {
    return this.list.find((a) => a.principalId === principalId && a.role === roleName && normalizeScope(a.scope) === normalizeScope(scope));
  }
}
