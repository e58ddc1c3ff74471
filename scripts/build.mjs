#!/usr/bin/env node
// Builds the extension into dist/extension (and, with --dev, the private build into
// dist/extension-dev): each task bundled into one index.js with esbuild, beside its stamped
// task.json, icon and task-lib's message files; the manifest, overview and images at the root.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyChunks } from './lazy-chunks.mjs';
import { stampTask, stampManifest } from './versions.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Optional modules that bundled libraries require inside try/catch (ws's native speed-ups,
// node-fetch's legacy charset support, debug's colours); their fallbacks are used when absent.
export const OPTIONAL_MODULES = ['bufferutil', 'utf-8-validate', 'encoding', 'supports-color'];
const taskNames = readdirSync(join(root, 'tasks')).filter((d) => existsSync(join(root, 'tasks', d, 'task.json')));

async function bundleTasks(outRoot) {
  for (const name of taskNames) {
    const out = join(outRoot, 'tasks', name);
    mkdirSync(out, { recursive: true });
    const options = {
      bundle: true,
      platform: 'node',
      // The agent may run the Node24 handler on Node 20: target the older one.
      target: 'node20',
      format: 'cjs',
      minify: true,
      legalComments: 'external',
      logLevel: 'warning',
      external: OPTIONAL_MODULES,
    };
    const entry = join(root, 'tasks', name, 'main.ts');
    const result = await build({
      ...options,
      entryPoints: [entry],
      outfile: join(out, 'index.js'),
      metafile: true,
      plugins: [await lazyChunks({ root, entry, options })],
    });
    checkSingleTaskLib(result.metafile, name);
    // task-lib reads its messages from next to its own file, which after bundling is index.js.
    const taskLib = join(root, 'node_modules', 'azure-pipelines-task-lib');
    cpSync(join(taskLib, 'lib.json'), join(out, 'lib.json'));
    cpSync(join(taskLib, 'Strings'), join(out, 'Strings'), { recursive: true });
    cpSync(join(root, 'tasks', name, 'icon.png'), join(out, 'icon.png'));
  }
}

function checkSingleTaskLib(metafile, task) {
  const copies = new Set(
    Object.keys(metafile.inputs)
      .map((p) => p.match(/(.*node_modules\/azure-pipelines-task-lib)\//)?.[1])
      .filter(Boolean),
  );
  if (copies.size > 1) throw new Error(`${task} bundles ${copies.size} copies of azure-pipelines-task-lib: ${[...copies].join(', ')}`);
}

function writeTaskJsons(outRoot, dev) {
  for (const name of taskNames) {
    const def = JSON.parse(readFileSync(join(root, 'tasks', name, 'task.json'), 'utf8'));
    writeFileSync(join(outRoot, 'tasks', name, 'task.json'), JSON.stringify(stampTask(def, pkg.version, dev), null, 2) + '\n');
  }
}

function writeExtensionRoot(outRoot, dev) {
  const manifest = JSON.parse(readFileSync(join(root, 'vss-extension.json'), 'utf8'));
  writeFileSync(join(outRoot, 'vss-extension.json'), JSON.stringify(stampManifest(manifest, pkg.version, dev), null, 2) + '\n');
  for (const file of ['overview.md', 'LICENSE']) cpSync(join(root, file), join(outRoot, file));
  cpSync(join(root, 'images'), join(outRoot, 'images'), { recursive: true });
}

const dev = process.argv.includes('--dev');
const outRoot = join(root, 'dist', dev ? 'extension-dev' : 'extension');
rmSync(outRoot, { recursive: true, force: true });
const started = Date.now();
await bundleTasks(outRoot);
writeTaskJsons(outRoot, dev);
writeExtensionRoot(outRoot, dev);
console.log(`built ${taskNames.length} tasks (${dev ? 'private dev build' : 'public build'}) into ${outRoot} in ${Date.now() - started} ms`);
