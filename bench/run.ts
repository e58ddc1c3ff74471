// npm run bench: every benchmark side by side in one run; ratios printed; one JSON line at the end.
import { coldStart, vsixSize } from './extension';

async function main() {
  const figures: Record<string, unknown> = {};
  Object.assign(figures, vsixSize());
  Object.assign(figures, await coldStart(Number(process.env.BENCH_ROUNDS ?? 15)));
  console.log(JSON.stringify(figures));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
