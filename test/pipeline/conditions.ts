// Step conditions: the expression language of Azure Pipelines runtime conditions, the part a
// step uses (status functions, comparisons, logic, variables['name']), with its coercion rules:
// strings compare ignoring case, an empty string is false, any other string is true.

export type JobStatus = 'succeeded' | 'succeededWithIssues' | 'failed' | 'canceled';

type Value = string | number | boolean | null;

export interface ConditionContext {
  status: JobStatus;
  variable(name: string): string | undefined;
}

export class ConditionError extends Error {}

type Token = { kind: 'string' | 'number' | 'name' | 'punct'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new ConditionError(`unterminated string in condition: ${source}`);
        if (source[i] === "'" && source[i + 1] === "'") { text += "'"; i += 2; continue; }
        if (source[i] === "'") { i++; break; }
        text += source[i++];
      }
      tokens.push({ kind: 'string', text });
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(source.slice(i));
      if (!m) throw new ConditionError(`unexpected '${c}' in condition: ${source}`);
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w.]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'name', text: m[0] });
      i += m[0].length;
    } else if ('(),[]'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else {
      throw new ConditionError(`unexpected '${c}' in condition: ${source}`);
    }
  }
  return tokens;
}

const truthy = (v: Value): boolean => (typeof v === 'string' ? v !== '' : typeof v === 'number' ? v !== 0 : Boolean(v));
const asString = (v: Value): string => (v === null ? '' : String(v));

/** Compares the way the expression engine does: the right side converted to the left side's type. */
function compare(a: Value, b: Value): number {
  if (typeof a === 'number') {
    const n = Number(b);
    return Number.isNaN(n) ? NaN : a - n;
  }
  if (typeof a === 'boolean') return Number(a) - Number(truthy(b));
  const [x, y] = [asString(a).toLowerCase(), asString(b).toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
}

const STATUS: Record<string, (s: JobStatus) => boolean> = {
  always: () => true,
  succeeded: (s) => s === 'succeeded' || s === 'succeededWithIssues',
  failed: (s) => s === 'failed',
  canceled: (s) => s === 'canceled',
  succeededorfailed: (s) => s !== 'canceled',
};

const FUNCTIONS: Record<string, (args: Value[]) => Value> = {
  eq: ([a, b]) => compare(a!, b!) === 0,
  ne: ([a, b]) => compare(a!, b!) !== 0,
  gt: ([a, b]) => compare(a!, b!) > 0,
  ge: ([a, b]) => compare(a!, b!) >= 0,
  lt: ([a, b]) => compare(a!, b!) < 0,
  le: ([a, b]) => compare(a!, b!) <= 0,
  and: (args) => args.every(truthy),
  or: (args) => args.some(truthy),
  not: ([a]) => !truthy(a!),
  xor: ([a, b]) => truthy(a!) !== truthy(b!),
  in: ([a, ...rest]) => rest.some((b) => compare(a!, b) === 0),
  notin: ([a, ...rest]) => !rest.some((b) => compare(a!, b) === 0),
  contains: ([a, b]) => asString(a!).toLowerCase().includes(asString(b!).toLowerCase()),
  startswith: ([a, b]) => asString(a!).toLowerCase().startsWith(asString(b!).toLowerCase()),
  endswith: ([a, b]) => asString(a!).toLowerCase().endsWith(asString(b!).toLowerCase()),
};

/** Evaluates a step condition; a syntax error or unknown function is a ConditionError. */
export function evaluateCondition(source: string, context: ConditionContext): boolean {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const expect = (text: string) => {
    const t = tokens[pos++];
    if (t?.text !== text) throw new ConditionError(`expected '${text}' in condition: ${source}`);
  };

  function expression(): Value {
    const t = tokens[pos++];
    if (!t) throw new ConditionError(`incomplete condition: ${source}`);
    if (t.kind === 'string') return t.text;
    if (t.kind === 'number') return Number(t.text);
    if (t.kind !== 'name') throw new ConditionError(`unexpected '${t.text}' in condition: ${source}`);
    const name = t.text.toLowerCase();
    if (name === 'true' || name === 'false') return name === 'true';
    if (name === 'null') return null;
    if (name === 'variables') {
      expect('[');
      const key = tokens[pos++];
      if (key?.kind !== 'string') throw new ConditionError(`variables[...] needs a quoted name in condition: ${source}`);
      expect(']');
      return context.variable(key.text) ?? null;
    }
    if (name.startsWith('variables.')) return context.variable(t.text.slice('variables.'.length)) ?? null;
    expect('(');
    const args: Value[] = [];
    while (peek()?.text !== ')') {
      args.push(expression());
      if (peek()?.text === ',') pos++;
      else break;
    }
    expect(')');
    if (name in STATUS) {
      if (args.length) throw new ConditionError(`${t.text}() with job names is not supported by the local runner: ${source}`);
      return STATUS[name]!(context.status);
    }
    const fn = FUNCTIONS[name];
    if (!fn) throw new ConditionError(`unknown function '${t.text}' in condition: ${source}`);
    return fn(args);
  }

  const result = expression();
  if (pos !== tokens.length) throw new ConditionError(`unexpected '${tokens[pos]!.text}' in condition: ${source}`);
  return truthy(result);
}
