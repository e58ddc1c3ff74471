// Zero to hero on the local stack: the bootstrap pipeline, then each registered team pushes a
// small workload (team-workload.ts) and the run ends when the last system has applied it with its
// Secrets unsealed. The table shows each step's duration and changes (from the runner's step
// results and the tasks' summaries and outputs), each system's Flux status, and the time from
// the first step to the last system Ready.
import type { KubeApi } from '../platform/kube-api';
import type { LocalStack } from './local-stack';
import { formatDuration } from './render';
import { runPipelineFile } from './run-file';
import type { PipelineRun, StepOutcome } from './runner';
import { requestReconcile, seedWorkloads, waitForSystem, type SystemReady, type TeamSystem } from './team-workload';

export interface ZeroToHeroOptions {
  pipelineFile: string;
  kubeseal: string;
  node?: 'node20' | 'node24';
  signal?: AbortSignal;
  out?: (line: string) => void;
  /** How long each system may take to apply its workload. */
  timeoutMs?: number;
}

export interface ZeroToHero {
  run: PipelineRun;
  startedAt: number;
  systems: TeamSystem[];
  /** Each team repository's head with its workload. */
  heads: Map<string, string>;
  /** How long pushing the workloads took (clone, kubeseal, commit, push). */
  seedMs: number;
  ready: SystemReady[];
  /** First step started -> last system Ready; undefined when the pipeline failed. */
  ms?: number;
}

/** The cluster the pipeline manages, as it is now (a recreate replaces it). */
export function clusterApi(stack: LocalStack): () => KubeApi {
  const { resourceGroup, name } = stack.landingZone.clusters[0]!;
  return () => {
    const cluster = stack.clusters.cluster(resourceGroup, name);
    if (!cluster) throw new Error(`cluster ${name} is not running`);
    return cluster.api;
  };
}

/** The first table of a summary, row label -> value. */
function summaryRows(step: StepOutcome): Map<string, string> {
  const rows = new Map<string, string>();
  for (const { markdown } of step.run?.summaries ?? []) {
    for (const m of markdown.matchAll(/^\| \*\*(.+?)\*\* \| (.*) \|$/gm)) if (!rows.has(m[1]!)) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

/** The systems the pipeline registered: name from the summary, repository from the output. */
export function registeredSystems(run: PipelineRun): TeamSystem[] {
  return run.steps.filter((s) => s.reference.startsWith('RegisterSystem@') && s.status.startsWith('succeeded') && s.run).map((s) => {
    const rows = summaryRows(s);
    const name = rows.get('System')!;
    const repositoryUrl = s.run!.variables.repositoryUrl?.value ?? '';
    const path = /main:\.?\/?([^)\s]+)\)/.exec(s.run!.summaries.map((x) => x.markdown).join('\n'))?.[1] ?? 'deploy/dev';
    return { name, repository: decodeURIComponent(repositoryUrl.split('/').pop() || name), path };
  });
}

export async function zeroToHero(stack: LocalStack, o: ZeroToHeroOptions): Promise<ZeroToHero> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  // The clock starts when the runner starts the first step (after reading and checking the file).
  const called = Date.now();
  let firstStepAt: number | undefined;
  const run = await runPipelineFile(o.pipelineFile, {
    environment: stack.environment, pipelineVariables: stack.pipelineVariables, overrides: stack.overrides, node: o.node, signal: o.signal,
    out: (line) => {
      if (firstStepAt === undefined && /^-- \[1\/\d+\] /.test(line)) firstStepAt = Date.now();
      out(line);
    },
  });
  const startedAt = firstStepAt ?? called;
  const systems = registeredSystems(run);
  if (run.result === 'Failed' || run.result === 'Canceled' || !systems.length) return { run, startedAt, systems, heads: new Map(), seedMs: 0, ready: [] };
  out('');
  out(`Teams push their workloads: ${systems.map((s) => `${s.repository}/${s.path}`).join(', ')} (a ConfigMap and a Secret sealed by kubeseal with the certificate in the starter README)`);
  const seeded = Date.now();
  const heads = await seedWorkloads(stack.repos, systems, o.kubeseal);
  const seedMs = Date.now() - seeded;
  const api = clusterApi(stack);
  // Flux would take the pushes within the interval (5m); asked now, as `flux reconcile` does.
  await Promise.all(systems.map((s) => requestReconcile(api(), s.name)));
  const ready = await Promise.all(systems.map((s) => waitForSystem(api, s.name, heads.get(s.name)!, o.timeoutMs ?? 120_000)));
  const last = lastReady(ready);
  return { run, startedAt, systems, heads, seedMs, ready, ms: last === undefined ? undefined : last - startedAt };
}

/** When the last system became Ready; undefined when one did not. */
export function lastReady(ready: SystemReady[]): number | undefined {
  return ready.length && ready.every((r) => r.readyAt !== undefined) ? Math.max(...ready.map((r) => r.readyAt!)) : undefined;
}

/** Each system's Flux status, what it applied, and when it was Ready (from `from`). */
export function systemsTable(ready: SystemReady[], from: number, readyAfter: string): string[] {
  return table([['system', 'Flux', 'applied', 'workload', readyAfter],
    ...ready.map((r) => [r.name, r.flux, r.revision ? shortRevision(r.revision) : '-', `${r.objects} objects applied, ${r.unsealed} Secrets unsealed`, r.readyAt === undefined ? 'not Ready' : formatDuration(r.readyAt - from)])]);
}

/** What a step changed, from its summary and outputs. */
export function changesOf(step: StepOutcome): string {
  if (!step.run) return step.status === 'skipped' ? `skipped${step.message ? `: ${step.message}` : ''}` : '';
  const rows = summaryRows(step);
  const parts: string[] = [];
  const result = rows.get('Result');
  if (result) parts.push(`cluster ${result}`);
  const counts = [0, 0, 0];
  let counted = false;
  for (const value of rows.values()) {
    for (const m of value.matchAll(/(\d+) created, (\d+) configured, (\d+) unchanged/g)) {
      counted = true;
      for (let i = 0; i < 3; i++) counts[i]! += Number(m[i + 1]);
    }
  }
  if (counted) parts.push(`${counts[0]} created, ${counts[1]} configured, ${counts[2]} unchanged`);
  const v = step.run.variables;
  if (v.changed) {
    const listed = step.run.summaries.map((s) => s.markdown).join('\n').split('#### Changes')[1]?.split('\n####')[0]?.match(/^- /gm)?.length ?? 0;
    parts.push(v.changed.value === 'true' ? `commit ${v.commitId?.value.slice(0, 7)} (${listed} changes in Git)` : 'no commit');
  }
  const revision = rows.get('Revision applied');
  if (revision) parts.push(`applied ${shortRevision(revision)}`);
  return parts.join('; ') || (step.message ?? '');
}

export const shortRevision = (revision: string) => revision.replace(/(sha1:[0-9a-f]{7})[0-9a-f]+/, '$1');

/** Plain-text table: columns padded to their widest cell. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function zeroToHeroReport(z: ZeroToHero): string[] {
  const lines = ['', 'Zero to hero', ''];
  const stepRows = z.run.steps.map((s) => [`${s.index}. ${s.displayName}`, s.status, formatDuration(s.durationMs), changesOf(s)]);
  if (z.heads.size) stepRows.push([`teams push workloads (${z.heads.size} repositories)`, 'succeeded', formatDuration(z.seedMs), [...z.heads].map(([name, sha]) => `${name} ${sha.slice(0, 7)}`).join(', ')]);
  lines.push(...table([['step', 'result', 'took', 'changes'], ...stepRows]), '');
  if (z.ready.length) {
    lines.push(...systemsTable(z.ready, z.startedAt, 'Ready after'), '');
  }
  if (!z.systems.length && z.run.result.startsWith('Succeeded')) lines.push('Zero to hero: the pipeline registered no system.');
  else lines.push(z.ms === undefined ? `Zero to hero: not reached (${z.ready.length ? 'a system is not Ready' : `pipeline ${z.run.result}`}).` : `Zero to hero: ${formatDuration(z.ms)} (first step started -> last system Ready with its workload)`);
  return lines;
}
