import { CutoverError, assessmentKind, mergeAssessments, parseGates, validateDocument } from '@imdsv2-cutover/core';
import type { DiffResult, Outcome } from './compare.js';
import { compareAssessments, gateError } from './compare.js';
import { readAssessmentFile, writeJsonAtomic } from './files.js';

/**
 * `imdsv2 diff OLD NEW`: checks the gates first (a typo in CI fails fast, exit 2), reads both assessments, compares
 * them; the failure is GATE_FAILED (exit 3) when a gate of `failOn` fails.
 */
export async function runDiff(r: { oldFile: string; newFile: string; failOn?: string }): Promise<Outcome<DiffResult>> {
  const gates = parseGates(r.failOn ?? '');
  const [oldA, newA] = await Promise.all([readAssessmentFile(r.oldFile), readAssessmentFile(r.newFile)]);
  const result = compareAssessments(oldA, newA, gates);
  return { result, failure: gateError(result) };
}

export interface MergeResult {
  out: string;
  id: string;
  shards: number;
  complete: boolean;
  accounts: number;
  regions: number;
  instances: number;
}

/**
 * `imdsv2 merge SHARD... --out FILE`: reads every shard, merges them with core's `mergeAssessments` (overlapping or
 * incompatible shards are BAD_INPUT, exit 2, and nothing is written), writes the result atomically.
 */
export async function runMerge(r: { files: readonly string[]; out: string }): Promise<MergeResult> {
  if (r.files.length < 2) {
    throw new CutoverError('BAD_USAGE', `merge needs at least two shard files, got ${r.files.length}`, {
      suggestions: ['Name every shard file: imdsv2 merge a.json b.json --out all.json'],
    });
  }
  const shards = await Promise.all(r.files.map(async (file) => ({ file, assessment: await readAssessmentFile(file) })));
  // Validated like every assessment this tool writes, so that its digest file may vouch for it.
  const merged = validateDocument(assessmentKind, mergeAssessments(shards), r.out);
  await writeJsonAtomic(r.out, merged, { digestFile: true, compact: true });
  return {
    out: r.out,
    id: merged.id,
    shards: shards.length,
    complete: merged.complete,
    accounts: merged.accounts.length,
    regions: merged.regions.length,
    instances: merged.instances.length,
  };
}
