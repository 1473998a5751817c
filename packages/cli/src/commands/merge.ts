import { Flags } from '@oclif/core';
import { cell } from '@imdsv2-cutover/core';
import type { MergeResult } from '@imdsv2-cutover/engine';
import { BaseCommand } from '../base-command.js';

export default class Merge extends BaseCommand<typeof Merge> {
  static override description =
    'Combine the assessments of disjoint shards (accounts or regions assessed by separate jobs) into one. ' +
    'Overlapping or incompatible shards are refused (exit 2) and nothing is written.';

  static override examples = [
    '<%= config.bin %> merge shard-1.json shard-2.json shard-3.json --out assessment.json',
    '<%= config.bin %> merge shards/*.json --out assessment.json --json',
  ];

  static override flags = {
    out: Flags.string({ description: 'Where to write the merged assessment.', required: true }),
  };

  // Any number of shard files as positional arguments.
  static override strict = false;

  static override usage = 'merge SHARD.json SHARD.json... --out FILE';

  async run(): Promise<MergeResult> {
    const { argv } = await this.parse(Merge);
    const { runMerge } = await import('@imdsv2-cutover/engine/scheduling');
    const result = await runMerge({ files: argv as string[], out: this.flags.out });
    if (!this.jsonEnabled()) {
      this.log(
        `Merged ${result.shards} shards (${result.instances} instances, ${result.accounts} accounts, ` +
          `${result.regions} account-regions) into ${cell(result.out, 200)} (id ${result.id})`,
      );
      if (!result.complete) this.log('INCOMPLETE: at least one shard has failed accounts or regions.');
    }
    return result;
  }
}
