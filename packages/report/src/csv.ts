import { stringify } from 'csv-stringify/sync';
import { csvCell } from './escape.js';
import type { InstanceRow, ReportModel } from './model.js';

/** Columns of instances.csv, in order. */
export const CSV_COLUMNS: readonly (keyof InstanceRow)[] = [
  'instanceId',
  'name',
  'accountId',
  'region',
  'state',
  'status',
  'environment',
  'owner',
  'autoScalingGroup',
  'httpTokens',
  'hopLimit',
  'imdsv1Calls',
  'lastImdsv1Call',
  'culprit',
  'remediation',
  'wave',
  'journalState',
  'execution',
  'reasons',
];

/**
 * One row per instance, RFC 4180 quoting (csv-stringify), CRLF line ends, every text cell guarded against formula
 * injection. `imdsv1Calls` is empty when the metric is unknown (never 0).
 */
export function renderCsv(m: ReportModel): string {
  const rows = m.rows.map((r) => CSV_COLUMNS.map((k) => csvCell(r[k])));
  return stringify([CSV_COLUMNS, ...rows], { record_delimiter: 'windows' });
}
