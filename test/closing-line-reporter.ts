import { writeSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

/** Ends the run with one plain line, "N passed, N failed, N skipped", for CI logs. */
export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of modules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') failedHere++;
        else counts.skipped++;
      }
      // A file can fail with no failed test (a hook or an import threw): count the file itself.
      counts.failed += failedHere || (module.state() === 'failed' ? 1 : 0);
    }
    counts.failed += errors.length;
    // After every other reporter's summary, so it is the log's last line.
    process.once('exit', () => writeSync(1, `\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`));
  }
}
