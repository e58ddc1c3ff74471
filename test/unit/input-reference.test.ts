// docs/inputs.md is generated from the tasks' task.json: it fails here when a task.json changed
// and the reference was not generated again (node scripts/input-reference.mjs).
import { readFileSync } from 'node:fs';
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
