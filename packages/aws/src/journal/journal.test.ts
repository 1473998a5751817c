import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { CutoverError, RecordingReporter } from '@imdsv2-cutover/core';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { JournalWriter, MAX_JOURNAL_BYTES, readJournal } from './journal.js';
import { acquireJournalLock } from './lock.js';

const tempDir = useTempDirs();
const tool = { name: 'imdsv2-cutover', version: '0.1.0' };
const H1 = '1'.repeat(64);
const target = {
  kind: 'instance' as const,
  instanceId: 'i-0000000000000001',
  accountId: '111111111111',
  region: 'us-east-1',
};

async function fresh() {
  const file = path.join(await tempDir(), 'j.jsonl');
  const w = await JournalWriter.open({ file, planContentHash: H1, tool });
  await w.append({ type: 'wave-start', wave: 0, dryRun: false });
  await Promise.all([
    w.append({ type: 'result', wave: 0, action: 'apply', target, outcome: 'ok' }),
    w.append({ type: 'result', wave: 0, action: 'apply', target, outcome: 'skipped' }),
  ]);
  await w.close();
  return file;
}

describe('journal', () => {
  it('writes a header then numbered records, one JSON object per line', async () => {
    const file = await fresh();
    const text = await readFile(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const j = await readJournal(file);
    expect(j.header).toMatchObject({ type: 'header', planContentHash: H1 });
    expect(j.records.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('drops a half-written last line with a warning, truncates it, and continues the sequence', async () => {
    const file = await fresh();
    await appendFile(file, '{"type":"result","seq":3,"at":"2026-');
    expect((await readJournal(file)).tornTail).toEqual({ line: 5, bytes: 36 });
    const reporter = new RecordingReporter();
    const w = await JournalWriter.open({ file, planContentHash: H1, tool, reporter });
    expect(reporter.ofType('warning')[0]).toMatchObject({ code: 'JOURNAL_TORN_LINE' });
    await w.append({ type: 'wave-end', wave: 0, outcome: 'completed' });
    await w.close();
    const j = await readJournal(file);
    expect(j.tornTail).toBeNull();
    expect(j.records.map((r) => [r.type, r.seq])).toEqual([
      ['wave-start', 0],
      ['result', 1],
      ['result', 2],
      ['wave-end', 3],
    ]);
  });

  it('a last record missing its newline was never committed: cut off, like any torn write', async () => {
    const file = await fresh();
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, -1));
    expect((await readJournal(file)).records).toHaveLength(2);
    const w = await JournalWriter.open({ file, planContentHash: H1, tool });
    await w.append({ type: 'wave-end', wave: 0, outcome: 'completed' });
    await w.close();
    expect((await readJournal(file)).records.map((r) => r.type)).toEqual(['wave-start', 'result', 'wave-end']);
  });

  it('a corrupt line in the middle is JOURNAL_CORRUPT naming the line, exit 2', async () => {
    const file = await fresh();
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[2] = '{"type":"result","oops":true}';
    await writeFile(file, lines.join('\n'));
    const e = await readJournal(file).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CutoverError);
    expect(e).toMatchObject({ code: 'JOURNAL_CORRUPT', exitCode: 2 });
    expect((e as Error).message).toContain(`${file}:3:`);
  });

  it('refuses a journal of another plan', async () => {
    const file = await fresh();
    const e = await JournalWriter.open({ file, planContentHash: '2'.repeat(64), tool }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'BAD_INPUT' });
    expect((e as Error).message).toContain(H1);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('a second writer fails with JOURNAL_LOCKED; a lock left by a dead process is taken over', async () => {
    const file = await fresh();
    const w = await JournalWriter.open({ file, planContentHash: H1, tool });
    const e = await JournalWriter.open({ file, planContentHash: H1, tool }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'JOURNAL_LOCKED' });
    expect((e as Error).message).toContain(`process ${process.pid}`);
    await w.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    await writeFile(`${file}.lock`, JSON.stringify({ pid: dead, hostname: hostname(), startedAt: 'x' }));
    const w2 = await JournalWriter.open({ file, planContentHash: H1, tool });
    await w2.close();
  });
});

describe('the journal lock', () => {
  const dead = () => spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;

  it('takes over a stale lock whose earlier take-over was itself killed half-way, and leaves no claim behind', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'j.jsonl');
    const stale = { pid: dead(), hostname: hostname(), startedAt: 'x', token: 'aaaaaaaaaaaaaaaa' };
    await writeFile(`${file}.lock`, JSON.stringify(stale));
    // A process that died after claiming the stale lock, before removing it.
    const claimant = { pid: dead(), hostname: hostname(), startedAt: 'x', token: 'bbbbbbbbbbbbbbbb' };
    await writeFile(`${file}.lock.stale-aaaaaaaaaaaaaaaa`, JSON.stringify(claimant));
    const lock = await acquireJournalLock(file);
    expect(JSON.parse(await readFile(`${file}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a lock file it did not write (never removes what it cannot identify)', async () => {
    const file = path.join(await tempDir(), 'j.jsonl');
    await writeFile(`${file}.lock`, 'not a lock');
    await expect(acquireJournalLock(file)).rejects.toMatchObject({
      code: 'JOURNAL_LOCKED',
      message: expect.stringContaining('not a lock this tool wrote'),
    });
    expect(await readFile(`${file}.lock`, 'utf8')).toBe('not a lock');
  });

  it('release removes only its own lock', async () => {
    const file = path.join(await tempDir(), 'j.jsonl');
    const lock = await acquireJournalLock(file);
    const other = { pid: process.pid, hostname: hostname(), startedAt: 'x', token: 'cccccccccccccccc' };
    await writeFile(`${file}.lock`, JSON.stringify(other));
    await lock.release();
    expect(existsSync(`${file}.lock`)).toBe(true);
  });
});

describe('a journal too large to read', () => {
  it('is BAD_INPUT naming the file, for readers and for the writer, not a bare RangeError', async () => {
    const file = path.join(await tempDir(), 'huge.jsonl');
    await writeFile(file, '');
    await truncate(file, MAX_JOURNAL_BYTES + 1); // sparse: no disk used
    await expect(readJournal(file)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining(file),
    });
    await expect(JournalWriter.open({ file, tool })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});
