// vitest globalSetup of the "platform" project: one local platform per test run, shared by the
// test files (which run one at a time), stopped when the run ends or is interrupted.
import type { TestProject } from 'vitest/node';
import { buildAll } from './bins/build.mjs';
import { startPlatform } from './platform.js';
import './vitest-context.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Seconds when the cache is warm; makes `vitest run --project platform` work on its own.
  await buildAll({ log: (m) => process.stderr.write(`${m}\n`) });
  const started = Date.now();
  const platform = await startPlatform();
  process.stderr.write(`[platform] ready in ${Date.now() - started} ms: ${platform.info.server} (kubeconfig ${platform.info.kubeconfigPath})\n`);
  project.provide('platform', platform.info);
  // Interrupts are covered by processes.ts (exit and signal hooks kill every child by PID).
  return () => platform.stop();
}
