import { z } from 'zod';
import { assessmentKind } from './assessment.js';
import { JournalLine, JournalSeal } from './journal.js';
import { planKind } from './plan.js';
import { policyKind } from './policy.js';
import { probeReportKind } from './probe-report.js';

/**
 * JSON Schema (draft 2020-12) documents for every file format, so that other tools can validate our files. The policy
 * is described as it may be written (defaults optional); the others as the tool writes them.
 */
export function jsonSchemas(): Record<string, object> {
  const doc = (schema: z.ZodType, id: string, title: string, io: 'input' | 'output') => ({
    $id: `https://imdsv2-cutover.dev/schemas/${id}.schema.json`,
    title,
    ...z.toJSONSchema(schema, { io, unrepresentable: 'any' }),
  });
  return {
    assessment: doc(assessmentKind.schema, 'assessment', 'imdsv2-cutover assessment', 'output'),
    policy: doc(policyKind.schema, 'policy', 'imdsv2-cutover rollout policy', 'input'),
    plan: doc(planKind.schema, 'plan', 'imdsv2-cutover plan', 'output'),
    'journal-line': doc(JournalLine, 'journal-line', 'imdsv2-cutover journal line (JSON Lines)', 'output'),
    'journal-seal': doc(
      JournalSeal,
      'journal-seal',
      'imdsv2-cutover journal seal (one slot of <journal>.seal)',
      'output',
    ),
    'probe-report': doc(probeReportKind.schema, 'probe-report', 'imdsv2-cutover probe report', 'output'),
  };
}
