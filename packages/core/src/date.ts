import { CutoverError, type ErrorCode } from './errors.js';

/** How dates are written everywhere a user gives one (`--start-date` of plan and report, a plan's start date). */
export const DATE_FORMS = '2026-12-01 (midnight UTC) or 2026-12-01T09:00:00Z';

/**
 * The one date grammar of the tool: an ISO 8601 calendar date `YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time
 * with its zone (`2026-12-01T09:00:00Z`, `2026-12-01T09:00:00+01:00`). Returns epoch milliseconds. Anything else
 * (`next monday`, `12/01/2026`, a date-time without a zone, which would depend on the machine's time zone) is `code`
 * (BAD_USAGE by default, exit 2) naming `what` and the value.
 */
export function parseDate(text: string, what: string, code: ErrorCode = 'BAD_USAGE'): number {
  const t = text.trim();
  let ms = Number.NaN;
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    ms = Date.parse(`${t}T00:00:00Z`);
    // A day that does not exist (2026-02-30) must not roll over into the next month.
    if (!Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) !== t) ms = Number.NaN;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) {
    ms = Date.parse(t);
  }
  if (Number.isNaN(ms)) {
    throw new CutoverError(code, `${what} ${JSON.stringify(text)} is not an ISO 8601 date or date-time`, {
      suggestions: [`Write it like ${DATE_FORMS}.`],
    });
  }
  return ms;
}
