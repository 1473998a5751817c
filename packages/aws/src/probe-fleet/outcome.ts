import { redactCommandLine, truncate, type ProbeReport, type ProbeResult } from '@imdsv2-cutover/core';

/** Invocation statuses after which nothing changes any more. */
const TERMINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'Terminated']);

export function isTerminal(status: string | undefined): boolean {
  return status !== undefined && TERMINAL.has(status);
}

/**
 * Text from a host (stderr, a status detail) made safe to store: control characters escaped, secrets redacted the way
 * command lines are, and cut to `max` characters. Keeping the tail keeps the error that ended the run.
 */
export function excerpt(text: string, max = 300): string {
  const cleaned = redactCommandLine(text.trim())
    .replace(/\r?\n/g, ' | ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const chars = Array.from(cleaned);
  return chars.length <= max ? cleaned : `…${chars.slice(chars.length - (max - 1)).join('')}`;
}

/** The outcome of an invocation that did not succeed, from its Status and StatusDetails. */
export function failureOutcome(
  status: string,
  statusDetails: string | undefined,
  stderr: string | undefined,
): Pick<ProbeResult, 'outcome' | 'detail'> {
  const details = statusDetails ?? status;
  if (status === 'TimedOut' && details === 'Delivery Timed Out')
    return {
      outcome: 'undeliverable',
      detail: 'Delivery Timed Out: the SSM agent did not pick the command up in time.',
    };
  if (status === 'TimedOut')
    return { outcome: 'timed-out', detail: 'Execution Timed Out: the probe ran longer than its execution timeout.' };
  // SSM API reference, StatusDetails: "Terminated: The parent command exceeded its MaxErrors limit and subsequent
  // command invocations were canceled by the system" (Status then reads Cancelled: the Status enum has no Terminated).
  if (details === 'Terminated' || status === 'Terminated')
    return {
      outcome: 'failed',
      detail: 'Terminated: not run because the command reached its error limit (--probe-max-errors).',
    };
  if (status === 'Undeliverable' || details === 'Undeliverable')
    return { outcome: 'undeliverable', detail: `${details}: the command never reached the instance.` };
  if (status === 'Cancelled')
    return { outcome: 'failed', detail: `${details}: the command was cancelled before it ran.` };
  const err = stderr && stderr.trim() !== '' ? `: ${excerpt(stderr)}` : '';
  return { outcome: 'failed', detail: `${details}${err}` };
}

/**
 * The outcome of a successful invocation from its parsed output. A report cut in transit is `truncated` (its records
 * up to the cut are kept: the busiest IMDSv1 callers come first); damaged or foreign output is `invalid`, kept out of
 * the assessment with the parser's problems as the detail.
 */
export function reportOutcome(report: ProbeReport, note?: string): Omit<ProbeResult, 'commandId' | 'at'> {
  const problems = report.problems.length > 0 ? truncate(report.problems.join('; '), 300) : undefined;
  const detail = [note, problems].filter((x): x is string => x !== undefined).join(' ');
  if (report.status === 'invalid') return { outcome: 'invalid', detail: detail || 'output is not the probe format' };
  return {
    outcome: report.status === 'truncated' ? 'truncated' : 'ok',
    ...(detail ? { detail } : {}),
    report,
  };
}
