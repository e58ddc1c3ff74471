import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { agentProcess, parseOutput, unpackedExtension } from '../test/agent/harness';
import type { NodeRuntime } from '../test/agent/node-runtimes';
import { median, ratio, table } from './stats';

const root = join(__dirname, '..');
const TASKS = ['AksBootstrap', 'InstallSealedSecrets', 'FluxBootstrap', 'RegisterSystem'];

/** Size of the packaged extension; the Marketplace refuses large ones and agents download it per job. */
export function vsixSize() {
  const dist = join(root, 'dist');
  const vsix = readdirSync(dist).find((f) => f.endsWith('.vsix') && !f.includes('-dev'));
  if (!vsix) throw new Error('no vsix in dist/; run npm run package');
  const bytes = statSync(join(dist, vsix)).size;
  console.log(`vsix ${vsix}: ${(bytes / 1024 / 1024).toFixed(2)} MiB (goal: at most 5 MB)`);
  return { vsixBytes: bytes, vsixGoalMet: bytes <= 5_000_000 };
}

/** Milliseconds from spawn to exit, and what the process printed. */
function timed(node: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(node, args, { env, cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', () => resolve({ ms: performance.now() - t0, stdout }));
  });
}

/**
 * Cold start: from process start to the task's clean failure on a missing input (bundle load,
 * task-lib start-up, input validation, result), against a bare `node -e 0` started the same way
 * with the same environment, taken in turns so both see the same machine load.
 */
export async function coldStart(rounds = 15) {
  const ext = unpackedExtension();
  const figures: Record<string, number> = {};
  const rows: (string | number)[][] = [];
  for (const runtime of ['node20', 'node24'] as NodeRuntime[]) {
    const bare: number[] = [];
    const perTask: Record<string, number[]> = Object.fromEntries(TASKS.map((t) => [t, []]));
    for (let i = 0; i < rounds; i++) {
      for (const task of TASKS) {
        const proc = agentProcess({ task, node: runtime, extensionDir: ext });
        bare.push((await timed(proc.node, ['-e', '0'], proc.env, proc.workDir)).ms);
        const run = await timed(proc.node, [proc.target], proc.env, proc.workDir);
        perTask[task].push(run.ms);
        const parsed = parseOutput(run.stdout);
        if (parsed.result !== 'Failed' || parsed.errors.length !== 1) throw new Error(`${task} did not fail cleanly: ${run.stdout}`);
        rmSync(proc.workDir, { recursive: true, force: true });
        rmSync(proc.tempDir, { recursive: true, force: true });
      }
    }
    const bareMs = median(bare);
    figures[`${runtime}.bareNodeMs`] = Math.round(bareMs);
    for (const task of TASKS) {
      const ms = median(perTask[task]);
      figures[`${runtime}.${task}.coldStartMs`] = Math.round(ms);
      figures[`${runtime}.${task}.ratio`] = ratio(ms, bareMs);
      rows.push([runtime, task, Math.round(ms), Math.round(bareMs), `${ratio(ms, bareMs)}x`]);
    }
  }
  console.log(`\ncold start, median of ${rounds} (goal: at most 2x bare node)`);
  console.log(table(['node', 'task', 'task ms', 'bare node ms', 'ratio'], rows));
  return figures;
}
