// What the agent does to every line it shows: each secret variable, each value a task registered
// with task.setsecret, and the usual encodings of them (base64, each PEM line) become ***.
import { secretForms } from '../../shared/pipeline/secrets';

export class Masker {
  private readonly forms = new Set<string>();
  private sorted: string[] = [];

  /** A secret variable's value: masked with its derived forms. */
  addSecret(value: string): void {
    for (const form of secretForms(value)) this.forms.add(form);
    this.sorted = [];
  }

  /** A value a task registered itself (it registers the derived forms it uses). */
  addRegistered(value: string): void {
    if (value.trim()) this.forms.add(value.trim());
    this.sorted = [];
  }

  mask(text: string): string {
    if (!this.sorted.length) this.sorted = [...this.forms].sort((a, b) => b.length - a.length);
    let out = text;
    for (const form of this.sorted) if (out.includes(form)) out = out.split(form).join('***');
    return out;
  }
}
