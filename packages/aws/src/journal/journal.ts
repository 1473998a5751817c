import { createHash, randomBytes, randomUUID, type Hash } from 'node:crypto';
import path from 'node:path';
import type {
  JournalHeader,
  JournalRecord,
  JournalSeal,
  JournalState,
  ParsedJournal,
  Reporter,
  ToolInfo,
} from '@imdsv2-cutover/core';
import {
  CutoverError,
  JOURNAL_VERSION,
  SEAL_SLOT_BYTES,
  encodeSealSlot,
  makeSeal,
  parseJournalText,
  readSealText,
  replayJournal,
  silentReporter,
  verifyJournalSeal,
} from '@imdsv2-cutover/core';
import { nodeJournalFs, type JournalFileHandle, type JournalFs } from './fs.js';
import { acquireJournalLock, type JournalLock } from './lock.js';

/**
 * Journals larger than this are refused before reading: a journal of 100,000 instances is about 150 MB, and a string
 * much larger than this cannot be held by Node at all (it would fail with a bare RangeError).
 */
export const MAX_JOURNAL_BYTES = 500 * 1024 * 1024;

/**
 * Bytes kept in `<journal>.reserve` while a writer has the journal open. When the disk fills up mid-wave, the writer
 * removes it, so that the results of the AWS calls already in flight can still be recorded: 64 KiB holds about 200
 * results, ten times the default concurrency.
 */
export const RESERVE_BYTES = 64 * 1024;

/** Conservative journal bytes per instance of a wave (intent, result, verification, a guard's rollback: about 2 KB). */
export const JOURNAL_BYTES_PER_TARGET = 4096;

/** The seal file beside a journal (see core's `verifyJournalSeal`). */
export const sealFileOf = (journalFile: string) => `${journalFile}.seal`;
const reserveFileOf = (journalFile: string) => `${journalFile}.reserve`;

const errno = (e: unknown): string => (e as NodeJS.ErrnoException | null)?.code ?? 'EIO';

/** Reads a file through the layer; null when it does not exist. */
async function readOrNull(fs: JournalFs, file: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
}

/** A journal's bytes (null: no file), refused as BAD_INPUT when too large or unreadable. */
async function readJournalBytes(fs: JournalFs, file: string): Promise<Buffer | null> {
  try {
    const size = await fs.size(file);
    if (size > MAX_JOURNAL_BYTES) {
      throw new CutoverError(
        'BAD_INPUT',
        `${file}: the journal file is ${size} bytes, more than the ${MAX_JOURNAL_BYTES} a journal can be`,
        { suggestions: ['Pass the journal that `imdsv2 enforce --journal FILE` wrote.'], details: { file } },
      );
    }
    return await fs.readFile(file);
  } catch (e) {
    if (e instanceof CutoverError) throw e;
    if (errno(e) === 'ENOENT') return null;
    throw new CutoverError('BAD_INPUT', `${file}: cannot read the journal (${errno(e)})`, {
      suggestions: ['Pass the journal that `imdsv2 enforce --journal FILE` wrote.'],
      cause: e,
    });
  }
}

/** Reads a journal and its seal and checks one against the other (core's `verifyJournalSeal`). */
async function readChecked(
  fs: JournalFs,
  file: string,
): Promise<{
  bytes: Buffer | null;
  parsed: ParsedJournal | null;
  seal: JournalSeal | null;
  check: () => ParsedJournal;
}> {
  const bytes = await readJournalBytes(fs, file);
  const sealBytes = await readOrNull(fs, sealFileOf(file)).catch(() => Buffer.from('unreadable'));
  const sealText = sealBytes?.toString('utf8') ?? null;
  const parsed = bytes && bytes.length > 0 ? parseJournalText(bytes.toString('utf8'), file) : null;
  const check = () => {
    const integrity = verifyJournalSeal(bytes, parsed, sealText, file);
    const p = parsed ?? { header: null, records: [], goodBytes: 0, tornTail: null };
    return { ...p, integrity };
  };
  return { bytes, parsed, seal: readSealText(sealText ?? '').seal, check };
}

/**
 * Reads and parses a journal without locking it (status, report, a resume's first look), by core's rules
 * (`parseJournalText`), and checks it against its seal (`verifyJournalSeal`): the result's `integrity` says what the
 * seal vouches for. Errors (all exit 2): BAD_INPUT for a missing (unless `allowMissing`: an empty journal is returned)
 * or unreadable file, JOURNAL_CORRUPT for a damaged one, JOURNAL_TRUNCATED for one cut short, emptied or missing while
 * its seal says otherwise. `fs` is the file layer (tests inject failing disks).
 */
export async function readJournal(
  file: string,
  options: { fs?: JournalFs; allowMissing?: boolean } = {},
): Promise<ParsedJournal> {
  const fs = options.fs ?? nodeJournalFs;
  const { bytes, check } = await readChecked(fs, file);
  const parsed = check();
  if (bytes === null && !options.allowMissing) {
    throw new CutoverError('BAD_INPUT', `${file}: no such journal file`, {
      suggestions: ['Pass the journal that `imdsv2 enforce --journal FILE` wrote.'],
    });
  }
  return parsed;
}

/** A record as callers give it: the writer adds `seq` and `at`. */
export type NewRecord = JournalRecord extends infer R
  ? R extends JournalRecord
    ? Omit<R, 'seq' | 'at'>
    : never
  : never;

export interface OpenJournalOptions {
  file: string;
  /** The plan the journal belongs to; absent (rollback) to accept the journal's own, which must then exist. */
  planContentHash?: string;
  tool: ToolInfo;
  /** Timestamps of records (the service's clock during enforcement). */
  now?: () => number;
  reporter?: Reporter;
  /** The journal's file layer. Default: the real file system. */
  fs?: JournalFs;
  /**
   * What this run may append at most, in bytes, and what for (for the message): when the journal's file system has
   * less free space than this plus the reserve, the journal is refused before anything is written (JOURNAL_NO_SPACE,
   * exit 2).
   */
  expected?: JournalEstimate | ((records: readonly JournalRecord[]) => JournalEstimate);
  /**
   * Accept a journal its seal shows cut short (`rollback --from-plan`): it is kept as it is, resealed at its present
   * length, and a warning says what was lost. Otherwise such a journal is refused (JOURNAL_TRUNCATED, exit 2).
   */
  acceptTruncated?: boolean;
}

/** What a run may append to a journal: bytes (a conservative estimate) and what for, as the message says it. */
export interface JournalEstimate {
  bytes: number;
  what: string;
}

interface Pending {
  record: NewRecord;
  at: string;
  resolve: (r: JournalRecord) => void;
  reject: (e: unknown) => void;
}

/** A failed write of the journal: what failed, on which file, with the file system's code. */
function writeFailure(file: string, what: string, e: unknown): CutoverError {
  const code = errno(e);
  const message = e instanceof Error ? e.message : String(e);
  const reason = message.startsWith(code) ? message : `${code}: ${message}`;
  return new CutoverError('JOURNAL_WRITE_FAILED', `${file}: ${what} failed: ${reason}`, {
    cause: e,
    details: { file, errno: code, what, reason },
  });
}

/** Writes all of `data` at the end of the file; a short write is continued, and an error (ENOSPC, EIO) propagates. */
async function writeAll(fh: JournalFileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = await fh.write(data.subarray(off), null);
    if (n <= 0) {
      throw Object.assign(new Error(`the file system accepted 0 of ${data.length - off} bytes`), { code: 'ENOSPC' });
    }
    off += n;
  }
}

const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;

/**
 * The journal's single writer. Holds the lock, appends records and makes each durable before the `append` promise
 * resolves: the batch is written (a short write is continued), fdatasync'd, and the seal updated (`<journal>.seal`:
 * bytes, last seq, sha256). The enforcer awaits an intent before calling AWS. Concurrent appends are committed together
 * (one write, one sync, one seal for everything queued), so many workers cost a few syncs, not one each.
 *
 * When a write, sync or seal fails (ENOSPC, EIO, ...), `failure` is set and:
 * - every intent of that batch, and every later one, is rejected (JOURNAL_WRITE_FAILED): no AWS call may follow;
 * - the journal is cut back to its last commit (a torn batch is removed), the reserve file is removed to free space,
 *   and the batch's other records (results of calls already made) are written again, as are later results: a call
 *   in flight still gets its result recorded;
 * - if that fails too, the writer is `dead`: every append is rejected, and callers report what they could not record.
 */
export class JournalWriter {
  private seq: number;
  private committedBytes: number;
  private hash: Hash;
  private sealGen: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** The first write failure; intents are refused from then on. */
  failure: CutoverError | null = null;
  /** Set when even the results could not be written after a failure: nothing more can be recorded. */
  dead: CutoverError | null = null;

  private constructor(
    readonly file: string,
    readonly header: JournalHeader,
    readonly records: JournalRecord[],
    private readonly fs: JournalFs,
    private readonly fh: JournalFileHandle,
    private readonly sealFh: JournalFileHandle,
    private readonly lock: JournalLock,
    private readonly now: () => number,
    init: { bytes: number; hash: Hash; sealGen: number },
  ) {
    this.seq = records.reduce((m, r) => Math.max(m, r.seq), -1);
    this.committedBytes = init.bytes;
    this.hash = init.hash;
    this.sealGen = init.sealGen;
  }

  /**
   * Opens (or creates) a journal for appending. The journal is checked against its seal first (a journal cut short is
   * JOURNAL_TRUNCATED, exit 2, unless `acceptTruncated`); a torn last line is cut off with a warning; a journal of
   * another plan is refused, since rollback would restore settings of instances this plan does not name; with
   * `expected`, a file system without room for the run is refused (JOURNAL_NO_SPACE, exit 2). Nothing is written
   * before all of these pass.
   */
  static async open(options: OpenJournalOptions): Promise<JournalWriter> {
    const { file, planContentHash, tool } = options;
    const fs = options.fs ?? nodeJournalFs;
    const now = options.now ?? Date.now;
    const reporter = options.reporter ?? silentReporter;
    const lock = await acquireJournalLock(file);
    const opened: JournalFileHandle[] = [];
    try {
      const { bytes, parsed, seal, check } = await readChecked(fs, file);
      try {
        check();
      } catch (e) {
        if (!(options.acceptTruncated && e instanceof CutoverError && e.code === 'JOURNAL_TRUNCATED')) throw e;
        reporter.emit({
          type: 'warning',
          code: 'JOURNAL_TRUNCATED',
          message: `${e.message.replace(/ Nothing was read from AWS or changed\.$/, '')} Continuing as asked: the journal is resealed at its present length.`,
        });
      }
      if (parsed?.tornTail) {
        reporter.emit({
          type: 'warning',
          code: 'JOURNAL_TORN_LINE',
          message: `${file}: line ${parsed.tornTail.line} was never completed (${parsed.tornTail.bytes} bytes after the last newline: a write cut short); cut it off and continuing after line ${parsed.tornTail.line - 1}`,
        });
      }
      const contents = parsed?.header ? parsed : null; // only a torn header: start over
      const planHash = planContentHash ?? contents?.header?.planContentHash ?? seal?.planContentHash;
      if (planHash === undefined) {
        throw new CutoverError('BAD_INPUT', `${file}: no journal here (missing or empty)`, {
          suggestions: ['Pass the journal that `imdsv2 enforce --journal FILE` wrote.'],
        });
      }
      const ownHash = contents?.header?.planContentHash ?? seal?.planContentHash;
      if (ownHash !== undefined && planContentHash !== undefined && ownHash !== planContentHash) {
        throw new CutoverError(
          'BAD_INPUT',
          `${file} belongs to the plan with hash ${ownHash}, not to this plan (${planContentHash})`,
          { suggestions: ['Use the journal written for this plan, or a new --journal file for a new plan.'] },
        );
      }
      const sealFile = sealFileOf(file);
      const reserveFile = reserveFileOf(file);
      if (options.expected) {
        const expected =
          typeof options.expected === 'function' ? options.expected(contents?.records ?? []) : options.expected;
        await checkFreeSpace(fs, file, expected, bytes === null);
      }

      const keep = contents ? contents.goodBytes : 0;
      if (bytes !== null && bytes.length !== keep) await fs.truncate(file, keep);
      const fh = await fs.open(file, 'a');
      opened.push(fh);
      const hash = createHash('sha256');
      let header = contents?.header ?? null;
      let committed = keep;
      if (bytes !== null) hash.update(bytes.subarray(0, keep));
      if (!header) {
        header = {
          type: 'header',
          schema: { name: 'imdsv2-cutover/journal', version: JOURNAL_VERSION },
          journalId: seal?.journalId ?? randomUUID(),
          createdAt: new Date(now()).toISOString(),
          tool,
          planContentHash: planHash,
        };
        const text = Buffer.from(`${JSON.stringify(header)}\n`);
        await writeAll(fh, text);
        hash.update(text);
        committed = text.length;
      }
      await fh.datasync();
      if (bytes === null) await fs.syncDir(path.dirname(path.resolve(file)));
      // The seal file is written in place from now on; a new one is created whole (both slots).
      const sealExists = (await readOrNull(fs, sealFile)) !== null;
      const sealFh = await fs.open(sealFile, sealExists ? 'r+' : 'w');
      opened.push(sealFh);
      if (!sealExists) {
        await writeAll(sealFh, Buffer.from(`${' '.repeat(SEAL_SLOT_BYTES - 1)}\n`.repeat(2)));
      }
      const w = new JournalWriter(file, header, contents?.records ?? [], fs, fh, sealFh, lock, now, {
        bytes: committed,
        hash,
        sealGen: (seal?.n ?? -1) + 1,
      });
      await w.writeSeal(committed, w.hash.copy().digest('hex'), true);
      if (!sealExists) await fs.syncDir(path.dirname(path.resolve(sealFile)));
      await w.makeReserve(reserveFile);
      return w;
    } catch (e) {
      for (const fh of opened) await fh.close().catch(() => undefined);
      await lock.release();
      if (e instanceof CutoverError) throw e;
      if (errno(e) === 'ENOSPC' || errno(e) === 'EDQUOT')
        throw noSpace(file, `no room to write the journal (${errno(e)})`, e);
      const f = writeFailure(file, 'opening the journal for writing', e);
      throw new CutoverError('JOURNAL_WRITE_FAILED', `${f.message}; nothing was changed`, {
        cause: e,
        suggestions: [`Check the disk of ${path.dirname(path.resolve(file))}, or pass --journal FILE on another one.`],
        details: { file, errno: errno(e) },
      });
    }
  }

  /** The replayed state of everything committed so far. */
  state(): JournalState {
    return replayJournal(this.records);
  }

  /**
   * Appends a record and resolves with it (seq and time added) once it is on disk and sealed. Rejects with
   * JOURNAL_WRITE_FAILED when it could not be written, and at once for an intent after any write failure.
   */
  append<R extends NewRecord>(record: R, at?: number): Promise<R & { seq: number; at: string }> {
    if (this.closed) return Promise.reject(new CutoverError('INTERNAL', `${this.file}: append after close`));
    if (this.dead) return Promise.reject(this.dead);
    if (this.failure && record.type === 'intent') return Promise.reject(this.failure);
    const stamp = new Date(at ?? this.now()).toISOString();
    return new Promise<JournalRecord>((resolve, reject) => {
      this.queue.push({ record, at: stamp, resolve, reject });
      this.kick();
    }) as unknown as Promise<R & { seq: number; at: string }>;
  }

  /** Starts the flush loop unless it runs; an append that lands as the loop ends is picked up by the restart. */
  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      let batch = this.queue.splice(0);
      if (this.dead) {
        for (const p of batch) p.reject(this.dead);
        continue;
      }
      if (this.failure) {
        for (const p of batch) if (p.record.type === 'intent') p.reject(this.failure);
        batch = batch.filter((p) => p.record.type !== 'intent');
        if (batch.length === 0) continue;
      }
      const lines = batch.map((p, i) => ({ ...p.record, seq: this.seq + 1 + i, at: p.at }));
      const data = Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join(''), 'utf8');
      const next = this.hash.copy().update(data);
      try {
        await writeAll(this.fh, data);
        await this.fh.datasync();
      } catch (e) {
        // The journal's tail after the last commit is unknown (a torn batch): cut it back before anything else.
        await this.failed(writeFailure(this.file, 'writing the journal', e), batch, true);
        continue;
      }
      // The batch is on disk; now the seal. If this fails the journal still holds the batch (the seal is old, new or
      // torn, each consistent with the file), so the batch stays committed.
      this.seq += lines.length;
      this.committedBytes += data.length;
      this.hash = next;
      this.records.push(...lines);
      try {
        await this.writeSeal(this.committedBytes, this.hash.copy().digest('hex'), true);
      } catch (e) {
        await this.failed(writeFailure(this.file, `writing its seal ${sealFileOf(this.file)}`, e), batch, false, lines);
        continue;
      }
      batch.forEach((p, i) => p.resolve(lines[i]!));
    }
  }

  /**
   * A batch failed. Its intents are refused (no call may follow). Its other records are results of calls already
   * made: with `cut` (the batch is not on disk) they are queued again after the journal is cut back and the reserve
   * freed; without (the batch is on disk, only the seal failed) they stand. A failure after the first is final.
   */
  private async failed(error: CutoverError, batch: Pending[], cut: boolean, lines?: JournalRecord[]): Promise<void> {
    const first = this.failure === null;
    this.failure ??= error;
    const intents = batch.filter((p) => p.record.type === 'intent');
    const others = batch.filter((p) => p.record.type !== 'intent');
    for (const p of intents) p.reject(this.failure);
    if (!cut && lines) {
      for (const p of others) p.resolve(lines[batch.indexOf(p)]!);
    }
    if (!first) {
      this.dead = error;
      for (const p of [...(cut ? others : []), ...this.queue.splice(0)]) p.reject(error);
      return;
    }
    await this.fs.remove(reserveFileOf(this.file)).catch(() => undefined);
    if (!cut) return;
    try {
      await this.fs.truncate(this.file, this.committedBytes);
    } catch (e) {
      this.dead = writeFailure(this.file, 'cutting a failed write off the journal', e);
      for (const p of [...others, ...this.queue.splice(0)]) p.reject(this.dead);
      return;
    }
    this.queue.unshift(...others);
  }

  /** Writes the next seal slot in place and syncs it. */
  private async writeSeal(bytes: number, sha256: string, open: boolean): Promise<void> {
    const seal = makeSeal({
      journalId: this.header.journalId,
      planContentHash: this.header.planContentHash,
      n: this.sealGen,
      bytes,
      lastSeq: this.seq,
      sha256,
      at: new Date(this.now()).toISOString(),
      open,
    });
    const slot = Buffer.from(encodeSealSlot(seal), 'utf8');
    const position = (this.sealGen % 2) * SEAL_SLOT_BYTES;
    let off = 0;
    while (off < slot.length) {
      const n = await this.sealFh.write(slot.subarray(off), position + off);
      if (n <= 0) throw Object.assign(new Error('the file system accepted 0 bytes of the seal'), { code: 'ENOSPC' });
      off += n;
    }
    await this.sealFh.datasync();
    this.sealGen++;
  }

  /** Creates the reserve file (random bytes, so compressing file systems keep them). No room: JOURNAL_NO_SPACE. */
  private async makeReserve(reserveFile: string): Promise<void> {
    try {
      const fh = await this.fs.open(reserveFile, 'w');
      try {
        await writeAll(fh, randomBytes(RESERVE_BYTES));
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      await this.fs.remove(reserveFile).catch(() => undefined);
      await this.closeFiles();
      if (errno(e) !== 'ENOSPC' && errno(e) !== 'EDQUOT') throw e;
      throw noSpace(this.file, `no room for the journal's reserve ${reserveFile} (${errno(e)})`, e);
    }
  }

  private async closeFiles(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await this.sealFh.close().catch(() => undefined);
  }

  /** Waits for queued appends, seals the journal as closed, closes it, removes the reserve and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing) await this.flushing.catch(() => undefined);
    this.closed = true;
    if (!this.failure) {
      await this.writeSeal(this.committedBytes, this.hash.copy().digest('hex'), false).catch(() => undefined);
    }
    await this.closeFiles();
    await this.fs.remove(reserveFileOf(this.file)).catch(() => undefined);
    await this.lock.release();
  }
}

function noSpace(file: string, why: string, cause?: unknown): CutoverError {
  const dir = path.dirname(path.resolve(file));
  return new CutoverError('JOURNAL_NO_SPACE', `${file}: ${why}; nothing was changed`, {
    cause,
    suggestions: [
      `Free space on the file system of ${dir} (\`df -h ${dir}\`), then run the same command again.`,
      'Or keep the journal on a larger file system: pass --journal FILE there (a journal is moved with its .seal file).',
    ],
    details: { file },
  });
}

/** Refuses a run whose journal may not fit: free space below the estimate plus reserve and seal. */
async function checkFreeSpace(fs: JournalFs, file: string, expected: JournalEstimate, fresh: boolean): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  let free: number;
  try {
    free = await fs.freeBytes(dir);
  } catch {
    return; // statfs unsupported: the writes themselves will tell
  }
  // A reserve left by a killed run is ours to reuse.
  const leftover = (await readOrNull(fs, reserveFileOf(file)).catch(() => null))?.length ?? 0;
  const need = expected.bytes + RESERVE_BYTES + 2 * SEAL_SLOT_BYTES + (fresh ? 4096 : 0);
  if (free + leftover < need) {
    throw noSpace(
      file,
      `the journal's file system has ${kib(free)} free, but this run may write about ${kib(need)} (${expected.what}, plus a ${kib(RESERVE_BYTES)} reserve)`,
    );
  }
}
