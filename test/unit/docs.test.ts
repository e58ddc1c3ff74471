// The docs stay true to the code: docs/inputs.md is generated from the tasks' task.json (this
// fails when a task.json changed and `node scripts/input-reference.mjs` was not run), every
// picture overview.md shows is in images/, which the extension packs, and every YAML snippet in
// the docs is a part of an example pipeline that the end-to-end tests run.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without types
import { inputReference, referencePath } from '../../scripts/input-reference.mjs';

describe('docs/inputs.md', () => {
  it('is what task.json says, for every task and input', () => {
    const generated = inputReference() as string;
    expect(readFileSync(referencePath as string, 'utf8')).toBe(generated);
    for (const task of ['AksBootstrap@1', 'InstallSealedSecrets@1', 'FluxBootstrap@1', 'RegisterSystem@1']) expect(generated).toContain(`## ${task}`);
    expect(generated).toContain('| `confirmDeletion` |');
  });
});

describe('overview.md', () => {
  it('shows pictures that exist and travel in the extension', () => {
    const root = join(__dirname, '..', '..');
    const pictures = [...readFileSync(join(root, 'overview.md'), 'utf8').matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(pictures).toEqual(expect.arrayContaining(['images/how-it-fits.png', 'images/run-summary.png']));
    for (const picture of pictures) expect(existsSync(join(root, picture)), picture).toBe(true);
    const manifest = JSON.parse(readFileSync(join(root, 'vss-extension.json'), 'utf8')) as { files: { path: string; addressable?: boolean }[] };
    expect(manifest.files).toContainEqual({ path: 'images', addressable: true });
  });
});

const root = join(__dirname, '..', '..');

/** The Markdown a user reads: README, overview, examples' READMEs, docs/. */
function documents(): string[] {
  const found: string[] = ['README.md', 'overview.md'];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir))) {
      const path = `${dir}/${entry}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (entry.endsWith('.md')) found.push(path);
    }
  };
  walk('examples');
  walk('docs');
  return found;
}

/** Each ```yaml block of a Markdown text, with the line it starts on. */
function yamlBlocks(markdown: string): { line: number; text: string }[] {
  return [...markdown.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)].map((m) => ({ line: markdown.slice(0, m.index).split('\n').length, text: m[1]! }));
}

/** The example pipelines an end-to-end test runs (named as examples/<file>.yml or 'examples', '<file>.yml'). */
function examplesRun(): string[] {
  const tests = ['test/e2e', 'test/pipeline'].flatMap((dir) => readdirSync(join(root, dir)).map((f) => readFileSync(join(root, dir, f), 'utf8'))).join('\n');
  return readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yml'))
    .filter((f) => tests.includes(`examples/${f}`) || tests.includes(`'examples', '${f}'`));
}

/**
 * Whether a snippet is a part of a file: split at `# ...` lines (what the snippet leaves out),
 * each piece, blank lines at its ends aside, is a run of consecutive lines of the file, in order.
 */
function isExcerptOf(snippet: string, file: string): boolean {
  const lines = file.split('\n').map((l) => l.trimEnd());
  const pieces = snippet.split('\n').map((l) => l.trimEnd()).reduce<string[][]>((all, line) => {
    if (line.trim() === '# ...') all.push([]);
    else all.at(-1)!.push(line);
    return all;
  }, [[]]).map((piece) => {
    while (piece.length && !piece[0]) piece.shift();
    while (piece.length && !piece.at(-1)) piece.pop();
    return piece;
  }).filter((piece) => piece.length);
  let from = 0;
  for (const piece of pieces) {
    let at = -1;
    for (let i = from; i + piece.length <= lines.length && at < 0; i++) if (piece.every((l, k) => lines[i + k] === l)) at = i;
    if (at < 0) return false;
    from = at + piece.length;
  }
  return pieces.length > 0;
}

describe('YAML snippets in the docs', () => {
  const run = examplesRun();

  it('are parts of example pipelines the end-to-end tests run', () => {
    expect(run).toEqual(expect.arrayContaining(['bootstrap.yml', 'recreate-for-upgrade.yml', 'register-system.yml', 'promote.yml']));
    const files = run.map((f) => readFileSync(join(root, 'examples', f), 'utf8'));
    const blocks = documents().flatMap((doc) => yamlBlocks(readFileSync(join(root, doc), 'utf8')).map((b) => ({ ...b, doc })));
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const block of blocks) {
      expect(files.some((file) => isExcerptOf(block.text, file)), `${block.doc}:${block.line}: this yaml block is not a part of any of ${run.join(', ')}`).toBe(true);
    }
  });

  it('fail the check when they drift from the example by one character, or reorder its lines', () => {
    const file = readFileSync(join(root, 'examples', 'bootstrap.yml'), 'utf8');
    const excerpt = ['  - task: FluxBootstrap@1', '    name: flux', '    # ...', '      gitAuth: token'].join('\n');
    expect(isExcerptOf(excerpt, file)).toBe(true);
    expect(isExcerptOf(excerpt.replace('gitAuth: token', 'gitAuth: tokens'), file)).toBe(false);
    expect(isExcerptOf(['      gitAuth: token', '    # ...', '  - task: FluxBootstrap@1'].join('\n'), file)).toBe(false);
    expect(isExcerptOf(['  - task: FluxBootstrap@1', '    displayName: Flux on clusters/$(environment)'].join('\n'), file)).toBe(false);
  });
});
