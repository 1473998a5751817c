import { Args, Flags } from '@oclif/core';
import { GATES, assessmentKind, parseGates } from '@imdsv2-cutover/core';
import { BaseCommand } from '../base-command.js';
import { readJsonDocument } from '../lib/files.js';
import type { DiffResult } from '../lib/diff-render.js';
import { compareAssessments, gateError, renderDiff } from '../lib/diff-render.js';

export default class Diff extends BaseCommand<typeof Diff> {
  static override args = {
    old: Args.string({ description: 'The earlier assessment (assessment.json).', required: true }),
    new: Args.string({ description: 'The later assessment.', required: true }),
  };

  static override description =
    'Compare two assessments (scheduled runs): instances newly enforced, ready or blocked, new IMDSv1 callers, ' +
    'regressions and the change in enforced share. With --fail-on, exit 3 when a gate fails (for CI).';

  static override examples = [
    '<%= config.bin %> diff monday.json tuesday.json',
    '<%= config.bin %> diff previous.json assessment.json --fail-on new-v1-callers,regressions,incomplete',
    '<%= config.bin %> diff previous.json assessment.json --fail-on blocked-increase --json > diff.json',
  ];

  static override flags = {
    'fail-on': Flags.string({
      description: `Comma-separated gates that make the command exit 3 when they fail: ${GATES.join(', ')}.`,
      helpValue: 'LIST',
    }),
    top: Flags.integer({
      default: 5,
      description: 'Entries shown per category in the human summary (--json has them all).',
      min: 0,
    }),
  };

  /** Set when a gate failed under --json, so that the one JSON document on stdout has the diff and the error. */
  private failedResult: DiffResult | undefined;

  async run(): Promise<DiffResult> {
    // Validate the gates before reading anything: a typo in CI should fail fast with exit 2.
    const gates = parseGates(this.flags['fail-on'] ?? '');
    const [oldA, newA] = await Promise.all([
      readJsonDocument(assessmentKind, this.args.old),
      readJsonDocument(assessmentKind, this.args.new),
    ]);
    const result = compareAssessments(oldA, newA, gates);
    if (!this.jsonEnabled()) for (const line of renderDiff(result, this.flags.top)) this.log(line);
    const err = gateError(result);
    if (err) {
      this.failedResult = result;
      throw err;
    }
    return result;
  }

  protected override toErrorJson(err: unknown): unknown {
    const base = super.toErrorJson(err) as Record<string, unknown>;
    return this.failedResult ? { ...this.failedResult, ...base } : base;
  }
}
