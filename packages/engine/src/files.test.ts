import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateFleet, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { jsonPieces, writeJsonAtomic } from './files.js';

const tempDir = useTempDirs('imdsv2-files-');

describe('jsonPieces', () => {
  it.each([
    ['scalars', [1, 'a', null, true, 0.5]],
    ['empty containers', { a: [], b: {}, c: [[], {}] }],
    ['undefined, functions and symbols', { a: undefined, b: () => 1, c: [undefined, () => 1, Symbol('s')], d: 1 }],
    ['deep nesting and escapes', { 'k"\n': { x: [{ y: [1, { z: 'line\nbreak "q"' }] }] } }],
    ['dates (toJSON)', { at: new Date(0), list: [new Date(1)] }],
    ['top-level string', 'text'],
    ['top-level array of objects', [{ a: 1 }, { b: [2, 3] }]],
  ])('gives the same text as JSON.stringify(value, null, 2): %s', (_name, value) => {
    expect([...jsonPieces(value)].join('')).toBe(JSON.stringify(value, null, 2));
  });

  it('gives the same text for an assessment, in pieces no larger than an instance', () => {
    const a = generateFleet({ count: 50, seed: 3 });
    const pieces = [...jsonPieces(a)];
    expect(pieces.join('')).toBe(JSON.stringify(a, null, 2));
    const largestInstance = Math.max(...a.instances.map((i) => JSON.stringify(i, null, 2).length));
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(largestInstance * 2);
  });
});

describe('writeJsonAtomic', () => {
  it('replaces the file with the pretty-printed document and leaves no temporary file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'sub', 'doc.json');
    await writeJsonAtomic(file, { old: true });
    const value = { big: 'x'.repeat(3 << 20), list: [1, 2, 3] };
    await writeJsonAtomic(file, value);
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify(value, null, 2)}\n`);
    expect(await readdir(path.dirname(file))).toEqual(['doc.json']);
  });

  it('leaves an existing file as it was when writing fails', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'doc.json');
    await writeFile(file, 'before');
    const bad = {
      get x(): never {
        throw new Error('cannot serialise');
      },
    };
    await expect(writeJsonAtomic(file, bad)).rejects.toThrow('cannot serialise');
    expect(await readFile(file, 'utf8')).toBe('before');
    expect(await readdir(dir)).toEqual(['doc.json']);
  });
});
