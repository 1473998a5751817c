import { Flags } from '@oclif/core';
import type { ReportFormat } from '@imdsv2-cutover/report';
import { CutoverError } from '@imdsv2-cutover/core';
import type { ReportResult } from '@imdsv2-cutover/engine';
import { DEFAULT_REPORT_FORMATS, REPORT_FORMATS as FORMATS } from '@imdsv2-cutover/engine/report-files';
import { BaseCommand } from '../base-command.js';
import { startDateFlag, startDateOf } from '../lib/flags.js';

export default class Report extends BaseCommand<typeof Report> {
  static override description =
    'Render the change-review report (self-contained HTML, Markdown for tickets, CSV of every instance) from an assessment, and optionally a plan and an enforcement journal.';

  static override examples = [
    '<%= config.bin %> report --assessment assessment.json',
    '<%= config.bin %> report --assessment assessment.json --plan plan.json --out review/ --start-date 2026-12-01',
    '<%= config.bin %> report --assessment assessment.json --plan plan.json --journal journal.jsonl --format html,md',
  ];

  static override flags = {
    assessment: Flags.string({ description: 'Assessment file written by `imdsv2 assess`.', required: true }),
    format: Flags.string({
      description: `Formats to write, comma-separated: ${FORMATS.join(', ')} (jira: report-jira.txt, Jira wiki markup).`,
      default: DEFAULT_REPORT_FORMATS.join(','),
    }),
    journal: Flags.string({
      description: 'Enforcement journal (journal.jsonl): adds what was applied, verified, rolled back.',
    }),
    out: Flags.string({
      description: 'Directory to write report.html, report.md and instances.csv into.',
      default: './report',
    }),
    plan: Flags.string({
      description: 'Plan file written by `imdsv2 plan`: adds waves, held instances, lock-in and rollback.',
    }),
    'start-date': startDateFlag('First day of the rollout, which gives every wave a date'),
  };

  public async run(): Promise<ReportResult> {
    const { flags } = this;
    const formats = parseFormats(flags.format);
    const start = startDateOf(flags['start-date']);
    // The report dates waves by day: the UTC day of the date given, as the plan keeps it.
    const startDate = start === undefined ? undefined : new Date(start).toISOString().slice(0, 10);
    const { runReport } = await import('@imdsv2-cutover/engine/report');
    const { files, instances, warnings } = await runReport({
      assessmentFile: flags.assessment,
      ...(flags.plan === undefined ? {} : { planFile: flags.plan }),
      ...(flags.journal === undefined ? {} : { journalFile: flags.journal }),
      outDir: flags.out,
      formats,
      ...(startDate === undefined ? {} : { startDate }),
      reporter: this.reporter,
      toolVersion: this.config.version,
    });
    if (!this.jsonEnabled()) for (const f of formats) this.log(files[f]);
    return { files, instances, warnings };
  }
}

function parseFormats(text: string): ReportFormat[] {
  const parts = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const bad = parts.filter((p) => !(FORMATS as string[]).includes(p));
  if (bad.length > 0 || parts.length === 0) {
    throw new CutoverError('BAD_USAGE', `--format ${text}: unknown format ${bad.join(', ') || '(none)'}`, {
      suggestions: [`Use a comma-separated list of ${FORMATS.join(', ')}.`],
    });
  }
  return [...new Set(parts)] as ReportFormat[];
}
