#!/usr/bin/env node
// Packages dist/extension (or dist/extension-dev with --dev) into a .vsix in dist/ with tfx-cli,
// offline. Fails when tfx reports a validation problem.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
const extensionRoot = join(root, 'dist', dev ? 'extension-dev' : 'extension');
if (!existsSync(join(extensionRoot, 'vss-extension.json'))) {
  console.error(`${extensionRoot} is not built; run "node scripts/build.mjs${dev ? ' --dev' : ''}" first.`);
  process.exit(1);
}
const outDir = join(root, 'dist');
for (const f of readdirSync(outDir)) if (f.endsWith('.vsix') && f.includes('-dev') === dev) rmSync(join(outDir, f));

const tfx = join(root, 'node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
const result = spawnSync(process.execPath, [tfx, 'extension', 'create', '--root', extensionRoot, '--manifest-globs', 'vss-extension.json', '--output-path', outDir, '--no-prompt', '--json'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, TFX_TRACE: '' },
});
const output = `${result.stdout}${result.stderr}`;
if (result.status !== 0) {
  console.error(output);
  process.exit(result.status ?? 1);
}
const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{')));
const warnings = (report.warnings ?? []).filter(Boolean);
if (warnings.length) {
  console.error(`tfx reported:\n${warnings.join('\n')}`);
  process.exit(1);
}
console.log(`packaged ${report.path}`);
