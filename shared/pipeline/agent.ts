/**
 * The narrow port between the tasks and the pipeline agent. Everything the tasks need from the
 * agent goes through this interface, so the core runs and is tested without the agent; the one
 * implementation that talks to the real agent is in task-lib-agent.ts.
 */
export interface Endpoint {
  id: string;
  url?: string;
  /** Authorization scheme, e.g. ServicePrincipal, WorkloadIdentityFederation, Kubeconfig, Token. */
  scheme?: string;
  /** Authorization parameters with their keys as the service connection defines them. */
  authParams: Record<string, string>;
  /** Endpoint data with lower-cased keys (the agent upper-cases them in the environment). */
  data: Record<string, string>;
}

export interface SecureFileRef {
  id: string;
  name?: string;
  ticket?: string;
}

export type TaskResultKind = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Cancelled';

export interface AgentPort {
  /** The raw value of an input, never logged. Undefined when unset or empty. */
  input(name: string): string | undefined;
  /** A pipeline variable (e.g. System.DefaultWorkingDirectory); secret variables are not logged. */
  variable(name: string): string | undefined;
  endpoint(id: string): Endpoint | undefined;
  secureFile(id: string): SecureFileRef;

  /** Registers a single-line value with the agent's masker. */
  setSecret(value: string): void;
  setVariable(name: string, value: string, options?: { secret?: boolean; output?: boolean }): void;

  info(message: string): void;
  debug(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  section(title: string): void;
  group(title: string): void;
  endGroup(): void;
  progress(percent: number, operation: string): void;
  uploadSummary(markdownPath: string): void;
  complete(result: TaskResultKind, message: string): void;
}
