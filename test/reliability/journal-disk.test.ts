import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaultyJournalFs, readJournal, type DiskFaults } from '@imdsv2-cutover/aws';
import type { MetadataSettings } from '@imdsv2-cutover/core';
import { CutoverError, RecordingReporter } from '@imdsv2-cutover/core';
import { runEnforcement, runRollback } from '@imdsv2-cutover/engine';
import { startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { describePrivileged, useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REGION,
  TARGET,
  cliEnv,
  fleetScenario,
  instanceIds,
  planFor,
  runCli,
  sameSettings as same,
  settingsOf,
  writePlan,
} from '../e2e/enforce-helpers.js';
import { tally } from './tally.js';

const tempDir = useTempDirs('imdsv2-rel-disk-');
const INSTANCES = 40;
/** What the writer puts on the disk before the first record: the reserve and the seal file. */
const BEFORE_RECORDS = 64 * 1024 + 1024;

let sim: Simulator;
const planDir = mkdtempSync(path.join(tmpdir(), 'imdsv2-rel-disk-plan-'));
const planFile = path.join(planDir, 'plan.json');
let ids: string[];
let original: Map<string, MetadataSettings>;

beforeAll(async () => {
  sim = await startSimulator({
    scenario: fleetScenario(INSTANCES),
    clock: { speed: 60 },
    applyDelayMs: 2000,
    throttling: false,
  });
  ids = instanceIds(sim);
  original = new Map(ids.map((id) => [id, settingsOf(sim, id)]));
  await writePlan(planFile, planFor(sim, [ids]));
});
afterAll(async () => {
  await sim?.stop();
  rmSync(planDir, { recursive: true, force: true });
});

const changed = () => ids.filter((id) => !same(settingsOf(sim, id), original.get(id)!));
const connection = () => ({
  endpointUrl: sim.url,
  region: REGION,
  credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'simulated' },
});

/** Runs wave 0 of the plan in-process (the engine's workflow), with options on top (a failing file layer). */
function enforceWave(journalFile: string, extra: Partial<Parameters<typeof runEnforcement>[0]> = {}) {
  return runEnforcement({
    connection: connection(),
    planFile,
    wave: 0,
    journalFile,
    modifyBucket: '1000/1000',
    concurrency: 25,
    reporter: new RecordingReporter(),
    toolVersion: 'test',
    ...extra,
  });
}

/** `rollback --all` in-process, with options on top. */
function rollbackAll(journalFile: string, extra: Partial<Parameters<typeof runRollback>[0]> = {}) {
  return runRollback({
    connection: connection(),
    journalFile,
    scope: { all: true },
    modifyBucket: '1000/1000',
    reporter: new RecordingReporter(),
    toolVersion: 'test',
    ...extra,
  });
}

/** Instances with an apply intent in the journal as it is on disk (checked against its seal). */
async function intentsOnDisk(journal: string): Promise<Set<string>> {
  const out = new Set<string>();
  if (!existsSync(journal)) return out;
  for (const r of (await readJournal(journal)).records) {
    if (r.type === 'intent' && r.action === 'apply' && r.target.kind === 'instance') out.add(r.target.instanceId);
  }
  return out;
}

interface Trial {
  /** The run ended on a journal write failure (JOURNAL_WRITE_FAILED). */
  stopped: boolean;
  /** Byte offset in the journal where the disk failed, when it did there. */
  offset: number | null;
  /** Changes the run made whose results it could not record (listed with their restore command). */
  unrecorded: number;
  /** Instances left changed after `rollback --all`: records lost. */
  lost: number;
}

/**
 * One wave with the journal on a disk that fails as `faults` says, then the checks: nothing differs from its original
 * settings without an intent on disk; a failure ends the run with JOURNAL_WRITE_FAILED (exit 1) naming the journal and
 * listing each change it could not record with the previous settings and the restore command; with `resume`, the same
 * command run again on the sound disk finishes the wave (every instance at the target and verified, none skipped);
 * then `rollback --all` (the disk sound again) restores every instance.
 */
async function trial(faults: DiskFaults, resume = false): Promise<Trial> {
  const dir = await tempDir();
  const journalFile = path.join(dir, 'journal.jsonl');
  const fs = new FaultyJournalFs(faults);
  const reporter = new RecordingReporter();
  const error = await enforceWave(journalFile, { journalFs: fs, reporter }).then(
    () => null,
    (e: unknown) => e,
  );
  const context = `faults ${JSON.stringify(faults)}: ${error instanceof Error ? error.message : 'completed'}`;
  const journaled = await intentsOnDisk(journalFile);
  expect(
    changed().filter((id) => !journaled.has(id)),
    `${context}: changed without an intent`,
  ).toEqual([]);

  let unrecorded = 0;
  if (fs.stats.failure !== null && error !== null) {
    expect(error, context).toBeInstanceOf(CutoverError);
    const e = error as CutoverError;
    expect(e.message, context).toContain(journalFile);
    if (e.details?.unrecorded === undefined) {
      // The disk failed while the journal was being opened: refused before any change.
      expect(['JOURNAL_WRITE_FAILED', 'JOURNAL_NO_SPACE'], context).toContain(e.code);
      expect(e.message, context).toContain('nothing was changed');
      expect(changed(), context).toEqual([]);
    } else {
      expect(e.code, context).toBe('JOURNAL_WRITE_FAILED');
      expect(e.exitCode).toBe(1);
      expect(e.suggestions.join('\n')).toContain(`imdsv2 rollback --journal ${journalFile} --all`);
    }
    const listed = (e.details?.unrecorded ?? []) as {
      instanceId: string;
      previous: MetadataSettings;
      restore: string;
    }[];
    unrecorded = listed.length;
    const warned = reporter.ofType('warning').filter((w) => w.code === 'CHANGED_WITHOUT_RECORD');
    expect(warned.length, context).toBe(listed.length);
    for (const u of listed) {
      expect(u.previous, context).toEqual(original.get(u.instanceId));
      expect(u.restore).toContain(`--instance-id ${u.instanceId} --http-tokens ${u.previous.httpTokens}`);
      expect(e.message).toContain(u.instanceId);
    }
  } else {
    expect(error, context).toBeNull();
  }

  if (resume) {
    // A resume on the sound disk reconciles: every instance ends at the target, verified, none skipped as drift.
    const again = await enforceWave(journalFile);
    expect(again.skipped, `${context}: resume`).toEqual([]);
    expect(again.failed, `${context}: resume`).toEqual([]);
    expect(
      ids.filter((id) => !same(settingsOf(sim, id), TARGET)),
      `${context}: resume`,
    ).toEqual([]);
    const verified = new Set(
      (await readJournal(journalFile)).records.flatMap((r) =>
        r.type === 'verified' && r.target.kind === 'instance' ? [r.target.instanceId] : [],
      ),
    );
    expect(
      ids.filter((id) => !verified.has(id)),
      `${context}: resume`,
    ).toEqual([]);
  }
  const rb = await rollbackAll(journalFile).catch((e: unknown) => e);
  if (existsSync(journalFile)) expect(rb, `${context}: rollback`).not.toBeInstanceOf(Error);
  const lost = changed().length;
  expect(changed(), `${context}: not restored by rollback --all`).toEqual([]);
  const offset = fs.stats.failedFile === journalFile ? fs.stats.failedAt : null;
  return { stopped: error !== null, offset, unrecorded, lost };
}

/** The size of a whole wave's journal on a sound disk. */
async function cleanJournalBytes(): Promise<number> {
  const dir = await tempDir();
  const journalFile = path.join(dir, 'journal.jsonl');
  await enforceWave(journalFile);
  const bytes = readFileSync(journalFile).length;
  await rollbackAll(journalFile);
  expect(changed()).toEqual([]);
  return bytes;
}

function summarize(name: string, trials: Trial[]) {
  const offsets = new Set(trials.map((t) => t.offset).filter((o) => o !== null));
  const figures = {
    trials: trials.length,
    stopped: trials.filter((t) => t.stopped).length,
    distinctOffsets: offsets.size,
    unrecorded: trials.reduce((n, t) => n + t.unrecorded, 0),
    lost: trials.reduce((n, t) => n + t.lost, 0),
  };
  process.stdout.write(`${name}: ${JSON.stringify(figures)}\n`);
  tally({ scenarios: trials.length, faults: figures.stopped, recordsLost: figures.lost });
  return figures;
}

describe(`a wave of ${INSTANCES} instances with its journal on a disk that fills or fails`, () => {
  let journalBytes = 0;
  beforeAll(async () => {
    journalBytes = await cleanJournalBytes();
  });

  it('the disk fills at about 100 byte offsets across the wave: no change without an intent; resume or rollback --all finishes', async () => {
    const trials: Trial[] = [];
    const step = Math.ceil(journalBytes / 100);
    for (let k = 0, i = 0; k <= journalBytes + step; k += step, i++) {
      trials.push(await trial({ room: BEFORE_RECORDS + k }, i % 2 === 1));
    }
    const f = summarize('disk full', trials);
    expect(f.lost).toBe(0);
    expect(f.stopped).toBeGreaterThanOrEqual(95);
    expect(f.distinctOffsets).toBeGreaterThanOrEqual(90);
  }, 900_000);

  it('the disk goes bad (EIO on every write and sync from then on) at 30 offsets: the unrecorded changes are listed, and restored', async () => {
    const trials: Trial[] = [];
    for (let i = 0; i < 30; i++) {
      const k = Math.round(((i + 0.5) * journalBytes) / 30);
      trials.push(await trial({ failAfterBytes: BEFORE_RECORDS + k, sticky: true }, i % 2 === 1));
    }
    const f = summarize('disk gone bad', trials);
    expect(f.lost).toBe(0);
    expect(f.stopped).toBe(trials.length);
    // A dead disk cannot take the results of calls in flight: they must have been listed at least sometimes.
    expect(f.unrecorded).toBeGreaterThan(0);
  }, 900_000);

  it('rollback on a disk that fills at 40 offsets: nothing is restored without its record; a later rollback finishes', async () => {
    const trials: Trial[] = [];
    let restoredWithoutRecord = 0;
    for (let k = 0; k < 40 * 600; k += 600) {
      const journalFile = path.join(await tempDir(), 'journal.jsonl');
      await enforceWave(journalFile);
      const fs = new FaultyJournalFs({ room: BEFORE_RECORDS + k });
      const rb = await rollbackAll(journalFile, { journalFs: fs }).catch((e: unknown) => e);
      const context = `room ${BEFORE_RECORDS + k}: ${rb instanceof Error ? rb.message : 'completed'}`;
      if (fs.stats.failure) expect((rb as CutoverError).code, context).toBe('JOURNAL_WRITE_FAILED');
      const intents = new Set<string>();
      for (const r of (await readJournal(journalFile)).records) {
        if (r.type === 'intent' && r.action === 'rollback' && r.target.kind === 'instance')
          intents.add(r.target.instanceId);
      }
      const unrecorded = ids.filter((id) => same(settingsOf(sim, id), original.get(id)!) && !intents.has(id));
      restoredWithoutRecord += unrecorded.length;
      expect(unrecorded, `${context}: restored without a record`).toEqual([]);
      await rollbackAll(journalFile);
      trials.push({ stopped: rb instanceof Error, offset: fs.stats.failedAt, unrecorded: 0, lost: changed().length });
      expect(changed(), context).toEqual([]);
    }
    const f = summarize('rollback, disk full', trials);
    expect(restoredWithoutRecord).toBe(0);
    expect(f.stopped).toBeGreaterThanOrEqual(35);

    // Too little room for the rollback at all: refused before any call.
    const journalFile = path.join(await tempDir(), 'journal.jsonl');
    await enforceWave(journalFile);
    const refused = await rollbackAll(journalFile, {
      journalFs: new FaultyJournalFs({ reportedFree: 32 * 1024 }),
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'JOURNAL_NO_SPACE', exitCode: 2 });
    expect(changed()).toHaveLength(INSTANCES);
    await rollbackAll(journalFile);
    expect(changed()).toEqual([]);
  }, 900_000);

  it('one fdatasync fails with EIO (at 25 different commits): the run stops before further calls and rollback restores all', async () => {
    const trials: Trial[] = [];
    // Syncs 1-3 open the journal (header, seal, reserve); then each commit syncs the journal, then its seal.
    for (let n = 1; n <= 25; n++) trials.push(await trial({ failSync: n + 2 }));
    const f = summarize('fdatasync EIO', trials);
    expect(f.lost).toBe(0);
    expect(f.stopped).toBeGreaterThanOrEqual(20);
  }, 900_000);
});

/** Fills the file system of `dir` with a file until ENOSPC (tmpfs allocates whole pages, so 4 KiB at the end). */
function fill(dir: string): void {
  const fd = openSync(path.join(dir, 'hog'), 'w');
  try {
    for (const size of [256 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

function mount(dir: string, size: string): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (r.status !== 0) throw new Error(`mount: ${r.stderr.toString()}`);
}

describePrivileged('the journal on a real tmpfs that fills up', { root: true }, () => {
  it('a 56 KiB tmpfs is refused before the wave; one filled by another writer mid-wave stops it, and rollback restores all', async () => {
    const mnt = mkdtempSync(path.join(tmpdir(), 'imdsv2-rel-tmpfs-'));
    const env = cliEnv(sim);
    const enforceArgs = (journal: string) => [
      ...['enforce', '--plan', planFile, '--wave', '0', '--yes', '--journal', journal, '--endpoint-url', sim.url],
      ...['--modify-bucket', '1000/1000', '--concurrency', '25', '--json'],
    ];
    const rollbackArgs = (journal: string) => [
      ...['rollback', '--journal', journal, '--all', '--endpoint-url', sim.url, '--modify-bucket', '1000/1000'],
    ];
    const trials: Trial[] = [];
    try {
      mount(mnt, '56k');
      const small = await runCli(enforceArgs(path.join(mnt, 'j.jsonl')), env);
      expect(small.code, small.stdout).toBe(2);
      expect(JSON.parse(small.stdout)).toMatchObject({ error: { code: 'JOURNAL_NO_SPACE' } });
      expect(changed()).toEqual([]);
      spawnSync('umount', [mnt]);

      for (const atLine of [2, 5, 12, 25, 40, 60, 80]) {
        mount(mnt, '1m');
        try {
          const journal = path.join(mnt, 'j.jsonl');
          const lines = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').length - 1 : 0);
          let filled = false;
          const poll = setInterval(() => {
            if (!filled && lines() >= atLine) {
              filled = true;
              fill(mnt);
            }
          }, 2);
          const r = await runCli(enforceArgs(journal), env);
          clearInterval(poll);
          const context = `filled at line ${atLine}: exit ${r.code} ${r.stdout.slice(0, 600)}`;
          const journaled = await intentsOnDisk(journal);
          expect(
            changed().filter((id) => !journaled.has(id)),
            `${context}: changed without an intent`,
          ).toEqual([]);
          if (r.code !== 0) {
            expect(JSON.parse(r.stdout), context).toMatchObject({ error: { code: 'JOURNAL_WRITE_FAILED' } });
            expect(r.stdout, context).toContain(journal);
          }
          // Rollback while the disk is still full: refused before any change, or done with every restore recorded.
          const full = await runCli(rollbackArgs(journal), env);
          expect([0, 1, 2], `${context}: rollback on the full disk: ${full.stderr}`).toContain(full.code);
          const intents = new Set<string>();
          for (const x of (await readJournal(journal)).records) {
            if (x.type === 'intent' && x.action === 'rollback' && x.target.kind === 'instance')
              intents.add(x.target.instanceId);
          }
          const wasChanged = [...journaled];
          const restoredUnrecorded = wasChanged.filter(
            (id) => same(settingsOf(sim, id), original.get(id)!) && !intents.has(id),
          );
          expect(restoredUnrecorded, `${context}: restored without a record`).toEqual([]);
          rmSync(path.join(mnt, 'hog'), { force: true });
          const rb = await runCli(rollbackArgs(journal), env);
          expect(rb.code, `${context}: ${rb.stderr}`).toBe(0);
          trials.push({ stopped: r.code !== 0, offset: atLine, unrecorded: 0, lost: changed().length });
          expect(changed(), context).toEqual([]);
        } finally {
          spawnSync('umount', [mnt]);
        }
      }
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
    const f = summarize('tmpfs filled mid-wave', trials);
    expect(f.lost).toBe(0);
    expect(f.stopped).toBeGreaterThanOrEqual(5);
  }, 900_000);
});
