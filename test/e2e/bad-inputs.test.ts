// Issue 14's bad-input matrix and secret audit (test/reliability/bad-inputs.ts) in `npm test`: every
// case fails with one message naming the input, before anything was written anywhere; no run,
// bad or good (system.debug on), leaves a secret in its output, its folders or the audit log.
// `npm run test:reliability` runs the same with a seed and more runs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../agent/harness';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import {
  type CaseResult, type ReliabilityEnvironment, auditLogLeaks, badInputCases, runBadInputMatrix, runSuccessfulRuns, secretLeaks, startReliabilityEnvironment,
} from '../reliability/bad-inputs';
import { formatTable, summarize } from '../reliability/report';

const platform = usePlatform();
const cluster = useDedicatedCluster();
let env: ReliabilityEnvironment;
const SEED = 14;
// Each of these retries the unreachable API server for its whole 60 s deadline; the CLI runs
// them all, this file the one that once wrote to Git before finding the cluster unreachable
// (two cases at a time, so it waits beside the others).
const SLOW = /^(iss|flux)-kubeconfig-unreachable$/;

beforeAll(async () => {
  env = await startReliabilityEnvironment({ cluster: cluster.info, git: platform.info.git, releases: platform.info.releases });
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

describe('bad inputs across the four tasks', () => {
  let results: CaseResult[] = [];

  it('has at least 50 cases, each task a share of them', () => {
    const cases = badInputCases();
    expect(cases.length).toBeGreaterThanOrEqual(50);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    for (const task of ['AksBootstrap', 'InstallSealedSecrets', 'FluxBootstrap', 'RegisterSystem']) expect(cases.filter((c) => c.task === task).length).toBeGreaterThanOrEqual(10);
  });

  it('every case fails with one message naming the input, before any write, leaking nothing', async () => {
    results = await runBadInputMatrix(env, { seed: SEED, concurrency: 2, filter: (c) => !SLOW.test(c.id) });
    const problems = results.filter((r) => !r.clear || r.mutations.length || r.leaks.length)
      .map((r) => `${r.id}: ${r.unclear ?? ''} ${r.mutations.join('; ')} ${r.leaks.join('; ')}`);
    expect(problems).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(50);
  }, 400_000);

  it('a successful run of each task with system.debug leaks nothing, and its kubeconfig is owner-only', async () => {
    const audited = await runSuccessfulRuns(env);
    expect(audited.map((a) => [a.label, a.succeeded ? 'Succeeded' : a.run.completeMessage, a.leaks])).toEqual(audited.map((a) => [a.label, 'Succeeded', []]));
    const summary = summarize({ seed: SEED, runs: 1, cases: results, audited, auditLogLeaks: auditLogLeaks(env) });
    process.stderr.write(`${formatTable(summary)}\n`);
    expect(summary.leaks).toEqual([]);
    expect(summary.ok).toBe(true);
  }, 400_000);
});

describe('the audit finds what it looks for', () => {
  it('a secret in the output, in a file left behind, or a kubeconfig others can read', () => {
    const temp = mkdtempSync(join(tmpdir(), 'audit-temp-'));
    const work = mkdtempSync(join(tmpdir(), 'audit-work-'));
    try {
      const secret = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n`;
      const before = new Map<string, number>();
      writeFileSync(join(temp, 'left.txt'), `copy: ${Buffer.from(secret).toString('base64')}`);
      writeFileSync(join(work, 'kubeconfig'), 'apiVersion: v1\nkind: Config\nusers:\n- name: u\n', { mode: 0o644 });
      const run = { stdout: 'line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n', stderr: '', tempDir: temp, variables: {} } as unknown as RunResult;
      const leaks = secretLeaks(run, [secret], before, work);
      expect(leaks).toEqual([
        expect.stringMatching(/^output shows a form of secret/),
        expect.stringMatching(/left\.txt holds a form of secret/),
        expect.stringMatching(/kubeconfig .* is not owner-only \(mode 644\)/),
      ]);
      expect(readFileSync(join(temp, 'left.txt'), 'utf8')).toContain('copy');
    } finally {
      rmSync(temp, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
