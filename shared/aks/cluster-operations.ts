import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedCluster } from '@azure/arm-containerservice';
import { TaskError } from '../pipeline/errors';
import { desiredCluster } from './desired-spec';
import { type Difference, clusterDifferences } from './diff';
import { azureError } from './errors';
import { checkUpgrade, resolveKubernetesVersion } from './kubernetes-version';
import { type OperationContext, progressReporter, runLongOperation, stopReason } from './long-operation';
import { type ClusterSpec, type ClusterTarget, MANAGED_BY_TAG, isManaged } from './spec';
import { type Client, getCluster } from './read-cluster';
import { updateBody } from './update-body';

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
  const signal = o.deadline.signal(o.signal);
  while (live && !isSettled(live)) {
    report(live.provisioningState ?? 'running');
    try {
      await sleep(o.pollIntervalMs, undefined, { signal });
    } catch (error) {
      throw stopReason(error, what, o) ?? error;
    }
    live = await getCluster(client, t, o);
  }
  return live;
}

async function targetVersion(client: Client, spec: ClusterSpec, current: string | undefined, o: OperationContext): Promise<string> {
  let list;
  try {
    list = await client.managedClusters.listKubernetesVersions(spec.location, { abortSignal: o.signal });
  } catch (error) {
    throw azureError(error, `Listing the Kubernetes versions of ${spec.location}`);
  }
  const { version, preview } = resolveKubernetesVersion(list, spec.kubernetesVersion, spec.allowPreviewVersions, spec.location);
  if (current) checkUpgrade(list, current, version);
  if (version !== spec.kubernetesVersion) o.log(`Kubernetes version '${spec.kubernetesVersion}' is ${version}${preview ? ' (preview)' : ''} in ${spec.location}.`);
  return version;
}

function createCluster(client: Client, t: ClusterTarget, desired: ManagedCluster, o: OperationContext): Promise<ManagedCluster> {
  const pool = desired.agentPoolProfiles![0];
  const nodes = pool.enableAutoScaling ? `${pool.minCount}-${pool.maxCount}` : String(pool.count);
  o.log(`Creating cluster ${t.name} in ${desired.location}: Kubernetes ${desired.kubernetesVersion}, system pool ${pool.name} (${nodes} × ${pool.vmSize}) in subnet ${pool.vnetSubnetID}.`);
  return runLongOperation(`Creating cluster ${t.name}`, 'create', (opts) => client.managedClusters.createOrUpdate(t.resourceGroup, t.name, desired, opts), o);
}

function refuseImmutable(differences: Difference[], t: ClusterTarget): void {
  const fixed = differences.filter((d) => d.immutable);
  if (!fixed.length) return;
  throw new TaskError(
    `Cluster ${t.name} cannot take ${fixed.length === 1 ? 'this change' : 'these changes'} in place, so nothing was changed: ${fixed.map((d) => `${d.text} (input '${d.input}')`).join('; ')}.`,
    "Use mode 'recreate' to delete the cluster and create it again from nothing, or set the inputs back to the cluster's values.",
  );
}

/** Reads the cluster, compares it with the inputs, and writes only when something differs. */
export async function createOrUpdateCluster(client: Client, t: ClusterTarget, spec: ClusterSpec, o: OperationContext): Promise<ClusterResult> {
  const live = await settledCluster(client, t, o);
  const version = await targetVersion(client, spec, live?.currentKubernetesVersion, o);
  const desired = desiredCluster(spec, t.name, version);
  if (!live) return { cluster: await createCluster(client, t, desired, o), action: 'created', changes: [`created on Kubernetes ${version}`] };

  const differences = clusterDifferences(live, desired, spec);
  refuseImmutable(differences, t);
  if (!isManaged(live.tags)) {
    o.log(`Cluster ${t.name} lacks the tag ${MANAGED_BY_TAG.key}=${MANAGED_BY_TAG.value}: it is updated, but not adopted, so recreate and delete leave it alone unless allowUnmanaged is set.`);
  }
  // A failed or cancelled operation can leave the cluster half-changed; writing it again reconciles it.
  const failed = ['failed', 'canceled', 'cancelled'].includes(live.provisioningState?.toLowerCase() ?? '');
  if (!differences.length && !failed) {
    o.log(`No changes: cluster ${t.name} matches the inputs.`);
    return { cluster: live, action: 'unchanged', changes: [] };
  }
  const changes = differences.map((d) => d.text);
  if (failed) changes.push(`the last operation ended ${live.provisioningState}: the desired state is written again to reconcile the cluster`);
  o.log(`Updating cluster ${t.name}, ${changes.length} change${changes.length === 1 ? '' : 's'}:`);
  for (const c of changes) o.log(`  - ${c}`);
  const cluster = await runLongOperation(`Updating cluster ${t.name}`, 'update', (opts) => client.managedClusters.createOrUpdate(t.resourceGroup, t.name, updateBody(live, desired, spec), opts), o);
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
export async function recreateCluster(client: Client, t: ClusterTarget, spec: ClusterSpec, allowUnmanaged: boolean, o: OperationContext): Promise<ClusterResult> {
  const live = await getCluster(client, t, o);
  if (live) guard(live, t, allowUnmanaged, 'recreate');
  // Resolved before the delete: a version the location does not offer must stop the run first.
  const version = await targetVersion(client, spec, undefined, o);
  const desired = desiredCluster(spec, t.name, version);
  if (live) {
    announceDestruction(live, t, 'Recreating', o);
    await deleteAndWait(client, live, t, o);
  } else {
    o.log(`Cluster ${t.name} does not exist (a recreate may have stopped after the delete); creating it from nothing.`);
  }
  const cluster = await createCluster(client, t, desired, o);
  const was = live ? `deleted (was Kubernetes ${live.currentKubernetesVersion ?? live.kubernetesVersion}), ` : '';
  return { cluster, action: live ? 'recreated' : 'created', changes: [`${was}created from nothing on Kubernetes ${version}`] };
}

/** Deletes the cluster (only a managed one unless forced); nothing to do when it is gone. */
export async function deleteCluster(client: Client, t: ClusterTarget, allowUnmanaged: boolean, o: OperationContext): Promise<ManagedCluster | undefined> {
  const live = await getCluster(client, t, o);
  if (!live) {
    o.log(`Cluster ${t.name} does not exist; nothing to delete.`);
    return undefined;
  }
  guard(live, t, allowUnmanaged, 'delete');
  announceDestruction(live, t, 'Deleting', o);
  await deleteAndWait(client, live, t, o);
  return live;
}
