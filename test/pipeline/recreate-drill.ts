// The disaster-recovery drill: on a cluster with the teams and their workloads, the scheduled
// recreate-for-upgrade pipeline deletes the cluster and builds a new one; nothing but Git and the
// pipeline's secrets brings the systems back. Measured from the cluster's DELETE reaching ARM to
// the last system Ready with its workload and Secrets; the objects are compared with those before.
import { conditionOf, type KubeObject } from '../platform/kube-api';
import type { LocalStack } from './local-stack';
import { formatDuration } from './render';
import { runPipelineFile } from './run-file';
import type { PipelineRun } from './runner';
import { compareSystemObjects, describeSystemObjects, systemObjects, type SystemObjects } from './system-objects';
import { waitForSystem, type SystemReady } from './team-workload';
import { changesOf, clusterApi, lastReady, systemsTable, table, type ZeroToHero } from './zero-to-hero';

export interface DrillOptions {
  pipelineFile: string;
  node?: 'node20' | 'node24';
  signal?: AbortSignal;
  out?: (line: string) => void;
  timeoutMs?: number;
}

export interface Drill {
  run: PipelineRun;
  oldServer: string;
  newServer?: string;
  before: Record<string, SystemObjects>;
  after: Record<string, SystemObjects>;
  /** What differs, naming fields only; empty when everything came back as it was. */
  differences: string[];
  deletedAt?: number;
  ready: SystemReady[];
  /** DELETE of the old cluster -> last system Ready. */
  ms?: number;
}

export async function recreateDrill(stack: LocalStack, z: ZeroToHero, o: DrillOptions): Promise<Drill> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const api = clusterApi(stack);
  const names = z.systems.map((s) => s.name);
  await platformAtHead(stack, o.timeoutMs ?? 180_000);
  const before = await systemObjects(api(), names);
  const oldServer = api().credentials.server;
  const { resourceGroup, name } = stack.landingZone.clusters[0]!;
  const clusterPath = `/subscriptions/${stack.emulators.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`.toLowerCase();

  // When AksBootstrap's DELETE reaches ARM: the moment the old cluster starts to go.
  const requests = stack.emulators.arm.requests;
  let deletedAt: number | undefined;
  let seen = requests.length;
  const watch = setInterval(() => {
    for (; seen < requests.length; seen++) {
      const r = requests[seen]!;
      if (deletedAt === undefined && r.method === 'DELETE' && r.path.toLowerCase() === clusterPath) deletedAt = Date.now();
    }
  }, 10);
  let run: PipelineRun;
  try {
    run = await runPipelineFile(o.pipelineFile, {
      environment: stack.environment, pipelineVariables: stack.pipelineVariables, overrides: stack.overrides, node: o.node, signal: o.signal, out,
    });
  } finally {
    clearInterval(watch);
  }
  if (run.result === 'Failed' || run.result === 'Canceled') return { run, oldServer, before, after: {}, differences: ['the recreate pipeline did not succeed'], deletedAt, ready: [] };
  // Nothing is pushed or asked for: each system comes back at the head its team left.
  const ready = await Promise.all(names.map((n) => waitForSystem(api, n, z.heads.get(n)!, o.timeoutMs ?? 180_000)));
  const after = await systemObjects(api(), names);
  const last = lastReady(ready);
  const ms = deletedAt === undefined || last === undefined ? undefined : last - deletedAt;
  return { run, oldServer, newServer: api().credentials.server, before, after, differences: compareSystemObjects(before, after), deletedAt, ready, ms };
}

/**
 * Flux takes the platform repository's new commits (the registrations) within its interval;
 * asked now, so that the objects compared are those Flux keeps, as a minute later.
 */
async function platformAtHead(stack: LocalStack, timeoutMs: number): Promise<void> {
  const api = clusterApi(stack)();
  const repository = decodeURIComponent(stack.platformRepositoryUrl.split('/').pop()!);
  const source = '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system';
  // The environment's branch, as FluxBootstrap set it.
  const branch = ((await api.get<KubeObject>(source)).spec as { ref: { branch: string } }).ref.branch;
  const revision = `${branch}@sha1:${await stack.repos.head(repository, branch)}`;
  const requestedAt = { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } };
  await api.patch(source, requestedAt);
  for (const name of ['flux-system', 'systems']) {
    const path = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/${name}`;
    await api.patch(path, requestedAt);
    await api.waitFor<KubeObject>(`Kustomization flux-system/${name} at ${revision}`, path,
      (k) => conditionOf(k, 'Ready')?.status === 'True' && (k.status as { lastAppliedRevision?: string }).lastAppliedRevision === revision, timeoutMs);
  }
}

export function drillReport(d: Drill): string[] {
  const lines = ['', 'Recreate drill', ''];
  lines.push(...table([['step', 'result', 'took', 'changes'], ...d.run.steps.map((s) => [`${s.index}. ${s.displayName}`, s.status, formatDuration(s.durationMs), changesOf(s)])]), '');
  lines.push(`Old cluster ${d.oldServer} deleted; new cluster ${d.newServer ?? '(none)'}.`);
  if (d.ready.length && d.deletedAt !== undefined) {
    lines.push(...systemsTable(d.ready, d.deletedAt, 'Ready after delete'), '');
  }
  lines.push('Objects before the recreate:', ...describeSystemObjects(d.before).map((l) => `  ${l}`));
  lines.push(d.differences.length ? `Objects after the recreate: ${d.differences.length} differences` : 'Objects after the recreate: the same (kinds, names, content; Secret values compared by digest)');
  for (const line of d.differences) lines.push(`  ${line}`);
  lines.push(d.ms === undefined ? `Drill: not complete (${d.ready.length ? 'a system is not Ready' : `recreate ${d.run.result}`}).` : `Drill: ${formatDuration(d.ms)} from the old cluster's delete to every system Ready with its workload`);
  return lines;
}
