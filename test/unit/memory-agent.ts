import type { AgentPort, Endpoint, SecureFileRef, TaskResultKind } from '../../shared/pipeline/agent';

/** An in-memory agent for in-process tests: inputs in, everything the task says recorded. */
export class MemoryAgent implements AgentPort {
  readonly log: string[] = [];
  readonly secrets: string[] = [];
  readonly variables: Record<string, { value: string; secret: boolean; output: boolean }> = {};
  readonly progressValues: number[] = [];
  readonly summaries: string[] = [];
  completed?: { result: TaskResultKind; message: string };

  constructor(
    private readonly inputs: Record<string, string> = {},
    private readonly vars: Record<string, string> = {},
    private readonly endpoints: Record<string, Endpoint> = {},
  ) {}

  input(name: string) {
    const v = this.inputs[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  }
  variable(name: string) {
    return this.vars[name];
  }
  endpoint(id: string) {
    return this.endpoints[id];
  }
  secureFile(id: string): SecureFileRef {
    return { id };
  }
  setSecret(value: string) {
    this.secrets.push(value);
  }
  setVariable(name: string, value: string, o: { secret?: boolean; output?: boolean } = {}) {
    this.variables[name] = { value, secret: !!o.secret, output: !!o.output };
  }
  info(m: string) {
    this.log.push(m);
  }
  debug(m: string) {
    this.log.push(`debug: ${m}`);
  }
  warning(m: string) {
    this.log.push(`warning: ${m}`);
  }
  error(m: string) {
    this.log.push(`error: ${m}`);
  }
  section(t: string) {
    this.log.push(`section: ${t}`);
  }
  group(t: string) {
    this.log.push(`group: ${t}`);
  }
  endGroup() {}
  progress(percent: number) {
    this.progressValues.push(percent);
  }
  uploadSummary(path: string) {
    this.summaries.push(path);
  }
  complete(result: TaskResultKind, message: string) {
    this.completed = { result, message };
  }
}
