// npm run test:reliability -- --seed N --runs M
// Starts the local platform and the Azure emulators, then M times: the bad-input matrix (cases
// shuffled by the seed) and a successful run of each task with system.debug on, every run audited
// for secrets. Then examples/bootstrap.yml on a bad day (pipeline-faults.ts): a run without faults,
// faulted runs (3 per M unless --faulted-runs) each followed by a clean re-run compared with it,
// cancellations at random moments, two pipelines at once. Prints one table; exits non-zero on any
// leak, any mutation on bad input, any unclear error, any state that did not converge.
import { parseArgs } from 'node:util';
import { startPlatform } from '../platform/platform';
import { type AuditedRun, type CaseResult, auditLogLeaks, runBadInputMatrix, runSuccessfulRuns, startReliabilityEnvironment } from './bad-inputs';
import { faultFigures, runFaultCampaign, startFaultedStack } from './pipeline-faults';
import { type FaultFigures, formatTable, summarize } from './report';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 100000) },
    runs: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    'skip-successful': { type: 'boolean', default: false },
    'skip-matrix': { type: 'boolean', default: false },
    'skip-faults': { type: 'boolean', default: false },
    'faulted-runs': { type: 'string' },
    cancellations: { type: 'string' },
    rate: { type: 'string', default: '0.05' },
    'stall-seconds': { type: 'string', default: '20' },
    'stop-after-minutes': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const runs = Number(values.runs);
const faultedRuns = Number(values['faulted-runs'] ?? 3 * runs);
const cancellations = Number(values.cancellations ?? runs);
const rate = Number(values.rate);
if (!Number.isInteger(seed) || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(faultedRuns) || faultedRuns < 0 || !Number.isInteger(cancellations) || cancellations < 0 || !(rate >= 0 && rate <= 1)) {
  process.stderr.write('usage: npm run test:reliability -- --seed N --runs M [--faulted-runs K] [--cancellations C] [--rate 0..1] [--stall-seconds S] [--stop-after-minutes T] [--concurrency C] [--skip-matrix] [--skip-successful] [--skip-faults] [--verbose]\n');
  process.exit(2);
}

const log = (m: string) => process.stderr.write(`${m}\n`);

async function main(): Promise<number> {
const platform = await startPlatform();
let exitCode = 1;
try {
  const env = await startReliabilityEnvironment({ cluster: platform.info, git: platform.info.git, releases: platform.info.releases });
  try {
    const cases: CaseResult[] = [];
    const audited: AuditedRun[] = [];
    for (let i = 0; i < (values['skip-matrix'] ? 0 : runs); i++) {
      log(`run ${i + 1}/${runs} (seed ${seed + i})`);
      cases.push(...await runBadInputMatrix(env, {
        seed: seed + i, concurrency: Number(values.concurrency),
        onResult: (r) => { if (values.verbose || !r.clear || r.mutations.length || r.leaks.length) log(`  ${r.clear && !r.mutations.length && !r.leaks.length ? 'ok  ' : 'FAIL'} ${r.id} (${r.durationMs} ms): ${r.unclear ?? r.errors[0] ?? ''}${r.mutations.length ? ` mutations: ${r.mutations.join('; ')}` : ''}${r.leaks.length ? ` leaks: ${r.leaks.join('; ')}` : ''}`); },
      }));
      if (!values['skip-successful']) {
        audited.push(...await runSuccessfulRuns(env, { onRun: (r) => log(`  ${r.succeeded && !r.leaks.length ? 'ok  ' : 'FAIL'} ${r.label}: ${r.run.completeMessage ?? ''}${r.leaks.length ? ` leaks: ${r.leaks.join('; ')}` : ''}`) }));
      }
    }
    let faults: FaultFigures | undefined;
    if (!values['skip-faults']) {
      const faulted = await startFaultedStack({ releasesBaseUrl: platform.info.releases.baseUrl });
      try {
        const stopAfter = values['stop-after-minutes'] === undefined ? undefined : Number(values['stop-after-minutes']) * 60_000;
        faults = faultFigures(await runFaultCampaign(faulted, { seed, runs: faultedRuns, rate, cancellations, concurrent: true, log, stallMs: Number(values['stall-seconds']) * 1000, stopAfterMs: stopAfter }));
      } finally {
        await faulted.stop();
      }
    }
    const summary = summarize({ seed, runs, cases, audited, auditLogLeaks: auditLogLeaks(env), faults });
    process.stdout.write(`${formatTable(summary)}\n`);
    exitCode = summary.ok ? 0 : 1;
  } finally {
    await env.stop();
  }
} finally {
  await platform.stop();
}
return exitCode;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
