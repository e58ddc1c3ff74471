import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unpackedExtension } from './harness';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const TASKS = ['AksBootstrap', 'FluxBootstrap', 'InstallSealedSecrets', 'RegisterSystem'];

describe('the packaged extension', () => {
  it('holds the four tasks, each a single-file bundle with its task.json, icon and task-lib messages', () => {
    const ext = unpackedExtension();
    expect(readdirSync(join(ext, 'tasks')).sort()).toEqual(TASKS);
    const [, minor, patch] = pkg.version.split('.').map(Number);
    for (const task of TASKS) {
      const files = readdirSync(join(ext, 'tasks', task)).sort();
      expect(files).toEqual(['Strings', 'icon.png', 'index.js', 'index.js.LEGAL.txt', 'lib.json', 'task.json']);
      const def = JSON.parse(readFileSync(join(ext, 'tasks', task, 'task.json'), 'utf8'));
      expect(def.version).toEqual({ Major: 1, Minor: minor, Patch: patch });
      // A single file: the bundle requires nothing but Node's own modules and the optional ones
      // its libraries try to load (and do without).
      const requires = [...readFileSync(join(ext, 'tasks', task, 'index.js'), 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      const optional = ['bufferutil', 'utf-8-validate', 'encoding', 'supports-color'];
      // The embedded lazy part takes shared/pipeline from the entry under these ids.
      const fromEntry = (r: string) => r.startsWith('entry:shared/pipeline/');
      expect(requires.filter((r) => !r.startsWith('node:') && !isBuiltin(r) && !optional.includes(r) && !fromEntry(r))).toEqual([]);
    }
    const manifest = readFileSync(join(ext, 'extension.vsixmanifest'), 'utf8');
    expect(manifest).toContain(`Id="aks-gitops-tasks" Version="${pkg.version}"`);
  });

  it('a private dev build installs beside the public one: own extension id, task ids and names', () => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--dev'], { cwd: root });
    execFileSync(process.execPath, [join(root, 'scripts', 'package.mjs'), '--dev'], { cwd: root });
    const dev = readdirSync(join(root, 'dist')).filter((f) => f.endsWith('.vsix') && f.includes('-dev'));
    expect(dev).toEqual([`aks-gitops.aks-gitops-tasks-dev-${pkg.version}.vsix`]);
    for (const task of TASKS) {
      const pub = JSON.parse(readFileSync(join(root, 'tasks', task, 'task.json'), 'utf8'));
      const priv = JSON.parse(readFileSync(join(root, 'dist', 'extension-dev', 'tasks', task, 'task.json'), 'utf8'));
      expect(priv.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(priv.id).not.toBe(pub.id);
      expect(priv.name).toBe(`${task}Dev`);
    }
  });
});

function isBuiltin(name: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:module') as typeof import('node:module')).builtinModules.includes(name);
}
