import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentPort } from './agent';
import { InputError, TaskError, isAbortError } from './errors';
import { Inputs } from './inputs';
import { SecretRegistry } from './secrets';
import { Summary } from './summary';
import type { Log, TaskContext } from './task-context';
import { type TaskDefinition, versionOf } from './task-definition';

export type TaskBody = (ctx: TaskContext) => Promise<string | void>;

/**
 * Runs a task body against the agent: validates every declared input first, turns the agent's
 * SIGINT/SIGTERM into an abort signal, uploads the summary, and ends with exactly one result.
 * Known failures (InputError, TaskError) end with their message and hint and no stack trace.
 */
export async function runTask(definition: TaskDefinition, agent: AgentPort, body: TaskBody): Promise<TaskOutcome> {
  const controller = new AbortController();
  // Every request in flight listens to the cancel signal, and the engine runs dozens at once.
  setMaxListeners(256, controller.signal);
  const onSignal = (sig: NodeJS.Signals) => {
    agent.warning(`Received ${sig}: the pipeline is cancelling this step. Stopping at the next safe point.`);
    controller.abort(Object.assign(new Error('The pipeline cancelled the step.'), { name: 'AbortError' }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const secrets = new SecretRegistry((v) => agent.setSecret(v));
  const summary = new Summary(`${definition.friendlyName} (${definition.name}@${versionOf(definition)})`);
  const tempDir = agent.variable('Agent.TempDirectory') ?? tmpdir();
  const declaredOutputs = new Set((definition.outputVariables ?? []).map((o) => o.name));
  const log: Log = {
    info: (m) => agent.info(m),
    debug: (m) => agent.debug(m),
    warning: (m) => agent.warning(m),
    section: (t) => agent.section(t),
    progress: (percent, operation) => {
      agent.progress(percent, operation);
      agent.info(`[${String(Math.round(percent)).padStart(3)}%] ${operation}`);
    },
  };
  const ctx: TaskContext = {
    proxy: proxySettings(agent, secrets),
    definition,
    inputs: new Inputs(definition, agent, secrets),
    secrets,
    summary,
    signal: controller.signal,
    tempDir,
    agent,
    log,
    output(name, value, options = {}) {
      if (!declaredOutputs.has(name)) throw new Error(`Output variable '${name}' is not declared in task.json`);
      if (options.secret) secrets.add(value);
      agent.setVariable(name, value, { secret: options.secret, output: true });
    },
  };

  let outcome: TaskOutcome;
  try {
    ctx.inputs.validateDeclared();
    const message = await body(ctx);
    outcome = { result: 'Succeeded', message: message || `${definition.name} finished.` };
  } catch (error) {
    outcome = failureOutcome(error, controller.signal, secrets);
    if (error instanceof Error && !(error instanceof InputError) && !(error instanceof TaskError) && error.stack) {
      agent.debug(secrets.redact(error.stack));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (!summary.isEmpty) uploadSummary(agent, summary, tempDir, definition.name, secrets);
  agent.complete(outcome.result, outcome.message);
  return outcome;
}

/** The agent's proxy settings: the variables the agent sets from its .proxy configuration. */
function proxySettings(agent: AgentPort, secrets: SecretRegistry): TaskContext['proxy'] {
  const url = agent.variable('Agent.ProxyUrl');
  if (!url) return undefined;
  const password = agent.variable('Agent.ProxyPassword');
  if (password) secrets.add(password);
  let bypass: string[] = [];
  try {
    bypass = JSON.parse(agent.variable('Agent.ProxyBypassList') ?? '[]') as string[];
  } catch {
    agent.warning('Agent.ProxyBypassList is not a JSON list; every request goes through the proxy.');
  }
  return { url, username: agent.variable('Agent.ProxyUsername'), password, bypass: Array.isArray(bypass) ? bypass.map(String) : [] };
}

export interface TaskOutcome {
  result: 'Succeeded' | 'Failed' | 'Cancelled';
  message: string;
}

function failureOutcome(error: unknown, signal: AbortSignal, secrets: SecretRegistry): TaskOutcome {
  if (signal.aborted || isAbortError(error)) {
    return { result: 'Cancelled', message: 'Cancelled by the pipeline. Re-run the step to finish; it continues from what is already in place.' };
  }
  if (error instanceof TaskError) {
    return { result: 'Failed', message: secrets.redact(error.hint ? `${error.message} ${error.hint}` : error.message) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { result: 'Failed', message: secrets.redact(message) };
}

function uploadSummary(agent: AgentPort, summary: Summary, tempDir: string, task: string, secrets: SecretRegistry): void {
  try {
    const dir = join(tempDir, 'aks-gitops-summaries');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${task}-${Date.now()}.md`);
    writeFileSync(file, secrets.redact(summary.toMarkdown()), { mode: 0o600 });
    agent.uploadSummary(file);
  } catch (error) {
    agent.warning(`Could not write the run summary: ${(error as Error).message}`);
  }
}
