import { Flags } from '@oclif/core';
import type { RollbackResult, RollbackScope } from '@imdsv2-cutover/aws';
import { CutoverError, terminalSafe } from '@imdsv2-cutover/core';
import { runRollback } from '@imdsv2-cutover/engine';
import { BaseCommand } from '../base-command.js';
import { awsFlags, connectionOf, roleNameFlag, splitList } from '../lib/flags.js';

export default class Rollback extends BaseCommand<typeof Rollback> {
  static override description =
    'Restore the settings recorded in the journal before the first change: a wave, chosen instances, or everything (lock-in included, except the irreversible AMI flag). Idempotent: instances already at their previous settings are skipped, terminated ones reported.';

  static override examples = [
    '<%= config.bin %> rollback --journal journal.jsonl --wave 2',
    '<%= config.bin %> rollback --journal journal.jsonl --instances i-0abc12345678def90,i-0abc12345678def91',
    '<%= config.bin %> rollback --journal journal.jsonl --all',
    '<%= config.bin %> rollback --journal journal.jsonl --wave 2 --lift-http-tokens-enforced',
    '<%= config.bin %> rollback --journal journal.jsonl --from-plan plan.json --all',
  ];

  static override flags = {
    ...awsFlags,
    ...roleNameFlag,
    all: Flags.boolean({ description: 'Everything the journal changed.', exclusive: ['wave', 'instances'] }),
    concurrency: Flags.integer({ description: 'Modify calls in flight at once.', default: 20, min: 1 }),
    'from-plan': Flags.string({
      description:
        'The plan the journal was written for: also restore, instance by instance, the plan’s instances the journal has no record of that hold the plan’s target, to the settings the plan recorded. Accepts a journal cut short.',
    }),
    instances: Flags.string({ description: 'Comma-separated instance ids.', exclusive: ['wave', 'all'] }),
    journal: Flags.string({ description: 'Journal written by `imdsv2 enforce`.', required: true }),
    'keep-http-tokens-enforced-lifted': Flags.boolean({
      description: 'With --lift-http-tokens-enforced: leave HttpTokensEnforced lifted at the end.',
      dependsOn: ['lift-http-tokens-enforced'],
    }),
    'lift-http-tokens-enforced': Flags.boolean({
      description:
        'Where HttpTokensEnforced is enabled, EC2 refuses to set instances back to tokens optional: lift it first (journaled) and enable it again once they are restored.',
    }),
    'modify-bucket': Flags.string({
      description: 'Modify token bucket as burst/refill-per-second (tests).',
      hidden: true,
    }),
    wave: Flags.string({ description: 'Wave index, or "lockin".', exclusive: ['instances', 'all'] }),
  };

  public async run(): Promise<RollbackResult> {
    const { flags } = this;
    const result = await runRollback({
      connection: connectionOf(flags),
      journalFile: flags.journal,
      scope: rollbackScope(flags),
      ...(flags['from-plan'] === undefined ? {} : { fromPlanFile: flags['from-plan'] }),
      concurrency: flags.concurrency,
      liftTokensEnforced: flags['lift-http-tokens-enforced'],
      keepTokensEnforcedLifted: flags['keep-http-tokens-enforced-lifted'],
      ...(flags['modify-bucket'] === undefined ? {} : { modifyBucket: flags['modify-bucket'] }),
      reporter: this.reporter,
      toolVersion: this.config.version,
    });
    if (!this.jsonEnabled()) {
      for (const l of result.lockIn) this.log(`  ${terminalSafe(l.message)}`);
      for (const t of result.tokensEnforced) this.log(`  ${terminalSafe(t.message)}`);
      if (result.terminated.length > 0) this.log(`  terminated: ${result.terminated.join(', ')}`);
      this.log(terminalSafe(result.message));
    }
    return result;
  }
}

function rollbackScope(flags: { all: boolean; instances?: string; wave?: string }): RollbackScope {
  if (flags.all) return { all: true };
  if (flags.instances !== undefined) return { instances: splitList(flags.instances)! };
  if (flags.wave === 'lockin') return { wave: 'lockin' };
  if (flags.wave !== undefined && /^\d+$/.test(flags.wave)) return { wave: Number(flags.wave) };
  throw new CutoverError('BAD_USAGE', 'say what to roll back: --wave N, --wave lockin, --instances ids or --all');
}
