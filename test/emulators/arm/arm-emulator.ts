// Azure Resource Manager (management.azure.com) for what the tasks touch: resource groups, subnets
// and Microsoft.ContainerService/managedClusters with real long-running operations. Creating a
// cluster asks a ClusterFactory for a real API server; deleting it stops that API server.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { readEmulatorCa } from '../ca.js';
import { parseJsonBody, sendEmpty, sendJson, startEmulatorServer, type EmulatorRequest, type EmulatorServer, type Fault, type RecordedRequest } from '../emulator-server.js';
import { AKS_SERVER_APP_ID, type EntraEmulator } from '../entra/entra-emulator.js';
import type { JsonObject } from '../jwt.js';
import { ArmError, armErrors } from './arm-errors.js';
import { ruleErrors } from './cluster-rules.js';
import type { ClusterEndpoint, ClusterFactory, ClusterSpec } from './cluster-factory.js';
import { adminKubeconfig, entraUserKubeconfig, localUserKubeconfig } from './kubeconfig.js';
import { defaultKubernetesVersions, kubernetesVersionList, type KubernetesMinorVersion } from './kubernetes-versions.js';
import { managedClusterFromPut, normalizeLocation } from './managed-cluster-model.js';
import { builtInRoles, roleById, RoleAssignments, type RoleAssignment, type RoleName } from './role-assignments.js';

/** What @azure/arm-containerservice 25.3.0 sends. */
export const CONTAINER_SERVICE_API_VERSION = '2026-04-01';
const MANAGED_CLUSTERS = 'Microsoft.ContainerService/managedClusters';
const ARM_AUDIENCES = ['https://management.core.windows.net/', 'https://management.core.windows.net', 'https://management.azure.com/', 'https://management.azure.com'];

export type { RoleName } from './role-assignments.js';

interface Operation {
  id: string;
  kind: 'create' | 'update' | 'delete';
  subscriptionId: string;
  location: string;
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  startTime: Date;
  endTime?: Date;
  error?: { code: string; message: string };
  done: Promise<void>;
}

interface ClusterRecord {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  resource: JsonObject;
  entraId: boolean;
  endpoint?: ClusterEndpoint;
  operation?: Operation;
}

export interface ProvisioningFailure {
  code: string;
  message: string;
  /** Only for this cluster name (default: the next provisioning of any cluster). */
  cluster?: string;
}

export interface ArmEmulatorOptions {
  entra: EntraEmulator;
  clusterFactory: ClusterFactory;
  /** managedClusters api-versions accepted (default: the SDK's 2026-04-01). */
  apiVersions?: string[];
  /** How long an operation stays InProgress before the factory is called (default 5 ms). */
  operationDelayMs?: number;
  /**
   * Check every caller's role assignments. Default false: a principal that holds no role
   * assignment may do anything (what most tests want), and one that holds any control-plane role
   * assignment is checked on every call (so a test opts a principal in by assigning it roles).
   */
  enforceRoleAssignments?: boolean;
  /** @deprecated the former name of enforceRoleAssignments. */
  enforceRbac?: boolean;
}

/** A test's hold on requests: the first `parties` matching requests wait until all have arrived. */
export interface RequestBarrier {
  method: string;
  /** The exact request path (case-insensitive). */
  path: string;
  parties: number;
}

export interface ArmEmulator {
  /** resourceManagerUrl / the SDK's `endpoint`, e.g. https://127.0.0.1:43000 */
  url: string;
  requests: RecordedRequest[];
  addSubscription(subscription: { subscriptionId: string; tenantId: string; displayName?: string }): void;
  addResourceGroup(group: { subscriptionId: string; name: string; location: string; tags?: Record<string, string> }): string;
  /** Returns the subnet's resource id. */
  addSubnet(subnet: { subscriptionId: string; resourceGroup: string; vnet: string; name: string; addressPrefix?: string }): string;
  /** A user-assigned managed identity (Microsoft.ManagedIdentity/userAssignedIdentities). */
  addUserAssignedIdentity(identity: { subscriptionId: string; resourceGroup: string; name: string }): { id: string; clientId: string; principalId: string };
  addRoleAssignment(assignment: { principalId: string; role: RoleName; scope: string; name?: string }): void;
  /**
   * What the service connection of AksBootstrap needs, as the README says: Contributor on each
   * cluster resource group and Network Contributor on each subnet; with `grantSubnetAccess`,
   * Role Based Access Control Administrator on the subnets too. The principal is then checked.
   */
  grantClusterDeployer(grant: { principalId: string; resourceGroupIds: string[]; subnetIds: string[]; grantSubnetAccess?: boolean }): void;
  /** Every role assignment (made by the test or through the API). */
  roleAssignments(): RoleAssignment[];
  /** Removes a principal's role assignments (all of them when no principal is given). */
  clearRoleAssignments(principalId?: string): void;
  /** The cluster's power state, as `az aks stop` / `start` leave it. */
  setPowerState(subscriptionId: string, resourceGroup: string, name: string, code: 'Running' | 'Stopped'): void;
  /** Holds the first `parties` requests to a path until all of them arrived (to make writers race). */
  barrier(barrier: RequestBarrier): void;
  setKubernetesVersions(versions: KubernetesMinorVersion[], location?: string): void;
  failNextProvisioning(failure: ProvisioningFailure): void;
  injectFault(fault: Fault): void;
  setOperationDelay(ms: number): void;
  cluster(subscriptionId: string, resourceGroup: string, name: string): { resource: JsonObject; endpoint?: ClusterEndpoint } | undefined;
  /** Waits until no operation is running. */
  idle(): Promise<void>;
  /** Stops the server and every control plane it started. */
  stop(): Promise<void>;
}

function key(...parts: string[]): string {
  return parts.map((part) => part.toLowerCase()).join('/');
}

function setProvisioningState(resource: JsonObject, state: string): void {
  const properties = resource.properties as JsonObject;
  properties.provisioningState = state;
  for (const pool of (properties.agentPoolProfiles as JsonObject[] | undefined) ?? []) pool.provisioningState = state;
}

export async function startArmEmulator(options: ArmEmulatorOptions): Promise<ArmEmulator> {
  const { entra, clusterFactory } = options;
  const apiVersions = options.apiVersions ?? [CONTAINER_SERVICE_API_VERSION];
  let operationDelay = options.operationDelayMs ?? 5;

  const subscriptions = new Map<string, { subscriptionId: string; tenantId: string; displayName: string }>();
  const resourceGroups = new Map<string, { subscriptionId: string; name: string; location: string; tags?: Record<string, string> }>();
  const subnets = new Map<string, { id: string; name: string; addressPrefix: string }>();
  const identities = new Map<string, { id: string; name: string; resourceGroup: string; location: string; clientId: string; principalId: string; tenantId: string }>();
  const roles = new RoleAssignments();
  const barriers: Array<RequestBarrier & { waiting: Array<() => void> }> = [];
  const enforceAll = options.enforceRoleAssignments ?? options.enforceRbac ?? false;
  const clusters = new Map<string, ClusterRecord>();
  const operations = new Map<string, Operation>();
  const failures: ProvisioningFailure[] = [];
  const versionsByLocation = new Map<string, KubernetesMinorVersion[]>();
  let defaultVersions = defaultKubernetesVersions;
  let base = '';

  const versionsFor = (location: string) => versionsByLocation.get(normalizeLocation(location)) ?? defaultVersions;
  const allowedAudiences = () => [...ARM_AUDIENCES, base, `${base}/`];

  function authenticate(request: EmulatorRequest): JsonObject {
    const header = String(request.headers.authorization ?? '');
    if (!header) throw armErrors.authorizationMissing();
    const [scheme, token = ''] = header.split(' ');
    if (scheme.toLowerCase() !== 'bearer') throw armErrors.tokenInvalid();
    const check = entra.verifyAccessToken(token, allowedAudiences());
    if (check.ok) return check.claims;
    if (check.reason === 'expired') throw armErrors.tokenExpired(new Date(Number(check.claims?.exp) * 1000));
    if (check.reason === 'audience') throw armErrors.tokenAudience(String(check.claims?.aud), ARM_AUDIENCES);
    throw armErrors.tokenInvalid();
  }

  /** Role assignments apply to this caller: every caller when enforced, else one that holds any. */
  const checked = (claims: JsonObject) => enforceAll || roles.governs(String(claims.oid));

  function authorize(claims: JsonObject, action: string, scope: string): void {
    if (!checked(claims)) return;
    const principal = String(claims.oid);
    if (!roles.allowed(principal, action, scope)) throw armErrors.authorizationFailed(String(claims.appid), principal, action, scope);
  }

  /** ARM's linked access check: a write that names another resource needs that resource's join action. */
  function authorizeLinked(claims: JsonObject, action: string, scope: string, linkedAction: string, linkedScope: string): void {
    if (!checked(claims)) return;
    const principal = String(claims.oid);
    if (!roles.allowed(principal, linkedAction, linkedScope)) throw armErrors.linkedAuthorizationFailed(String(claims.appid), principal, action, scope, linkedAction, linkedScope);
  }

  async function passBarrier(request: EmulatorRequest): Promise<void> {
    const barrier = barriers.find((b) => b.method === request.method && b.path.toLowerCase() === request.path.toLowerCase());
    if (!barrier) return;
    await new Promise<void>((resolve) => {
      barrier.waiting.push(resolve);
      if (barrier.waiting.length < barrier.parties) return;
      barriers.splice(barriers.indexOf(barrier), 1);
      for (const release of barrier.waiting) release();
    });
  }

  /** If-Match / If-None-Match on a write (see arm-errors.ts for the source). */
  function checkPreconditions(request: EmulatorRequest, existing: JsonObject | undefined): void {
    const strip = (value: string) => value.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
    const ifMatch = request.headers['if-match'] === undefined ? undefined : strip(String(request.headers['if-match']));
    const ifNoneMatch = request.headers['if-none-match'] === undefined ? undefined : strip(String(request.headers['if-none-match']));
    if (ifNoneMatch && ifNoneMatch !== '*') throw armErrors.invalidIfNoneMatch(ifNoneMatch);
    if (ifMatch && ifNoneMatch) throw armErrors.bothPreconditions();
    if (ifNoneMatch === '*' && existing) throw armErrors.preconditionExists();
    if (ifMatch) {
      if (!existing) throw armErrors.preconditionNotFound();
      if (ifMatch !== '*' && ifMatch !== String(existing.eTag)) throw armErrors.preconditionMismatch(ifMatch, String(existing.eTag));
    }
  }

  function subscription(subscriptionId: string, claims: JsonObject) {
    const found = subscriptions.get(subscriptionId.toLowerCase());
    if (!found) throw armErrors.subscriptionNotFound(subscriptionId);
    if (claims.tid !== found.tenantId) throw armErrors.tokenTenant(String(claims.iss), found.tenantId, entra.url);
    return found;
  }

  function resourceGroup(subscriptionId: string, name: string) {
    const found = resourceGroups.get(key(subscriptionId, name));
    if (!found) throw armErrors.resourceGroupNotFound(name);
    return found;
  }

  function requireApiVersion(request: EmulatorRequest, accepted?: string[]): string {
    const version = request.query.get('api-version');
    if (!version) throw armErrors.missingApiVersion();
    if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version)) throw armErrors.invalidApiVersion(version, accepted ?? apiVersions);
    if (accepted && !accepted.includes(version)) throw armErrors.unsupportedApiVersion(version, 'managedClusters', accepted);
    return version;
  }

  function operationUrls(operation: Operation, apiVersion: string) {
    const prefix = `${base}/subscriptions/${operation.subscriptionId}/providers/Microsoft.ContainerService/locations/${operation.location}`;
    return {
      'Azure-AsyncOperation': `${prefix}/operations/${operation.id}?api-version=${apiVersion}`,
      Location: `${prefix}/operationresults/${operation.id}?api-version=${apiVersion}`,
    };
  }

  function startOperation(kind: Operation['kind'], subscriptionId: string, location: string, work: (operation: Operation) => Promise<void>): Operation {
    const operation: Operation = { id: randomUUID(), kind, subscriptionId, location, status: 'InProgress', startTime: new Date(), done: Promise.resolve() };
    operations.set(operation.id, operation);
    operation.done = (async () => {
      try {
        await work(operation);
        if (operation.status === 'InProgress') operation.status = 'Succeeded';
      } catch (error) {
        operation.status = 'Failed';
        operation.error ??= { code: 'InternalOperationError', message: String((error as Error)?.message ?? error) };
      } finally {
        operation.endTime = new Date();
      }
    })();
    return operation;
  }

  function takeFailure(name: string): ProvisioningFailure | undefined {
    const index = failures.findIndex((failure) => !failure.cluster || failure.cluster.toLowerCase() === name.toLowerCase());
    return index < 0 ? undefined : failures.splice(index, 1)[0];
  }

  function clusterSpec(record: ClusterRecord, kubernetesVersion: string): ClusterSpec {
    const properties = record.resource.properties as JsonObject;
    const aadProfile = (properties.aadProfile ?? {}) as JsonObject;
    const tenantId = String(aadProfile.tenantID ?? subscriptions.get(record.subscriptionId.toLowerCase())?.tenantId);
    const clusterId = String(record.resource.id);
    return {
      subscriptionId: record.subscriptionId,
      resourceGroup: record.resourceGroup,
      name: record.name,
      location: String(record.resource.location),
      kubernetesVersion,
      resource: structuredClone(record.resource),
      ...(record.entraId ? {
        entraId: {
          tenantId,
          issuerUrl: entra.issuer(tenantId),
          audiences: [AKS_SERVER_APP_ID],
          caPem: readEmulatorCa().caPem,
          usernameClaim: 'oid' as const,
          groupsClaim: 'groups' as const,
          adminGroupObjectIds: (aadProfile.adminGroupObjectIDs as string[] | null | undefined) ?? [],
          adminPrincipalIds: roles.list
            .filter((assignment) => assignment.role === 'Azure Kubernetes Service RBAC Cluster Admin' && clusterId.toLowerCase().startsWith(assignment.scope.toLowerCase()))
            .map((assignment) => assignment.principalId),
        },
      } : {}),
    };
  }

  async function putCluster(request: EmulatorRequest, response: http.ServerResponse, claims: JsonObject, subscriptionId: string, group: string, name: string, apiVersion: string): Promise<void> {
    if (!/^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/.test(name)) throw armErrors.invalidResourceName(name);
    let body: unknown;
    try {
      body = parseJsonBody(request);
    } catch (error) {
      throw armErrors.invalidRequestContent((error as Error).message);
    }
    const clusterScope = `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/${MANAGED_CLUSTERS}/${name}`;
    const pools = ((body as JsonObject | undefined)?.properties as JsonObject | undefined)?.agentPoolProfiles;
    const linkedSubnets = new Set((Array.isArray(pools) ? pools : []).map((pool) => (pool as JsonObject)?.vnetSubnetID).filter((id): id is string => typeof id === 'string' && !!id));
    for (const subnetId of linkedSubnets) authorizeLinked(claims, `${MANAGED_CLUSTERS}/write`, clusterScope, 'Microsoft.Network/virtualNetworks/subnets/join/action', subnetId);
    const clusterKey = key(subscriptionId, group, name);
    const existing = clusters.get(clusterKey);
    checkPreconditions(request, existing?.resource);
    if (existing && ((existing.resource.properties as JsonObject).powerState as JsonObject | undefined)?.code === 'Stopped') throw ruleErrors.stopped(existing.name);
    if (existing?.operation?.status === 'InProgress') {
      throw armErrors.operationInProgress(existing.operation.kind, existing.operation.id, existing.operation.startTime);
    }
    const tenantId = subscriptions.get(subscriptionId.toLowerCase())!.tenantId;
    const put = managedClusterFromPut(body, {
      subscriptionId, resourceGroup: resourceGroup(subscriptionId, group).name, name: existing?.name ?? name, tenantId,
      versions: versionsFor(typeof (body as JsonObject | undefined)?.location === 'string' ? String((body as JsonObject).location) : ''),
      subnetExists: (sub, rg, vnet, subnet) => subnets.has(key(sub, rg, vnet, subnet)),
      subnetPrefixes: (id) => [...subnets.values()].find((subnet) => subnet.id.toLowerCase() === id.toLowerCase())?.addressPrefix.split(',').map((p) => p.trim()),
      userAssignedIdentity: (id) => [...identities.values()].find((identity) => identity.id.toLowerCase() === id.toLowerCase()),
      existing: existing?.resource,
    });
    const record: ClusterRecord = existing ?? { subscriptionId, resourceGroup: resourceGroup(subscriptionId, group).name, name, resource: put.resource, entraId: put.entraId };
    const needsControlPlane = !record.endpoint;
    if (record.endpoint && record.entraId !== put.entraId) {
      throw new ArmError(400, 'OperationNotSupported', 'The emulator cannot switch an existing control plane to Entra ID authentication; recreate the cluster.');
    }
    record.resource = put.resource;
    record.entraId = put.entraId;
    setProvisioningState(record.resource, needsControlPlane ? 'Creating' : 'Updating');
    clusters.set(clusterKey, record);

    const operation = startOperation(existing ? 'update' : 'create', subscriptionId, String(put.resource.location), async (current) => {
      await delay(operationDelay);
      const failure = takeFailure(record.name);
      if (failure) {
        current.error = { code: failure.code, message: failure.message };
        setProvisioningState(record.resource, 'Failed');
        throw new Error(failure.message);
      }
      if (needsControlPlane) {
        try {
          record.endpoint = await clusterFactory(clusterSpec(record, put.kubernetesVersion));
        } catch (error) {
          current.error = { code: 'ControlPlaneProvisioningFailed', message: `Starting the control plane failed: ${(error as Error).message}` };
          setProvisioningState(record.resource, 'Failed');
          throw error;
        }
      }
      setProvisioningState(record.resource, 'Succeeded');
    });
    record.operation = operation;
    sendJson(response, existing ? 200 : 201, record.resource, { 'Azure-AsyncOperation': operationUrls(operation, apiVersion)['Azure-AsyncOperation'] });
  }

  function deleteCluster(response: http.ServerResponse, record: ClusterRecord | undefined, clusterKey: string, apiVersion: string): void {
    if (!record) return sendEmpty(response, 204);
    if (record.operation?.status === 'InProgress' && record.operation.kind === 'delete') {
      return sendEmpty(response, 202, operationUrls(record.operation, apiVersion));
    }
    const previous = record.operation?.done ?? Promise.resolve();
    setProvisioningState(record.resource, 'Deleting');
    const operation = startOperation('delete', record.subscriptionId, String(record.resource.location), async () => {
      // AKS accepts a delete while another operation runs; it takes over once that one ends.
      await previous;
      await delay(operationDelay);
      const endpoint = record.endpoint;
      record.endpoint = undefined;
      await endpoint?.stop();
      clusters.delete(clusterKey);
    });
    record.operation = operation;
    sendEmpty(response, 202, operationUrls(operation, apiVersion));
  }

  function credentials(response: http.ServerResponse, record: ClusterRecord, admin: boolean, format: string | null): void {
    const properties = record.resource.properties as JsonObject;
    if (admin && properties.disableLocalAccounts === true) throw armErrors.staticCredentialNotAllowed();
    if (!record.endpoint) throw armErrors.controlPlaneNotReady(String(properties.provisioningState));
    const input = { clusterName: record.name, resourceGroup: record.resourceGroup, endpoint: record.endpoint };
    let yaml: string;
    if (admin) yaml = adminKubeconfig(input);
    else if (record.entraId) {
      const tenantId = String((properties.aadProfile as JsonObject).tenantID);
      yaml = entraUserKubeconfig({ ...input, tenantId, format: format?.toLowerCase() === 'azure' ? 'azure' : 'exec' });
    } else yaml = localUserKubeconfig(input);
    sendJson(response, 200, { kubeconfigs: [{ name: admin ? 'clusterAdmin' : 'clusterUser', value: Buffer.from(yaml).toString('base64') }] });
  }

  /** Permissions API and role assignments at any scope (see role-assignments.ts for the sources). */
  function authorizationApi(request: EmulatorRequest, response: http.ServerResponse, claims: JsonObject, scope: string, kind: string, name: string | undefined): void {
    requireApiVersion(request);
    const parts = scope.split('/').filter(Boolean);
    if (parts[2]?.toLowerCase() === 'resourcegroups' && parts[3]) resourceGroup(parts[1], parts[3]);
    const principal = String(claims.oid);
    if (kind === 'permissions' && !name && request.method === 'GET') {
      const value = checked(claims)
        ? roles.rolesAt(principal, scope).map((definition) => ({ actions: definition.actions, notActions: definition.notActions, dataActions: [], notDataActions: [] }))
        : [{ actions: ['*'], notActions: [], dataActions: [], notDataActions: [] }];
      return sendJson(response, 200, { value });
    }
    if (kind !== 'roleassignments' || !name) throw new ArmError(405, 'MethodNotAllowed', `The requested method ${request.method} is not allowed for ${request.path}.`);
    const show = (assignment: RoleAssignment) => ({
      properties: {
        roleDefinitionId: `/subscriptions/${parts[1]}/providers/Microsoft.Authorization/roleDefinitions/${builtInRoles[assignment.role].id}`,
        principalId: assignment.principalId, ...(assignment.principalType ? { principalType: assignment.principalType } : {}), scope: assignment.scope,
      },
      id: `${assignment.scope}/providers/Microsoft.Authorization/roleAssignments/${assignment.name}`,
      type: 'Microsoft.Authorization/roleAssignments',
      name: assignment.name,
    });
    if (request.method === 'GET') {
      authorize(claims, 'Microsoft.Authorization/roleAssignments/read', scope);
      const found = roles.find(scope, name);
      if (!found) throw armErrors.roleAssignmentNotFound(name);
      return sendJson(response, 200, show(found));
    }
    if (request.method !== 'PUT') throw new ArmError(405, 'MethodNotAllowed', `The requested method ${request.method} is not allowed for ${request.path}.`);
    authorize(claims, 'Microsoft.Authorization/roleAssignments/write', scope);
    let body: JsonObject | undefined;
    try {
      body = parseJsonBody<JsonObject>(request);
    } catch (error) {
      throw armErrors.invalidRequestContent((error as Error).message);
    }
    const properties = (body?.properties ?? {}) as JsonObject;
    const definition = roleById(String(properties.roleDefinitionId ?? ''));
    if (!definition) throw armErrors.roleDefinitionDoesNotExist(String(properties.roleDefinitionId ?? ''));
    const principalId = String(properties.principalId ?? '');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(principalId)) throw armErrors.invalidParameter(`The principal ID '${principalId}' is not a valid object id.`, 'properties.principalId');
    const existing = roles.find(scope, name);
    if (existing) return sendJson(response, 200, show(existing));
    if (roles.same(principalId, definition.name, scope)) throw armErrors.roleAssignmentExists();
    const assignment: RoleAssignment = { name, principalId, role: definition.name, scope, ...(typeof properties.principalType === 'string' ? { principalType: properties.principalType } : {}) };
    roles.add(assignment);
    sendJson(response, 201, show(assignment));
  }

  async function route(request: EmulatorRequest, response: http.ServerResponse): Promise<void> {
    const claims = authenticate(request);
    const segments = request.path.split('/').filter(Boolean);
    const lower = segments.map((segment) => segment.toLowerCase());
    if (lower[0] !== 'subscriptions' || !segments[1]) throw new ArmError(404, 'InvalidResourceType', `The resource type could not be found in the namespace for path '${request.path}'.`);
    const subscriptionId = segments[1];
    const sub = subscription(subscriptionId, claims);
    const method = request.method;

    // {scope}/providers/Microsoft.Authorization/{permissions | roleAssignments[/{name}]}
    const authz = lower.lastIndexOf('providers');
    if (authz >= 2 && lower[authz + 1] === 'microsoft.authorization' && (lower[authz + 2] === 'permissions' || lower[authz + 2] === 'roleassignments')) {
      return authorizationApi(request, response, claims, `/${segments.slice(0, authz).join('/')}`, lower[authz + 2], segments[authz + 3]);
    }

    // /subscriptions/{s}/providers/Microsoft.ContainerService/...
    if (lower[2] === 'providers' && lower[3] === 'microsoft.containerservice') {
      const apiVersion = requireApiVersion(request, apiVersions);
      if (lower[4] === 'managedclusters' && segments.length === 5 && method === 'GET') {
        authorize(claims, `${MANAGED_CLUSTERS}/read`, `/subscriptions/${sub.subscriptionId}`);
        const value = [...clusters.values()].filter((record) => record.subscriptionId.toLowerCase() === subscriptionId.toLowerCase()).map((record) => record.resource);
        return sendJson(response, 200, { value });
      }
      if (lower[4] === 'locations' && segments[5]) {
        const location = normalizeLocation(segments[5]);
        if (lower[6] === 'kubernetesversions' && segments.length === 7 && method === 'GET') {
          return sendJson(response, 200, kubernetesVersionList(versionsFor(location)));
        }
        const operation = segments[7] ? operations.get(segments[7]) : undefined;
        if ((lower[6] === 'operations' || lower[6] === 'operationresults') && method === 'GET') {
          if (!operation || operation.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) {
            throw new ArmError(404, 'NotFound', `Operation ${segments[7]} could not be found.`);
          }
          if (lower[6] === 'operations') {
            return sendJson(response, 200, {
              id: `/subscriptions/${operation.subscriptionId}/providers/Microsoft.ContainerService/locations/${operation.location}/operations/${operation.id}`,
              name: operation.id,
              status: operation.status,
              startTime: operation.startTime.toISOString(),
              ...(operation.endTime ? { endTime: operation.endTime.toISOString(), percentComplete: 100 } : {}),
              ...(operation.error && operation.status === 'Failed' ? { error: operation.error } : {}),
            });
          }
          if (operation.status === 'InProgress') return sendEmpty(response, 202, { Location: operationUrls(operation, apiVersion).Location });
          if (operation.status === 'Failed') throw new ArmError(400, operation.error?.code ?? 'Failed', operation.error?.message ?? 'The operation failed.');
          return sendEmpty(response, 204);
        }
      }
      throw new ArmError(404, 'InvalidResourceType', `The resource type '${segments.slice(4).join('/')}' could not be found in the namespace 'Microsoft.ContainerService' for api version '${apiVersion}'.`);
    }

    if (lower[2] !== 'resourcegroups' || !segments[3]) throw new ArmError(404, 'InvalidResourceType', `No route for ${request.path}.`);
    const groupName = segments[3];
    const scope = `/subscriptions/${sub.subscriptionId}/resourceGroups/${groupName}`;

    if (segments.length === 4 && method === 'GET') {
      requireApiVersion(request);
      authorize(claims, 'Microsoft.Resources/subscriptions/resourceGroups/read', scope);
      const group = resourceGroup(subscriptionId, groupName);
      return sendJson(response, 200, {
        id: `/subscriptions/${sub.subscriptionId}/resourceGroups/${group.name}`, name: group.name, type: 'Microsoft.Resources/resourceGroups',
        location: group.location, ...(group.tags ? { tags: group.tags } : {}), properties: { provisioningState: 'Succeeded' },
      });
    }

    // .../providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}
    if (lower[4] === 'providers' && lower[5] === 'microsoft.network' && lower[6] === 'virtualnetworks' && lower[8] === 'subnets' && segments.length === 10 && method === 'GET') {
      requireApiVersion(request);
      authorize(claims, 'Microsoft.Network/virtualNetworks/subnets/read', `${scope}/providers/Microsoft.Network/virtualNetworks/${segments[7]}/subnets/${segments[9]}`);
      resourceGroup(subscriptionId, groupName);
      const subnet = subnets.get(key(subscriptionId, groupName, segments[7], segments[9]));
      if (!subnet) throw armErrors.subnetResourceNotFound(`/subscriptions/${sub.subscriptionId}/resourceGroups/${groupName}/providers/Microsoft.Network/virtualNetworks/${segments[7]}/subnets/${segments[9]}`);
      return sendJson(response, 200, {
        name: subnet.name, id: subnet.id, etag: `W/"${randomUUID()}"`, type: 'Microsoft.Network/virtualNetworks/subnets',
        properties: { provisioningState: 'Succeeded', addressPrefix: subnet.addressPrefix, delegations: [], privateEndpointNetworkPolicies: 'Disabled', privateLinkServiceNetworkPolicies: 'Enabled' },
      });
    }

    // .../providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}
    if (lower[4] === 'providers' && lower[5] === 'microsoft.managedidentity' && lower[6] === 'userassignedidentities' && segments.length === 8 && method === 'GET') {
      requireApiVersion(request);
      authorize(claims, 'Microsoft.ManagedIdentity/userAssignedIdentities/read', `${scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${segments[7]}`);
      resourceGroup(subscriptionId, groupName);
      const identity = identities.get(key(subscriptionId, groupName, segments[7]));
      if (!identity) throw armErrors.identityNotFound('Microsoft.ManagedIdentity/userAssignedIdentities', segments[7], groupName);
      return sendJson(response, 200, {
        id: identity.id, name: identity.name, type: 'Microsoft.ManagedIdentity/userAssignedIdentities', location: identity.location, tags: {},
        properties: { tenantId: identity.tenantId, principalId: identity.principalId, clientId: identity.clientId },
      });
    }

    if (lower[4] !== 'providers' || lower[5] !== 'microsoft.containerservice' || lower[6] !== 'managedclusters') {
      throw new ArmError(404, 'InvalidResourceType', `No route for ${request.path}.`);
    }
    const apiVersion = requireApiVersion(request, apiVersions);
    resourceGroup(subscriptionId, groupName);

    if (segments.length === 7 && method === 'GET') {
      authorize(claims, `${MANAGED_CLUSTERS}/read`, scope);
      const value = [...clusters.values()]
        .filter((record) => key(record.subscriptionId, record.resourceGroup) === key(subscriptionId, groupName))
        .map((record) => record.resource);
      return sendJson(response, 200, { value });
    }

    const name = segments[7];
    const clusterKey = key(subscriptionId, groupName, name);
    const record = clusters.get(clusterKey);
    const clusterScope = `${scope}/providers/${MANAGED_CLUSTERS}/${name}`;
    const notFound = () => armErrors.resourceNotFound(MANAGED_CLUSTERS, name, groupName);

    if (segments.length === 8) {
      if (method === 'GET') {
        authorize(claims, `${MANAGED_CLUSTERS}/read`, clusterScope);
        if (!record) throw notFound();
        return sendJson(response, 200, record.resource);
      }
      if (method === 'PUT') {
        authorize(claims, `${MANAGED_CLUSTERS}/write`, clusterScope);
        await passBarrier(request);
        return putCluster(request, response, claims, subscriptionId, groupName, name, apiVersion);
      }
      if (method === 'PATCH') {
        authorize(claims, `${MANAGED_CLUSTERS}/write`, clusterScope);
        if (!record) throw notFound();
        checkPreconditions(request, record.resource);
        const body = (parseJsonBody<JsonObject>(request) ?? {});
        if (body.tags !== undefined) record.resource.tags = body.tags;
        record.resource.eTag = randomUUID();
        return sendJson(response, 200, record.resource);
      }
      if (method === 'DELETE') {
        authorize(claims, `${MANAGED_CLUSTERS}/delete`, clusterScope);
        return deleteCluster(response, record, clusterKey, apiVersion);
      }
    }
    if (segments.length === 9 && method === 'POST' && (lower[8] === 'listclusterusercredential' || lower[8] === 'listclusteradmincredential')) {
      const admin = lower[8] === 'listclusteradmincredential';
      authorize(claims, `${MANAGED_CLUSTERS}/${admin ? 'listClusterAdminCredential' : 'listClusterUserCredential'}/action`, clusterScope);
      if (!record) throw notFound();
      return credentials(response, record, admin, request.query.get('format'));
    }
    throw new ArmError(405, 'MethodNotAllowed', `The requested method ${method} is not allowed for ${request.path}.`);
  }

  const server: EmulatorServer = await startEmulatorServer({
    name: 'arm',
    handler: route,
    onError: (error, response) => {
      if (error instanceof ArmError) sendJson(response, error.status, error.body(), error.headers);
      else sendJson(response, 500, { error: { code: 'InternalServerError', message: String((error as Error)?.stack ?? error) } });
    },
  });
  base = server.url;

  const emulator: ArmEmulator = {
    url: base,
    requests: server.requests,
    addSubscription({ subscriptionId, tenantId, displayName }) {
      subscriptions.set(subscriptionId.toLowerCase(), { subscriptionId, tenantId, displayName: displayName ?? subscriptionId });
    },
    addResourceGroup({ subscriptionId, name, location, tags }) {
      resourceGroups.set(key(subscriptionId, name), { subscriptionId, name, location: normalizeLocation(location), tags });
      return `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
    },
    addSubnet({ subscriptionId, resourceGroup: group, vnet, name, addressPrefix }) {
      const id = `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/${name}`;
      subnets.set(key(subscriptionId, group, vnet, name), { id, name, addressPrefix: addressPrefix ?? '10.240.0.0/16' });
      return id;
    },
    addUserAssignedIdentity({ subscriptionId, resourceGroup: group, name }) {
      const id = `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
      const tenantId = subscriptions.get(subscriptionId.toLowerCase())?.tenantId ?? randomUUID();
      const identity = { id, name, resourceGroup: group, location: resourceGroups.get(key(subscriptionId, group))?.location ?? 'westeurope', clientId: randomUUID(), principalId: randomUUID(), tenantId };
      identities.set(key(subscriptionId, group, name), identity);
      return { id, clientId: identity.clientId, principalId: identity.principalId };
    },
    addRoleAssignment(assignment) {
      roles.add({ name: assignment.name ?? randomUUID(), principalId: assignment.principalId, role: assignment.role, scope: assignment.scope });
    },
    grantClusterDeployer({ principalId, resourceGroupIds, subnetIds, grantSubnetAccess }) {
      for (const scope of resourceGroupIds) emulator.addRoleAssignment({ principalId, role: 'Contributor', scope });
      for (const scope of subnetIds) {
        emulator.addRoleAssignment({ principalId, role: 'Network Contributor', scope });
        if (grantSubnetAccess) emulator.addRoleAssignment({ principalId, role: 'Role Based Access Control Administrator', scope });
      }
    },
    roleAssignments: () => [...roles.list],
    clearRoleAssignments(principalId) {
      for (let i = roles.list.length - 1; i >= 0; i--) if (!principalId || roles.list[i].principalId === principalId) roles.list.splice(i, 1);
    },
    setPowerState(subscriptionId, group, name, code) {
      const record = clusters.get(key(subscriptionId, group, name));
      if (!record) throw new Error(`no cluster ${name} in ${group}`);
      const properties = record.resource.properties as JsonObject;
      properties.powerState = { code };
      for (const pool of (properties.agentPoolProfiles as JsonObject[] | undefined) ?? []) pool.powerState = { code };
    },
    barrier(barrier) {
      barriers.push({ ...barrier, method: barrier.method.toUpperCase(), waiting: [] });
    },
    setKubernetesVersions(versions, location) {
      if (location) versionsByLocation.set(normalizeLocation(location), versions);
      else defaultVersions = versions;
    },
    failNextProvisioning(failure) {
      failures.push(failure);
    },
    injectFault: (fault) => server.faults.add(fault),
    setOperationDelay(ms) {
      operationDelay = ms;
    },
    cluster(subscriptionId, group, name) {
      const record = clusters.get(key(subscriptionId, group, name));
      return record && { resource: record.resource, endpoint: record.endpoint };
    },
    async idle() {
      await Promise.all([...operations.values()].map((operation) => operation.done));
    },
    async stop() {
      await server.stop();
      await emulator.idle();
      await Promise.all([...clusters.values()].map(async (record) => {
        const endpoint = record.endpoint;
        record.endpoint = undefined;
        await endpoint?.stop();
      }));
      clusters.clear();
    },
  };
  return emulator;
}
