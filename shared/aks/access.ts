// What the service connection must be allowed to do before AksBootstrap writes anything, asked
// of Azure's permissions API, and the subnet role the cluster identity needs (granted the way
// `az aks create` grants it, when asked to).
//
// - A cluster PUT needs Microsoft.ContainerService/managedClusters/write on the cluster (AKS:
//   AuthorizationFailed otherwise) and, because the node pools name a subnet, ARM's linked check
//   Microsoft.Network/virtualNetworks/subnets/join/action on that subnet (LinkedAuthorizationFailed,
//   SupportArticles-docs error-code-linkedauthorizationfailed.md). Roles that hold them: Contributor
//   or "Azure Kubernetes Service Contributor Role" (managedClusters/read + write, no delete), and
//   Network Contributor (Microsoft.Network/*), built-in-roles/containers.md and networking.md.
// - A delete (recreate, delete) needs managedClusters/delete: Contributor or Owner.
// - Assigning Network Contributor on the subnet needs Microsoft.Authorization/roleAssignments/write
//   there: Owner, User Access Administrator or Role Based Access Control Administrator (Contributor
//   excludes Microsoft.Authorization/*/Write).
// - The cluster identity needs Network Contributor on a bring-your-own subnet. `az aks create`
//   grants it to a user-assigned identity before the create and, for a system-assigned identity,
//   after it, to the principalId the cluster reports (azure-cli acs managed_cluster_decorator.py,
//   process_add_role_assignment_for_vnet_subnet / need_post_creation_vnet_permission_granting).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArmCallError, BUILT_IN_ROLES, isPermitted, type Permission, type ResourceManager } from '../azure/resource-manager';
import { TaskError } from '../pipeline/errors';
import { azureError } from './errors';
import type { OperationContext } from './long-operation';
import { checkSubnetRanges } from './network-rules';
import type { ClusterSpec, ClusterTarget } from './spec';
import { InputError } from '../pipeline/errors';

/** The Azure calls beyond the AKS client that checks and grants need. */
export interface AccessEnvironment {
  arm: ResourceManager;
  subscriptionId: string;
  /**
   * The service connection's application (client) id, for the commands in messages. The pipeline
   * masks a service connection's ids in logs, so the task leaves it out and names where to find it.
   */
  clientId?: string;
}

interface Need {
  action: string;
  scope: string;
  /** The scope in words. */
  where: string;
  input: string;
  /** Roles that hold the action, in words. */
  roles: string;
  /** The one to put in the example command. */
  grant: string;
}

const WRITE = 'Microsoft.ContainerService/managedClusters/write';
const DELETE = 'Microsoft.ContainerService/managedClusters/delete';
const JOIN = 'Microsoft.Network/virtualNetworks/subnets/join/action';
const ASSIGN = 'Microsoft.Authorization/roleAssignments/write';

const groupScope = (env: AccessEnvironment, t: ClusterTarget) => `/subscriptions/${env.subscriptionId}/resourceGroups/${t.resourceGroup}`;

export type Intent = 'create' | 'update' | 'delete' | 'recreate';

/** What the step will do, as the permissions it needs. */
export function needsFor(intent: Intent, env: AccessEnvironment, t: ClusterTarget, spec: ClusterSpec | undefined, clusterId?: string): Need[] {
  const group = groupScope(env, t);
  const needs: Need[] = [];
  if (intent === 'delete' || intent === 'recreate') {
    needs.push({ action: DELETE, scope: clusterId ?? group, where: `cluster ${t.name}`, input: 'resourceGroup', roles: "'Contributor' on the resource group (the 'Azure Kubernetes Service Contributor Role' cannot delete)", grant: 'Contributor' });
  }
  if (intent !== 'delete' && spec) {
    const scope = intent === 'update' && clusterId ? clusterId : group;
    needs.push({ action: WRITE, scope, where: intent === 'update' ? `cluster ${t.name}` : `resource group ${t.resourceGroup}`, input: 'resourceGroup', roles: "'Contributor' or 'Azure Kubernetes Service Contributor Role' on the resource group", grant: intent === 'recreate' ? 'Contributor' : 'Azure Kubernetes Service Contributor Role' });
    needs.push({ action: JOIN, scope: spec.subnetId, where: `subnet ${spec.subnetId}`, input: 'subnetId', roles: "'Network Contributor' on the subnet (or its virtual network)", grant: 'Network Contributor' });
    if (spec.grantSubnetAccess) {
      needs.push({ action: ASSIGN, scope: spec.subnetId, where: `subnet ${spec.subnetId}`, input: 'grantSubnetAccess', roles: "'Role Based Access Control Administrator', 'User Access Administrator' or 'Owner' on the subnet (to grant the cluster identity its role there)", grant: 'Role Based Access Control Administrator' });
    }
  }
  return needs;
}

const VERB: Record<Intent, string> = { create: 'create', update: 'update', delete: 'delete', recreate: 'delete and create' };

/**
 * Asks Azure what the service connection may do at each scope and refuses, naming the role to
 * grant, before anything is written. When Azure does not answer, the write goes ahead and Azure
 * decides (with a warning).
 */
export async function checkPermissions(env: AccessEnvironment, needs: Need[], intent: Intent, t: ClusterTarget, o: OperationContext): Promise<void> {
  const missing: Need[] = [];
  const byScope = new Map<string, Need[]>();
  for (const n of needs) byScope.set(n.scope.toLowerCase(), [...(byScope.get(n.scope.toLowerCase()) ?? []), n]);
  for (const group of byScope.values()) {
    let permissions: Permission[];
    try {
      permissions = await env.arm.permissions(group[0].scope, o.signal);
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') throw error;
      o.warn(`Could not ask Azure what the service connection may do on ${group[0].where} (${(error as Error).message}); going on, Azure decides when the cluster is written.`);
      continue;
    }
    missing.push(...group.filter((n) => !isPermitted(permissions, n.action)));
  }
  if (!missing.length) return;
  const assignee = env.clientId ?? "<the service connection's application (client) id>";
  throw new TaskError(
    `The service connection (input 'azureSubscription') may not ${VERB[intent]} cluster ${t.name}, so nothing was written: ${missing.map((m) => `it lacks ${m.action} on ${m.where} (input '${m.input}')`).join('; ')}.`,
    `Grant its service principal ${missing.map((m) => m.roles).join(', and ')}: ${missing.map((m) => `az role assignment create --assignee ${assignee} --role '${m.grant}' --scope ${m.scope}`).join(' ; ')}. New role assignments can take a few minutes to apply.`,
  );
}

/** The subnet exists, and the service and pod ranges do not overlap it. */
export async function checkSubnet(env: AccessEnvironment, spec: ClusterSpec, o: OperationContext): Promise<void> {
  let subnet;
  try {
    subnet = await env.arm.subnet(spec.subnetId, o.signal);
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') throw error;
    o.warn(`Could not read subnet ${spec.subnetId} (${(error as Error).message}); its address range is not checked against the service and pod CIDRs.`);
    return;
  }
  if (!subnet) throw new InputError('subnetId', `the subnet ${spec.subnetId} does not exist`, 'the resource ID of an existing subnet in the location of the cluster');
  checkSubnetRanges(spec, subnet.addressPrefixes);
}

/** A stable role assignment name, so that a re-run finds the assignment it made. */
function assignmentName(...parts: string[]): string {
  const h = createHash('sha256').update(parts.map((p) => p.toLowerCase()).join('|')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** How long a new identity may take to appear in Entra ID for ARM: az CLI retries the same way. */
const PRINCIPAL_RETRIES = 8;

/** Grants the cluster identity Network Contributor on the subnet; nothing when it holds it already. */
export async function grantSubnetAccess(env: AccessEnvironment, spec: ClusterSpec, principalId: string, who: string, o: OperationContext): Promise<void> {
  const role = BUILT_IN_ROLES.networkContributor;
  const name = assignmentName(spec.subnetId, principalId, role.id);
  const what = `Granting the cluster identity (${who}, object id ${principalId}) '${role.name}' on subnet ${spec.subnetId}`;
  try {
    if (await env.arm.roleAssignmentExists(spec.subnetId, name, o.signal)) {
      o.log(`The cluster identity (${who}) holds '${role.name}' on the subnet already.`);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await env.arm.assignRole({ scope: spec.subnetId, name, subscriptionId: env.subscriptionId, roleId: role.id, principalId, principalType: 'ServicePrincipal' }, o.signal);
        o.log(result === 'created' ? `Granted the cluster identity (${who}) '${role.name}' on subnet ${spec.subnetId}.` : `The cluster identity (${who}) holds '${role.name}' on the subnet already.`);
        return;
      } catch (error) {
        // A new identity is not in the directory at once: ARM answers PrincipalNotFound for a while.
        if (!(error instanceof ArmCallError && error.code === 'PrincipalNotFound') || attempt >= PRINCIPAL_RETRIES) throw error;
        o.log(`The cluster identity is not in Entra ID yet (PrincipalNotFound); trying again (${attempt}/${PRINCIPAL_RETRIES - 1}).`);
        await sleep(o.pollIntervalMs, undefined, { signal: o.signal });
      }
    }
  } catch (error) {
    const e = azureError(error, what);
    throw e instanceof TaskError && !e.hint ? new TaskError(e.message, "The service connection needs 'Role Based Access Control Administrator' (or 'User Access Administrator', 'Owner') on the subnet, or grant the role yourself and set grantSubnetAccess to false.", { cause: error }) : e;
  }
}
