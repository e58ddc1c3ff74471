// examples/bootstrap.yml on a bad day, a seeded sample of what `npm run test:reliability` measures
// (test/reliability/pipeline-faults.ts): a run without faults, then faulted runs (HTTP faults on
// every hop through the agent's proxy, a drift to repair, maybe a controller Pod deleted or the
// ARM operation Failed half-way) and a cancellation at a random moment of a task step, each followed by a clean
// re-run whose cluster, Git and ARM state must equal the run without faults'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../platform/fixture';
import { type FaultCampaign, faultFigures, runFaultCampaign, secretsAtRest, startFaultedStack, type FaultedStack } from '../reliability/pipeline-faults';

const platform = usePlatform();
const SEED = 14;
let faulted: FaultedStack;
let campaign: FaultCampaign;

beforeAll(async () => {
  faulted = await startFaultedStack({ releasesBaseUrl: platform.info.releases.baseUrl });
}, 180_000);
afterAll(async () => {
  await faulted?.stop();
});

describe('the bootstrap pipeline under seeded faults', () => {
  it('ends every faulted run in success or one clear error, and a clean re-run converges', async () => {
    campaign = await runFaultCampaign(faulted, { seed: SEED, runs: 1, rate: 0.08, cancellations: 1, concurrent: false, stallMs: 8000 });
    const figures = faultFigures(campaign);
    expect(campaign.baselineStable).toEqual([]);
    expect(figures.faultedRuns).toBe(1);
    expect(Object.values(figures.injectedByKind).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(figures.succeeded + figures.failedClearly).toBe(figures.faultedRuns);
    expect(figures.problems).toEqual([]);
    expect(figures.converged).toBe(figures.convergenceChecked);
  }, 600_000);

  // How fast it stopped is measured by the CLI's table, not asserted here.
  it('a canceled run says so, leaves no secret file in the agent folder, and the re-run finishes', () => {
    const [cancel] = campaign.cancellations;
    expect(cancel).toBeDefined();
    expect(cancel!.canceledStep).toBeDefined();
    expect(cancel!.secretFiles).toEqual([]);
    expect(cancel!.saidWhatItDid).toBe(true);
    expect(cancel!.rerun.run.result).toBe('Succeeded');
  });

  it('the audit of secrets at rest finds one put outside a Secret (so its "none" means something)', async () => {
    expect(campaign.secretsAtRest).toEqual([]);
    const { resourceGroup, name } = faulted.stack.landingZone.clusters[0]!;
    const api = faulted.stack.clusters.cluster(resourceGroup, name)!.api;
    await api.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'careless', namespace: 'flux-system', labels: { 'app.kubernetes.io/managed-by': 'test' } }, data: { token: Buffer.from(faulted.stack.fluxReaderToken).toString('base64') } }]);
    try {
      expect(await secretsAtRest(faulted)).toEqual(['configmaps/flux-system/careless']);
    } finally {
      await api.delete('/api/v1/namespaces/flux-system/configmaps/careless');
    }
  });
});
