import { CutoverError } from '../errors.js';

const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses a duration such as `30m`, `1h30m`, `7d`, `45s`, `250ms` or a bare number of seconds into seconds.
 * A value that does not parse is BAD_USAGE naming the flag.
 */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (const m of trimmed.matchAll(re)) {
    total += Number(m[1]) * units[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length) {
    throw new CutoverError('BAD_USAGE', `${flag} ${JSON.stringify(text)} is not a duration`, {
      suggestions: [`Write it like 30m, 1h30m, 7d, 45s or 250ms.`],
    });
  }
  return total;
}
