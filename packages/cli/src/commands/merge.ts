import { Flags } from '@oclif/core';
import { CutoverError, assessmentKind, cell, mergeAssessments } from '@imdsv2-cutover/core';
import { BaseCommand } from '../base-command.js';
import { readJsonDocument, writeJsonAtomic } from '../lib/files.js';

export interface MergeResult {
  out: string;
  id: string;
  shards: number;
  complete: boolean;
  accounts: number;
  regions: number;
  instances: number;
}

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
    const files = argv as string[];
    if (files.length < 2) {
      throw new CutoverError('BAD_USAGE', `merge needs at least two shard files, got ${files.length}`, {
        suggestions: ['Name every shard file: imdsv2 merge a.json b.json --out all.json'],
      });
    }
    const shards = await Promise.all(
      files.map(async (file) => ({ file, assessment: await readJsonDocument(assessmentKind, file) })),
    );
    const merged = mergeAssessments(shards);
    await writeJsonAtomic(this.flags.out, merged);
    const result: MergeResult = {
      out: this.flags.out,
      id: merged.id,
      shards: shards.length,
      complete: merged.complete,
      accounts: merged.accounts.length,
      regions: merged.regions.length,
      instances: merged.instances.length,
    };
    if (!this.jsonEnabled()) {
      this.log(
        `Merged ${result.shards} shards (${result.instances} instances, ${result.accounts} accounts, ` +
          `${result.regions} account-regions) into ${cell(result.out, 200)} (id ${result.id})`,
      );
      if (!merged.complete) this.log('INCOMPLETE: at least one shard has failed accounts or regions.');
    }
    return result;
  }
}
