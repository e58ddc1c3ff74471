// The part of the Azure Pipelines YAML schema the examples use: one implicit job of task and bash steps,
// its variables, and the triggers (read for display only; the local runner runs the steps now).
// Anything else is refused with a message naming the key, so an example never silently means
// something different locally than on Azure DevOps.
import { parse } from 'yaml';

export interface VariableDeclaration {
  name: string;
  value: string;
  readonly: boolean;
}

export interface TaskStep {
  /** Position in the steps list, from 1, for messages. */
  index: number;
  /** `AksBootstrap` of `AksBootstrap@1`. */
  task: string;
  major: number;
  /** The reference name for output variables: `$(<name>.<variable>)`. */
  name?: string;
  displayName?: string;
  inputs: Record<string, string>;
  condition: string;
  enabled: boolean;
  continueOnError: boolean;
  timeoutInMinutes?: number;
  env: Record<string, string>;
}

export interface CheckoutStep {
  index: number;
  checkout: string;
}

/** A `bash:` step (the Bash@3 task's shorthand): an inline script run with bash on the agent. */
export interface BashStep {
  index: number;
  bash: string;
  name?: string;
  displayName?: string;
  condition: string;
  enabled: boolean;
  continueOnError: boolean;
  timeoutInMinutes?: number;
  env: Record<string, string>;
}

export type Step = TaskStep | CheckoutStep | BashStep;

export interface Schedule {
  cron: string;
  displayName?: string;
  branches: string[];
  always: boolean;
}

/** `- group: <name>` in the variables list; `position` is how many plain variables come before it. */
export interface VariableGroupReference {
  name: string;
  position: number;
}

export interface PipelineDefinition {
  name?: string;
  variables: VariableDeclaration[];
  variableGroups: VariableGroupReference[];
  steps: Step[];
  schedules: Schedule[];
  /** `none`, a branch list, or undefined (Azure DevOps then triggers on every push). */
  trigger?: string;
}

export class PipelineError extends Error {}

const TOP_LEVEL = new Set(['name', 'trigger', 'pr', 'schedules', 'pool', 'variables', 'steps']);
const REFUSED_TOP_LEVEL: Record<string, string> = {
  stages: 'stages', jobs: 'jobs', extends: 'templates (extends)', parameters: 'runtime parameters', resources: 'resources',
};
const TASK_KEYS = new Set(['task', 'name', 'displayName', 'inputs', 'condition', 'enabled', 'continueOnError', 'timeoutInMinutes', 'env']);
const BASH_KEYS = new Set(['bash', 'name', 'displayName', 'condition', 'enabled', 'continueOnError', 'timeoutInMinutes', 'env']);
const SCRIPT_KEYS = ['script', 'pwsh', 'powershell', 'template', 'download', 'publish', 'getPackage', 'reviewApp'];
/** Azure DevOps: a step name starts with a letter or `_` and holds letters, digits and `_`. */
const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VARIABLE_NAME = /^[A-Za-z0-9_.\-\s]+$/;

/** A scalar as the agent sees it: YAML `true` and `3` become the strings `true` and `3`. */
function scalar(value: unknown, where: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new PipelineError(`${where}: expected a single value, found ${Array.isArray(value) ? 'a list' : 'a mapping'}`);
}

function mapping(value: unknown, where: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new PipelineError(`${where}: expected a mapping`);
  return value as Record<string, unknown>;
}

function variables(value: unknown, groups: VariableGroupReference[] = []): VariableDeclaration[] {
  if (value === undefined || value === null) return [];
  const declared: VariableDeclaration[] = [];
  const add = (name: string, raw: unknown, readonly: boolean, where: string) => {
    if (!VARIABLE_NAME.test(name)) throw new PipelineError(`${where}: '${name}' is not a valid variable name`);
    if (/^(system|agent|build|release)\./i.test(name)) throw new PipelineError(`${where}: '${name}' is a predefined variable and cannot be set in YAML`);
    declared.push({ name, value: scalar(raw, where), readonly });
  };
  if (!Array.isArray(value)) {
    for (const [name, raw] of Object.entries(mapping(value, 'variables'))) add(name, raw, false, `variables.${name}`);
    return declared;
  }
  value.forEach((entry, i) => {
    const where = `variables[${i}]`;
    const item = mapping(entry, where);
    if ('group' in item) {
      for (const key of Object.keys(item)) if (key !== 'group') throw new PipelineError(`${where}: unexpected key '${key}' next to 'group'`);
      const name = scalar(item.group, `${where}.group`).trim();
      if (!name) throw new PipelineError(`${where}.group: a variable group name is required`);
      groups.push({ name, position: declared.length });
      return;
    }
    if ('template' in item) throw new PipelineError(`${where}: variable templates are not supported by the local runner`);
    for (const key of Object.keys(item)) if (!['name', 'value', 'readonly'].includes(key)) throw new PipelineError(`${where}: unexpected key '${key}'`);
    if (typeof item.name !== 'string' || !item.name) throw new PipelineError(`${where}: 'name' is required`);
    add(item.name, item.value, item.readonly === true, where);
  });
  return declared;
}

/** What task and bash steps share: name, display name, condition, enabled, continueOnError, timeout, env. */
function commonStepFields(item: Record<string, unknown>, where: string) {
  const name = item.name === undefined ? undefined : scalar(item.name, `${where}.name`);
  if (name !== undefined && !STEP_NAME.test(name)) {
    throw new PipelineError(`${where}.name: '${name}' may hold only letters, digits and '_', and must not start with a digit`);
  }
  const env = Object.fromEntries(Object.entries(mapping(item.env, `${where}.env`)).map(([k, v]) => [k, scalar(v, `${where}.env.${k}`)]));
  const timeout = item.timeoutInMinutes === undefined ? undefined : Number(item.timeoutInMinutes);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 0)) throw new PipelineError(`${where}.timeoutInMinutes: expected a whole number of minutes`);
  return {
    name,
    displayName: item.displayName === undefined ? undefined : scalar(item.displayName, `${where}.displayName`),
    condition: item.condition === undefined ? 'succeeded()' : scalar(item.condition, `${where}.condition`),
    enabled: item.enabled === undefined ? true : scalar(item.enabled, `${where}.enabled`).toLowerCase() !== 'false',
    continueOnError: item.continueOnError === undefined ? false : scalar(item.continueOnError, `${where}.continueOnError`).toLowerCase() === 'true',
    timeoutInMinutes: timeout || undefined,
    env,
  };
}

function taskStep(item: Record<string, unknown>, index: number): TaskStep {
  const where = `steps[${index - 1}]`;
  for (const key of Object.keys(item)) if (!TASK_KEYS.has(key)) throw new PipelineError(`${where}: unexpected key '${key}' on a task step`);
  const reference = scalar(item.task, `${where}.task`);
  const m = /^([A-Za-z][\w-]*)@(\d+)$/.exec(reference.trim());
  if (!m) throw new PipelineError(`${where}.task: '${reference}' must be <TaskName>@<major>, e.g. AksBootstrap@1`);
  const inputs = Object.fromEntries(Object.entries(mapping(item.inputs, `${where}.inputs`)).map(([k, v]) => [k, scalar(v, `${where}.inputs.${k}`)]));
  return { index, task: m[1], major: Number(m[2]), inputs, ...commonStepFields(item, where) };
}

function bashStep(item: Record<string, unknown>, index: number): BashStep {
  const where = `steps[${index - 1}]`;
  for (const key of Object.keys(item)) if (!BASH_KEYS.has(key)) throw new PipelineError(`${where}: unexpected key '${key}' on a bash step`);
  return { index, bash: scalar(item.bash, `${where}.bash`), ...commonStepFields(item, where) };
}

function steps(value: unknown): Step[] {
  if (!Array.isArray(value) || value.length === 0) throw new PipelineError("'steps' must be a non-empty list");
  const parsed = value.map((entry, i): Step => {
    const item = mapping(entry, `steps[${i}]`);
    if ('task' in item) return taskStep(item, i + 1);
    if ('bash' in item) return bashStep(item, i + 1);
    if ('checkout' in item) return { index: i + 1, checkout: scalar(item.checkout, `steps[${i}].checkout`) };
    const kind = SCRIPT_KEYS.find((k) => k in item) ?? Object.keys(item)[0] ?? 'empty';
    throw new PipelineError(`steps[${i}]: '${kind}' steps are not supported by the local runner (only task, bash and checkout steps)`);
  });
  const names = new Map<string, number>();
  for (const step of parsed) {
    if ('checkout' in step || !step.name) continue;
    const key = step.name.toLowerCase();
    if (names.has(key)) throw new PipelineError(`steps[${step.index - 1}].name: '${step.name}' is already the name of step ${names.get(key)}`);
    names.set(key, step.index);
  }
  return parsed;
}

function schedules(value: unknown): Schedule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PipelineError("'schedules' must be a list");
  return value.map((entry, i) => {
    const item = mapping(entry, `schedules[${i}]`);
    const cron = scalar(item.cron, `schedules[${i}].cron`).trim();
    // Azure DevOps cron: minute hour day-of-month month day-of-week, always UTC.
    if (cron.split(/\s+/).length !== 5) throw new PipelineError(`schedules[${i}].cron: '${cron}' must have five fields (minute hour day month weekday, UTC)`);
    const branches = mapping(item.branches, `schedules[${i}].branches`).include;
    return {
      cron,
      displayName: item.displayName === undefined ? undefined : scalar(item.displayName, `schedules[${i}].displayName`),
      branches: Array.isArray(branches) ? branches.map((b) => scalar(b, `schedules[${i}].branches.include`)) : [],
      always: item.always === true,
    };
  });
}

function trigger(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === 'none' || value === null) return 'none';
  if (Array.isArray(value)) return value.map((b) => scalar(b, 'trigger')).join(', ');
  const include = mapping(value, 'trigger').branches;
  const branches = mapping(include, 'trigger.branches').include;
  return Array.isArray(branches) ? branches.map((b) => scalar(b, 'trigger.branches.include')).join(', ') : 'custom';
}

/** Parses a pipeline file; every problem is a PipelineError naming where it is. */
export function parsePipeline(yamlText: string): PipelineDefinition {
  let doc: unknown;
  try {
    doc = parse(yamlText);
  } catch (error) {
    throw new PipelineError(`not valid YAML: ${(error as Error).message}`);
  }
  const root = mapping(doc, 'the pipeline');
  for (const key of Object.keys(root)) {
    if (key in REFUSED_TOP_LEVEL) throw new PipelineError(`'${key}': ${REFUSED_TOP_LEVEL[key]} are not supported by the local runner (one job of steps only)`);
    if (!TOP_LEVEL.has(key)) throw new PipelineError(`unexpected top-level key '${key}'`);
  }
  if (yamlText.includes('${{')) throw new PipelineError('template expressions (${{ }}) are not supported by the local runner; use $(variable) macros');
  const variableGroups: VariableGroupReference[] = [];
  return {
    name: root.name === undefined ? undefined : scalar(root.name, 'name'),
    variables: variables(root.variables, variableGroups),
    variableGroups,
    steps: steps(root.steps),
    schedules: schedules(root.schedules),
    trigger: trigger(root.trigger),
  };
}
