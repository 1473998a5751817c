import { Flags } from '@oclif/core';
import type { StatusResult } from '@imdsv2-cutover/aws';
import { cell } from '@imdsv2-cutover/core';
import { defaultJournal, runStatus } from '@imdsv2-cutover/engine';
import Table from 'cli-table3';
import { BaseCommand } from '../base-command.js';
import { awsFlags, connectionOf, roleNameFlag } from '../lib/flags.js';

export default class Status extends BaseCommand<typeof Status> {
  static override description =
    'Where the execution of a plan stands: per wave, instances applied, verified, rolled back, failed and pending, from the journal; --live adds their current settings.';

  static override examples = [
    '<%= config.bin %> status --plan plan.json --journal journal.jsonl',
    '<%= config.bin %> status --plan plan.json --journal journal.jsonl --live --json',
  ];

  static override flags = {
    ...awsFlags,
    ...roleNameFlag,
    journal: Flags.string({ description: 'Journal written by `imdsv2 enforce`. Default: <plan>.journal.jsonl.' }),
    live: Flags.boolean({ description: 'Also read the instances’ current settings (DescribeInstances, batched).' }),
    plan: Flags.string({ description: 'Plan file.', required: true }),
  };

  public async run(): Promise<StatusResult> {
    const { flags } = this;
    const result = await runStatus({
      connection: connectionOf(flags),
      planFile: flags.plan,
      ...(flags.journal === undefined ? {} : { journalFile: flags.journal }),
      live: flags.live,
      toolVersion: this.config.version,
    });
    if (!this.jsonEnabled()) this.render(result, flags.live, defaultJournal(flags.plan, flags.journal));
    return result;
  }

  private render(result: StatusResult, live: boolean, journal: string): void {
    const head = ['wave', 'name', 'state', 'runs', 'total', 'pending', 'in flight', 'applied', 'verified'];
    head.push('rolled back', 'failed', 'skipped', 'terminated', 'guard trips');
    if (live) head.push('live: target/planned/other/gone');
    const t = new Table({ head, style: { head: [], border: [] } });
    for (const w of result.waves) {
      const c = w.counts;
      const row = [w.wave, cell(w.name ?? ''), w.state, w.runs, c.total, c.pending, c.inFlight, c.applied, c.verified];
      row.push(c.rolledBack, c.failed, c.skipped, c.terminated, w.guardTrips);
      if (w.live) row.push(`${w.live.atTarget}/${w.live.atPlanned}/${w.live.other}/${w.live.gone}`);
      t.push(row.map(String));
    }
    this.log(t.toString());
    for (const c of result.canaries.filter((x) => x.state === 'to-terminate'))
      this.log(
        `canary ${cell(c.canaryId)} from launch template ${cell(c.launchTemplateId)} (${c.accountId} ${c.region}${c.instanceId ? `, ${c.instanceId}` : ''}) may still run: \`imdsv2 rollback --journal ${journal} --wave lockin\` terminates it`,
      );
    if (result.tornTail)
      this.log(
        `note: line ${result.tornTail.line} of the journal was never completed (a write cut short); it is left out, and the next enforce or rollback cuts it off.`,
      );
    const i = result.integrity;
    if (i?.status === 'unsealed-v1')
      this.log('note: this journal (format version 1) has no seal: whether it was cut short cannot be checked.');
    if (i?.writerOpen)
      this.log('note: the last enforce or rollback did not close the journal (it was stopped, or still runs).');
  }
}
