import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesVersionListResult, ManagedCluster } from '@azure/arm-containerservice';
import { TaskError } from '../pipeline/errors';
import { type AccessEnvironment, type Intent, checkPermissions, checkSubnet, grantSubnetAccess, needsFor } from './access';
import { desiredCluster } from './desired-spec';
import { type Difference, clusterDifferences } from './diff';
import { azureError } from './errors';
import { checkSupportPlan, checkUpgrade, resolveKubernetesVersion } from './kubernetes-version';
import { type OperationContext, progressReporter, runLongOperation, stopReason } from './long-operation';
import { checkClusterSpec } from './network-rules';
import { type ClusterSpec, type ClusterTarget, MANAGED_BY_TAG, isManaged } from './spec';
import { type Client, getCluster } from './read-cluster';
import { poolsBehind, updateBody } from './update-body';

/** What a write needs beyond the AKS client: permission checks, the subnet, role grants. Tests may leave it out. */
export interface WriteOptions {
  access?: AccessEnvironment;
}

export interface ClusterResult {
  cluster: ManagedCluster;
  action: 'created' | 'updated' | 'unchanged' | 'recreated';
  /** What changed, in words. */
  changes: string[];
}

const SETTLED = new Set(['succeeded', 'failed', 'canceled', 'cancelled']);
const isSettled = (c: ManagedCluster) => SETTLED.has((c.provisioningState ?? 'Succeeded').toLowerCase());

/**
 * The live cluster once no operation runs on it: a run cancelled earlier may have left one going,
 * and AKS refuses a write until it ends.
 */
async function settledCluster(client: Client, t: ClusterTarget, o: OperationContext): Promise<ManagedCluster | undefined> {
  let live = await getCluster(client, t, o);
  if (!live || isSettled(live)) return live;
  const what = `Waiting for the running operation on cluster ${t.name}`;
  o.log(`Cluster ${t.name} is ${live.provisioningState}: an earlier operation is still running; waiting for it to end first.`);
  const report = progressReporter(what, 'wait', o);
  const deadline = o.deadline.signal(o.signal);
  try {
    while (live && !isSettled(live)) {
      report(live.provisioningState ?? 'running');
      try {
        await sleep(o.pollIntervalMs, undefined, { signal: deadline.signal });
      } catch (error) {
        throw stopReason(error, what, o) ?? error;
      }
      live = await getCluster(client, t, o);
    }
    return live;
  } finally {
    deadline.clear();
  }
}

async function targetVersion(client: Client, spec: ClusterSpec, current: string | undefined, o: OperationContext): Promise<{ version: string; list: KubernetesVersionListResult }> {
  let list;
  try {
    list = await client.managedClusters.listKubernetesVersions(spec.location, { abortSignal: o.signal });
  } catch (error) {
    throw azureError(error, `Listing the Kubernetes versions of ${spec.location}`);
  }
  const { version, preview } = resolveKubernetesVersion(list, spec.kubernetesVersion, spec.allowPreviewVersions, spec.location);
  if (current) checkUpgrade(list, current, version);
  if (version !== spec.kubernetesVersion) o.log(`Kubernetes version '${spec.kubernetesVersion}' is ${version}${preview ? ' (preview)' : ''} in ${spec.location}.`);
  checkSupportPlan(list, version, spec);
  return { version, list };
}

/**
 * Creates the cluster only if none exists (If-None-Match: *): when another writer created it since
 * it was read, AKS answers 412 and the caller decides anew (learn.microsoft.com/azure/aks/use-etags).
 */
function createCluster(client: Client, t: ClusterTarget, desired: ManagedCluster, o: OperationContext): Promise<ManagedCluster> {
  const pool = desired.agentPoolProfiles![0];
  const nodes = pool.enableAutoScaling ? `${pool.minCount}-${pool.maxCount}` : String(pool.count);
  o.log(`Creating cluster ${t.name} in ${desired.location}: Kubernetes ${desired.kubernetesVersion}, system pool ${pool.name} (${nodes} × ${pool.vmSize}) in subnet ${pool.vnetSubnetID}.`);
  return runLongOperation(`Creating cluster ${t.name}`, 'create', (opts) => client.managedClusters.createOrUpdate(t.resourceGroup, t.name, desired, { ...opts, ifNoneMatch: '*' }), o);
}

function refuseImmutable(differences: Difference[], t: ClusterTarget): void {
  const fixed = differences.filter((d) => d.immutable);
  if (!fixed.length) return;
  throw new TaskError(
    `Cluster ${t.name} cannot take ${fixed.length === 1 ? 'this change' : 'these changes'} in place, so nothing was changed: ${fixed.map((d) => `${d.text} (input '${d.input}')${d.why ? `: ${d.why}` : ''}`).join('; ')}.`,
    "Use mode 'recreate' to delete the cluster and create it again from nothing, or set the inputs back to the cluster's values.",
  );
}

const isStopped = (c: ManagedCluster) => c.powerState?.code?.toLowerCase() === 'stopped';

/** "You can only perform start or delete operations on a stopped AKS cluster" (learn.microsoft.com/azure/aks/start-stop-cluster). */
function stoppedCluster(t: ClusterTarget): TaskError {
  return new TaskError(
    `Cluster ${t.name} is stopped (power state Stopped): AKS allows only start and delete on a stopped cluster, so nothing was written and no credentials were fetched.`,
    `Start it (az aks start --resource-group ${t.resourceGroup} --name ${t.name}) and run the step again, or use mode 'recreate'.`,
  );
}

/** A 412 Precondition Failed from AKS, however wrapped. */
export function isPreconditionFailed(error: unknown): boolean {
  for (let e = error as { statusCode?: number; code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.statusCode === 412 || e.code === 'PreconditionFailed' || /long-running operation has failed\. PreconditionFailed\./.test(e.message ?? '')) return true;
  }
  return false;
}

async function preflight(w: WriteOptions, intent: Intent, t: ClusterTarget, spec: ClusterSpec, o: OperationContext, clusterId?: string): Promise<void> {
  if (!w.access) return;
  await checkSubnet(w.access, spec, o);
  await checkPermissions(w.access, needsFor(intent, w.access, t, spec, clusterId), intent, t, o);
}

/** The cluster identity's object id: a user-assigned identity's, or the system-assigned one the cluster reports. */
async function identityPrincipal(w: WriteOptions, spec: ClusterSpec, cluster: ManagedCluster | undefined, o: OperationContext): Promise<{ id: string; who: string } | undefined> {
  if (!w.access || !spec.grantSubnetAccess) return undefined;
  if (spec.identityType === 'UserAssigned') {
    try {
      return { id: await w.access.arm.identityPrincipalId(spec.userAssignedIdentityId!, o.signal), who: `user-assigned ${spec.userAssignedIdentityId!.split('/').at(-1)}` };
    } catch (error) {
      throw azureError(error, `Reading the user-assigned identity ${spec.userAssignedIdentityId} (input 'userAssignedIdentityId')`);
    }
  }
  const id = cluster?.identity?.type?.toLowerCase() === 'systemassigned' ? cluster.identity.principalId : undefined;
  return id ? { id, who: 'system-assigned' } : undefined;
}

/** Entra ID without Azure RBAC: only the admin groups are cluster-admin, and later steps need to be. */
function warnAboutAdmins(spec: ClusterSpec, o: OperationContext): void {
  if (spec.entraId && !spec.azureRbac && !spec.adminGroupObjectIds.length) {
    o.warn("Entra ID is on without Azure RBAC and without admin groups: nobody is cluster-admin, so later steps that reach the cluster with this service connection get 403. Put the service connection's principal in a group listed in adminGroupObjectIds, or set azureRbac and grant it 'Azure Kubernetes Service RBAC Cluster Admin'.");
  }
}

/**
 * Reads the cluster, compares it with the inputs, and writes only when something differs. Writes
 * carry the eTag read (If-Match) or, for a create, If-None-Match: *; when another writer got there
 * first (412), the cluster is read again and the decision made anew once, then reported.
 */
export async function createOrUpdateCluster(client: Client, t: ClusterTarget, spec: ClusterSpec, o: OperationContext, w: WriteOptions = {}): Promise<ClusterResult> {
  checkClusterSpec(spec);
  warnAboutAdmins(spec, o);
  for (let attempt = 1; ; attempt++) {
    try {
      return await decideAndWrite(client, t, spec, o, w);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      if (attempt >= 2) {
        throw new TaskError(
          `Cluster ${t.name} was changed by another writer twice while this step was deciding what to write (412 Precondition Failed), so it stopped; what the other writer wrote stands.`,
          'Run the step again: it reads the cluster anew and writes only what still differs. If two pipelines manage the same cluster, let one of them own it.',
          { cause: error },
        );
      }
      o.log(`Cluster ${t.name} changed since it was read (another writer was first: 412 Precondition Failed); reading it again and deciding anew.`);
    }
  }
}

async function decideAndWrite(client: Client, t: ClusterTarget, spec: ClusterSpec, o: OperationContext, w: WriteOptions): Promise<ClusterResult> {
  const live = await settledCluster(client, t, o);
  if (live && isStopped(live)) throw stoppedCluster(t);
  const { version } = await targetVersion(client, spec, live?.currentKubernetesVersion, o);
  const desired = desiredCluster(spec, t.name, version);
  if (!live) {
    await preflight(w, 'create', t, spec, o);
    // A user-assigned identity gets its role before the create, so the cluster can use the subnet at once.
    const before = spec.identityType === 'UserAssigned' ? await identityPrincipal(w, spec, undefined, o) : undefined;
    if (before) await grantSubnetAccess(w.access!, spec, before.id, before.who, o);
    const cluster = await createCluster(client, t, desired, o);
    // A system-assigned identity exists only now (az aks create grants it after the create too).
    const after = spec.identityType === 'SystemAssigned' ? await identityPrincipal(w, spec, cluster, o) : undefined;
    if (after) await grantSubnetAccess(w.access!, spec, after.id, after.who, o);
    return { cluster, action: 'created', changes: [`created on Kubernetes ${version}`] };
  }

  const differences = clusterDifferences(live, desired, spec);
  refuseImmutable(differences, t);
  if (!isManaged(live.tags)) {
    o.log(`Cluster ${t.name} lacks the tag ${MANAGED_BY_TAG.key}=${MANAGED_BY_TAG.value}: it is updated, but not adopted, so recreate and delete leave it alone unless allowUnmanaged is set.`);
  }
  const control = live.currentKubernetesVersion ?? live.kubernetesVersion;
  const upgrade = control !== version;
  const behind = poolsBehind(live);
  if (!upgrade && behind.length) {
    o.warn(`Node pools behind the control plane (${control}): ${behind.map((p) => `${p.name} (${p.currentOrchestratorVersion ?? p.orchestratorVersion})`).join(', ')}. They stay there: this step raises node pools only together with the control plane; upgrade them with az aks nodepool upgrade, or raise kubernetesVersion.`);
  }
  // A failed or cancelled operation can leave the cluster half-changed; writing it again reconciles it.
  const failed = ['failed', 'canceled', 'cancelled'].includes(live.provisioningState?.toLowerCase() ?? '');
  const principal = await identityPrincipal(w, spec, live, o);
  if (!differences.length && !failed) {
    if (principal) await grantSubnetAccess(w.access!, spec, principal.id, principal.who, o);
    o.log(`No changes: cluster ${t.name} matches the inputs.`);
    return { cluster: live, action: 'unchanged', changes: [] };
  }
  const changes = differences.map((d) => d.text);
  if (upgrade) changes.push(`every node pool raised to ${version} with the control plane: ${(live.agentPoolProfiles ?? []).map((p) => p.name).join(', ')}`);
  if (failed) changes.push(`the last operation ended ${live.provisioningState}: the desired state is written again to reconcile the cluster`);
  await preflight(w, 'update', t, spec, o, live.id);
  if (principal) await grantSubnetAccess(w.access!, spec, principal.id, principal.who, o);
  o.log(`Updating cluster ${t.name}, ${changes.length} change${changes.length === 1 ? '' : 's'}:`);
  for (const c of changes) o.log(`  - ${c}`);
  const body = updateBody(live, desired, spec);
  const cluster = await runLongOperation(`Updating cluster ${t.name}`, 'update', (opts) => client.managedClusters.createOrUpdate(t.resourceGroup, t.name, body, { ...opts, ...(live.eTag ? { ifMatch: live.eTag } : {}) }), o);
  return { cluster, action: 'updated', changes };
}

function guard(live: ManagedCluster, t: ClusterTarget, allowUnmanaged: boolean, verb: string): void {
  if (isManaged(live.tags) || allowUnmanaged) return;
  throw new TaskError(
    `Cluster ${t.name} does not carry the tag ${MANAGED_BY_TAG.key}=${MANAGED_BY_TAG.value}: this extension did not create it, so it will not ${verb} it. Nothing was deleted.`,
    `Set 'allowUnmanaged' to true to ${verb} it anyway, or point the step at a cluster this extension created.`,
  );
}

/** Says what is about to be destroyed, before anything is. */
function announceDestruction(live: ManagedCluster, t: ClusterTarget, verb: string, o: OperationContext): void {
  o.warn(`${verb} cluster ${t.name} deletes it and everything in it.`);
  const pools = (live.agentPoolProfiles ?? []).map((p) => `${p.name} (${p.count ?? 0} × ${p.vmSize})`).join(', ');
  o.log(`About to delete:`);
  o.log(`  - cluster ${live.id}, Kubernetes ${live.currentKubernetesVersion ?? live.kubernetesVersion}, API server ${live.privateFqdn ?? live.fqdn}`);
  o.log(`  - node pools: ${pools || 'none'}`);
  o.log(`  - node resource group ${live.nodeResourceGroup} with all it holds (scale sets, disks, load balancer, public IPs)`);
  o.log('  - every workload and volume in the cluster; what lives in Git comes back once Flux is bootstrapped again');
}

async function deleteAndWait(client: Client, live: ManagedCluster, t: ClusterTarget, o: OperationContext): Promise<void> {
  await runLongOperation(`Deleting cluster ${t.name}`, 'delete', (opts) => client.managedClusters.delete(t.resourceGroup, t.name, opts), o);
  if (await getCluster(client, t, o)) throw new TaskError(`Azure reported cluster ${t.name} deleted, but it still exists.`, 'Run the step again.');
  o.log(`Deleted cluster ${t.name} (was ${live.currentKubernetesVersion ?? live.kubernetesVersion}).`);
}

/** Deletes the cluster (only a managed one unless forced), then creates it again from nothing. */
export async function recreateCluster(client: Client, t: ClusterTarget, spec: ClusterSpec, allowUnmanaged: boolean, o: OperationContext, w: WriteOptions = {}): Promise<ClusterResult> {
  checkClusterSpec(spec);
  warnAboutAdmins(spec, o);
  const live = await getCluster(client, t, o);
  if (live) guard(live, t, allowUnmanaged, 'recreate');
  // Resolved before the delete: a version the location does not offer must stop the run first.
  const { version } = await targetVersion(client, spec, undefined, o);
  const desired = desiredCluster(spec, t.name, version);
  await preflight(w, live ? 'recreate' : 'create', t, spec, o, live?.id);
  const before = spec.identityType === 'UserAssigned' ? await identityPrincipal(w, spec, undefined, o) : undefined;
  if (live) {
    announceDestruction(live, t, 'Recreating', o);
    await deleteAndWait(client, live, t, o);
  } else {
    o.log(`Cluster ${t.name} does not exist (a recreate may have stopped after the delete); creating it from nothing.`);
  }
  if (before) await grantSubnetAccess(w.access!, spec, before.id, before.who, o);
  let cluster: ManagedCluster;
  try {
    cluster = await createCluster(client, t, desired, o);
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    // Another writer created it between the delete and this create: converge on what is there.
    o.log(`Cluster ${t.name} was created by another writer after the delete (412 Precondition Failed); bringing it to the inputs instead.`);
    const r = await createOrUpdateCluster(client, t, spec, o, w);
    return { ...r, action: live ? 'recreated' : r.action };
  }
  const after = spec.identityType === 'SystemAssigned' ? await identityPrincipal(w, spec, cluster, o) : undefined;
  if (after) await grantSubnetAccess(w.access!, spec, after.id, after.who, o);
  const was = live ? `deleted (was Kubernetes ${live.currentKubernetesVersion ?? live.kubernetesVersion}), ` : '';
  return { cluster, action: live ? 'recreated' : 'created', changes: [`${was}created from nothing on Kubernetes ${version}`] };
}

/** Deletes the cluster (only a managed one unless forced); nothing to do when it is gone. */
export async function deleteCluster(client: Client, t: ClusterTarget, allowUnmanaged: boolean, o: OperationContext, w: WriteOptions = {}): Promise<ManagedCluster | undefined> {
  const live = await getCluster(client, t, o);
  if (!live) {
    o.log(`Cluster ${t.name} does not exist; nothing to delete.`);
    return undefined;
  }
  guard(live, t, allowUnmanaged, 'delete');
  if (w.access) await checkPermissions(w.access, needsFor('delete', w.access, t, undefined, live.id), 'delete', t, o);
  announceDestruction(live, t, 'Deleting', o);
  await deleteAndWait(client, live, t, o);
  return live;
}
