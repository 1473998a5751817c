import { Flags } from '@oclif/core';
import type { StatusResult } from '@imdsv2-cutover/aws';
import { status } from '@imdsv2-cutover/aws';
import { cell, planKind } from '@imdsv2-cutover/core';
import Table from 'cli-table3';
import { BaseCommand } from '../base-command.js';
import { enforcementClients } from '../lib/enforce-clients.js';
import { defaultJournal } from '../lib/enforce-flags.js';
import { readJsonDocument } from '../lib/files.js';
import { awsFlags } from '../lib/flags.js';

export default class Status extends BaseCommand<typeof Status> {
  static override description =
    'Where the execution of a plan stands: per wave, instances applied, verified, rolled back, failed and pending, from the journal; --live adds their current settings.';

  static override examples = [
    '<%= config.bin %> status --plan plan.json --journal journal.jsonl',
    '<%= config.bin %> status --plan plan.json --journal journal.jsonl --live --json',
  ];

  static override flags = {
    ...awsFlags,
    journal: Flags.string({ description: 'Journal written by `imdsv2 enforce`. Default: <plan>.journal.jsonl.' }),
    live: Flags.boolean({ description: 'Also read the instances’ current settings (DescribeInstances, batched).' }),
    plan: Flags.string({ description: 'Plan file.', required: true }),
  };

  public async run(): Promise<StatusResult> {
    const { flags } = this;
    const plan = await readJsonDocument(planKind, flags.plan);
    const result = await status({
      plan,
      journalFile: defaultJournal(flags.plan, flags.journal),
      live: flags.live,
      clients: flags.live ? enforcementClients(flags) : undefined,
    });
    if (!this.jsonEnabled()) {
      const head = [
        'wave',
        'name',
        'state',
        'total',
        'pending',
        'in flight',
        'applied',
        'verified',
        'rolled back',
        'failed',
        'skipped',
        'terminated',
      ];
      if (flags.live) head.push('live: target/planned/other/gone');
      const t = new Table({ head, style: { head: [], border: [] } });
      for (const w of result.waves) {
        const c = w.counts;
        const row = [
          String(w.wave),
          cell(w.name),
          w.state,
          c.total,
          c.pending,
          c.inFlight,
          c.applied,
          c.verified,
          c.rolledBack,
          c.failed,
          c.skipped,
          c.terminated,
        ].map(String);
        if (w.live) row.push(`${w.live.atTarget}/${w.live.atPlanned}/${w.live.other}/${w.live.gone}`);
        t.push(row);
      }
      this.log(t.toString());
      if (result.tornLastLine)
        this.log('note: the journal ends with a half-written line (a crash); the next enforce or rollback drops it.');
    }
    return result;
  }
}
