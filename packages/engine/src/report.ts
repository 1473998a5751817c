import type { JournalSummary, Plan, Reporter } from '@imdsv2-cutover/core';
import { assertJournalOfPlan, assessmentKind, planKind, summarizeJournal } from '@imdsv2-cutover/core';
// The journal module alone: a report needs no AWS client (the package's index loads the SDK).
import { readJournal } from '@imdsv2-cutover/aws/journal';
import type { ReportFormat, ReportModel } from '@imdsv2-cutover/report';
import { readDigestedDocument, readJsonDocument } from './files.js';
import { writeReportFiles } from './report-files.js';

/** What `imdsv2 report` is asked to do. */
export interface ReportRequest {
  assessmentFile: string;
  planFile?: string;
  journalFile?: string;
  outDir: string;
  formats?: readonly ReportFormat[];
  /** First day of the rollout (YYYY-MM-DD). */
  startDate?: string;
  reporter: Reporter;
  toolVersion: string;
}

export interface ReportResult {
  /** Paths written, by format. */
  files: Partial<Record<ReportFormat, string>>;
  instances: number;
  warnings: string[];
}

/**
 * Reads a journal for a report or status: parsed by core's rules, refused when it belongs to another plan, and
 * summarised against the plan (core's `summarizeJournal`, the same summary `imdsv2 status` prints). A torn tail is a
 * warning, returned and reported.
 */
export async function readJournalSummary(
  journalFile: string,
  plan: Plan | null,
  reporter: Reporter,
): Promise<{ summary: JournalSummary; warnings: string[] }> {
  const parsed = await readJournal(journalFile);
  if (plan) assertJournalOfPlan(parsed, plan, journalFile);
  const warnings: string[] = [];
  if (parsed.tornTail) {
    const w = `${journalFile}:${parsed.tornTail.line}: left out ${parsed.tornTail.bytes} bytes after the last newline (a write that never completed)`;
    warnings.push(w);
    reporter.emit({ type: 'warning', code: 'JOURNAL_TORN_LINE', message: w });
  }
  return { summary: summarizeJournal(parsed, plan), warnings };
}

/**
 * `imdsv2 report`: reads and validates every input before anything is written (assessment, plan, journal: exit 2
 * naming the file), builds the report model and writes report.html, report.md and instances.csv atomically.
 */
export async function runReport(r: ReportRequest): Promise<ReportResult & { model: ReportModel }> {
  const { value: assessment, sha256 } = await readDigestedDocument(assessmentKind, r.assessmentFile);
  const plan = r.planFile === undefined ? null : await readJsonDocument(planKind, r.planFile);
  let journal: JournalSummary | null = null;
  const warnings: string[] = [];
  if (r.journalFile !== undefined) {
    const read = await readJournalSummary(r.journalFile, plan, r.reporter);
    journal = read.summary;
    warnings.push(...read.warnings);
  }
  const { files, instances, model } = await writeReportFiles(
    r.outDir,
    { assessment, assessmentFileSha256: sha256, plan, journal, inputWarnings: warnings },
    {
      toolVersion: r.toolVersion,
      ...(r.formats ? { formats: r.formats } : {}),
      startDate: r.startDate ?? null,
      planPath: r.planFile ?? null,
      journalPath: r.journalFile ?? null,
    },
  );
  return { files, instances, warnings, model };
}
