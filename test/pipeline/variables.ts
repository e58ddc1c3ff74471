// The job's variables as the agent keeps them: names are case-insensitive, values may refer to
// other variables with $(name) and are expanded recursively (as the agent does before a step),
// secrets are flagged so they reach tasks only as SECRET_* and are masked in the log, and output
// variables of a named step live under `<step>.<name>`.

export interface Variable {
  name: string;
  value: string;
  secret: boolean;
  readonly: boolean;
}

const MACRO = /\$\(([\w.\-]+)\)/g;
/** The agent stops expanding nested macros after a few levels; a cycle stays unexpanded. */
const MAX_DEPTH = 10;

export class VariableStore {
  private readonly byKey = new Map<string, Variable>();

  /** Sets a variable; a read-only one keeps its value and `false` is returned. */
  set(name: string, value: string, options: { secret?: boolean; readonly?: boolean } = {}): boolean {
    const key = name.toLowerCase();
    const existing = this.byKey.get(key);
    if (existing?.readonly) return false;
    this.byKey.set(key, { name: existing?.name ?? name, value, secret: options.secret ?? existing?.secret ?? false, readonly: options.readonly ?? false });
    return true;
  }

  get(name: string): Variable | undefined {
    return this.byKey.get(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.byKey.has(name.toLowerCase());
  }

  all(): Variable[] {
    return [...this.byKey.values()];
  }

  /** The value with macros of other variables expanded, as a task or an input would see it. */
  value(name: string): string | undefined {
    return this.expandedValue(name.toLowerCase(), new Set(), 0);
  }

  private expandedValue(key: string, seen: Set<string>, depth: number): string | undefined {
    const variable = this.byKey.get(key);
    if (!variable) return undefined;
    if (seen.has(key) || depth >= MAX_DEPTH) return variable.value;
    const next = new Set(seen).add(key);
    return variable.value.replace(MACRO, (macro, ref: string) => this.expandedValue(ref.toLowerCase(), next, depth + 1) ?? macro);
  }

  /**
   * Expands $(name) macros in an input, env value or display name, once, from the expanded
   * variables; unknown names stay as written (as on Azure DevOps) and are reported.
   */
  expand(text: string): { text: string; unresolved: string[]; usedSecrets: boolean } {
    const unresolved: string[] = [];
    let usedSecrets = false;
    const out = text.replace(MACRO, (macro, ref: string) => {
      const value = this.value(ref);
      if (value === undefined) {
        unresolved.push(ref);
        return macro;
      }
      if (this.get(ref)!.secret) usedSecrets = true;
      return value;
    });
    return { text: out, unresolved, usedSecrets };
  }

  /** What the agent hands a task: public variables by name, secrets separately. */
  forTask(): { variables: Record<string, string>; secretVariables: Record<string, string> } {
    const variables: Record<string, string> = {};
    const secretVariables: Record<string, string> = {};
    for (const v of this.byKey.values()) (v.secret ? secretVariables : variables)[v.name] = this.value(v.name)!;
    return { variables, secretVariables };
  }

  secretValues(): string[] {
    return this.all().filter((v) => v.secret && v.value).map((v) => v.value);
  }
}
