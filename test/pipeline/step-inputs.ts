// A task step's inputs as the agent receives them: macros expanded from the job's variables,
// service connections and secure files named in YAML replaced by their ids (and their details
// handed over as ENDPOINT_* / SECUREFILE_*), misspelt inputs refused before anything runs.
import type { EndpointSpec } from '../agent/harness';
import type { TaskStep } from './definition';
import { findSecureFile, findServiceConnection, type LocalEnvironment } from './environment';
import { inputNamed, type TaskCatalog, type TaskInfo } from './task-catalog';
import type { VariableStore } from './variables';

export interface PreparedStep {
  task: TaskInfo;
  inputs: Record<string, string>;
  env: Record<string, string>;
  endpoints: Record<string, EndpointSpec>;
  secureFiles: Record<string, { name: string; ticket: string }>;
  /** `$(name)` references that no variable answered, by input. */
  unresolved: { input: string; names: string[] }[];
}

/** Problems Azure DevOps would report before the run starts ("The pipeline is not valid"). */
export function validateStep(step: TaskStep, catalog: TaskCatalog, environment: LocalEnvironment, variables: VariableStore): string[] {
  const where = `Step ${step.index}${step.name ? ` (${step.name})` : ''}`;
  const task = catalog(step.task);
  if (!task) return [`${where}: task '${step.task}' is not in the extension`];
  if (task.major !== step.major) return [`${where}: ${step.task}@${step.major} does not exist; the extension has ${task.name}@${task.major}`];
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(step.inputs)) {
    const input = inputNamed(task, key);
    if (!input) {
      problems.push(`${where}: ${task.name}@${task.major} has no input '${key}'`);
      continue;
    }
    const value = variables.expand(raw).text;
    if (input.type.startsWith('connectedService:') && value.trim()) {
      const found = findServiceConnection(environment, value, input.type);
      if (typeof found === 'string') problems.push(`${where}: input '${key}' references ${found}`);
    }
    if (input.type === 'secureFile' && value.trim()) {
      const found = findSecureFile(environment, value);
      if (typeof found === 'string') problems.push(`${where}: input '${key}' references ${found}`);
    }
  }
  return problems;
}

/** Inputs, environment, endpoints and secure files of a validated step, from the variables as they are now. */
export function prepareStep(step: TaskStep, task: TaskInfo, environment: LocalEnvironment, variables: VariableStore): PreparedStep {
  const prepared: PreparedStep = { task, inputs: {}, env: {}, endpoints: {}, secureFiles: {}, unresolved: [] };
  for (const [key, raw] of Object.entries(step.inputs)) {
    const input = inputNamed(task, key)!;
    const { text, unresolved } = variables.expand(raw);
    if (unresolved.length) prepared.unresolved.push({ input: input.name, names: unresolved });
    let value = text;
    if (input.type.startsWith('connectedService:') && value.trim()) {
      const connection = findServiceConnection(environment, value, input.type);
      if (typeof connection !== 'string') {
        const { id, type: _type, ...spec } = connection;
        prepared.endpoints[id] = spec;
        value = id;
      }
    }
    if (input.type === 'secureFile' && value.trim()) {
      const file = findSecureFile(environment, value);
      if (typeof file !== 'string') {
        prepared.secureFiles[file.id] = { name: file.name, ticket: file.ticket };
        value = file.id;
      }
    }
    prepared.inputs[input.name] = value;
  }
  for (const [key, raw] of Object.entries(step.env)) prepared.env[key] = variables.expand(raw).text;
  return prepared;
}
