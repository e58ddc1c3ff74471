/** The parts of a task.json the pipeline layer reads. */
export interface TaskInputDefinition {
  name: string;
  aliases?: string[];
  label: string;
  type: string;
  required?: boolean;
  defaultValue?: string | boolean;
  visibleRule?: string;
  options?: Record<string, string>;
  properties?: Record<string, string>;
  groupName?: string;
  helpMarkDown?: string;
}

export interface TaskDefinition {
  id: string;
  name: string;
  friendlyName: string;
  version: { Major: number; Minor: number; Patch: number };
  inputs: TaskInputDefinition[];
  groups?: { name: string; displayName: string; visibleRule?: string }[];
  outputVariables?: { name: string; description?: string }[];
}

export const versionOf = (def: TaskDefinition) => `${def.version.Major}.${def.version.Minor}.${def.version.Patch}`;
