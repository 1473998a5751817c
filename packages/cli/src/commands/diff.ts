import { Args, Flags } from '@oclif/core';
import { GATES } from '@imdsv2-cutover/core';
import type { DiffResult } from '@imdsv2-cutover/engine';
import { BaseCommand } from '../base-command.js';
import { renderDiff } from '../lib/diff-render.js';

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

  async run(): Promise<DiffResult> {
    const { runDiff } = await import('@imdsv2-cutover/engine/scheduling');
    const outcome = await runDiff({
      oldFile: this.args.old,
      newFile: this.args.new,
      ...(this.flags['fail-on'] === undefined ? {} : { failOn: this.flags['fail-on'] }),
    });
    if (!this.jsonEnabled()) for (const line of renderDiff(outcome.result, this.flags.top)) this.log(line);
    return this.finish(outcome);
  }
}
