// examples/bootstrap.yml on a bad day: the packaged tasks run through the local pipeline runner
// with the fault proxy as the agent's proxy, so every hop (Entra ID, ARM, Azure DevOps, Git, the
// release downloads, the API server) sees the seed's faults; process faults on top (a Flux or
// Sealed Secrets controller Pod deleted during the wait, the ARM operation ending Failed half-way);
// cancellation at a random moment (SIGINT, SIGTERM a few seconds later); two pipelines at once.
// Every faulted run must end in success or one clear error, and a clean re-run after it must
// leave the cluster, Git and ARM as a run without faults left them.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { appliedRevision, reconciledSince, REQUESTED_AT } from '../../shared/flux/reconcile';
import { readyReason, waitsFor } from '../../shared/flux/tree';
import { forbiddenForms } from '../agent/fixtures';
import { runTask, unpackedExtension, visibleOutput } from '../agent/harness';
import { parsePipeline, type PipelineDefinition, type TaskStep } from '../pipeline/definition';
import { PLATFORM_BRANCH, startLocalStack, type LocalStack } from '../pipeline/local-stack';
import { repoRoot } from '../pipeline/run-file';
import { runPipeline, type PipelineRun } from '../pipeline/runner';
import { taskCatalog } from '../pipeline/task-catalog';
import type { KubeObject } from '../platform/kube-api';
import { shownOutput, STACK } from './bad-inputs';
import { armSnapshot, clusterSnapshot, gitSnapshot, snapshotDiff, type Snapshot } from './converged-state';
import { addCounts, clusterCaFiles, emptyCounts, type FaultCounts, type FaultPlan, type Hop, seededRandom, startFaultProxy, type FaultProxy } from './faults';
import type { FaultFigures } from './report';

export const BOOTSTRAP_PIPELINE = join(repoRoot, 'examples', 'bootstrap.yml');

export interface FaultedStack {
  stack: LocalStack;
  proxy: FaultProxy;
  definition: PipelineDefinition;
  stop(): Promise<void>;
}

export async function startFaultedStack(o: { releasesBaseUrl: string; pipelineFile?: string }): Promise<FaultedStack> {
  const definition = parsePipeline(readFileSync(o.pipelineFile ?? BOOTSTRAP_PIPELINE, 'utf8'));
  const stack = await startLocalStack({
    pipelines: [definition], releasesBaseUrl: o.releasesBaseUrl, keyBits: 2048,
    platformRepository: { name: 'platform-components', dir: join(repoRoot, 'examples', 'platform-components') },
  });
  const { entra, arm, devops } = stack.emulators;
  const hostOf = (url: string) => new URL(url).host.replace(/^localhost:/, '127.0.0.1:');
  const known: Record<string, Hop> = { [hostOf(entra.url)]: 'entra', [hostOf(arm.url)]: 'arm', [hostOf(devops.url)]: 'devops', [hostOf(o.releasesBaseUrl)]: 'releases' };
  const proxy = await startFaultProxy((hostPort) => {
    if (known[hostPort]) return { hop: known[hostPort]! };
    // The API server of a cluster the ARM emulator started: its serving certificate comes from that cluster's CA.
    for (const { resourceGroup, name } of stack.landingZone.clusters) {
      const c = stack.clusters.cluster(resourceGroup, name);
      if (c && hostOf(c.controlPlane.server) === hostPort) return { hop: 'apiserver', ca: clusterCaFiles(c.controlPlane.dir) };
    }
    return undefined;
  });
  return { stack, proxy, definition, stop: async () => { await proxy.stop(); await stack.stop(); } };
}

export interface RunOutcome {
  label: string;
  run: PipelineRun;
  printed: string[];
  faults: FaultCounts;
  /** Why a failed run's error is not clear (a stack trace, no message, names nothing). */
  unclear?: string;
  /** Secrets in any form in what a task printed (before the runner's masking). */
  leaks: string[];
  tempDirectory?: string;
  ms: number;
  endedAt: number;
}

/** A failed step's message must say what failed: an input, an object, a host or a file. */
export function unclearError(run: PipelineRun): string | undefined {
  if (run.result !== 'Failed' && run.result !== 'Canceled') return undefined;
  const failed = run.steps.find((s) => s.status === 'failed' || s.status === 'canceled');
  if (!failed) return run.result === 'Failed' ? `no step failed: ${run.summaryLine}` : undefined;
  if (failed.run && STACK.test(shownOutput(failed.run))) {
    const all = shownOutput(failed.run);
    const at = all.search(STACK);
    return `a stack trace in step ${failed.index}'s output: ${all.slice(Math.max(0, at - 200), at + 200)}`;
  }
  if (failed.status === 'canceled') return undefined;
  const message = failed.message ?? '';
  if (!message.trim()) return `step ${failed.index} failed without a message`;
  const namesSomething = /'[^']+'|"[^"]+"|https?:\/\/\S+|\b\d{1,3}(\.\d{1,3}){3}:\d+\b|\b[A-Z][A-Za-z]+\/[a-z0-9][\w.-]*|\binput\b|\bservice connection\b|\bcluster [\w.-]+|\brepository\b|\bnamespace\b/.test(message);
  return namesSomething ? undefined : `step ${failed.index}'s error names no input, object or host: ${message}`;
}

export interface PipelineRunOptions {
  plan?: FaultPlan;
  label: string;
  signal?: AbortSignal;
  keepTempDirectory?: boolean;
  definition?: PipelineDefinition;
  out?: (line: string) => void;
}

/** One run of the pipeline through the packaged tasks, the proxy set as the agent's. */
export async function runThroughProxy(f: FaultedStack, o: PipelineRunOptions): Promise<RunOutcome> {
  const before = structuredClone(f.proxy.counts);
  f.proxy.setPlan(o.plan);
  const printed: string[] = [];
  const extensionDir = unpackedExtension();
  const started = Date.now();
  let tempDirectory: string | undefined;
  const run = await runPipeline({
    definition: o.definition ?? f.definition,
    label: o.label,
    catalog: taskCatalog(extensionDir),
    environment: f.stack.environment,
    pipelineVariables: f.stack.pipelineVariables,
    overrides: { ...f.stack.overrides, 'Agent.ProxyUrl': f.proxy.url },
    sourcesDirectory: repoRoot,
    // system.debug on, so the secret audit covers the debug lines too.
    debug: true,
    signal: o.signal,
    keepTempDirectory: o.keepTempDirectory,
    // The agent's cancel: SIGINT, then SIGTERM a few seconds later.
    runTask: (options) => {
      tempDirectory = options.variables?.['Agent.TempDirectory'];
      return runTask({ ...options, extensionDir, cancelEscalationMs: 3000 });
    },
    out: (line) => { printed.push(line); o.out?.(line); },
    defaultTimeoutMinutes: 15,
  });
  f.proxy.setPlan(undefined);
  const faults = emptyCounts();
  for (const [k, n] of Object.entries(f.proxy.counts.byKind)) if (n - (before.byKind[k] ?? 0)) faults.byKind[k] = n - (before.byKind[k] ?? 0);
  for (const [k, n] of Object.entries(f.proxy.counts.byHop)) if (n - (before.byHop[k] ?? 0)) faults.byHop[k] = n - (before.byHop[k] ?? 0);
  faults.requests = f.proxy.counts.requests - before.requests;
  const leaks = run.steps.flatMap((step) => (step.run ? leaksIn(visibleOutput(step.run), stackSecrets(f)).map((form) => `step ${step.index} printed a secret (${form.length} characters)`) : []));
  return { label: o.label, run, printed, faults, unclear: unclearError(run), leaks, tempDirectory, ms: Date.now() - started, endedAt: Date.now() };
}

/** Cluster, Git and ARM as they are now. */
export async function stateOf(f: FaultedStack): Promise<Snapshot> {
  const { resourceGroup, name } = f.stack.landingZone.clusters[0]!;
  const cluster = f.stack.clusters.cluster(resourceGroup, name);
  const arm = f.stack.emulators.arm.cluster(f.stack.emulators.subscriptionId, resourceGroup, name);
  const head = await f.stack.repos.head('platform-components', PLATFORM_BRANCH);
  const clusterState = cluster ? await clusterSnapshot(cluster.api) : { cluster: 'missing' };
  // Flux must have applied the head, whatever its commit id: the same files may come back in another commit.
  for (const [k, v] of Object.entries(clusterState)) if (head) clusterState[k] = v.replaceAll(`@sha1:${head}`, '@sha1:<head>');
  return {
    ...clusterState,
    ...gitSnapshot(await f.stack.repos.tree('platform-components', PLATFORM_BRANCH)),
    ...armSnapshot(arm?.resource),
  };
}

/**
 * Where the cluster or the platform repository holds a secret in any form: any object's fields
 * and annotations (a Secret's data only as the hashes the snapshot keeps), and every file in Git
 * (sealed values are ciphertext, not a form of the secret).
 */
export async function secretsAtRest(f: FaultedStack): Promise<string[]> {
  const { resourceGroup, name } = f.stack.landingZone.clusters[0]!;
  const cluster = f.stack.clusters.cluster(resourceGroup, name);
  const tree = await f.stack.repos.tree('platform-components', PLATFORM_BRANCH);
  const places: Record<string, string> = { ...(cluster ? await clusterSnapshot(cluster.api) : {}) };
  for (const [path, content] of Object.entries(tree ?? {})) places[`git:${path}`] = content;
  const secrets = stackSecrets(f);
  return Object.entries(places).filter(([, text]) => leaksIn(text, secrets).length > 0).map(([where]) => where);
}

/**
 * The state once Flux has caught up: a pipeline ends when the tasks are done, but Flux goes on
 * applying what they committed (RegisterSystem's commits come after FluxBootstrap's wait), and
 * repairs what a task re-created without Flux's labels. So Flux is asked to reconcile now (as
 * `flux reconcile` does), and the state is read once every Kustomization of flux-system has handled
 * one of those requests, is Ready and has applied the platform repository's head, and two reads a
 * few seconds apart agree. The head alone is not enough: it is often the revision applied before
 * the run, so it says nothing of a reconcile since.
 *
 * A Kustomization that found a dependency not Ready (it handled the request while the dependency
 * was handling its own) waits for Flux's dependency requeue; it is asked again once the dependency
 * has caught up, as FluxBootstrap's tree wait does. Asking everything again instead would put the
 * dependency back in progress each time, and the dependent would never see it Ready.
 *
 * After `timeoutMs` the state is read as it is, with an entry saying what Flux had not done, so a
 * difference it causes says why.
 */
export async function settledState(f: FaultedStack, timeoutMs = 120_000): Promise<Snapshot> {
  const until = Date.now() + timeoutMs;
  const { resourceGroup, name } = f.stack.landingZone.clusters[0]!;
  const api = f.stack.clusters.cluster(resourceGroup, name)?.api;
  const head = `${PLATFORM_BRANCH}@sha1:${await f.stack.repos.head('platform-components', PLATFORM_BRANCH)}`;
  // The request last made to each object, and when.
  const asked = new Map<string, { token: string; at: number }>();
  const ask = async (path: string) => {
    const token = new Date().toISOString();
    asked.set(path, { token, at: Date.now() });
    await api?.patch(path, { metadata: { annotations: { [REQUESTED_AT]: token } } }).catch(() => undefined);
  };
  const kustomizations = '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations';
  const pathOf = (k: KubeObject) => `${kustomizations}/${k.metadata.name}`;
  const judge = (k: KubeObject) => reconciledSince(asked.get(pathOf(k))?.token ?? '', appliedRevision(head))(k);
  const caughtUp = (k: KubeObject) => asked.has(pathOf(k)) && judge(k).state === 'ready';
  const source = '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system';
  // A request the API server lost (restarted just before) is made again, later.
  const askAgainIfLost = async (path: string, x: KubeObject | undefined) => {
    const last = asked.get(path);
    const handled = (x?.status as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt;
    if (x && handled !== last?.token && Date.now() - (last?.at ?? 0) > 15_000) await ask(path);
  };
  const list = async () => (await api?.get<{ items: KubeObject[] }>(kustomizations).catch(() => undefined))?.items ?? [];

  let behind: string[] = [];
  if (api) {
    await ask(source);
    for (const k of await list()) await ask(pathOf(k));
    for (;;) {
      const ks = await list();
      const lagging = ks.filter((k) => !caughtUp(k));
      behind = ks.length ? lagging.map((k) => `${k.metadata.name}: ${judge(k).message}`) : ['no Kustomization listed'];
      if (!behind.length || Date.now() >= until) break;
      await askAgainIfLost(source, await api.get<KubeObject>(source).catch(() => undefined));
      for (const k of lagging) {
        const unblocked = readyReason(k) === 'DependencyNotReady' && ks.filter((d) => waitsFor(k, d)).every(caughtUp);
        if (unblocked && Date.now() - (asked.get(pathOf(k))?.at ?? 0) > 2000) await ask(pathOf(k));
        else await askAgainIfLost(pathOf(k), k);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const unsettled = behind.length
    ? { [`flux not settled after ${Math.round(timeoutMs / 1000)} s (${behind.join('; ')})`]: '' }
    : {};
  let last = await stateOf(f);
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 3000));
    const now = await stateOf(f);
    if (snapshotDiff(last, now).length === 0) return now;
    last = now;
  }
  return { ...last, ...unsettled };
}

/** Controllers whose Pods a process fault deletes during the tasks' waits. */
const CONTROLLERS = [
  { namespace: 'kube-system', label: 'app.kubernetes.io/name=sealed-secrets' },
  { namespace: 'flux-system', label: 'app=source-controller' },
  { namespace: 'flux-system', label: 'app=kustomize-controller' },
];

/** Deletes one controller Pod (as a crash or an eviction would take it); the ReplicaSet makes a new one. */
async function killControllerPod(f: FaultedStack, pick: number): Promise<string | undefined> {
  const { resourceGroup, name } = f.stack.landingZone.clusters[0]!;
  const cluster = f.stack.clusters.cluster(resourceGroup, name);
  if (!cluster) return undefined;
  const c = CONTROLLERS[pick % CONTROLLERS.length]!;
  const pods = await cluster.api.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${c.namespace}/pods?labelSelector=${encodeURIComponent(c.label)}`).catch(() => ({ items: [] }));
  const pod = pods.items[0];
  if (!pod) return undefined;
  await cluster.api.delete(`/api/v1/namespaces/${c.namespace}/pods/${pod.metadata.name}`).catch(() => undefined);
  return `${c.namespace}/${pod.metadata.name}`;
}

/** Restarts the cluster's API server or etcd (the run's requests meanwhile are refused or time out). */
async function restartComponent(f: FaultedStack, component: 'apiserver' | 'etcd'): Promise<string | undefined> {
  const { resourceGroup, name } = f.stack.landingZone.clusters[0]!;
  const cluster = f.stack.clusters.cluster(resourceGroup, name);
  if (!cluster) return undefined;
  await cluster.controlPlane.restart(component);
  return `${component}-restart`;
}

/** Drift a faulted run must repair, so that it has work to do under faults (not only reads). */
const DRIFTS = ['none', 'sealed-secrets-deployment', 'flux-kustomization', 'system-rolebinding', 'arm-tag'] as const;
type Drift = (typeof DRIFTS)[number];

async function applyDrift(f: FaultedStack, drift: Drift): Promise<void> {
  const { resourceGroup, name } = f.stack.landingZone.clusters[0]!;
  const cluster = f.stack.clusters.cluster(resourceGroup, name);
  if (!cluster) return;
  const api = cluster.api;
  const gone = (p: Promise<unknown>) => p.catch(() => undefined);
  switch (drift) {
    case 'sealed-secrets-deployment': {
      const list = await api.get<{ items: KubeObject[] }>('/apis/apps/v1/namespaces/kube-system/deployments');
      const d = list.items.find((x) => x.metadata.name.includes('sealed-secrets'));
      if (d) await gone(api.delete(`/apis/apps/v1/namespaces/kube-system/deployments/${d.metadata.name}`));
      return;
    }
    case 'flux-kustomization':
      return void await gone(api.delete('/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system'));
    case 'system-rolebinding': {
      const list = await api.get<{ items: KubeObject[] }>('/apis/rbac.authorization.k8s.io/v1/namespaces/payments/rolebindings').catch(() => ({ items: [] as KubeObject[] }));
      const rb = list.items.find((x) => x.metadata.labels?.['app.kubernetes.io/managed-by']);
      if (rb) await gone(api.delete(`/apis/rbac.authorization.k8s.io/v1/namespaces/payments/rolebindings/${rb.metadata.name}`));
      return;
    }
    case 'arm-tag': {
      // Someone changed a tag in the portal: the task's next run puts the cluster back.
      const arm = f.stack.emulators.arm.cluster(f.stack.emulators.subscriptionId, resourceGroup, name);
      const tags = (arm?.resource as { tags?: Record<string, string> } | undefined)?.tags;
      if (tags) tags['cost-center'] = 'changed-in-portal';
      return;
    }
    case 'none': return;
  }
}

export interface FaultedRunRecord {
  label: string;
  drift: Drift;
  processFaults: string[];
  faulted: RunOutcome;
  rerun: RunOutcome;
  diff: string[];
}

export interface FaultCampaign {
  records: FaultedRunRecord[];
  cancellations: CancelRecord[];
  concurrent: ConcurrentRecord[];
  baselineStable: string[];
  /** Where a secret was found at rest after the runs: a cluster object outside Secrets' data, or a file in Git. */
  secretsAtRest: string[];
}

export interface CancelRecord {
  label: string;
  canceledStep?: string;
  stopMs?: number;
  saidWhatItDid: boolean;
  secretFiles: string[];
  rerun: RunOutcome;
  diff: string[];
  unclear?: string;
}

export interface ConcurrentRecord {
  label: string;
  runs: RunOutcome[];
  rerun: RunOutcome;
  diff: string[];
}

/** The forms of the secrets (raw, base64, each PEM line) found in a text. */
function leaksIn(text: string, secrets: string[]): string[] {
  return secrets.flatMap((secret) => forbiddenForms(secret).filter((form) => text.includes(form)));
}

/** Files under a folder holding a secret in any form, other than owner-only kubeconfigs the job removes at its end. */
export function secretFilesIn(dir: string | undefined, secrets: string[]): string[] {
  if (!dir) return [];
  const found: string[] = [];
  const walk = (at: string) => {
    let entries: string[] = [];
    try { entries = readdirSync(at); } catch { return; }
    for (const e of entries) {
      const p = join(at, e);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) { walk(p); continue; }
      const text = readFileSync(p, 'utf8');
      if (!leaksIn(text, secrets).length) continue;
      if ((st.mode & 0o077) === 0 && /kubeconfig/i.test(e)) continue;
      found.push(`${p} (mode ${(st.mode & 0o777).toString(8)})`);
    }
  };
  walk(dir);
  return found;
}

export interface CampaignOptions {
  seed: number;
  runs: number;
  rate: number;
  cancellations: number;
  concurrent: boolean;
  /** No faulted run starts after this many ms of the campaign (cancellations and concurrent runs still follow). */
  stopAfterMs?: number;
  /** How long a stalled answer hangs before its connection drops (default 20 s). */
  stallMs?: number;
  log?: (line: string) => void;
}

/** The secrets of the local stack: key, tokens, and every Entra or OIDC token issued so far. */
export function stackSecrets(f: FaultedStack): string[] {
  const { stack } = f;
  return [
    stack.keyPair.keyPem, stack.fluxReaderToken, stack.emulators.devops.systemAccessToken,
    ...stack.emulators.entra.issued.map((t) => t.token), ...stack.emulators.devops.oidcTokens.map((t) => t.token),
  ];
}

const describeRun = (r: RunOutcome) => `${r.run.result}${r.unclear ? ` (UNCLEAR: ${r.unclear})\n${r.printed.filter((l) => l.startsWith('   ')).slice(-25).join('\n')}\n` : ''}: ${r.run.summaryLine}`;
const faultsText = (c: FaultCounts) => Object.entries(c.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

/** The whole measurement: a baseline, M faulted runs each with a clean re-run, cancellations, two pipelines at once. */
export async function runFaultCampaign(f: FaultedStack, o: CampaignOptions): Promise<FaultCampaign> {
  const log = o.log ?? (() => undefined);
  const random = seededRandom(o.seed);
  const baseline = await runThroughProxy(f, { label: 'baseline' });
  log(`baseline: ${describeRun(baseline)} (${Math.round(baseline.ms / 1000)} s)`);
  if (baseline.run.result !== 'Succeeded') throw new Error(`the run without faults did not succeed: ${baseline.run.summaryLine}\n${baseline.printed.slice(-40).join('\n')}`);
  const expected = await settledState(f);
  // A second clean run must change nothing: otherwise convergence could not be judged at all.
  const again = await runThroughProxy(f, { label: 'baseline again' });
  const baselineStable = again.run.result === 'Succeeded' ? snapshotDiff(expected, await settledState(f)) : [`the second run without faults ended ${again.run.summaryLine}`];
  log(`baseline again: ${describeRun(again)}; state ${baselineStable.length ? `differs: ${baselineStable.join(', ')}` : 'unchanged'}`);

  const records: FaultedRunRecord[] = [];
  const campaignStarted = Date.now();
  for (let i = 0; i < o.runs; i++) {
    if (o.stopAfterMs !== undefined && Date.now() - campaignStarted > o.stopAfterMs) {
      log(`time is up after ${i} faulted runs of ${o.runs}`);
      break;
    }
    const drift = DRIFTS[Math.floor(random() * DRIFTS.length)]!;
    await applyDrift(f, drift);
    const processFaults: string[] = [];
    if (drift === 'arm-tag' && random() < 0.5) {
      f.stack.emulators.arm.failNextProvisioning({ cluster: f.stack.landingZone.clusters[0]!.name, code: 'InternalOperationError', message: 'The operation failed half-way (injected).' });
      processFaults.push('arm-failed');
    }
    // A process fault at a random moment of the run: a controller Pod deleted (the tasks may be
    // waiting for it), or the API server or etcd restarted (the tasks may be applying).
    const timers: NodeJS.Timeout[] = [];
    const processFault = random();
    const after = 2000 + Math.floor(random() * 15_000);
    const pick = Math.floor(random() * 100);
    const pending: Promise<unknown>[] = [];
    const at = (fn: () => Promise<string | undefined>) => timers.push(setTimeout(() => pending.push(fn().then((what) => { if (what) processFaults.push(what); }, () => undefined)), after));
    if (processFault < 0.3) at(async () => { const pod = await killControllerPod(f, pick); return pod && `pod-killed ${pod}`; });
    else if (processFault < 0.45) at(() => restartComponent(f, 'apiserver'));
    else if (processFault < 0.6) at(() => restartComponent(f, 'etcd'));
    const plan: FaultPlan = { seed: o.seed * 1000 + i, rate: o.rate, stallMs: o.stallMs };
    const faulted = await runThroughProxy(f, { label: `faulted ${i + 1}`, plan });
    for (const t of timers) clearTimeout(t);
    await Promise.all(pending);
    const rerun = await runThroughProxy(f, { label: `re-run ${i + 1}` });
    const diff = rerun.run.result === 'Succeeded' ? snapshotDiff(expected, await settledState(f)) : [`the clean re-run ended ${rerun.run.summaryLine}`];
    records.push({ label: `faulted ${i + 1}`, drift, processFaults, faulted, rerun, diff });
    log(`faulted ${i + 1}/${o.runs} (drift ${drift}; faults ${faultsText(faulted.faults)}${processFaults.length ? `; ${processFaults.join(', ')}` : ''}): ${describeRun(faulted)} (${Math.round(faulted.ms / 1000)} s); re-run ${rerun.run.result}; ${diff.length ? `NOT CONVERGED: ${diff.slice(0, 8).join(', ')}` : 'converged'}`);
  }

  const cancellations: CancelRecord[] = [];
  // Each cancellation picks a task step, then a moment within the length that step took in the
  // clean run, counted from the step's start: so every task gets its turn, early and late.
  const taskSteps = again.run.steps.filter((step) => step.run);
  for (let i = 0; i < o.cancellations; i++) {
    const drift = DRIFTS[1 + Math.floor(random() * (DRIFTS.length - 1))]!;
    await applyDrift(f, drift);
    const controller = new AbortController();
    const target = taskSteps[Math.floor(random() * taskSteps.length)]!;
    // Within the first 80% of it: the step of a drifted run takes at least as long, seldom much longer.
    const at = Math.max(200, Math.floor(target.durationMs * (0.1 + 0.7 * random())));
    let abortedAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const startsTarget = `-- [${target.index}/`;
    const canceled = await runThroughProxy(f, {
      label: `canceled ${i + 1}`, signal: controller.signal, keepTempDirectory: true,
      out: (line) => { if (!timer && line.startsWith(startsTarget)) timer = setTimeout(() => { abortedAt = Date.now(); controller.abort(); }, at); },
    });
    clearTimeout(timer);
    const step = canceled.run.steps.find((s) => s.status === 'canceled' && s.run);
    const secretFiles = secretFilesIn(canceled.tempDirectory, stackSecrets(f));
    if (canceled.tempDirectory) rmSync(canceled.tempDirectory, { recursive: true, force: true });
    const stepOutput = step?.run ? shownOutput(step.run) : '';
    const rerun = await runThroughProxy(f, { label: `re-run after cancel ${i + 1}` });
    const diff = rerun.run.result === 'Succeeded' ? snapshotDiff(expected, await settledState(f)) : [`the clean re-run ended ${rerun.run.summaryLine}`];
    const record: CancelRecord = {
      label: `canceled ${i + 1}`, canceledStep: step?.displayName,
      stopMs: abortedAt && canceled.run.result === 'Canceled' ? canceled.endedAt - abortedAt : undefined,
      saidWhatItDid: !step || /cancel/i.test(stepOutput), secretFiles, rerun, diff, unclear: canceled.unclear,
    };
    cancellations.push(record);
    log(`canceled ${i + 1}/${o.cancellations} ${(at / 1000).toFixed(1)} s into '${target.displayName}' (${canceled.run.result}${step ? `, in '${step.displayName}' after ${Math.round(step.durationMs / 1000)} s` : ''}): ${record.secretFiles.length ? `SECRET FILES ${record.secretFiles.join(', ')}` : 'no secret file left'}; re-run ${rerun.run.result}; ${diff.length ? `NOT CONVERGED: ${diff.slice(0, 8).join(', ')}` : 'converged'}`);
  }

  const concurrent: ConcurrentRecord[] = [];
  if (o.concurrent) {
    const runs = await Promise.all([1, 2].map((n) => runThroughProxy(f, { label: `concurrent ${n}` })));
    const rerun = await runThroughProxy(f, { label: 're-run after concurrent' });
    const diff = rerun.run.result === 'Succeeded' ? snapshotDiff(expected, await settledState(f)) : [`the clean re-run ended ${rerun.run.summaryLine}`];
    concurrent.push({ label: 'two bootstrap pipelines at once', runs, rerun, diff });
    log(`two bootstrap pipelines at once: ${runs.map(describeRun).join(' | ')}; re-run ${rerun.run.result}; ${diff.length ? `NOT CONVERGED: ${diff.join(', ')}` : 'converged'}`);
  }
  if (o.concurrent) concurrent.push(...await concurrentRegistrations(f, ['inventory', 'shipping'], log));
  // Secrets at rest, after every run: in the cluster outside Secrets' data, or in Git.
  const atRest = await secretsAtRest(f);
  log(`secrets at rest: ${atRest.length ? `FOUND in ${atRest.join(', ')}` : 'none in the cluster outside Secrets, none in Git'}`);
  return { records, cancellations, concurrent, baselineStable, secretsAtRest: atRest };
}

/**
 * The bootstrap's cluster and Sealed Secrets steps and one RegisterSystem step for `system` (a copy
 * of the pipeline's first, with another name and Entra group): what registering one more team is.
 */
export function registrationPipeline(definition: PipelineDefinition, system: string): PipelineDefinition {
  const tasks = definition.steps.filter((step): step is TaskStep => 'task' in step);
  const register = tasks.find((step) => step.task === 'RegisterSystem');
  if (!register) throw new Error('the pipeline has no RegisterSystem step to copy');
  const group = createHash('sha256').update(system).digest('hex');
  const entraGroupObjectId = `${group.slice(0, 8)}-${group.slice(8, 12)}-4${group.slice(13, 16)}-8${group.slice(17, 20)}-${group.slice(20, 32)}`;
  return {
    ...definition,
    steps: [
      ...tasks.filter((step) => step.task === 'AksBootstrap' || step.task === 'InstallSealedSecrets'),
      { ...register, displayName: `System ${system}`, inputs: { ...register.inputs, systemName: system, entraGroupObjectId } },
    ],
  };
}

/**
 * Two teams registered at once (two pipelines, each ending with its RegisterSystem step; both
 * commit to the platform repository): both end in success or one clear error; after a clean
 * re-run of each, both are in Git and on the cluster, and re-running both again changes nothing.
 */
async function concurrentRegistrations(f: FaultedStack, systems: string[], log: (line: string) => void): Promise<ConcurrentRecord[]> {
  const definitions = systems.map((system) => registrationPipeline(f.definition, system));
  const runs = await Promise.all(definitions.map((definition, i) => runThroughProxy(f, { label: `register ${systems[i]}`, definition })));
  let rerun: RunOutcome | undefined;
  for (const [i, definition] of definitions.entries()) rerun = await runThroughProxy(f, { label: `re-run register ${systems[i]}`, definition });
  const after = await settledState(f);
  const missing = systems.flatMap((system) => [
    ...(Object.keys(after).some((k) => k.startsWith(`git:systems/dev/${system}`)) ? [] : [`missing the files of ${system} in Git`]),
    ...(`Namespace/${system}` in after ? [] : [`missing Namespace/${system}`]),
  ]);
  for (const [i, definition] of definitions.entries()) await runThroughProxy(f, { label: `again register ${systems[i]}`, definition });
  const diff = [...missing, ...snapshotDiff(after, await settledState(f))];
  log(`two registrations at once (${systems.join(', ')}): ${runs.map(describeRun).join(' | ')}; ${diff.length ? `NOT CONVERGED: ${diff.join(', ')}` : 'both registered; a re-run changes nothing'}`);
  return [{ label: `two registrations at once (${systems.join(', ')})`, runs, rerun: rerun!, diff }];
}

/** The table's figures from a campaign. */
export function faultFigures(c: FaultCampaign): FaultFigures {
  const injected = emptyCounts();
  for (const r of c.records) addCounts(injected, r.faulted.faults);
  const byKind: Record<string, number> = { ...injected.byKind };
  for (const r of c.records) for (const p of r.processFaults) { const k = p.split(' ')[0]!; byKind[k] = (byKind[k] ?? 0) + 1; }
  if (c.cancellations.length) byKind.cancel = c.cancellations.length;
  const faultedOutcomes = c.records.map((r) => r.faulted);
  const concurrentRuns = c.concurrent.flatMap((x) => x.runs);
  const all = [...faultedOutcomes, ...concurrentRuns];
  const checks = [...c.records.map((r) => r.diff), ...c.cancellations.map((x) => x.diff), ...c.concurrent.map((x) => x.diff)];
  return {
    injectedByKind: byKind,
    injectedByHop: injected.byHop,
    faultedRuns: faultedOutcomes.length,
    succeeded: faultedOutcomes.filter((r) => r.run.result === 'Succeeded' || r.run.result === 'SucceededWithIssues').length,
    failedClearly: faultedOutcomes.filter((r) => r.run.result === 'Failed' && !r.unclear).length,
    converged: checks.filter((d) => d.length === 0).length,
    convergenceChecked: checks.length + (c.baselineStable.length ? 1 : 0),
    concurrentRuns: concurrentRuns.length,
    concurrentOutcome: c.concurrent.map((x) => x.runs.map((r) => r.run.result).join(' + ')).join('; '),
    cancellations: c.cancellations.length,
    cancelledInTask: c.cancellations.filter((x) => x.canceledStep).length,
    cancelStopsMs: c.cancellations.flatMap((x) => (x.stopMs === undefined ? [] : [x.stopMs])),
    cancelSecretFiles: c.cancellations.flatMap((x) => x.secretFiles),
    cancelSilent: c.cancellations.filter((x) => !x.saidWhatItDid).length,
    unclearErrors: [...all, ...c.cancellations.map((x) => x.rerun)].filter((r) => r.unclear).length + c.cancellations.filter((x) => x.unclear).length,
    leaks: [
      ...c.secretsAtRest.map((where) => `a secret at rest in ${where}`),
      ...[...c.records.flatMap((r) => [r.faulted, r.rerun]), ...c.cancellations.map((x) => x.rerun), ...c.concurrent.flatMap((x) => [...x.runs, x.rerun])].flatMap((r) => r.leaks.map((l) => `${r.label}: ${l}`)),
    ],
    problems: [
      ...c.baselineStable.map((d) => `a second run without faults changed the state: ${d}`),
      ...c.secretsAtRest.map((where) => `leak: a secret at rest in ${where}`),
      ...[...c.records.flatMap((r) => [r.faulted, r.rerun]), ...c.cancellations.map((x) => x.rerun), ...c.concurrent.flatMap((x) => [...x.runs, x.rerun])].flatMap((r) => r.leaks.map((l) => `leak: ${r.label}: ${l}`)),
      ...c.records.flatMap((r) => [...(r.faulted.unclear ? [`${r.label}: unclear error: ${r.faulted.unclear}`] : []), ...r.diff.map((d) => `${r.label} (drift ${r.drift}) not converged: ${d}`)]),
      ...c.cancellations.flatMap((x) => [...x.diff.map((d) => `${x.label} not converged: ${d}`), ...x.secretFiles.map((s) => `${x.label}: secret file left: ${s}`), ...(x.unclear ? [`${x.label}: ${x.unclear}`] : []), ...(x.saidWhatItDid ? [] : [`${x.label}: the canceled task did not say it was canceled`])]),
      ...c.concurrent.flatMap((x) => [...x.runs.filter((r) => r.unclear).map((r) => `${x.label}: unclear error: ${r.unclear}`), ...x.diff.map((d) => `${x.label} not converged: ${d}`)]),
    ],
  };
}
