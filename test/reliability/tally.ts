import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * What the reliability suite did, for the summary line that ends `pnpm test:reliability` (and `pnpm test`). Tests run
 * in worker processes and the reporter in the main one, so counts go through a file: each call appends one JSON line
 * to the file named by IMDSV2_RELIABILITY_TALLY (set by vitest.config.ts; the reporter truncates it at the start of a
 * run and adds the lines up at the end).
 */
export interface Tally {
  /** Simulator scenarios started, or CLI runs over a prepared input set. */
  scenarios: number;
  /** Faults the simulator injected (errors, resets, region-down calls) plus throttled answers. */
  faults: number;
  /** Damaged or hostile input files (and fuzzed parser inputs) fed to a command or parser. */
  badInputs: number;
  /** Records lost: fleet instances missing from a complete region's assessment, journal intents left unresolved. */
  recordsLost: number;
}

export const TALLY_ENV = 'IMDSV2_RELIABILITY_TALLY';

export function tallyFile(): string {
  return process.env[TALLY_ENV] ?? path.join(tmpdir(), 'imdsv2-reliability-tally.jsonl');
}

/** Adds to the run's counts. */
export function tally(counts: Partial<Tally>): void {
  appendFileSync(tallyFile(), `${JSON.stringify(counts)}\n`);
}

/** Adds up the lines of a tally file (unknown keys and damaged lines are ignored). */
export function sumTally(text: string): Tally {
  const sum: Tally = { scenarios: 0, faults: 0, badInputs: 0, recordsLost: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const c = JSON.parse(line) as Partial<Tally>;
      for (const k of Object.keys(sum) as (keyof Tally)[]) if (typeof c[k] === 'number') sum[k] += c[k];
    } catch {
      // A line cut by a killed worker: its counts are lost, the others stand.
    }
  }
  return sum;
}

/** Faults and throttled answers a simulator's counters show. */
export function injected(snapshot: { throttled: Record<string, number>; faults: Record<string, number> }): number {
  const add = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return add(snapshot.throttled) + add(snapshot.faults);
}
