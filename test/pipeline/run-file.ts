// A pipeline file run against the packaged extension (the unpacked dist/*.vsix): what the command
// line, `npm start` and the end-to-end test share.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { runTask, unpackedExtension } from '../agent/harness';
import { cacheRoot } from '../platform/bins/build.mjs';
import { parsePipeline, PipelineError } from './definition';
import type { LocalEnvironment, PipelineVariables } from './environment';
import { runPipeline, type PipelineRun, type RunPipelineOptions } from './runner';
import { taskCatalog } from './task-catalog';
import { VariableStore } from './variables';

export const repoRoot = join(__dirname, '..', '..');

/** Where `npm start` leaves the environment and variables files of the local stack. */
export function localStackDir(): string {
  return join(dirname(cacheRoot()), 'pipeline');
}

export interface RunFileOptions extends Pick<RunPipelineOptions, 'overrides' | 'node' | 'debug' | 'signal' | 'keepTempDirectory' | 'defaultTimeoutMinutes'> {
  environment: LocalEnvironment;
  pipelineVariables?: PipelineVariables;
  /** Default: the repository root, as `checkout: self` of this repository would give. */
  sourcesDirectory?: string;
  out?: (line: string) => void;
}

export async function runPipelineFile(file: string, o: RunFileOptions): Promise<PipelineRun> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const label = relative(process.cwd(), file) || file;
  let definition;
  try {
    definition = parsePipeline(readFileSync(file, 'utf8'));
  } catch (error) {
    if (!(error instanceof PipelineError)) throw error;
    const summaryLine = `Pipeline ${label}: not valid: ${error.message}`;
    out(summaryLine);
    return { result: 'Failed', steps: [], variables: new VariableStore(), invalid: [error.message], summaryLine };
  }
  const extensionDir = unpackedExtension();
  return runPipeline({
    ...o,
    definition,
    label,
    catalog: taskCatalog(extensionDir),
    sourcesDirectory: o.sourcesDirectory ?? repoRoot,
    runTask: (options) => runTask({ ...options, extensionDir }),
    out,
  });
}
