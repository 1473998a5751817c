import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { CutoverError, RecordingReporter } from '@imdsv2-cutover/core';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { FaultyJournalFs, type DiskFaults } from './faulty-fs.js';
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

  it('a complete record after the sealed end, without its newline, was never committed: cut off like any torn write', async () => {
    const file = await fresh();
    await appendFile(
      file,
      JSON.stringify({ type: 'wave-end', seq: 3, at: '2026-01-01T00:00:00.000Z', wave: 0, outcome: 'completed' }),
    );
    expect((await readJournal(file)).records).toHaveLength(3);
    const w = await JournalWriter.open({ file, planContentHash: H1, tool });
    await w.append({ type: 'wave-end', wave: 0, outcome: 'failed' });
    await w.close();
    const j = await readJournal(file);
    expect(j.records.map((r) => [r.type, r.seq])).toEqual([
      ['wave-start', 0],
      ['result', 1],
      ['result', 2],
      ['wave-end', 3],
    ]);
    expect(j.records[3]).toMatchObject({ outcome: 'failed' });
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

describe('the seal: a journal cut short is told from one whose writer stopped', () => {
  it('a journal cut at any byte before its sealed end is refused by readers and writers (JOURNAL_TRUNCATED, exit 2)', async () => {
    const file = await fresh();
    const whole = await readFile(file);
    let refused = 0;
    for (let k = 0; k < whole.length; k++) {
      await writeFile(file, whole.subarray(0, k));
      const read = await readJournal(file).catch((e: unknown) => e);
      expect(read, `cut at ${k}`).toMatchObject({ code: 'JOURNAL_TRUNCATED', exitCode: 2 });
      const open = await JournalWriter.open({ file, planContentHash: H1, tool }).catch((e: unknown) => e);
      expect(open, `cut at ${k}`).toMatchObject({ code: 'JOURNAL_TRUNCATED' });
      expect((await readFile(file)).length, 'a refused journal is left as it is').toBe(k);
      refused++;
    }
    expect(refused).toBe(whole.length);
    await writeFile(file, whole);
    expect((await readJournal(file)).integrity).toMatchObject({
      status: 'sealed',
      sealedBytes: whole.length,
      writerOpen: false,
    });
  }, 120_000);

  it('an emptied or deleted journal is refused while its seal exists; the message says what was sealed', async () => {
    const file = await fresh();
    await writeFile(file, '');
    await expect(readJournal(file)).rejects.toMatchObject({
      code: 'JOURNAL_TRUNCATED',
      message: expect.stringMatching(/records \d+ bytes up to record 2, but the file is empty/),
    });
    await rm(file);
    await expect(readJournal(file)).rejects.toMatchObject({ code: 'JOURNAL_TRUNCATED' });
    await expect(readJournal(file, { allowMissing: true })).rejects.toMatchObject({ code: 'JOURNAL_TRUNCATED' });
    await expect(JournalWriter.open({ file, planContentHash: H1, tool })).rejects.toMatchObject({
      code: 'JOURNAL_TRUNCATED',
    });
    expect(existsSync(file)).toBe(false);
  });

  it('lines committed after the last seal (a writer killed between commit and seal) are read, and counted', async () => {
    const file = await fresh();
    const extra = { type: 'wave-end', seq: 3, at: '2026-01-01T00:00:00.000Z', wave: 0, outcome: 'completed' };
    await appendFile(file, `${JSON.stringify(extra)}\n`);
    const j = await readJournal(file);
    expect(j.records).toHaveLength(4);
    expect(j.integrity).toMatchObject({ status: 'sealed', unsealedRecords: 1 });
  });

  it('a seal slot torn by a crash: the other slot stands', async () => {
    const file = await fresh();
    const seal = await readFile(`${file}.seal`);
    const slots = [seal.subarray(0, 512).toString(), seal.subarray(512).toString()];
    const newest = slots
      .map((t) => JSON.parse(t) as { n: number })
      .reduce((a, b, i, all) => (b.n > all[a]!.n ? i : a), 0);
    const torn = Buffer.from(seal);
    torn.write('{"type":"seal","sche', newest * 512, 'utf8');
    torn.fill(0x20, newest * 512 + 20, newest * 512 + 511);
    await writeFile(`${file}.seal`, torn);
    expect((await readJournal(file)).integrity?.status).toBe('sealed');
  });

  it('a changed byte within the sealed part is JOURNAL_CORRUPT; a seal of another journal too', async () => {
    const file = await fresh();
    const text = await readFile(file, 'utf8');
    await writeFile(
      file,
      text.replace('"outcome":"ok"', '"outcome":"skipped"').replace('"outcome":"skipped"}', '"outcome":"ok"}'),
    );
    await expect(readJournal(file)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT', message: /not what was sealed/ });
    const other = await fresh();
    await writeFile(file, text);
    await writeFile(`${file}.seal`, await readFile(`${other}.seal`));
    await expect(readJournal(file)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT', message: /belongs to journal/ });
  });

  it('a version-2 journal with records whose seal is gone is refused; a version-1 journal is read, then sealed', async () => {
    const file = await fresh();
    await rm(`${file}.seal`);
    await expect(readJournal(file)).rejects.toMatchObject({ code: 'JOURNAL_TRUNCATED', message: /seal .* is missing/ });
    const v1 = (await readFile(file, 'utf8')).replace('"version":2', '"version":1');
    await writeFile(file, v1);
    expect((await readJournal(file)).integrity?.status).toBe('unsealed-v1');
    const w = await JournalWriter.open({ file, planContentHash: H1, tool });
    await w.append({ type: 'wave-end', wave: 0, outcome: 'completed' });
    await w.close();
    expect((await readJournal(file)).integrity).toMatchObject({ status: 'sealed', sealedLastSeq: 3 });
  });

  it('records of a version-2 journal are numbered without gaps: a missing line is JOURNAL_CORRUPT', async () => {
    const file = await fresh();
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.splice(2, 1);
    await writeFile(file, lines.join('\n'));
    await rm(`${file}.seal`);
    await expect(readJournal(file)).rejects.toMatchObject({
      code: 'JOURNAL_CORRUPT',
      message: /seq 2 where 1 was expected/,
    });
  });

  it('a journal header without records and without a seal (killed while creating it) is a new journal', async () => {
    const file = await fresh();
    const header = (await readFile(file, 'utf8')).split('\n')[0];
    await writeFile(file, `${header}\n`);
    await rm(`${file}.seal`);
    expect((await readJournal(file)).integrity?.status).toBe('new');
    const w = await JournalWriter.open({ file, planContentHash: H1, tool });
    await w.close();
  });
});

const intent = (i: number) => ({
  type: 'intent' as const,
  wave: 0,
  action: 'apply' as const,
  target: { ...target, instanceId: `i-${String(i).padStart(16, '0')}` },
  previous: { httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
  desired: { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' },
});
const resultOf = (i: number) => ({
  type: 'result' as const,
  wave: 0,
  action: 'apply' as const,
  target: { ...target, instanceId: `i-${String(i).padStart(16, '0')}` },
  outcome: 'ok' as const,
});

/** A record's identity across the writer and the file: its type and instance. */
const recordKey = (r: { type: string; target?: { kind: string } }) =>
  `${r.type}:${r.target && 'instanceId' in r.target ? String(r.target.instanceId) : ''}`;

/**
 * Appends a round of 4 intents and 4 results of earlier intents at once (one batch), then more; returns what resolved
 * and what was rejected. The invariant checked by the callers: a resolved append is on disk, and no intent resolves
 * once the journal failed.
 */
async function appendUnderFault(fs: FaultyJournalFs, faults: DiskFaults) {
  const file = path.join(await tempDir(), 'j.jsonl');
  const w = await JournalWriter.open({ file, planContentHash: H1, tool, fs });
  for (let i = 0; i < 4; i++) await w.append(intent(i));
  fs.set(faults);
  const settled = await Promise.allSettled([
    ...[4, 5, 6, 7].map((i) => w.append(intent(i))),
    ...[0, 1, 2, 3].map((i) => w.append(resultOf(i))),
  ]);
  const late = await Promise.allSettled([w.append(intent(8)), w.append(resultOf(4))]);
  await w.close();
  return { file, w, settled, late };
}

describe('a journal on a disk that fills up or fails', () => {
  it('fills at every byte of a batch: only intents on disk resolve, none after the failure; results are kept', async () => {
    let failures = 0;
    for (let room = 0; room <= 1400; room += 7) {
      const fs = new FaultyJournalFs();
      const { file, w, settled, late } = await appendUnderFault(fs, { room });
      const committed = new Set((await readJournal(file)).records.map(recordKey));
      for (const s of [...settled, ...late]) {
        if (s.status === 'fulfilled') expect(committed.has(recordKey(s.value)), `room ${room}`).toBe(true);
      }
      if (w.failure) {
        failures++;
        expect(w.failure).toMatchObject({ code: 'JOURNAL_WRITE_FAILED', details: { errno: 'ENOSPC' } });
        expect(late[0].status, `room ${room}: an intent after the failure`).toBe('rejected');
        // With the reserve freed, the results of calls already made are written after all.
        expect(late[1].status, `room ${room}`).toBe('fulfilled');
        expect(
          settled.slice(4).every((s) => s.status === 'fulfilled'),
          `room ${room}`,
        ).toBe(true);
      }
    }
    expect(failures).toBeGreaterThan(150);
  }, 120_000);

  it('EIO on fdatasync: the batch’s intents are refused, its results written again; a dead disk refuses everything', async () => {
    const once = await appendUnderFault(new FaultyJournalFs(), { failSync: 1 });
    expect(once.settled.slice(0, 4).map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(once.settled.slice(4).every((s) => s.status === 'fulfilled')).toBe(true);
    expect(once.w.failure).toMatchObject({ details: { errno: 'EIO' } });
    const intents = (await readJournal(once.file)).records.filter((r) => r.type === 'intent').length;
    expect(intents).toBe(4);

    const dead = await appendUnderFault(new FaultyJournalFs(), { failSync: 1, sticky: true });
    expect(dead.settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(dead.late.every((s) => s.status === 'rejected')).toBe(true);
    expect(dead.w.dead).not.toBeNull();
    // What is on disk is still a sound journal, sealed up to the last commit; lines written after it (never synced,
    // their appends rejected) may stand unsealed, which is allowed: no call followed an intent among them.
    expect((await readJournal(dead.file)).integrity).toMatchObject({ status: 'sealed', sealedLastSeq: 3 });
  });

  it('EIO after N bytes, for many N: the journal on disk always reads back sealed, and holds every resolved record', async () => {
    for (let n = 0; n < 3000; n += 97) {
      const fs = new FaultyJournalFs();
      const { file, settled, late } = await appendUnderFault(fs, { failAfterBytes: n, sticky: n % 2 === 0 });
      const onDisk = new Set((await readJournal(file)).records.map(recordKey));
      for (const s of [...settled, ...late]) {
        if (s.status === 'fulfilled') expect(onDisk.has(recordKey(s.value)), `failing after ${n} bytes`).toBe(true);
      }
    }
  }, 120_000);

  it('too little free space for the run is refused before anything is written (JOURNAL_NO_SPACE, exit 2)', async () => {
    const file = path.join(await tempDir(), 'j.jsonl');
    const fs = new FaultyJournalFs({ reportedFree: 100 * 1024 });
    const e = await JournalWriter.open({
      file,
      planContentHash: H1,
      tool,
      fs,
      expected: { bytes: 130 * 4096, what: '130 instance(s) × 4 KiB' },
    }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'JOURNAL_NO_SPACE', exitCode: 2 });
    expect((e as Error).message).toMatch(/has 100 KiB free, but this run may write about \d+ KiB \(130 instance/);
    expect(readdirSync(path.dirname(file))).toEqual([]);
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
