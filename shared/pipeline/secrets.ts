/**
 * Every form of a secret that could reach a log: the value, its base64 (and base64url) form, and,
 * for multi-line values such as PEM, each line (the agent's masker takes single lines only). A
 * base64 value that decodes to text yields the decoded form's lines too, since the tasks take
 * PEM keys base64-encoded.
 */
export function secretForms(value: string): string[] {
  const forms = new Set<string>();
  const add = (v: string) => {
    const t = v.trim();
    // PEM armour lines and very short fragments are not secret and would mask unrelated output.
    if (t.length >= 6 && !/^-----(BEGIN|END) [A-Z0-9 ]+-----$/.test(t)) forms.add(t);
  };
  const addWithLines = (v: string) => {
    if (/[\r\n]/.test(v)) v.split(/\r?\n/).forEach(add);
    else add(v);
  };
  addWithLines(value);
  const buf = Buffer.from(value, 'utf8');
  add(buf.toString('base64'));
  add(buf.toString('base64url'));
  const compact = value.replace(/\s+/g, '');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0 && compact.length >= 8) {
    const decoded = Buffer.from(compact, 'base64').toString('utf8');
    if (isPrintable(decoded)) {
      addWithLines(decoded);
      // PEM bodies are wrapped at 64 columns; a log could show any wrapped line.
      const body = decoded.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
      if (body.length >= 64) for (let i = 0; i < body.length; i += 64) add(body.slice(i, i + 64));
    }
  }
  return [...forms];
}

function isPrintable(text: string): boolean {
  return text.length > 0 && !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text);
}

/** Remembers what was registered so each form is sent to the agent once. */
export class SecretRegistry {
  private readonly known = new Set<string>();
  constructor(private readonly register: (value: string) => void) {}

  add(value: string | undefined): void {
    if (!value) return;
    for (const form of secretForms(value)) {
      if (this.known.has(form)) continue;
      this.known.add(form);
      this.register(form);
    }
  }

  /** Replaces every registered form in a text; for messages built from third-party errors. */
  redact(text: string): string {
    let out = text;
    for (const form of [...this.known].sort((a, b) => b.length - a.length)) out = out.split(form).join('***');
    return out;
  }
}
