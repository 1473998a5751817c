import type { Assessment, AssessmentDiff, Gate, GateResult } from '@imdsv2-cutover/core';
import { CutoverError, diffAssessments, evaluateGates } from '@imdsv2-cutover/core';

/** What `imdsv2 diff --json` prints (and what `assess --compare` embeds): the diff and the gate results. */
export interface DiffResult {
  diff: AssessmentDiff;
  gates: GateResult;
}

/** Compares two assessments and checks the gates: the shared step of `diff` and `assess --compare`. */
export function compareAssessments(oldA: Assessment, newA: Assessment, gates: readonly Gate[]): DiffResult {
  const diff = diffAssessments(oldA, newA);
  return { diff, gates: evaluateGates(diff, gates) };
}

/** The error that makes a command exit 3 when a gate failed; null when every gate passed. */
export function gateError(result: DiffResult): CutoverError | null {
  const failed = result.gates.failed;
  if (failed.length === 0) return null;
  return new CutoverError(
    'GATE_FAILED',
    `--fail-on: ${failed.length} gate(s) failed: ${failed.map((f) => `${f.gate} (${f.count})`).join(', ')}`,
    { details: { failed: failed.map((f) => f.gate) } },
  );
}

/**
 * What a workflow returns: its result and, when the run must end with a non-zero exit although it produced a result
 * (a failed gate, an incomplete assessment under --strict), the error to end with. The command renders the result,
 * then throws the failure; under `--json` the one document printed holds both.
 */
export interface Outcome<T> {
  result: T;
  failure: CutoverError | null;
}
