import { Flags } from '@oclif/core';
import {
  CutoverError,
  type Explanation,
  type PlanSummary,
  cell,
  formatDuration,
  terminalSafe,
} from '@imdsv2-cutover/core';
import Table from 'cli-table3';
import { BaseCommand } from '../base-command.js';
import { startDateFlag, startDateOf } from '../lib/flags.js';

export type PlanResult =
  | { action: 'plan'; out: string; summary: PlanSummary }
  | { action: 'explain'; explanation: Explanation }
  | { action: 'init-policy'; policyFile: string };

export default class Plan extends BaseCommand<typeof Plan> {
  static override description =
    'Turn an assessment and a rollout policy into a staged plan (plan.json).\n\n' +
    'Only ready instances enter waves: a canary wave with one member of every group, then waves by environment, each capped in size and in the share of any group. Every other instance is listed as held with its reasons. The plan also lists lock-in steps (launch templates, account defaults, optional AMI flag) and an SCP, and carries a content hash that enforce checks. Same inputs, byte-identical plan.';

  static override examples = [
    '<%= config.bin %> <%= command.id %> --init-policy policy.yaml',
    '<%= config.bin %> <%= command.id %> --assessment assessment.json --policy policy.yaml --out plan.json',
    '<%= config.bin %> <%= command.id %> --assessment assessment.json --start-date 2026-12-01T09:00:00Z --json',
    '<%= config.bin %> <%= command.id %> --assessment assessment.json --policy policy.yaml --explain i-0abc12345678def90',
  ];

  static override flags = {
    assessment: Flags.string({ char: 'a', description: 'Assessment file written by `imdsv2 assess`.' }),
    explain: Flags.string({
      description: 'Print why this instance is in its wave or held (writes nothing).',
      helpValue: 'instance-id',
    }),
    force: Flags.boolean({ description: 'With --init-policy: overwrite an existing file.' }),
    'init-policy': Flags.string({
      description: 'Write the commented default rollout policy to this file and exit.',
      helpValue: 'file',
    }),
    out: Flags.string({ char: 'o', default: 'plan.json', description: 'Where to write the plan (atomically).' }),
    policy: Flags.string({ char: 'p', description: 'Rollout policy (YAML). Default: every field at its default.' }),
    'start-date': startDateFlag('When the first wave may start; waves then carry their earliest start'),
  };

  public async run(): Promise<PlanResult> {
    const flags = this.flags;
    startDateOf(flags['start-date']);
    const { initPolicy, runPlan } = await import('@imdsv2-cutover/engine/plan');
    if (flags['init-policy'] !== undefined) {
      const r = await initPolicy(flags['init-policy'], flags.force);
      if (!this.jsonEnabled())
        this.log(`Wrote the default rollout policy to ${terminalSafe(r.policyFile)}; edit it, then run imdsv2 plan.`);
      return r;
    }
    if (flags.assessment === undefined) {
      throw new CutoverError('BAD_USAGE', 'give the assessment to plan from with --assessment', {
        suggestions: ['imdsv2 plan --assessment assessment.json --policy policy.yaml'],
      });
    }
    const r = await runPlan({
      assessmentFile: flags.assessment,
      ...(flags.policy === undefined ? {} : { policyFile: flags.policy }),
      out: flags.out,
      ...(flags['start-date'] === undefined ? {} : { startDate: flags['start-date'] }),
      ...(flags.explain === undefined ? {} : { explain: flags.explain }),
      reporter: this.reporter,
      toolVersion: this.config.version,
    });
    if (r.action === 'explain') {
      if (!this.jsonEnabled()) for (const line of r.explanation.lines) this.log(terminalSafe(line));
      return r;
    }
    if (!this.jsonEnabled()) this.render(r.summary, r.out);
    return { action: 'plan', out: r.out, summary: r.summary };
  }

  private render(s: PlanSummary, out: string): void {
    const table = new Table({
      head: ['wave', 'name', 'kind', 'instances', 'accounts', 'regions', 'soak', 'starts'],
      style: { head: [], border: [] },
    });
    for (const w of s.waves) {
      table.push([
        w.index,
        cell(w.name, 30),
        w.kind,
        w.instances,
        w.accounts,
        w.regions,
        formatDuration(w.soakSeconds),
        w.notBefore ?? `+${formatDuration(w.startOffsetSeconds)}`,
      ]);
    }
    this.log(s.waves.length > 0 ? table.toString() : 'No waves: no instance is ready to enforce.');
    this.log(`${s.instancesInWaves} instances in ${s.waves.length} waves.`);
    const held = Object.entries(s.held.byStatus)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([status, n]) => `${status} ${n}`);
    this.log(`Not in a wave: ${s.held.total}${held.length > 0 ? ` (${held.join(', ')})` : ''}.`);
    const kinds = Object.entries(s.lockIn.byKind).map(([k, n]) => `${k} ${n}`);
    this.log(
      `Lock-in: ${s.lockIn.steps} steps${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}` +
        `${s.lockIn.irreversible > 0 ? `, ${s.lockIn.irreversible} IRREVERSIBLE` : ''}, ${s.lockIn.manual} manual; ` +
        `SCP ${s.scp ? 'generated' : 'off'}.`,
    );
    for (const note of s.notes) this.log(`Note: ${terminalSafe(note)}`);
    this.log(`Wrote ${terminalSafe(out)} (contentHash ${s.contentHash}).`);
  }
}
