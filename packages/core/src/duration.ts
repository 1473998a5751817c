import { CutoverError } from './errors.js';

/** Seconds per unit of the duration grammar. */
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

const TERM = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** The grammar in words, for messages and help texts. */
export const DURATION_FORMS = '30s, 45m, 1h30m, 24h, 7d, 2w or 250ms';

/**
 * The seconds of a duration, or null when `text` is not one. The one grammar of the tool, for flags and policy files
 * alike: one or more terms `<number><unit>`, units `ms`, `s`, `m`, `h`, `d`, `w`, no spaces (`1h30m`, `2w`, `1.5h`).
 * A bare number is never a duration: `--window 60` could mean seconds or minutes, so the unit must be written.
 */
export function durationSecondsOf(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  TERM.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (;;) {
    const m = TERM.exec(trimmed);
    if (!m) break;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    consumed = TERM.lastIndex;
  }
  return consumed === trimmed.length ? total : null;
}

/**
 * Parses a duration (grammar of `durationSecondsOf`) into seconds. A value that does not parse is BAD_USAGE (exit 2)
 * naming `what` (the flag or field) and the value; a bare number gets a hint with the unit to add.
 */
export function parseDuration(text: string, what: string): number {
  const seconds = durationSecondsOf(text);
  if (seconds !== null) return seconds;
  const bare = /^\d+(\.\d+)?$/.test(text.trim());
  throw new CutoverError(
    'BAD_USAGE',
    `${what} ${JSON.stringify(text)} is not a duration${bare ? ': a bare number has no unit' : ''}`,
    {
      suggestions: [
        bare
          ? `Write the unit, e.g. ${text.trim()}s, ${text.trim()}m or ${text.trim()}d.`
          : `Write it like ${DURATION_FORMS}.`,
      ],
    },
  );
}

/** 86400 -> "1d", 5400 -> "1h30m", 1209600 -> "2w", 0 -> "0s", 0.25 -> "250ms": text `parseDuration` reads back. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(seconds * 1000);
  for (const [unit, size] of [
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
