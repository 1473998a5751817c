import path from 'node:path';
import type { ReportFormat, ReportInput, ReportModel } from '@imdsv2-cutover/report';
import { DEFAULT_REPORT_FORMATS, REPORT_FILES, buildReportModel, renderReports } from '@imdsv2-cutover/report';
import { writeTextAtomic } from './files.js';

/** Every format `imdsv2 report --format` accepts. */
export const REPORT_FORMATS = Object.keys(REPORT_FILES) as ReportFormat[];
export { DEFAULT_REPORT_FORMATS };

export interface WriteReportOptions {
  toolVersion: string;
  formats?: readonly ReportFormat[];
  startDate?: string | null;
  planPath?: string | null;
  journalPath?: string | null;
}

/**
 * Builds the report model and writes report.html, report.md and instances.csv (or the chosen formats, report-jira.txt
 * among them) atomically into
 * `outDir`: the one way `report`, `assess` and `demo` write reports. Returns the paths written, by format, and the model.
 */
export async function writeReportFiles(
  outDir: string,
  input: ReportInput,
  options: WriteReportOptions,
): Promise<{ files: Partial<Record<ReportFormat, string>>; instances: number; model: ReportModel }> {
  const formats = options.formats ?? DEFAULT_REPORT_FORMATS;
  const model = buildReportModel(input, {
    generatedAt: new Date().toISOString(),
    toolVersion: options.toolVersion,
    startDate: options.startDate ?? null,
    planPath: options.planPath ?? null,
    journalPath: options.journalPath ?? null,
  });
  const rendered = renderReports(model, formats);
  const files: Partial<Record<ReportFormat, string>> = {};
  for (const f of formats) {
    const file = path.join(outDir, REPORT_FILES[f]);
    await writeTextAtomic(file, rendered[f] ?? '');
    files[f] = file;
  }
  return { files, instances: model.summary.total, model };
}
