/** A Markdown run summary, attached to the pipeline run with task.uploadsummary. */
export class Summary {
  private readonly parts: string[] = [];

  constructor(readonly title: string) {}

  get isEmpty(): boolean {
    return this.parts.length === 0;
  }

  facts(rows: [string, string | number | undefined][]): this {
    const shown = rows.filter(([, v]) => v !== undefined && v !== '');
    if (shown.length) this.table(['', ''], shown.map(([k, v]) => [`**${k}**`, String(v)]));
    return this;
  }

  table(header: string[], rows: (string | number)[][]): this {
    if (!rows.length) return this;
    const cell = (v: string | number) => String(v).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
    const lines = [`| ${header.map(cell).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
    for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
    this.parts.push(lines.join('\n'));
    return this;
  }

  heading(text: string): this {
    this.parts.push(`#### ${text}`);
    return this;
  }

  list(items: string[]): this {
    if (items.length) this.parts.push(items.map((i) => `- ${i}`).join('\n'));
    return this;
  }

  toMarkdown(): string {
    return [`### ${this.title}`, ...this.parts].join('\n\n') + '\n';
  }
}
