import { createHash } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateFleet, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import {
  assessmentKind,
  canonicalJson,
  contentHash,
  defaultPolicy,
  parseJsonDocument,
  plan,
  planBody,
  planKind,
  verifyPlanHash,
} from '@imdsv2-cutover/core';
import {
  compactJsonPieces,
  digestFileOf,
  jsonPieces,
  readDigestedDocument,
  writeCanonicalPlan,
  writeJsonAtomic,
} from './files.js';

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

describe('compactJsonPieces', () => {
  it.each([
    ['scalars', [1, 'a', null, true, 0.5]],
    ['undefined, functions and symbols', { a: undefined, b: () => 1, c: [undefined, () => 1, Symbol('s')], d: 1 }],
    ['dates (toJSON)', { at: new Date(0), list: [new Date(1)] }],
    ['an assessment', generateFleet({ count: 20, seed: 5 })],
  ])('gives the same text as JSON.stringify(value): %s', (_name, value) => {
    expect([...compactJsonPieces(value)].join('')).toBe(JSON.stringify(value));
  });
});

describe('the digest file', () => {
  it('an assessment written with its digest reads back with that sha256, trusted by the digest', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'assessment.json');
    const a = generateFleet({ count: 30, seed: 9 });
    const sha256 = await writeJsonAtomic(file, a, { digestFile: true, compact: true });
    const bytes = await readFile(file);
    expect(sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await readFile(digestFileOf(file), 'utf8')).toBe(`${sha256}  assessment.json\n`);
    const read = await readDigestedDocument(assessmentKind, file);
    expect(read).toMatchObject({ sha256, validatedBy: 'digest' });
    expect(read.value).toEqual(JSON.parse(bytes.toString('utf8')));
  });

  it('an edited file no longer matches its digest: validated in full, and an invalid edit is refused (exit 2)', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'assessment.json');
    const a = generateFleet({ count: 5, seed: 1 });
    await writeJsonAtomic(file, a, { digestFile: true });
    // A valid edit: still read, validated in full, with the new bytes' sha256.
    const edited = { ...a, id: 'assessment-edited' };
    await writeFile(file, JSON.stringify(edited));
    const read = await readDigestedDocument(assessmentKind, file);
    expect(read.validatedBy).toBe('schema');
    expect(read.value.id).toBe('assessment-edited');
    // An invalid edit: refused as the schema says, whatever the digest file.
    const broken = JSON.parse(JSON.stringify(a)) as { instances: { readiness: { status: string } }[] };
    broken.instances[0]!.readiness.status = 'fine';
    await writeFile(file, JSON.stringify(broken));
    await expect(readDigestedDocument(assessmentKind, file)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/instances\[0\]\.readiness\.status/),
    });
    // Without a digest file: validated in full.
    await writeFile(file, JSON.stringify(a));
    await rm(digestFileOf(file));
    expect((await readDigestedDocument(assessmentKind, file)).validatedBy).toBe('schema');
  });
});

describe('writeCanonicalPlan', () => {
  it('writes the canonical body with contentHash last; the hash is the canonical content hash and verifies', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'plan.json');
    const a = generateFleet({ count: 200, seed: 4 });
    const body = planBody(a, defaultPolicy(), { startDate: '2026-12-01' });
    const hash = await writeCanonicalPlan(file, body);
    expect(hash).toBe(contentHash(body));
    expect(hash).toBe(plan(a, defaultPolicy(), { startDate: '2026-12-01' }).contentHash);
    const text = await readFile(file, 'utf8');
    expect(text).toBe(`${canonicalJson(body).slice(0, -1)},"contentHash":"${hash}"}\n`);
    const reread = parseJsonDocument(planKind, text, file);
    expect(() => verifyPlanHash(reread, file)).not.toThrow();
    expect(reread).toEqual({ ...body, contentHash: hash });
  });
});
