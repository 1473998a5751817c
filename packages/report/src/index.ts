/**
 * The change-review report: a model built from the assessment, plan and journal, rendered as self-contained HTML,
 * Markdown and CSV. Pure: callers read the inputs and write the outputs.
 */
import { renderCsv } from './csv.js';
import { renderHtml } from './html.js';
import type { HtmlOptions } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { ReportModel } from './model.js';

export * from './csv.js';
export * from './execution.js';
export * from './held.js';
export * from './escape.js';
export * from './html.js';
export * from './markdown.js';
export * from './model.js';
export { readinessBar, sparkline, STATUS_COLOR } from './svg.js';

export interface RenderedReports {
  html: string;
  md: string;
  jira: string;
  csv: string;
}

/**
 * The report's files and the names they are written under: `md` is GitHub-flavoured Markdown, `jira` the same text in
 * Jira wiki markup.
 */
export const REPORT_FILES = {
  html: 'report.html',
  md: 'report.md',
  jira: 'report-jira.txt',
  csv: 'instances.csv',
} as const;
export type ReportFormat = keyof typeof REPORT_FILES;

/** The formats written when none are asked for (the Jira text is written on request). */
export const DEFAULT_REPORT_FORMATS: readonly ReportFormat[] = ['html', 'md', 'csv'];

/** Renders the requested formats (default html, md, csv) from one model. */
export function renderReports(
  model: ReportModel,
  formats: readonly ReportFormat[] = DEFAULT_REPORT_FORMATS,
  options: HtmlOptions = {},
): Partial<RenderedReports> {
  const out: Partial<RenderedReports> = {};
  if (formats.includes('html')) out.html = renderHtml(model, options);
  if (formats.includes('md')) out.md = renderMarkdown(model);
  if (formats.includes('jira')) out.jira = renderMarkdown(model, { flavour: 'jira' });
  if (formats.includes('csv')) out.csv = renderCsv(model);
  return out;
}
