// Runs one job of a YAML pipeline locally, as the agent would: the steps in order, each task
// through the agent harness (a packaged task started as the agent starts it), conditions
// evaluated against the job's status, variables and output variables carried from step to step,
// secrets masked in everything printed. The first failed step fails the job; later steps run
// only if their condition says so (the default, succeeded(), does not).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointSpec, RunOptions, RunResult } from '../agent/harness';
import type { NodeRuntime } from '../agent/node-runtimes';
import { ConditionError, evaluateCondition, type JobStatus } from './conditions';
import type { BashStep, PipelineDefinition, TaskStep } from './definition';
import type { LocalEnvironment, PipelineVariables } from './environment';
import { Masker } from './masker';
import { formatDuration, renderStepLog } from './render';
import { prepareStep, validateStep } from './step-inputs';
import { defaultDisplayName, type TaskCatalog } from './task-catalog';
import { VariableStore } from './variables';

export type StepStatus = 'succeeded' | 'succeededWithIssues' | 'failed' | 'skipped' | 'canceled';
export type PipelineResult = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Canceled';

export interface StepOutcome {
  index: number;
  displayName: string;
  reference: string;
  status: StepStatus;
  /** Why a step was skipped, or the task's closing message. */
  message?: string;
  run?: RunResult;
  durationMs: number;
}

export interface PipelineRun {
  result: PipelineResult;
  steps: StepOutcome[];
  variables: VariableStore;
  /** Problems that kept the pipeline from starting. */
  invalid: string[];
  /** The one-line result printed last. */
  summaryLine: string;
}

export interface RunPipelineOptions {
  definition: PipelineDefinition;
  /** How the pipeline is named in messages (its file). */
  label: string;
  catalog: TaskCatalog;
  environment: LocalEnvironment;
  /** Variables from the pipeline's settings (overridden by YAML variables of the same name). */
  pipelineVariables?: PipelineVariables;
  /** Values that differ on this machine (queue-time style); they win over YAML variables that are not read-only. */
  overrides?: Record<string, string>;
  /** Build.SourcesDirectory and the tasks' working directory. */
  sourcesDirectory: string;
  runTask(options: RunOptions): Promise<RunResult>;
  out(line: string): void;
  node?: NodeRuntime;
  debug?: boolean;
  signal?: AbortSignal;
  /** Keep Agent.TempDirectory (kubeconfigs and other job files) instead of removing it at the end, as the agent does. */
  keepTempDirectory?: boolean;
  /** Minutes a step may run without timeoutInMinutes (the agent's job default is 60). */
  defaultTimeoutMinutes?: number;
}

const STATUS_OF_RESULT: Record<string, StepStatus> = { Succeeded: 'succeeded', SucceededWithIssues: 'succeededWithIssues', Failed: 'failed', Cancelled: 'canceled', Canceled: 'canceled' };

function predefinedVariables(o: RunPipelineOptions, tempDirectory: string): Record<string, string> {
  return {
    'System.DefaultWorkingDirectory': o.sourcesDirectory,
    'Build.SourcesDirectory': o.sourcesDirectory,
    'Build.Repository.LocalPath': o.sourcesDirectory,
    'Agent.TempDirectory': tempDirectory,
    'Agent.OS': 'Linux',
    'Agent.Name': 'local',
    'System.HostType': 'build',
    'System.Debug': o.debug ? 'true' : 'false',
    'Build.BuildId': '1',
    'Build.BuildNumber': new Date().toISOString().slice(0, 10).replace(/-/g, '') + '.1',
    'Build.Reason': 'Manual',
    'Build.DefinitionName': o.definition.name ?? o.label,
    'Build.SourceBranch': 'refs/heads/main',
    'Build.SourceBranchName': 'main',
    ...o.environment.systemVariables,
  };
}

function jobVariables(o: RunPipelineOptions, tempDirectory: string): { variables: VariableStore; problems: string[] } {
  const variables = new VariableStore();
  for (const [name, value] of Object.entries(predefinedVariables(o, tempDirectory))) variables.set(name, value);
  if (o.environment.accessToken) variables.set('System.AccessToken', o.environment.accessToken, { secret: true });
  for (const [name, value] of Object.entries(o.pipelineVariables?.variables ?? {})) variables.set(name, value);
  for (const [name, value] of Object.entries(o.pipelineVariables?.secrets ?? {})) variables.set(name, value, { secret: true });
  // YAML variables and variable groups in the order listed, a later one winning; both win over
  // the settings' variables. A YAML variable is never secret; a group's secret ones stay secret.
  const problems: string[] = [];
  const groups = o.environment.variableGroups ?? {};
  const applyGroups = (position: number) => {
    for (const reference of o.definition.variableGroups.filter((g) => g.position === position)) {
      const group = Object.entries(groups).find(([name]) => name.toLowerCase() === reference.name.toLowerCase())?.[1];
      if (!group) {
        problems.push(`Variable group '${reference.name}' was not found or is not authorized for use${Object.keys(groups).length ? ` (known: ${Object.keys(groups).join(', ')})` : ''}`);
        continue;
      }
      for (const [name, value] of Object.entries(group.variables)) variables.set(name, value, { secret: false });
      for (const [name, value] of Object.entries(group.secrets)) variables.set(name, value, { secret: true });
    }
  };
  o.definition.variables.forEach((v, i) => {
    applyGroups(i);
    variables.set(v.name, v.value, { secret: false, readonly: v.readonly });
  });
  applyGroups(o.definition.variables.length);
  for (const [name, value] of Object.entries(o.overrides ?? {})) {
    if (!variables.set(name, value)) problems.push(`variable '${name}' is read-only in the pipeline and cannot be overridden`);
  }
  return { variables, problems };
}

/** Runs the pipeline's steps; never throws for a failing step, only reports it. */
export async function runPipeline(o: RunPipelineOptions): Promise<PipelineRun> {
  const started = Date.now();
  const tempDirectory = mkdtempSync(join(tmpdir(), 'agent-job-'));
  const { variables, problems } = jobVariables(o, tempDirectory);
  const masker = new Masker();
  for (const secret of variables.secretValues()) masker.addSecret(secret);
  const print = (line: string) => o.out(masker.mask(line));
  const steps: StepOutcome[] = [];

  try {
    print(`Pipeline ${o.label}${o.definition.name ? ` (${o.definition.name})` : ''}`);
    for (const s of o.definition.schedules) {
      print(`  scheduled: '${s.cron}' UTC${s.displayName ? ` (${s.displayName})` : ''}${s.branches.length ? ` on ${s.branches.join(', ')}` : ''}; the local runner runs it now`);
    }
    for (const [name, value] of Object.entries(o.overrides ?? {})) print(`  local value: ${name} = ${variables.get(name)?.secret ? '***' : value}`);

    const invalid = [...problems];
    for (const step of o.definition.steps) {
      if ('checkout' in step) continue;
      if ('task' in step) invalid.push(...validateStep(step, o.catalog, o.environment, variables));
      try {
        evaluateCondition(step.condition, { status: 'succeeded', variable: () => undefined });
      } catch (error) {
        if (error instanceof ConditionError) invalid.push(`Step ${step.index}: ${error.message}`);
        else throw error;
      }
    }
    if (invalid.length) {
      for (const problem of invalid) print(`ERROR: ${problem}`);
      const summaryLine = `Pipeline ${o.label}: not valid (${invalid.length} problem${invalid.length === 1 ? '' : 's'}); nothing ran.`;
      print(summaryLine);
      return { result: 'Failed', steps, variables, invalid, summaryLine };
    }

    let status: JobStatus = 'succeeded';
    const total = o.definition.steps.length;
    for (const step of o.definition.steps) {
      if ('checkout' in step) {
        print('');
        const what = step.checkout === 'none' ? 'nothing to fetch' : `local runs use ${o.sourcesDirectory} as it is`;
        print(`-- [${step.index}/${total}] Checkout: ${step.checkout} (${what})`);
        steps.push({ index: step.index, displayName: `Checkout ${step.checkout}`, reference: 'checkout', status: 'succeeded', durationMs: 0 });
        continue;
      }
      if (o.signal?.aborted) status = 'canceled';
      const outcome = 'task' in step ? await runStep(o, step, total, variables, masker, print, status) : await runBashStep(o, step, total, variables, print, status);
      steps.push(outcome);
      if (outcome.status === 'failed') status = 'failed';
      else if (outcome.status === 'canceled') status = 'canceled';
      else if (outcome.status === 'succeededWithIssues' && status === 'succeeded') status = 'succeededWithIssues';
    }

    for (const outcome of steps) {
      for (const summary of outcome.run?.summaries ?? []) {
        print('');
        print(`## Summary of step ${outcome.index}: ${outcome.displayName}`);
        for (const line of summary.markdown.trimEnd().split('\n')) print(line);
      }
    }
    const result: PipelineResult = status === 'succeeded' ? 'Succeeded' : status === 'succeededWithIssues' ? 'SucceededWithIssues' : status === 'failed' ? 'Failed' : 'Canceled';
    const summaryLine = masker.mask(finalLine(o.label, result, steps, Date.now() - started));
    print('');
    print(summaryLine);
    return { result, steps, variables, invalid: [], summaryLine };
  } finally {
    if (!o.keepTempDirectory) rmSync(tempDirectory, { recursive: true, force: true });
  }
}

async function runStep(
  o: RunPipelineOptions, step: TaskStep, total: number, variables: VariableStore, masker: Masker, print: (line: string) => void, status: JobStatus,
): Promise<StepOutcome> {
  const task = o.catalog(step.task)!;
  const reference = `${task.name}@${step.major}`;
  const displayName = variables.expand(step.displayName ?? defaultDisplayName(task, step.inputs)).text;
  const base = { index: step.index, displayName, reference, durationMs: 0 };
  print('');
  print(`-- [${step.index}/${total}] ${displayName} (${reference}${step.name ? `, name: ${step.name}` : ''})`);
  const skipped = skippedOutcome(step, base, variables, print, status);
  if (skipped) return skipped;

  const prepared = prepareStep(step, task, o.environment, variables);
  for (const { input, names } of prepared.unresolved) {
    print(`   WARNING: input '${input}' refers to ${names.map((n) => `$(${n})`).join(', ')}, which no variable defines; the task gets it as written`);
  }
  const { variables: publicVariables, secretVariables } = variables.forTask();
  // The agent always hands tasks the job's own connection to Azure DevOps.
  const systemVss: Record<string, EndpointSpec> = o.environment.accessToken
    ? { SystemVssConnection: { url: o.environment.systemVariables['System.CollectionUri'], scheme: 'OAuth', params: { AccessToken: o.environment.accessToken } } }
    : {};
  const started = Date.now();
  const run = await o.runTask({
    task: task.name,
    inputs: prepared.inputs,
    endpoints: { ...systemVss, ...prepared.endpoints },
    secureFiles: prepared.secureFiles,
    variables: publicVariables,
    secretVariables,
    env: { ...o.environment.env, ...prepared.env },
    node: o.node,
    workingDirectory: o.sourcesDirectory,
    timeoutMs: (step.timeoutInMinutes ?? o.defaultTimeoutMinutes ?? 60) * 60_000,
    cancel: o.signal,
  });
  const durationMs = Date.now() - started;
  // The harness makes a temp folder per run; the job's is Agent.TempDirectory, shared by all steps.
  if (run.tempDir !== publicVariables['Agent.TempDirectory']) rmSync(run.tempDir, { recursive: true, force: true });

  for (const secret of run.secrets) masker.addRegistered(secret);
  const setVariables = applyVariables(run, step, task.outputVariables, variables, masker);
  for (const line of renderStepLog(run.stdout, run.stderr, { debug: o.debug, stepName: step.name, declaredOutputs: task.outputVariables })) print(`   ${line}`);
  for (const name of setVariables.readonlyRefused) print(`   WARNING: variable '${name}' is read-only; the task's new value was ignored`);

  let stepStatus: StepStatus = o.signal?.aborted ? 'canceled'
    : run.result ? STATUS_OF_RESULT[run.result] ?? 'failed'
      : run.exitCode === 0 ? 'succeeded' : 'failed';
  if (stepStatus === 'failed' && step.continueOnError) stepStatus = 'succeededWithIssues';
  const failure = run.errors[0] ?? run.completeMessage ?? (run.exitCode !== 0 ? `the task exited with code ${run.exitCode}` : undefined);
  print(`   ${stepStatus === 'failed' ? 'Failed' : stepStatus === 'canceled' ? 'Canceled' : stepStatus === 'succeededWithIssues' ? 'Succeeded with issues' : 'Succeeded'} in ${formatDuration(durationMs)}`);
  return { ...base, status: stepStatus, message: stepStatus === 'succeeded' ? run.completeMessage : failure, run, durationMs };
}

/** The outcome of a step that does not run (disabled, or its condition false), else undefined. */
function skippedOutcome(step: TaskStep | BashStep, base: Omit<StepOutcome, 'status'>, variables: VariableStore, print: (line: string) => void, status: JobStatus): StepOutcome | undefined {
  if (!step.enabled) {
    print('   skipped: the step is disabled');
    return { ...base, status: 'skipped', message: 'disabled' };
  }
  if (evaluateCondition(step.condition, { status, variable: (name) => variables.value(name) })) return undefined;
  const why = status === 'canceled' ? 'the run was canceled' : status === 'failed' ? 'an earlier step failed' : 'its condition is false';
  print(`   skipped: ${why} (condition: ${step.condition})`);
  return { ...base, status: status === 'canceled' ? 'canceled' : 'skipped', message: why };
}

/**
 * A bash step as Bash@3 runs it: the script, with $(macros) expanded, written to a file in the
 * job's temp folder and run with `bash --noprofile --norc` in the sources folder; every variable
 * that is not secret in the environment (name upper-cased, '.' and ' ' as '_'), secrets only
 * where the step's `env` maps them. The exit code decides the result.
 */
async function runBashStep(o: RunPipelineOptions, step: BashStep, total: number, variables: VariableStore, print: (line: string) => void, status: JobStatus): Promise<StepOutcome> {
  const displayName = variables.expand(step.displayName ?? `Bash: ${step.bash.trim().split('\n')[0]}`).text;
  const base = { index: step.index, displayName, reference: 'bash', durationMs: 0 };
  print('');
  print(`-- [${step.index}/${total}] ${displayName} (bash${step.name ? `, name: ${step.name}` : ''})`);
  const skipped = skippedOutcome(step, base, variables, print, status);
  if (skipped) return skipped;

  const { variables: publicVariables } = variables.forTask();
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PIPELINE_SECRET_')));
  Object.assign(env, o.environment.env);
  for (const [name, value] of Object.entries(publicVariables)) env[name.toUpperCase().replace(/[. ]/g, '_')] = value;
  for (const [name, value] of Object.entries(step.env)) env[name] = variables.expand(value).text;
  const script = join(publicVariables['Agent.TempDirectory']!, `bash-step-${step.index}.sh`);
  writeFileSync(script, variables.expand(step.bash).text, { mode: 0o600 });

  const started = Date.now();
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', script], { cwd: o.sourcesDirectory, env, signal: o.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGTERM'), (step.timeoutInMinutes ?? o.defaultTimeoutMinutes ?? 60) * 60_000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', () => undefined);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
  rmSync(script, { force: true });
  const durationMs = Date.now() - started;
  for (const line of renderStepLog(result.stdout, result.stderr, { debug: o.debug, stepName: step.name, declaredOutputs: [] })) print(`   ${line}`);
  let stepStatus: StepStatus = o.signal?.aborted ? 'canceled' : result.code === 0 ? 'succeeded' : 'failed';
  if (stepStatus === 'failed' && step.continueOnError) stepStatus = 'succeededWithIssues';
  const error = /^##vso\[task\.logissue type=error[^\]]*\](.*)$/m.exec(result.stdout)?.[1];
  const message = stepStatus === 'succeeded' ? undefined : error ?? `bash exited with code ${result.code}`;
  print(`   ${stepStatus === 'failed' ? 'Failed' : stepStatus === 'canceled' ? 'Canceled' : stepStatus === 'succeededWithIssues' ? 'Succeeded with issues' : 'Succeeded'} in ${formatDuration(durationMs)}`);
  return { ...base, status: stepStatus, message, durationMs };
}

/** Variables a task set: outputs (flagged, or declared in task.json) under `<step>.<name>`, others as job variables. */
function applyVariables(run: RunResult, step: TaskStep, declared: string[], variables: VariableStore, masker: Masker): { readonlyRefused: string[] } {
  const readonlyRefused: string[] = [];
  for (const [name, v] of Object.entries(run.variables)) {
    if (v.secret) masker.addSecret(v.value);
    if (v.output || declared.includes(name)) {
      // A step without a name gets a generated reference name nobody can write: its outputs are unreachable, as on Azure DevOps.
      if (step.name) variables.set(`${step.name}.${name}`, v.value, { secret: v.secret });
    } else if (!variables.set(name, v.value, { secret: v.secret })) {
      readonlyRefused.push(name);
    }
  }
  return { readonlyRefused };
}

function finalLine(label: string, result: PipelineResult, steps: StepOutcome[], ms: number): string {
  const count = (s: StepStatus) => steps.filter((x) => x.status === s).length;
  const ran = steps.length - count('skipped') - count('canceled');
  const skipped = count('skipped') ? `, ${count('skipped')} skipped` : '';
  const duration = formatDuration(ms);
  if (result === 'Failed') {
    const failed = steps.find((s) => s.status === 'failed')!;
    return `Pipeline ${label}: Failed at step ${failed.index} '${failed.displayName}': ${failed.message ?? 'no message'} (${ran} of ${steps.length} steps ran${skipped}, ${duration})`;
  }
  if (result === 'Canceled') return `Pipeline ${label}: Canceled (${ran} of ${steps.length} steps ran, ${duration})`;
  return `Pipeline ${label}: ${result} (${ran} of ${steps.length} steps ran${skipped}, ${duration})`;
}
