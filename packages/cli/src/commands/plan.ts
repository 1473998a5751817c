import { stat } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import {
  CutoverError,
  DEFAULT_POLICY_YAML,
  type Explanation,
  type PlanSummary,
  assessmentKind,
  cell,
  defaultPolicy,
  explainInstance,
  plan,
  policyKind,
  summarizePlan,
  terminalSafe,
} from '@imdsv2-cutover/core';
import Table from 'cli-table3';
import { BaseCommand } from '../base-command.js';
import { readJsonDocument, readYamlDocument, writeJsonAtomic, writeTextAtomic } from '../lib/files.js';

export type PlanResult =
  | { action: 'plan'; out: string; summary: PlanSummary }
  | { action: 'explain'; explanation: Explanation }
  | { action: 'init-policy'; policyFile: string };

export default class Plan extends BaseCommand<typeof Plan> {
  static override description = `Turn an assessment and a rollout policy into a staged plan (plan.json).

Only ready instances enter waves: a canary wave with one member of every group, then waves by environment, each capped
in size and in the share of any group. Every other instance is listed as held with its reasons. The plan also lists
lock-in steps (launch templates, account defaults, optional AMI flag) and an SCP, and carries a content hash that
enforce checks. Same inputs, byte-identical plan.`;

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
    'start-date': Flags.string({
      description: 'When the first wave may start (ISO 8601); waves then carry their earliest start.',
      helpValue: 'date',
    }),
  };

  public async run(): Promise<PlanResult> {
    const flags = this.flags;
    if (flags['init-policy'] !== undefined) return this.initPolicy(flags['init-policy'], flags.force);
    if (flags.assessment === undefined) {
      throw new CutoverError('BAD_USAGE', 'give the assessment to plan from with --assessment', {
        suggestions: ['imdsv2 plan --assessment assessment.json --policy policy.yaml'],
      });
    }
    const assessment = await readJsonDocument(assessmentKind, flags.assessment);
    const policy = flags.policy === undefined ? defaultPolicy() : await readYamlDocument(policyKind, flags.policy);
    this.reporter.emit({ type: 'phase', phase: 'plan', message: `Planning ${assessment.instances.length} instances` });
    const p = plan(assessment, policy, {
      startDate: flags['start-date'],
      tool: { name: 'imdsv2-cutover', version: this.config.version },
    });

    if (flags.explain !== undefined) {
      const explanation = explainInstance(p, flags.explain);
      if (!this.jsonEnabled()) for (const line of explanation.lines) this.log(terminalSafe(line));
      return { action: 'explain', explanation };
    }

    await writeJsonAtomic(flags.out, p);
    const summary = summarizePlan(p);
    if (!this.jsonEnabled()) this.render(summary, flags.out);
    return { action: 'plan', out: flags.out, summary };
  }

  private async initPolicy(file: string, force: boolean): Promise<PlanResult> {
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (exists && !force) {
      throw new CutoverError('BAD_USAGE', `${file} already exists; not overwriting it`, {
        suggestions: ['Choose another file name, or add --force to replace it.'],
      });
    }
    await writeTextAtomic(file, DEFAULT_POLICY_YAML);
    if (!this.jsonEnabled())
      this.log(`Wrote the default rollout policy to ${terminalSafe(file)}; edit it, then run imdsv2 plan.`);
    return { action: 'init-policy', policyFile: file };
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
        duration(w.soakSeconds),
        w.notBefore ?? `+${duration(w.startOffsetSeconds)}`,
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

/** 86400 -> "1d", 5400 -> "1h30m", 0 -> "0s". */
function duration(seconds: number): string {
  if (seconds === 0) return '0s';
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
