// Runs a YAML pipeline locally:
//   npx tsx test/pipeline/cli.ts <pipeline.yml> [--environment <file>] [--variables <file>]
//       [--var name=value ...] [--node node20|node24] [--debug] [--keep-temp] [--sources <dir>]
// The environment and variables files default to the ones `npm start -- --keep` writes for the
// running local stack (see local-stack.ts); secrets may also come from PIPELINE_SECRET_<NAME>.
// Needs the packaged extension (npm run package). Exits 0 when the pipeline succeeded.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { emptyEnvironment, readEnvironment, readPipelineVariables } from './environment';
import { localStackDir, runPipelineFile } from './run-file';

const USAGE = 'usage: npx tsx test/pipeline/cli.ts <pipeline.yml> [--environment <file>] [--variables <file>] [--var name=value ...] [--node node20|node24] [--debug] [--keep-temp] [--sources <dir>]';

function parseArgs(argv: string[]) {
  const o = { file: '', environment: undefined as string | undefined, variables: undefined as string | undefined, overrides: {} as Record<string, string>,
    node: undefined as 'node20' | 'node24' | undefined, debug: false, keepTemp: false, sources: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--environment') o.environment = value();
    else if (arg === '--variables') o.variables = value();
    else if (arg === '--sources') o.sources = value();
    else if (arg === '--debug') o.debug = true;
    else if (arg === '--keep-temp') o.keepTemp = true;
    else if (arg === '--node') {
      const v = value();
      if (v !== 'node20' && v !== 'node24') throw new Error('--node takes node20 or node24');
      o.node = v;
    } else if (arg === '--var') {
      const v = value();
      const at = v.indexOf('=');
      if (at <= 0) throw new Error(`--var takes name=value, got '${v}'`);
      o.overrides[v.slice(0, at)] = v.slice(at + 1);
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else if (!o.file) o.file = arg;
    else throw new Error(`one pipeline file at a time (got ${o.file} and ${arg})`);
  }
  if (!o.file) throw new Error('which pipeline file?');
  return o;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const stack = localStackDir();
  const environmentFile = args.environment ?? (existsSync(join(stack, 'environment.json')) ? join(stack, 'environment.json') : undefined);
  const variablesFile = args.variables ?? (existsSync(join(stack, 'variables.json')) ? join(stack, 'variables.json') : undefined);
  if (!environmentFile) process.stderr.write('No environment file (service connections): run `npm start -- --keep` first, or pass --environment.\n');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const pipelineVariables = readPipelineVariables(variablesFile);
  const run = await runPipelineFile(resolve(args.file), {
    environment: environmentFile ? readEnvironment(environmentFile) : emptyEnvironment(),
    pipelineVariables,
    overrides: { ...pipelineVariables.localValues, ...args.overrides },
    node: args.node,
    debug: args.debug,
    keepTempDirectory: args.keepTemp,
    sourcesDirectory: args.sources ? resolve(args.sources) : undefined,
    signal: controller.signal,
  });
  return run.result === 'Succeeded' || run.result === 'SucceededWithIssues' ? 0 : 1;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
