import { readFileSync, rmSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import { sumTally, tallyFile } from '../test/reliability/tally.js';

/**
 * Ends a run that included the `reliability` project with one line:
 * `reliability: N scenarios run, N faults injected, N bad inputs tried, N records lost`.
 * The tests append their counts to a tally file (test/reliability/tally.ts); this reporter empties it when the run
 * starts and adds it up when the run ends. Records lost must be 0: any other figure fails the run, even if the test that
 * counted them did not.
 */
export default class ReliabilitySummaryReporter implements Reporter {
  onTestRunStart(): void {
    rmSync(tallyFile(), { force: true });
  }

  onTestRunEnd(testModules: readonly TestModule[]): void {
    if (!testModules.some((m) => m.project.name === 'reliability')) return;
    let text = '';
    try {
      text = readFileSync(tallyFile(), 'utf8');
    } catch {
      // No test counted anything.
    }
    const t = sumTally(text);
    process.stdout.write(
      `reliability: ${t.scenarios} scenarios run, ${t.faults} faults injected, ${t.badInputs} bad inputs tried, ${t.recordsLost} records lost\n`,
    );
    if (t.recordsLost > 0) process.exitCode = 1;
  }
}
