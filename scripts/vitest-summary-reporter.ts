import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends a test run with one plain line, `tests: N passed, N failed, N skipped`, that log readers and CI can parse without
 * knowing vitest's decorated summary. Skipped tests are counted apart: a skip is never a pass.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of testModules) {
      let moduleFailed = 0;
      let moduleSkipped = 0;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') moduleFailed++;
        else moduleSkipped++;
      }
      // A file that failed as a whole (an import error, a failing beforeAll) leaves its tests unrun: they did not pass
      // and were not skipped on purpose, so they count as failed.
      if (m.state() === 'failed' && moduleFailed === 0) {
        moduleFailed = Math.max(1, moduleSkipped);
        moduleSkipped = 0;
      }
      failed += moduleFailed;
      skipped += moduleSkipped;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
