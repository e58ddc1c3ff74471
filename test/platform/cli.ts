// The local platform for manual use (npm start runs the example pipeline instead, test/pipeline):
//   npx tsx test/platform/cli.ts up [--flux] [--sealed-secrets] [--info-file <path>]
//     starts the platform, prints where everything is, writes the same as JSON to the info file
//     (default: <cache>/platform.json), and runs until Ctrl-C, then stops everything.
//   npx tsx test/platform/cli.ts measure [--runs N]
//     median warm start times and memory of the platform with Flux and Sealed Secrets running.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildAll, cacheRoot } from './bins/build.mjs';
import { installRelease, startPlatform, type Platform } from './platform.js';
import { rssKiB } from './processes.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function up(): Promise<void> {
  await buildAll();
  const platform = await startPlatform({ install: { flux: flag('--flux'), sealedSecrets: flag('--sealed-secrets') } });
  const infoFile = option('--info-file') ?? join(dirname(cacheRoot()), 'platform.json');
  writeFileSync(infoFile, JSON.stringify(platform.info, null, 2), { mode: 0o600 });
  const { info } = platform;
  process.stdout.write([
    `KUBECONFIG=${info.kubeconfigPath}`,
    `API server:       ${info.server} (Kubernetes v1.36.3, admin token in the kubeconfig)`,
    `git server:       ${info.git.baseUrl}/<repo>.git (user ${info.git.username ?? '-'}, password ${info.git.password ?? '-'}; bare repos in ${info.git.root})`,
    `release server:   ${info.releases.baseUrl} (Flux ${info.releases.fluxVersion}, Sealed Secrets ${info.releases.sealedSecretsVersion})`,
    `pods:             ${info.kubeletStateFile} (each Pod the node agent runs: IP, forwarded ports); logs in ${info.logs.controllers}`,
    `audit log:        ${info.logs.audit} (every write, JSON lines)`,
    `all of the above: ${infoFile}`,
    'Ctrl-C stops everything.',
    '',
  ].join('\n'));
  await new Promise<void>((resolve) => {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve());
  });
  process.stdout.write('stopping...\n');
  await platform.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(): Promise<void> {
  await buildAll();
  const runs = Number(option('--runs') ?? 3);
  const rows: { controlPlaneMs: number; allReadyMs: number; rssMiB: number; processes: number; byProcess: Record<string, number> }[] = [];
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    const platform: Platform = await startPlatform();
    const controlPlaneMs = Date.now() - started;
    await Promise.all([
      installRelease(platform.cluster.api, platform.releases.urls.sealedSecretsController),
      installRelease(platform.cluster.api, platform.releases.urls.fluxInstall),
    ]);
    const allReadyMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 5_000)); // let caches fill before sampling memory
    const named: [string, number][] = [
      ...Object.entries(platform.cluster.controlPlane.pids).filter((e): e is [string, number] => e[1] !== undefined),
      ['netns-helper', platform.cluster.network.pid],
      ...platform.cluster.kubelet.runtimes().filter((r) => r.pid).map((r): [string, number] => [r.controller, r.pid!]),
    ];
    const byProcess = Object.fromEntries(named.map(([n, pid]) => [n, Math.round(rssKiB(pid) / 1024)]));
    byProcess.node = Math.round(process.memoryUsage().rss / 1048576);
    const rssMiB = Object.values(byProcess).reduce((a, b) => a + b, 0);
    rows.push({ controlPlaneMs, allReadyMs, rssMiB, processes: named.length, byProcess });
    process.stdout.write(`run ${i + 1}: ${JSON.stringify(rows.at(-1))}\n`);
    await platform.stop();
  }
  process.stdout.write(`median: control plane + git + releases ready ${median(rows.map((r) => r.controlPlaneMs))} ms; `
    + `Flux and Sealed Secrets available ${median(rows.map((r) => r.allReadyMs))} ms; `
    + `RSS ${median(rows.map((r) => r.rssMiB))} MiB over ${rows[0]?.processes} processes + this Node process\n`);
  const keys = Object.keys(rows[0]?.byProcess ?? {});
  process.stdout.write(`median RSS by process (MiB): ${JSON.stringify(Object.fromEntries(keys.map((k) => [k, median(rows.map((r) => r.byProcess[k] ?? 0))])))}\n`);
}

const command = args[0];
const main = command === 'up' ? up : command === 'measure' ? measure : undefined;
if (!main) {
  process.stderr.write('usage: npx tsx test/platform/cli.ts up [--flux] [--sealed-secrets] [--info-file <path>] | measure [--runs N]\n');
  process.exit(2);
}
main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
