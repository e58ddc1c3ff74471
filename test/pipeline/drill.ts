// `npm run drill`: the disaster-recovery drill on this machine.
//   npx tsx test/pipeline/drill.ts [--node node20|node24]
// Zero to hero first (examples/bootstrap.yml, three teams with their workloads, as `npm start`),
// then the scheduled examples/recreate-for-upgrade.yml: the cluster is deleted and created anew,
// and every system, its workload and its unsealed Secrets must come back from Git by themselves,
// equal to what was there before. Prints both tables and the time from delete to all systems
// Ready; exits 1 when anything did not come back the same.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAll } from '../platform/bins/build.mjs';
import { startReleaseServer } from '../platform/release-server';
import { parsePipeline } from './definition';
import { startLocalStack } from './local-stack';
import { recreateDrill, drillReport } from './recreate-drill';
import { repoRoot } from './run-file';
import { zeroToHero, zeroToHeroReport } from './zero-to-hero';

const bootstrap = join(repoRoot, 'examples', 'bootstrap.yml');
const recreate = join(repoRoot, 'examples', 'recreate-for-upgrade.yml');
const node = process.argv.includes('node24') ? 'node24' : 'node20';
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const binaries = await buildAll();
  const releases = await startReleaseServer();
  try {
    const stack = await startLocalStack({
      pipelines: [bootstrap, recreate].map((f) => parsePipeline(readFileSync(f, 'utf8'))),
      releasesBaseUrl: releases.baseUrl,
      platformRepository: { name: 'platform-components', dir: join(repoRoot, 'examples', 'platform-components') },
    });
    try {
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      // The pipelines' own logs are long; the tables say what happened. The last lines of a failed run are shown.
      const log: string[] = [];
      const quiet = (line: string) => log.push(line);
      say('Zero to hero: examples/bootstrap.yml, then each team pushes a workload ...');
      const hero = await zeroToHero(stack, { pipelineFile: bootstrap, kubeseal: binaries.kubeseal!, node, signal: controller.signal, out: quiet });
      for (const line of zeroToHeroReport(hero)) say(line);
      if (hero.ms === undefined) {
        for (const line of log.slice(-40)) say(line);
        return 1;
      }
      say();
      say('Drill: examples/recreate-for-upgrade.yml deletes the cluster and builds a new one ...');
      log.length = 0;
      const drill = await recreateDrill(stack, hero, { pipelineFile: recreate, node, signal: controller.signal, out: quiet });
      for (const line of drillReport(drill)) say(line);
      if (drill.ms === undefined) for (const line of log.slice(-40)) say(line);
      return drill.ms !== undefined && drill.differences.length === 0 ? 0 : 1;
    } finally {
      await stack.stop();
    }
  } finally {
    await releases.stop();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
