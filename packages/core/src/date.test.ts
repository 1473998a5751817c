import { describe, expect, it } from 'vitest';
import { parseDate } from './date.js';

describe('parseDate: the one date grammar of flags and files', () => {
  it.each([
    ['2026-12-01', '2026-12-01T00:00:00.000Z'],
    ['2026-12-01T09:00:00Z', '2026-12-01T09:00:00.000Z'],
    ['2026-12-01T09:00Z', '2026-12-01T09:00:00.000Z'],
    ['2026-12-01T09:00:00.5Z', '2026-12-01T09:00:00.500Z'],
    ['2026-12-01T09:00:00+01:00', '2026-12-01T08:00:00.000Z'],
    [' 2026-12-01 ', '2026-12-01T00:00:00.000Z'],
  ])('%j is %s', (text, iso) => {
    expect(new Date(parseDate(text, '--start-date')).toISOString()).toBe(iso);
  });

  it.each(['next monday', '12/01/2026', '2026-12-01T09:00:00', '2026-02-30', '2026-13-01', '20261201', ''])(
    '%j is BAD_USAGE naming the flag and the value',
    (text) => {
      expect(() => parseDate(text, '--start-date')).toThrow(
        expect.objectContaining({
          code: 'BAD_USAGE',
          exitCode: 2,
          message: `--start-date ${JSON.stringify(text)} is not an ISO 8601 date or date-time`,
        }),
      );
    },
  );

  it('takes the error code of the caller (a date in a file is BAD_INPUT)', () => {
    expect(() => parseDate('soon', 'start date', 'BAD_INPUT')).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
