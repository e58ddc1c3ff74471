/**
 * Evaluates a task.json visibleRule such as `connectionType = azureResourceManager && mode != delete`
 * (`&&` binds tighter than `||`, as the editor does). Operators: =, ==, !=, <, >, <=, >=,
 * Contains, NotContains, StartsWith, EndsWith, NotStartsWith, NotEndsWith, ContainsAny.
 */
export function isVisible(rule: string | undefined, valueOf: (input: string) => string): boolean {
  if (!rule || !rule.trim()) return true;
  return rule.split('||').some((alt) => alt.split('&&').every((clause) => evaluate(clause.trim(), valueOf)));
}

const OPERATORS = ['!=', '<=', '>=', '==', '=', '<', '>'];
const WORD_OPERATORS = ['NotContains', 'Contains', 'NotStartsWith', 'StartsWith', 'NotEndsWith', 'EndsWith', 'ContainsAny'];

function evaluate(clause: string, valueOf: (input: string) => string): boolean {
  for (const op of WORD_OPERATORS) {
    const m = clause.match(new RegExp(`^(\\S+)\\s+${op}\\s+(.*)$`));
    if (m) return compareWord(op, valueOf(m[1]), m[2].trim());
  }
  for (const op of OPERATORS) {
    const at = clause.indexOf(op);
    if (at > 0) {
      const left = valueOf(clause.slice(0, at).trim());
      // `x != ""` compares with the empty string, as the editor does.
      const right = clause.slice(at + op.length).trim().replace(/^"(.*)"$/, '$1');
      return compare(op, left, right);
    }
  }
  throw new Error(`Unsupported visibleRule clause: ${clause}`);
}

function compare(op: string, left: string, right: string): boolean {
  const l = left.toLowerCase();
  const r = right.toLowerCase();
  switch (op) {
    case '=':
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    default: {
      const a = Number(left);
      const b = Number(right);
      if (op === '<') return a < b;
      if (op === '>') return a > b;
      if (op === '<=') return a <= b;
      return a >= b;
    }
  }
}

function compareWord(op: string, left: string, right: string): boolean {
  const l = left.toLowerCase();
  const r = right.toLowerCase();
  switch (op) {
    case 'Contains': return l.includes(r);
    case 'NotContains': return !l.includes(r);
    case 'StartsWith': return l.startsWith(r);
    case 'NotStartsWith': return !l.startsWith(r);
    case 'EndsWith': return l.endsWith(r);
    case 'NotEndsWith': return !l.endsWith(r);
    default: return r.split(',').some((x) => l.includes(x.trim()));
  }
}
