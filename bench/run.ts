// npm run bench: every benchmark side by side in one run; ratios printed; one JSON line at the end.
import { applyBenchmark } from './apply';
import { coldStart, vsixSize } from './extension';

async function main() {
  const figures: Record<string, unknown> = {};
  Object.assign(figures, vsixSize());
  Object.assign(figures, await coldStart(Number(process.env.BENCH_ROUNDS ?? 15)));
  Object.assign(figures, await applyBenchmark(Number(process.env.BENCH_APPLY_ROUNDS ?? 3)));
  console.log(JSON.stringify(figures));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
