import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { AgentPort } from './agent';
import { InputError } from './errors';
import type { SecretRegistry } from './secrets';
import type { TaskDefinition, TaskInputDefinition } from './task-definition';
import { isVisible } from './visible-rule';

/**
 * Typed, validated access to a task's inputs, driven by its task.json: an input hidden by its
 * visibleRule reads as unset, `required` is enforced only where the input is visible, pick lists
 * accept only their options (unless editable). Every error names the input and what was expected.
 */
export class Inputs {
  private readonly byName = new Map<string, TaskInputDefinition>();

  constructor(
    private readonly definition: TaskDefinition,
    private readonly agent: AgentPort,
    private readonly secrets: SecretRegistry,
  ) {
    for (const input of definition.inputs) this.byName.set(input.name, input);
  }

  /** Checks every visible input against its declaration; the first problem is thrown. */
  validateDeclared(): void {
    for (const input of this.definition.inputs) {
      if (!this.visible(input)) continue;
      const raw = this.raw(input.name);
      if (raw === undefined) {
        if (input.required) throw this.missing(input);
        continue;
      }
      if (input.type === 'boolean') this.bool(input.name);
      else if (input.type === 'int') this.int(input.name);
      else if ((input.type === 'pickList' || input.type === 'radio') && !this.editable(input)) {
        if (input.properties?.MultiSelectFlatList === 'True' || input.properties?.MultiSelect === 'True') this.choices(input.name);
        else this.choice(input.name);
      }
    }
  }

  /** An optional string; undefined when empty or hidden. */
  string(name: string): string | undefined {
    const def = this.def(name);
    if (!this.visible(def)) return undefined;
    return this.raw(name)?.trim();
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw this.missing(this.def(name));
    return value;
  }

  bool(name: string): boolean {
    const value = this.string(name);
    if (value === undefined) return false;
    const v = value.toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new InputError(name, `'${value}' is not a boolean`, "'true' or 'false'");
  }

  int(name: string, range: { min?: number; max?: number } = {}): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) throw new InputError(name, `'${value}' is not a whole number`, rangeText(range) || 'a whole number');
    const n = Number(value);
    if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      throw new InputError(name, `${n} is out of range`, rangeText(range));
    }
    return n;
  }

  /** One of the pick list's option keys (case-insensitive), returned as declared. */
  choice<T extends string = string>(name: string): T | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    return this.matchOption(name, value) as T;
  }

  choices<T extends string = string>(name: string): T[] {
    return this.list(name).map((v) => this.matchOption(name, v) as T);
  }

  /** Items separated by commas or new lines, trimmed, empty ones dropped. */
  list(name: string): string[] {
    return (this.string(name) ?? '').split(/[,\r\n]+/).map((s) => s.trim()).filter(Boolean);
  }

  /** `key=value` pairs, one per line (or comma-separated); keys must be unique. */
  keyValues(name: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const item of this.list(name)) {
      const at = item.indexOf('=');
      if (at <= 0) throw new InputError(name, `'${item}' is not a key=value pair`, 'one key=value pair per line');
      const key = item.slice(0, at).trim();
      if (key in out) throw new InputError(name, `key '${key}' appears twice`, 'each key once');
      out[key] = item.slice(at + 1).trim();
    }
    return out;
  }

  /**
   * A file path, relative paths resolved against the sources folder (System.DefaultWorkingDirectory)
   * as the editor's file picker produces them. The file must exist.
   */
  filePath(name: string): string | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const base = this.agent.variable('System.DefaultWorkingDirectory') ?? this.agent.variable('Build.SourcesDirectory') ?? process.cwd();
    const full = isAbsolute(value) ? value : resolve(base, value);
    // The agent fills an unset filePath input with the sources folder itself.
    if (resolve(full) === resolve(base) && !this.def(name).required) return undefined;
    if (!existsSync(full) || !statSync(full).isFile()) {
      throw new InputError(name, `the file '${value}' does not exist${isAbsolute(value) ? '' : ` (looked in ${base})`}`, 'a path to an existing file, relative to the sources folder or absolute');
    }
    return full;
  }

  /**
   * A secret input. Its value and every derived form are registered with the agent before it is
   * returned. Never logged, never echoed in an error.
   */
  secret(name: string): string | undefined {
    const value = this.string(name);
    if (value !== undefined) this.secrets.add(value);
    return value;
  }

  /** A secret given as base64 (how multi-line secrets such as PEM keys travel in variables). */
  base64Secret(name: string): Buffer | undefined {
    this.secret(name);
    return this.base64(name);
  }

  /** A value given as base64, e.g. a PEM certificate in a variable. */
  base64(name: string): Buffer | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const compact = value.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      throw new InputError(name, 'the value is not valid base64', 'the base64 encoding of the file (for example `base64 -w0 key.pem`)');
    }
    return Buffer.from(compact, 'base64');
  }

  private matchOption(name: string, value: string): string {
    const def = this.def(name);
    const keys = Object.keys(def.options ?? {});
    if (keys.length === 0 || this.editable(def)) return value;
    const hit = keys.find((k) => k.toLowerCase() === value.toLowerCase());
    if (!hit) throw new InputError(name, `'${value}' is not one of the allowed values`, `one of: ${keys.join(', ')}`);
    return hit;
  }

  private editable(def: TaskInputDefinition): boolean {
    return def.properties?.EditableOptions === 'True';
  }

  private visible(def: TaskInputDefinition): boolean {
    const group = this.definition.groups?.find((g) => g.name === def.groupName);
    const valueOf = (n: string) => this.raw(n) ?? '';
    return isVisible(group?.visibleRule, valueOf) && isVisible(def.visibleRule, valueOf);
  }

  private raw(name: string): string | undefined {
    return this.agent.input(name);
  }

  private def(name: string): TaskInputDefinition {
    const def = this.byName.get(name);
    if (!def) throw new Error(`Input '${name}' is not declared in task.json of ${this.definition.name}`);
    return def;
  }

  private missing(def: TaskInputDefinition): InputError {
    const rule = def.visibleRule ? ` when ${def.visibleRule}` : '';
    return new InputError(def.name, `'${def.label}' is required${rule}`, def.helpMarkDown ? firstSentence(def.helpMarkDown) : `a value for '${def.label}'`);
  }
}

function rangeText(range: { min?: number; max?: number }): string {
  if (range.min !== undefined && range.max !== undefined) return `a whole number from ${range.min} to ${range.max}`;
  if (range.min !== undefined) return `a whole number of at least ${range.min}`;
  if (range.max !== undefined) return `a whole number of at most ${range.max}`;
  return '';
}

function firstSentence(markdown: string): string {
  const plain = markdown.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replace(/[`*]/g, '');
  const end = plain.search(/\.(\s|$)/);
  return (end > 0 ? plain.slice(0, end) : plain).trim().replace(/^./, (c) => c.toLowerCase());
}
