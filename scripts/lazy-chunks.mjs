// An esbuild plugin that keeps a task a single file and its start fast. The modules a task's
// startup code imports with `await import(...)` are bundled together, apart, and embedded in
// index.js as one string that is compiled only when the first of those imports runs. A run that
// fails on bad input then never parses the Kubernetes, Azure and Azure DevOps clients. The
// embedded bundle shares the entry's copy of shared/pipeline (one task-lib state, one set of
// error classes, so instanceof holds across the boundary).
import { build } from 'esbuild';
import { brotliCompressSync, constants } from 'node:zlib';
import { dirname, resolve } from 'node:path';

const PIPELINE = /[\\/]shared[\\/]pipeline[\\/][^\\/]+$/;
const CHUNK = 'lazy-chunk-all';
/** How the embedded bundle names a shared/pipeline module it takes from the entry. */
const idOf = (file) => `entry:shared/pipeline/${file.split(/[\\/]/).pop().replace(/\.ts$/, '')}`;

/** The modules dynamically imported from the entry's statically imported graph. */
async function lazyTargets(entry, options) {
  const { metafile } = await build({ ...options, entryPoints: [entry], write: false, metafile: true, outfile: 'probe.js', legalComments: 'none' });
  const seen = new Set();
  const targets = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const imp of metafile.inputs[path]?.imports ?? []) {
      if (imp.external) continue;
      if (imp.kind === 'dynamic-import') targets.add(resolve(imp.path));
      else visit(imp.path);
    }
  };
  visit(Object.keys(metafile.inputs).find((p) => resolve(p) === resolve(entry)));
  return [...targets];
}

export async function lazyChunks({ root, entry, options }) {
  const targets = await lazyTargets(entry, options);
  return {
    name: 'lazy-chunks',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const found = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: 'import-statement' });
        const index = targets.indexOf(resolve(found.path));
        return index < 0 ? undefined : { path: String(index), namespace: 'lazy-module' };
      });
      b.onResolve({ filter: new RegExp(`^${CHUNK}$`) }, () => ({ path: CHUNK, namespace: 'lazy-chunk' }));
      // Each dynamic import becomes a view of one export of the shared chunk.
      b.onLoad({ filter: /.*/, namespace: 'lazy-module' }, (args) => ({
        resolveDir: root,
        loader: 'js',
        contents: `module.exports = require(${JSON.stringify(CHUNK)}).m${args.path};`,
      }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-chunk' }, async () => {
        const provided = new Set();
        const result = await build({
          ...options,
          stdin: { contents: targets.map((t, i) => `export * as m${i} from ${JSON.stringify(t)};`).join('\n'), resolveDir: root, loader: 'ts' },
          write: false,
          legalComments: 'eof',
          plugins: [{
            name: 'shared-pipeline-from-entry',
            setup(inner) {
              inner.onResolve({ filter: /^\./ }, (a) => {
                const abs = resolve(a.resolveDir, a.path);
                if (!PIPELINE.test(abs.replace(/\.ts$/, '')) && !PIPELINE.test(abs)) return undefined;
                const file = abs.endsWith('.ts') ? abs : `${abs}.ts`;
                provided.add(file);
                return { path: idOf(file), external: true };
              });
            },
          }],
        });
        const table = [...provided].map((p) => `${JSON.stringify(idOf(p))}: require(${JSON.stringify(p)})`).join(',\n  ');
        return {
          resolveDir: root,
          loader: 'js',
          contents: `const provided = {\n  ${table}\n};
// Compressed: a smaller index.js is read and scanned faster at every start.
const code = require('node:zlib').brotliDecompressSync(Buffer.from(${JSON.stringify(brotliCompressSync(Buffer.from(result.outputFiles[0].text), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).toString('base64'))}, 'base64')).toString('utf8');
const compiled = require('node:vm').runInThisContext('(function (exports, require, module, __filename, __dirname) {' + code + '\\n})', { filename: __filename + ':lazy' });
const chunk = { exports: {} };
compiled(chunk.exports, (id) => provided[id] || require(id), chunk, __filename, __dirname);
module.exports = chunk.exports;
`,
        };
      });
    },
  };
}
