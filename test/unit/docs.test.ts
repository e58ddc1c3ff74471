// The docs stay true to the code: docs/inputs.md is generated from the tasks' task.json (this
// fails when a task.json changed and `node scripts/input-reference.mjs` was not run), and every
// picture overview.md shows is in images/, which the extension packs.
import { existsSync, readFileSync } from 'node:fs';
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
