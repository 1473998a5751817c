import { stat } from 'node:fs/promises';
import type { Explanation, Plan, PlanSummary, Reporter } from '@imdsv2-cutover/core';
import {
  CutoverError,
  DEFAULT_POLICY_YAML,
  assessmentKind,
  defaultPolicy,
  explainInstance,
  plan,
  planBody,
  policyKind,
  summarizePlan,
} from '@imdsv2-cutover/core';
import { readDigestedDocument, readYamlDocument, writeCanonicalPlan, writeTextAtomic } from './files.js';

/** What `imdsv2 plan` is asked to do. */
export interface PlanRequest {
  assessmentFile: string;
  /** Rollout policy (YAML); every field at its default when absent. */
  policyFile?: string;
  /** Where to write the plan (atomically). */
  out: string;
  /** Earliest start of the first wave (ISO 8601). */
  startDate?: string;
  /** Explain this instance's place in the plan instead of writing it. */
  explain?: string;
  reporter: Reporter;
  toolVersion: string;
}

export type PlanResult =
  { action: 'plan'; out: string; summary: PlanSummary; plan: Plan } | { action: 'explain'; explanation: Explanation };

/**
 * `imdsv2 plan`: reads and validates the assessment and the policy (BAD_INPUT, exit 2, naming file and field), plans
 * with core's pure `plan()` bound to the sha256 of the assessment file's bytes, then writes the plan atomically, or
 * explains one instance without writing anything.
 */
export async function runPlan(r: PlanRequest): Promise<PlanResult> {
  const { value: assessment, sha256 } = await readDigestedDocument(assessmentKind, r.assessmentFile);
  const policy = r.policyFile === undefined ? defaultPolicy() : await readYamlDocument(policyKind, r.policyFile);
  r.reporter.emit({ type: 'phase', phase: 'plan', message: `Planning ${assessment.instances.length} instances` });
  const options = {
    ...(r.startDate === undefined ? {} : { startDate: r.startDate }),
    tool: { name: 'imdsv2-cutover', version: r.toolVersion },
    assessmentFileSha256: sha256,
  };
  if (r.explain !== undefined)
    return { action: 'explain', explanation: explainInstance(plan(assessment, policy, options), r.explain) };
  const body = planBody(assessment, policy, options);
  const p: Plan = { ...body, contentHash: await writeCanonicalPlan(r.out, body) };
  return { action: 'plan', out: r.out, summary: summarizePlan(p), plan: p };
}

/** `imdsv2 plan --init-policy FILE`: writes the commented default policy; an existing file needs `force`. */
export async function initPolicy(file: string, force: boolean): Promise<{ action: 'init-policy'; policyFile: string }> {
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (exists && !force) {
    throw new CutoverError('BAD_USAGE', `${file} already exists; not overwriting it`, {
      suggestions: ['Choose another file name, or add --force to replace it.'],
    });
  }
  await writeTextAtomic(file, DEFAULT_POLICY_YAML);
  return { action: 'init-policy', policyFile: file };
}
