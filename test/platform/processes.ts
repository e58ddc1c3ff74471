// Child processes of the local platform: started with their output in a log file, tracked by PID,
// and stopped by that PID only. A process-wide registry lets an interrupted run (Ctrl-C, a crash
// in a test) still kill what it started, and `setpriv --pdeathsig` makes the kernel kill a child
// whose parent died without a chance to clean up (SIGKILL of the test runner).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

const REGISTRY = Symbol.for('aks-gitops-tasks.platform-processes');

export interface StartOptions {
  /** Shown in errors and log headers. */
  name: string;
  command: string;
  args: string[];
  /** The complete environment: nothing is inherited, as in a container. */
  env: Record<string, string>;
  cwd?: string;
  logFile: string;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  readonly running: boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

interface Registry {
  live: Map<number, ChildProcess>;
  dirsToRemove: Set<string>;
  hooksInstalled: boolean;
  shuttingDown: boolean;
}
// One per Node process, though vitest loads this module anew for each test file: hooks are
// installed once and see the processes of every file.
const registry: Registry = ((globalThis as { [REGISTRY]?: Registry })[REGISTRY] ??= { live: new Map(), dirsToRemove: new Set(), hooksInstalled: false, shuttingDown: false });
const { live, dirsToRemove } = registry;

const hasSetpriv = (() => {
  const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('--pdeathsig');
})();

/** Kill every process this Node process started and remove registered temp folders, synchronously. */
export function killAllSync(): void {
  registry.shuttingDown = true;
  const pids = [...live.keys()];
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
  // Killed processes may still be writing into their folders for a moment; wait until they are
  // dead (or zombies, which this process reaps later) before removing the folders.
  const deadline = Date.now() + 3_000;
  while (pids.some(isRunning) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  for (const dir of dirsToRemove) {
    try { rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }); } catch { /* best effort at exit */ }
  }
  dirsToRemove.clear();
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function installExitHooks(): void {
  if (registry.hooksInstalled) return;
  registry.hooksInstalled = true;
  // Prepended: vitest's own exit and signal handlers call process.exit() themselves, after
  // which no later listener would run.
  process.prependOnceListener('exit', killAllSync);
  // A forked test worker whose parent died (its IPC channel closed) must not keep clusters alive.
  if (process.connected) {
    process.once('disconnect', () => {
      killAllSync();
      // vitest replaces process.exit in workers; an orphan has no one to report to anyway.
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1_000).unref();
    });
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.prependOnceListener(signal, () => {
      killAllSync();
      // Another handler (vitest's) decides how to exit; without one, re-raise for the default outcome.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** A folder removed at exit even if the owner never gets to stop() (interrupted run). */
export function removeAtExit(dir: string): () => void {
  installExitHooks();
  dirsToRemove.add(dir);
  return () => dirsToRemove.delete(dir);
}

export function startProcess(opts: StartOptions): ManagedProcess {
  installExitHooks();
  if (registry.shuttingDown) throw new Error(`not starting ${opts.name}: the platform is shutting down`);
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  writeSync(fd, `\n===== ${new Date().toISOString()} start ${opts.name}: ${opts.command} ${opts.args.join(' ')}\n`);
  const [command, args] = hasSetpriv
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', opts.command, ...opts.args]]
    : [opts.command, opts.args];
  let child: ChildProcess;
  try {
    child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${opts.name} (${opts.command})`);
  const pid = child.pid;
  live.set(pid, child);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running = false;
      live.delete(pid);
      resolve(code ?? signal ?? 'unknown');
    });
    child.on('error', () => {
      running = false;
      live.delete(pid);
      resolve('spawn-error');
    });
  });
  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    get running() { return running; },
    async stop(graceMs = 10_000) {
      if (!running) return;
      try { process.kill(pid, 'SIGTERM'); } catch { return; }
      const timer = setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until check() returns a value other than undefined/false, or fail after timeoutMs. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 60_000, intervalMs = 250, failIf }: { timeoutMs?: number; intervalMs?: number; failIf?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const failure = failIf?.();
    if (failure) throw new Error(`${what}: ${failure}`);
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

/** The last lines of a log file, for error messages. */
export function tailOf(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** The resident set size of a process in KiB (from /proc), or 0 when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** PIDs of the processes this Node process has started and not yet seen exit. */
export function livePids(): number[] {
  return [...live.keys()];
}
