import { Flags } from '@oclif/core';
import type { RollbackResult, RollbackScope } from '@imdsv2-cutover/aws';
import { rollback } from '@imdsv2-cutover/aws';
import { CutoverError, cell } from '@imdsv2-cutover/core';
import { BaseCommand } from '../base-command.js';
import { enforcementClients } from '../lib/enforce-clients.js';
import { awsFlags } from '../lib/flags.js';

export default class Rollback extends BaseCommand<typeof Rollback> {
  static override description =
    'Restore the settings recorded in the journal before the first change: a wave, chosen instances, or everything (lock-in included, except the irreversible AMI flag). Idempotent: instances already at their previous settings are skipped, terminated ones reported.';

  static override examples = [
    '<%= config.bin %> rollback --journal journal.jsonl --wave 2',
    '<%= config.bin %> rollback --journal journal.jsonl --instances i-0abc12345678def90,i-0abc12345678def91',
    '<%= config.bin %> rollback --journal journal.jsonl --all',
  ];

  static override flags = {
    ...awsFlags,
    all: Flags.boolean({ description: 'Everything the journal changed.', exclusive: ['wave', 'instances'] }),
    concurrency: Flags.integer({ description: 'Modify calls in flight at once.', default: 20, min: 1 }),
    instances: Flags.string({ description: 'Comma-separated instance ids.', exclusive: ['wave', 'all'] }),
    journal: Flags.string({ description: 'Journal written by `imdsv2 enforce`.', required: true }),
    'modify-bucket': Flags.string({
      description: 'Modify token bucket as burst/refill-per-second (tests).',
      hidden: true,
    }),
    wave: Flags.string({ description: 'Wave index, or "lockin".', exclusive: ['instances', 'all'] }),
  };

  public async run(): Promise<RollbackResult> {
    const { flags } = this;
    let scope: RollbackScope;
    if (flags.all) scope = { all: true };
    else if (flags.instances !== undefined)
      scope = {
        instances: flags.instances
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    else if (flags.wave === 'lockin') scope = { wave: 'lockin' };
    else if (flags.wave !== undefined && /^\d+$/.test(flags.wave)) scope = { wave: Number(flags.wave) };
    else
      throw new CutoverError('BAD_USAGE', 'say what to roll back: --wave N, --wave lockin, --instances ids or --all');
    const bucket = flags['modify-bucket']?.split('/').map(Number);
    const result = await rollback({
      journalFile: flags.journal,
      tool: { name: this.config.name, version: this.config.version },
      scope,
      clients: enforcementClients(flags),
      reporter: this.reporter,
      concurrency: flags.concurrency,
      modifyBucket: bucket?.length === 2 ? { capacity: bucket[0]!, refillPerSecond: bucket[1]! } : undefined,
    });
    if (!this.jsonEnabled()) {
      for (const l of result.lockIn) this.log(`  ${cell(l.message)}`);
      if (result.terminated.length > 0) this.log(`  terminated: ${result.terminated.join(', ')}`);
      this.log(cell(result.message));
    }
    return result;
  }
}
