import { Flags } from '@oclif/core';
import type { JournalSummary, ReportFormat } from '@imdsv2-cutover/report';
import { parseJournalText, summarizeJournal } from '@imdsv2-cutover/report';
import { CutoverError, assessmentKind, planKind } from '@imdsv2-cutover/core';
import { BaseCommand } from '../base-command.js';
import { readInputText, readJsonDocument } from '../lib/files.js';
import { REPORT_FORMATS as FORMATS, writeReportFiles } from '../lib/report-files.js';

export interface ReportResult {
  /** Paths written, by format. */
  files: Partial<Record<ReportFormat, string>>;
  instances: number;
  warnings: string[];
}

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
      description: `Formats to write, comma-separated: ${FORMATS.join(', ')}.`,
      default: FORMATS.join(','),
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
    'start-date': Flags.string({ description: 'First day of the rollout (YYYY-MM-DD): gives every wave a date.' }),
  };

  public async run(): Promise<ReportResult> {
    const { flags } = this;
    const formats = parseFormats(flags.format);
    if (flags['start-date'] !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(flags['start-date'])) {
      throw new CutoverError('BAD_USAGE', `--start-date ${flags['start-date']}: expected a date such as 2026-12-01`);
    }
    // Every input is read and validated before anything is written.
    const assessment = await readJsonDocument(assessmentKind, flags.assessment);
    const plan = flags.plan === undefined ? null : await readJsonDocument(planKind, flags.plan);
    const warnings: string[] = [];
    let journal: JournalSummary | null = null;
    if (flags.journal !== undefined) {
      const parsed = parseJournalText(await readInputText(flags.journal, 'journal'), flags.journal);
      for (const w of parsed.warnings) {
        warnings.push(w);
        this.reporter.emit({ type: 'warning', code: 'JOURNAL_TAIL', message: w });
      }
      journal = summarizeJournal(parsed.lines);
    }
    const { files, instances } = await writeReportFiles(
      flags.out,
      { assessment, plan, journal, inputWarnings: warnings },
      {
        toolVersion: this.config.version,
        formats,
        startDate: flags['start-date'] ?? null,
        planPath: flags.plan ?? null,
        journalPath: flags.journal ?? null,
      },
    );
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
