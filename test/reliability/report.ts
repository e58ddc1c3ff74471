// The one table of `npm run test:reliability`: what the bad-input matrix and the secret audit
// measured, and the rows the fault injection fills (faults by kind, convergence after a re-run,
// concurrent runs, cancellations) from pipeline-faults.ts.
import type { AuditedRun, CaseResult } from './bad-inputs';

/** Figures of the fault-injection runs: seeded faults, process faults, cancellation, concurrency. */
export interface FaultFigures {
  /** Faults injected, by kind (reset, 5xx, 429, latency, truncated, stall, pod-killed, arm-failed, cancel). */
  injectedByKind: Record<string, number>;
  /** HTTP faults by hop (entra, arm, devops, git, releases, apiserver). */
  injectedByHop: Record<string, number>;
  faultedRuns: number;
  succeeded: number;
  failedClearly: number;
  /** Clean re-runs after a faulted run whose state matched a run without faults. */
  converged: number;
  convergenceChecked: number;
  concurrentRuns: number;
  /** How the concurrent runs ended, e.g. 'Succeeded + Succeeded'. */
  concurrentOutcome: string;
  cancellations: number;
  /** Cancellations that reached a running task (not between steps or after the run). */
  cancelledInTask: number;
  /** From the cancel to the end of the canceled run, per cancellation. */
  cancelStopsMs: number[];
  /** Files holding a secret left in the agent's folders by a canceled run. */
  cancelSecretFiles: string[];
  /** Secrets printed by a task in a faulted, re-run or concurrent run. */
  leaks: string[];
  /** Canceled tasks that did not say so. */
  cancelSilent: number;
  unclearErrors: number;
  /** One line per non-convergence, unclear error or leak, for the details under the table. */
  problems: string[];
}

export interface ReliabilityInput {
  seed: number;
  runs: number;
  cases: CaseResult[];
  audited: AuditedRun[];
  auditLogLeaks: string[];
  /** Absent when the fault runs were skipped. */
  faults?: FaultFigures;
}

export interface ReliabilitySummary extends ReliabilityInput {
  badInputs: number;
  caughtBeforeWrite: number;
  mutatedOnBadInput: CaseResult[];
  unclear: CaseResult[];
  leaks: string[];
  successfulRuns: number;
  successfulRunsFailed: AuditedRun[];
  ok: boolean;
}

export function summarize(input: ReliabilityInput): ReliabilitySummary {
  const mutatedOnBadInput = input.cases.filter((c) => c.mutations.length > 0);
  const unclear = input.cases.filter((c) => !c.clear);
  const leaks = [
    ...input.cases.flatMap((c) => c.leaks.map((l) => `${c.id}: ${l}`)),
    ...input.audited.flatMap((a) => a.leaks.map((l) => `${a.label}: ${l}`)),
    ...input.auditLogLeaks,
  ];
  const successfulRunsFailed = input.audited.filter((a) => !a.succeeded);
  const faultsOk = !input.faults || input.faults.problems.length === 0;
  return {
    ...input,
    badInputs: input.cases.length,
    caughtBeforeWrite: input.cases.filter((c) => c.failed && c.mutations.length === 0).length,
    mutatedOnBadInput,
    unclear,
    leaks,
    successfulRuns: input.audited.length - successfulRunsFailed.length,
    successfulRunsFailed,
    ok: mutatedOnBadInput.length === 0 && unclear.length === 0 && leaks.length === 0 && successfulRunsFailed.length === 0 && faultsOk,
  };
}

export function formatTable(s: ReliabilitySummary): string {
  const f = s.faults;
  const notYet = 'not measured (--skip-faults)';
  const stops = [...(f?.cancelStopsMs ?? [])].sort((a, b) => a - b);
  const median = stops.length ? `${(stops[Math.floor(stops.length / 2)]! / 1000).toFixed(1)} s median, ${(stops[stops.length - 1]! / 1000).toFixed(1)} s max` : '-';
  const counts = (o: Record<string, number>) => Object.entries(o).map(([k, n]) => `${k} ${n}`).join(', ') || '0';
  const rows: [string, string][] = [
    ['seed', String(s.seed)],
    ['runs', String(s.runs)],
    ['bad-input cases run', String(s.badInputs)],
    ['bad inputs caught before any write', `${s.caughtBeforeWrite}/${s.badInputs}`],
    ['mutations on bad input', String(s.mutatedOnBadInput.length)],
    ['unclear errors', String(s.unclear.length + (f?.unclearErrors ?? 0))],
    ['bad inputs the task did not expect (stack in a debug line)', String(s.cases.filter((c) => c.debugStack).length)],
    ['successful runs (system.debug)', `${s.successfulRuns}/${s.audited.length}`],
    ['leaks', String(s.leaks.length + (f ? f.cancelSecretFiles.length + f.leaks.length : 0))],
    ['faults injected by kind', f ? counts(f.injectedByKind) : notYet],
    ['HTTP faults by hop', f ? counts(f.injectedByHop) : notYet],
    ['faulted runs: succeeded / failed clearly', f ? `${f.succeeded} / ${f.failedClearly} of ${f.faultedRuns}` : notYet],
    ['convergence after re-run', f ? `${f.converged}/${f.convergenceChecked}` : notYet],
    ['cancellations: in a task, stopped within / silent', f ? `${f.cancellations} (${f.cancelledInTask} in a task; ${median}) / ${f.cancelSilent}` : notYet],
    ['concurrent runs', f ? `${f.concurrentRuns}${f.concurrentOutcome ? ` (${f.concurrentOutcome})` : ''}` : notYet],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v}`);
  const details = [
    ...s.mutatedOnBadInput.map((c) => `mutation on bad input ${c.id}: ${c.mutations.join('; ')}`),
    ...s.unclear.map((c) => `unclear error ${c.id} (${c.what}): ${c.unclear}`),
    ...s.leaks.map((l) => `leak: ${l}`),
    ...s.successfulRunsFailed.map((a) => `did not succeed: ${a.label}: ${a.run.completeMessage ?? a.run.stderr.slice(-300)}`),
    ...(f?.problems ?? []),
  ];
  return [...lines, '', s.ok ? 'RESULT: ok' : 'RESULT: FAILED', ...details].join('\n');
}
