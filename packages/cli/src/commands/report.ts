import path from 'node:path';
import { Flags } from '@oclif/core';
import type { JournalSummary, ReportFormat } from '@imdsv2-cutover/report';
import {
  REPORT_FILES,
  buildReportModel,
  parseJournalText,
  renderReports,
  summarizeJournal,
} from '@imdsv2-cutover/report';
import { CutoverError, assessmentKind, planKind } from '@imdsv2-cutover/core';
import { BaseCommand } from '../base-command.js';
import { readInputText, readJsonDocument, writeTextAtomic } from '../lib/files.js';

export interface ReportResult {
  /** Paths written, by format. */
  files: Partial<Record<ReportFormat, string>>;
  instances: number;
  warnings: string[];
}

const FORMATS = Object.keys(REPORT_FILES) as ReportFormat[];

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
    const model = buildReportModel(
      { assessment, plan, journal, inputWarnings: warnings },
      {
        generatedAt: new Date().toISOString(),
        toolVersion: this.config.version,
        startDate: flags['start-date'] ?? null,
        planPath: flags.plan ?? null,
        journalPath: flags.journal ?? null,
      },
    );
    const rendered = renderReports(model, formats);
    const files: ReportResult['files'] = {};
    for (const f of formats) {
      const file = path.join(flags.out, REPORT_FILES[f]);
      await writeTextAtomic(file, rendered[f] ?? '');
      files[f] = file;
    }
    if (!this.jsonEnabled()) for (const f of formats) this.log(files[f]);
    return { files, instances: model.summary.total, warnings };
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
