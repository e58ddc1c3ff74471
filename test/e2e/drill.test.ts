// `npm run drill` as a test: zero to hero (examples/bootstrap.yml, three teams, each pushing a
// ConfigMap and a SealedSecret sealed by the real kubeseal), then the scheduled
// examples/recreate-for-upgrade.yml on that cluster: the old cluster is gone, a new one comes up,
// and every system's objects, the unsealed Secrets included, come back from Git by themselves,
// equal to those before.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../platform/fixture';
import { parsePipeline } from '../pipeline/definition';
import { startLocalStack, type LocalStack } from '../pipeline/local-stack';
import { drillReport, recreateDrill } from '../pipeline/recreate-drill';
import { repoRoot } from '../pipeline/run-file';
import { compareSystemObjects } from '../pipeline/system-objects';
import { zeroToHero, zeroToHeroReport, type ZeroToHero } from '../pipeline/zero-to-hero';

const platform = usePlatform();
const BOOTSTRAP = join(repoRoot, 'examples', 'bootstrap.yml');
const RECREATE = join(repoRoot, 'examples', 'recreate-for-upgrade.yml');
const SYSTEMS = ['payments', 'billing', 'orders'];
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    pipelines: [BOOTSTRAP, RECREATE].map((f) => parsePipeline(readFileSync(f, 'utf8'))),
    releasesBaseUrl: platform.info.releases.baseUrl,
    platformRepository: { name: 'platform-components', dir: join(repoRoot, 'examples', 'platform-components') },
    keyBits: 2048,
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('the recreate drill with three teams on board', () => {
  let hero: ZeroToHero;
  const log: string[] = [];

  it('zero to hero: the bootstrap, three teams and their workloads applied, with the table', async () => {
    hero = await zeroToHero(stack, { pipelineFile: BOOTSTRAP, kubeseal: platform.info.binaries.kubeseal, out: (line) => log.push(line) });
    expect(hero.run.result, log.slice(-60).join('\n')).toBe('Succeeded');
    expect(hero.systems.map((s) => s.name)).toEqual(SYSTEMS);
    expect(hero.ready.map((r) => [r.name, r.revision, r.objects, r.unsealed])).toEqual(SYSTEMS.map((s) => [s, `main@sha1:${hero.heads.get(s)}`, 2, 2]));
    // The team's Secret, sealed offline for its namespace, unsealed by the cluster's key.
    const secret = await stack.clusters.cluster('rg-aks-platform-dev', 'aks-platform-dev')!.api.get<{ data: Record<string, string> }>('/api/v1/namespaces/payments/secrets/payments-credentials');
    expect(Object.keys(secret.data).sort()).toEqual(['api-key', 'database-password']);
    const report = zeroToHeroReport(hero).join('\n');
    expect(report).toMatch(/2\. AKS cluster aks-platform-dev +succeeded +.+? +cluster created/);
    expect(report).toMatch(/5\. System payments +succeeded .* commit [0-9a-f]{7} \(\d+ changes in Git\)/);
    expect(report).toMatch(/^payments +Ready +main@sha1:[0-9a-f]{7} +2 objects applied, 2 Secrets unsealed/m);
    expect(report).toMatch(/Zero to hero: \d.* \(first step started -> last system Ready/);
    process.stdout.write(`${report}\n`);
  }, 300_000);

  it('the scheduled recreate deletes the cluster, and every system comes back by itself, the same as before', async () => {
    expect(hero?.ms).toBeDefined();
    log.length = 0;
    const drill = await recreateDrill(stack, hero, { pipelineFile: RECREATE, out: (line) => log.push(line) });
    expect(drill.run.result, log.slice(-60).join('\n')).toBe('Succeeded');
    expect(drill.newServer).not.toBe(drill.oldServer);
    await expect(fetch(`${drill.oldServer}/readyz`)).rejects.toThrow();
    expect(drill.deletedAt).toBeDefined();
    expect(drill.ready.map((r) => r.name)).toEqual(SYSTEMS);

    // The comparison covers the platform's objects, the team's, and the unsealed Secrets by digest.
    for (const system of SYSTEMS) {
      expect(Object.keys(drill.before[system]!).sort()).toEqual(expect.arrayContaining([
        `Namespace/${system}`, `ServiceAccount/${system}/${system}`, `Kustomization/${system}/${system}`, `GitRepository/${system}/${system}`,
        `ConfigMap/${system}/${system}-settings`, `SealedSecret/${system}/${system}-credentials`, `Secret/${system}/${system}-credentials`, `Secret/${system}/${system}-git`,
      ]));
    }
    const credentials = drill.before.payments!['Secret/payments/payments-credentials'] as { data: Record<string, string> };
    expect(credentials.data['database-password']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(drill.differences).toEqual([]);
    // ... and it would name a changed value without showing it.
    const changed = structuredClone(drill.after);
    (changed.payments!['Secret/payments/payments-credentials'] as { data: Record<string, string> }).data['database-password'] = 'sha256:0';
    expect(compareSystemObjects(drill.before, changed)).toEqual(['payments: Secret/payments/payments-credentials differs in data.database-password']);

    const report = drillReport(drill).join('\n');
    expect(report).toMatch(/Drill: \d.* from the old cluster's delete to every system Ready/);
    process.stdout.write(`${report}\n`);
  }, 400_000);
});
