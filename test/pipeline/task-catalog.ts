// What the runner needs to know of a task before running it, from its task.json (in the unpacked
// vsix at run time, in tasks/ for unit tests): its inputs (to refuse misspelt ones and to resolve
// service connections and secure files by name), its declared output variables, its display name.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface TaskInput {
  name: string;
  aliases: string[];
  type: string;
  defaultValue?: string;
}

export interface TaskInfo {
  name: string;
  major: number;
  friendlyName: string;
  instanceNameFormat?: string;
  inputs: TaskInput[];
  outputVariables: string[];
}

export type TaskCatalog = (name: string) => TaskInfo | undefined;

interface TaskJson {
  name: string;
  friendlyName?: string;
  instanceNameFormat?: string;
  version: { Major: number };
  inputs?: { name: string; aliases?: string[]; type: string; defaultValue?: string | boolean }[];
  outputVariables?: { name: string }[];
}

/** The tasks in `<dir>/tasks/*` (a repository checkout or an unpacked extension). */
export function taskCatalog(dir: string): TaskCatalog {
  const tasksDir = join(dir, 'tasks');
  const byName = new Map<string, TaskInfo>();
  for (const folder of existsSync(tasksDir) ? readdirSync(tasksDir) : []) {
    const file = join(tasksDir, folder, 'task.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8')) as TaskJson;
    byName.set(json.name.toLowerCase(), {
      name: json.name,
      major: json.version.Major,
      friendlyName: json.friendlyName ?? json.name,
      instanceNameFormat: json.instanceNameFormat,
      inputs: (json.inputs ?? []).map((i) => ({
        name: i.name, aliases: i.aliases ?? [], type: i.type, defaultValue: i.defaultValue === undefined ? undefined : String(i.defaultValue),
      })),
      outputVariables: (json.outputVariables ?? []).map((o) => o.name),
    });
  }
  return (name) => byName.get(name.toLowerCase());
}

/** The input a YAML key names (by name or alias, ignoring case), if any. */
export function inputNamed(task: TaskInfo, key: string): TaskInput | undefined {
  const wanted = key.toLowerCase();
  return task.inputs.find((i) => i.name.toLowerCase() === wanted || i.aliases.some((a) => a.toLowerCase() === wanted));
}

/** The name Azure DevOps shows for a step without displayName: instanceNameFormat with the inputs filled in. */
export function defaultDisplayName(task: TaskInfo, inputs: Record<string, string>): string {
  if (!task.instanceNameFormat) return task.friendlyName;
  return task.instanceNameFormat.replace(/\$\(([^)]+)\)/g, (macro, name: string) => {
    const input = inputNamed(task, name);
    if (!input) return macro;
    const given = Object.entries(inputs).find(([k]) => inputNamed(task, k) === input)?.[1];
    return given ?? input.defaultValue ?? '';
  });
}
