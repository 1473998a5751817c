import path from 'node:path';
import { parseDuration } from '@imdsv2-cutover/core';

/** The journal next to the plan when --journal is not given: plan.json -> plan.journal.jsonl. */
export function defaultJournal(planFile: string, journal: string | undefined): string {
  if (journal !== undefined) return journal;
  const parsed = path.parse(planFile);
  return path.join(parsed.dir, `${parsed.name}.journal.jsonl`);
}

/** A duration flag in seconds, or undefined when absent. */
export function durationSeconds(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, flag);
}
