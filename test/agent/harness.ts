import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type NodeRuntime, nodeBinary } from './node-runtimes';
import { type VsoCommand, parseVsoLine } from './vso';

const repoRoot = resolve(__dirname, '..', '..');

export interface EndpointSpec {
  url?: string;
  scheme?: string;
  params?: Record<string, string>;
  data?: Record<string, string>;
}

export interface RunOptions {
  task: string;
  inputs?: Record<string, string>;
  endpoints?: Record<string, EndpointSpec>;
  secureFiles?: Record<string, { name: string; ticket: string }>;
  variables?: Record<string, string>;
  secretVariables?: Record<string, string>;
  node?: NodeRuntime;
  /** Folder holding tasks/<Task>/ — by default the unpacked public vsix. */
  extensionDir?: string;
  workingDirectory?: string;
  timeoutMs?: number;
  /** Sends the agent's cancel signal (SIGINT) to the task when aborted. */
  cancel?: AbortSignal;
  /** After a cancel, SIGTERM this long after SIGINT if the task still runs, as the agent escalates. */
  cancelEscalationMs?: number;
  /** Sends the cancel signal once the task prints a line matching this. */
  cancelWhen?: RegExp;
  env?: Record<string, string>;
}

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  commands: VsoCommand[];
  /** Lines that are not ##vso commands (what the log shows as plain text). */
  plainLines: string[];
  result?: string;
  completeMessage?: string;
  errors: string[];
  warnings: string[];
  secrets: string[];
  variables: Record<string, { value: string; secret: boolean; output: boolean }>;
  progress: { value: number; text: string }[];
  summaries: { path: string; markdown: string }[];
  tempDir: string;
}

let unpacked: string | undefined;

/**
 * The job folders this process made (Agent.TempDirectory, the unpacked vsix): removed when it
 * exits, or after each test file (test/agent/job-folders-cleanup.ts: vitest's workers end without
 * an exit event), as the agent cleans its temp folder at the job's end. Tests may look into them
 * until then, and nothing (kubeconfigs of long-gone clusters) piles up in /tmp.
 */
// One set per Node process (vitest loads this module anew for each test file), with one exit hook.
const JOB_FOLDERS = Symbol.for('aks-gitops-tasks.job-folders');
const jobFolders: Set<string> = ((globalThis as { [JOB_FOLDERS]?: Set<string> })[JOB_FOLDERS] ??= (() => {
  process.once('exit', () => removeJobFolders());
  return new Set<string>();
})());

function jobFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  jobFolders.add(dir);
  return dir;
}

export function removeJobFolders(): void {
  for (const dir of jobFolders) rmSync(dir, { recursive: true, force: true });
  jobFolders.clear();
  unpacked = undefined;
}

/** Unpacks dist/*.vsix once per test process, as the agent lays out a downloaded task. */
export function unpackedExtension(): string {
  if (unpacked) return unpacked;
  const dist = join(repoRoot, 'dist');
  const vsix = existsSync(dist) ? readdirSync(dist).filter((f) => f.endsWith('.vsix') && !f.includes('-dev')) : [];
  if (vsix.length !== 1) throw new Error(`expected one public .vsix in dist/, found ${vsix.length}; run "npm run package"`);
  const dir = jobFolder('vsix-');
  execFileSync('unzip', ['-q', join(dist, vsix[0]), '-d', dir]);
  unpacked = dir;
  return dir;
}

interface TaskJson {
  inputs: { name: string; aliases?: string[]; defaultValue?: string | boolean }[];
  execution: Record<string, { target: string }>;
}

const agentKey = (name: string) => name.replace(/[.\s]/g, '_').toUpperCase();

export interface AgentProcess {
  node: string;
  target: string;
  env: Record<string, string>;
  workDir: string;
  tempDir: string;
  ownsWorkDir: boolean;
}

/** The process the agent's Node handler would start for a task: binary, script, environment. */
export function agentProcess(options: RunOptions): AgentProcess {
  const taskDir = join(options.extensionDir ?? unpackedExtension(), 'tasks', options.task);
  const def = JSON.parse(readFileSync(join(taskDir, 'task.json'), 'utf8')) as TaskJson;
  const target = join(taskDir, def.execution.Node24?.target ?? def.execution.Node20_1.target);
  const tempDir = options.variables?.['Agent.TempDirectory'] ?? jobFolder('agent-temp-');
  const workDir = options.workingDirectory ?? mkdtempSync(join(tmpdir(), 'agent-src-'));
  const variables: Record<string, string> = {
    'System.DefaultWorkingDirectory': workDir,
    'Build.SourcesDirectory': workDir,
    'Agent.TempDirectory': tempDir,
    'Agent.WorkFolder': tmpdir(),
    // The tool cache outlives the job, as _work/_tool does on an agent.
    'Agent.ToolsDirectory': join(tmpdir(), 'agent-tools'),
    'System.CollectionUri': 'https://dev.azure.com/contoso/',
    'System.TeamFoundationCollectionUri': 'https://dev.azure.com/contoso/',
    'System.TeamProject': 'platform',
    'System.TeamProjectId': '6f1c1b2e-0000-4000-8000-000000000001',
    'System.HostType': 'build',
    'System.PlanId': '6f1c1b2e-0000-4000-8000-000000000002',
    'System.JobId': '6f1c1b2e-0000-4000-8000-000000000003',
    ...options.variables,
  };
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...options.env };
  for (const [name, value] of Object.entries(variables)) env[agentKey(name)] = value;
  env.VSTS_PUBLIC_VARIABLES = JSON.stringify(Object.keys(variables));
  for (const [name, value] of Object.entries(options.secretVariables ?? {})) env[`SECRET_${agentKey(name)}`] = value;
  env.VSTS_SECRET_VARIABLES = JSON.stringify(Object.keys(options.secretVariables ?? {}));

  // The agent sets every declared input: the given value (by name or alias), else the default,
  // with $(var) macros expanded from the variables.
  const given = options.inputs ?? {};
  const expand = (v: string) => v.replace(/\$\(([^)]+)\)/g, (m, n: string) => variables[n] ?? options.secretVariables?.[n] ?? m);
  for (const input of def.inputs) {
    const keys = [input.name, ...(input.aliases ?? [])];
    const hit = keys.find((k) => k in given);
    const value = hit !== undefined ? given[hit] : input.defaultValue !== undefined ? String(input.defaultValue) : '';
    env[`INPUT_${agentKey(input.name)}`] = expand(value);
  }
  for (const [id, ep] of Object.entries(options.endpoints ?? {})) {
    if (ep.url !== undefined) env[`ENDPOINT_URL_${id}`] = ep.url;
    env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({ parameters: ep.params ?? {}, scheme: ep.scheme ?? '' });
    if (ep.scheme) env[`ENDPOINT_AUTH_SCHEME_${id}`] = ep.scheme;
    for (const [k, v] of Object.entries(ep.params ?? {})) env[`ENDPOINT_AUTH_PARAMETER_${id}_${k.toUpperCase()}`] = v;
    env[`ENDPOINT_DATA_${id}`] = JSON.stringify(ep.data ?? {});
    for (const [k, v] of Object.entries(ep.data ?? {})) env[`ENDPOINT_DATA_${id}_${k.toUpperCase()}`] = v;
  }
  for (const [id, file] of Object.entries(options.secureFiles ?? {})) {
    env[`SECUREFILE_NAME_${id}`] = file.name;
    env[`SECUREFILE_TICKET_${id}`] = file.ticket;
  }

  return { node: nodeBinary(options.node ?? 'node20'), target, env, workDir, tempDir, ownsWorkDir: !options.workingDirectory };
}

/** Runs a built task the way the agent's Node handler does, and parses what it prints. */
export async function runTask(options: RunOptions): Promise<RunResult> {
  const { node, target, env, workDir, tempDir, ownsWorkDir } = agentProcess(options);
  const child = spawn(node, [target], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let cancelled = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (options.cancelWhen && !cancelled && options.cancelWhen.test(stdout)) {
      cancelled = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  let escalation: NodeJS.Timeout | undefined;
  const onCancel = () => {
    child.kill('SIGINT');
    if (options.cancelEscalationMs !== undefined) escalation = setTimeout(() => child.kill('SIGTERM'), options.cancelEscalationMs);
  };
  options.cancel?.addEventListener('abort', onCancel, { once: true });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const exitCode = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  clearTimeout(timer);
  clearTimeout(escalation);
  options.cancel?.removeEventListener('abort', onCancel);
  const parsed = parseOutput(stdout);
  if (ownsWorkDir) rmSync(workDir, { recursive: true, force: true });
  return { exitCode, stdout, stderr, tempDir, ...parsed };
}

export function parseOutput(stdout: string): Omit<RunResult, 'exitCode' | 'stdout' | 'stderr' | 'tempDir'> {
  const out: Omit<RunResult, 'exitCode' | 'stdout' | 'stderr' | 'tempDir'> = {
    commands: [], plainLines: [], errors: [], warnings: [], secrets: [], variables: {}, progress: [], summaries: [],
  };
  for (const line of stdout.split(/\r?\n/)) {
    const cmd = parseVsoLine(line);
    if (!cmd) {
      if (line) out.plainLines.push(line);
      continue;
    }
    out.commands.push(cmd);
    switch (cmd.command) {
      case 'task.complete':
        out.result = cmd.properties.result;
        out.completeMessage = cmd.message;
        break;
      case 'task.issue':
      case 'task.logissue':
        (cmd.properties.type === 'error' ? out.errors : out.warnings).push(cmd.message);
        break;
      case 'task.setsecret':
        out.secrets.push(cmd.message);
        break;
      case 'task.setvariable':
        out.variables[cmd.properties.variable] = {
          value: cmd.message,
          secret: cmd.properties.issecret === 'true',
          output: cmd.properties.isOutput === 'true' || cmd.properties.isoutput === 'true',
        };
        break;
      case 'task.setprogress':
        out.progress.push({ value: Number(cmd.properties.value), text: cmd.message });
        break;
      case 'task.uploadsummary':
        if (existsSync(cmd.message) && statSync(cmd.message).isFile()) out.summaries.push({ path: cmd.message, markdown: readFileSync(cmd.message, 'utf8') });
        break;
    }
  }
  return out;
}

/** Lines of output other than secret registrations: where a secret must never appear. */
export function visibleOutput(run: RunResult): string {
  const lines = run.stdout.split(/\r?\n/).filter((l) => !l.startsWith('##vso[task.setsecret]'));
  return `${lines.join('\n')}\n${run.stderr}`;
}
