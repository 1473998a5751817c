import { describe, expect, it } from 'vitest';
import { cell, terminalSafe, truncate } from './text.js';

describe('terminalSafe', () => {
  it.each([
    ['plain', 'plain'],
    ['\x1b[2J\x1b[Hcleared', '\\x1b[2J\\x1b[Hcleared'],
    ['line\nbreak\r', 'line\\x0abreak\\x0d'],
    ['bell\x07', 'bell\\x07'],
    ['\u009b31m C1 CSI', '\\x9b31m C1 CSI'],
    ['evil\u202Etxt.exe', 'evil\\u202etxt.exe'],
    ['isolate\u2066x\u2069', 'isolate\\u2066x\\u2069'],
    ['ünïcödé 日本', 'ünïcödé 日本'],
  ])('%j -> %j', (input, expected) => {
    expect(terminalSafe(input)).toBe(expected);
  });
});

describe('truncate and cell', () => {
  it('cuts on code points and marks the cut', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('😀😀😀', 2)).toBe('😀…');
    expect(truncate('abc', 3)).toBe('abc');
  });
  it('cell escapes before it cuts and shows nothing for missing values', () => {
    expect(cell('\x1b[31mred', 8)).toBe('\\x1b[31…');
    expect(cell(undefined)).toBe('');
  });
});
