import type { ProxySettings } from '../net/proxy';
import type { AgentPort } from './agent';
import type { Inputs } from './inputs';
import type { SecretRegistry } from './secrets';
import type { Summary } from './summary';
import type { TaskDefinition } from './task-definition';

/** What a task body gets: its inputs, the log, outputs, the summary and the cancel signal. */
export interface TaskContext {
  readonly definition: TaskDefinition;
  readonly inputs: Inputs;
  readonly secrets: SecretRegistry;
  readonly summary: Summary;
  /** Aborted when the pipeline cancels the job (the agent sends SIGINT, then SIGTERM). */
  readonly signal: AbortSignal;
  /** The agent's per-job temp folder (Agent.TempDirectory), cleaned by the agent after the job. */
  readonly tempDir: string;
  /** The agent's proxy (Agent.ProxyUrl and friends), for every request the task makes. */
  readonly proxy?: ProxySettings;
  readonly agent: AgentPort;
  readonly log: Log;
  /** Sets a declared output variable; secret outputs are masked and not exported to scripts. */
  output(name: string, value: string, options?: { secret?: boolean }): void;
}

export interface Log {
  info(message: string): void;
  debug(message: string): void;
  warning(message: string): void;
  section(title: string): void;
  /** Shows progress in the log and on the task's progress bar. */
  progress(percent: number, operation: string): void;
}
