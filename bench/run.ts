// npm run bench: every benchmark side by side in one run; ratios printed with their goals; one JSON line at the end.
import { applyBenchmark } from './apply';
import { coldStart, vsixSize } from './extension';
import { rerunBenchmark } from './rerun';
import { scriptBenchmark } from './script-bootstrap';

const rounds = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function main() {
  const figures: Record<string, unknown> = {};
  Object.assign(figures, vsixSize());
  Object.assign(figures, await coldStart(rounds('BENCH_ROUNDS', 15)));
  Object.assign(figures, await applyBenchmark(rounds('BENCH_APPLY_ROUNDS', 3)));
  Object.assign(figures, await scriptBenchmark(rounds('BENCH_BOOTSTRAP_ROUNDS', 3)));
  Object.assign(figures, await rerunBenchmark(rounds('BENCH_RERUN_ROUNDS', 5)));
  console.log('\nthe three ratios of the bootstrap');
  console.log(`  bootstrap, pipeline/script:          ${figures['bootstrap.ratio']} (goal: at most 1.0)`);
  console.log(`  re-run with nothing changed:         ${figures['rerun.bootstrapMs']} ms, ${figures['rerun.writes']} write(s) (goal: at most 1000 ms, none)`);
  console.log(`  unchanged apply of 500, vs kubectl:  ${figures['apply.unchanged.speedup']}x (goal: at least 10x)`);
  console.log(JSON.stringify(figures));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
