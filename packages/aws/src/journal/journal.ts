import { randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type {
  JournalHeader,
  JournalRecord,
  JournalState,
  ParsedJournal,
  Reporter,
  ToolInfo,
} from '@imdsv2-cutover/core';
import { CutoverError, parseJournalText, replayJournal, silentReporter } from '@imdsv2-cutover/core';
import { acquireJournalLock, type JournalLock } from './lock.js';

/**
 * Journals larger than this are refused before reading: a journal of 100,000 instances is about 150 MB, and a string
 * much larger than this cannot be held by Node at all (it would fail with a bare RangeError).
 */
export const MAX_JOURNAL_BYTES = 500 * 1024 * 1024;

/** Reads a journal's text; a file too large to be a journal is BAD_INPUT naming it. Other read errors propagate. */
async function readJournalText(file: string): Promise<string> {
  const { size } = await stat(file);
  if (size > MAX_JOURNAL_BYTES) {
    throw new CutoverError(
      'BAD_INPUT',
      `${file}: the journal file is ${size} bytes, more than the ${MAX_JOURNAL_BYTES} a journal can be`,
      { suggestions: ['Pass the journal that `imdsv2 enforce --journal FILE` wrote.'], details: { file } },
    );
  }
  return readFile(file, 'utf8');
}

/**
 * Reads and parses a journal without locking it (status, report, a resume's first look), by core's rules
 * (`parseJournalText`). A missing or unreadable file is BAD_INPUT naming it; a damaged one JOURNAL_CORRUPT.
 */
export async function readJournal(file: string): Promise<ParsedJournal> {
  let text: string;
  try {
    text = await readJournalText(file);
  } catch (e) {
    if (e instanceof CutoverError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new CutoverError(
      'BAD_INPUT',
      `${file}: ${code === 'ENOENT' ? 'no such journal file' : `cannot read the journal (${code})`}`,
      {
        suggestions: ['Pass the journal that `imdsv2 enforce --journal FILE` wrote.'],
        cause: e,
      },
    );
  }
  return parseJournalText(text, file);
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
}

interface Pending {
  text: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The journal's single writer. Holds the lock, appends records and makes each durable (write + fdatasync) before the
 * `append` promise resolves: the enforcer awaits an intent before calling AWS. Concurrent appends are committed together
 * (one write, one sync for everything queued), so many workers cost a few syncs, not one each.
 */
export class JournalWriter {
  private seq: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private broken: Error | null = null;

  private constructor(
    readonly file: string,
    readonly header: JournalHeader,
    readonly records: JournalRecord[],
    private readonly fh: FileHandle,
    private readonly lock: JournalLock,
    private readonly now: () => number,
  ) {
    this.seq = records.reduce((m, r) => Math.max(m, r.seq), -1);
  }

  /**
   * Opens (or creates) a journal for appending. A torn last line is cut off with a warning; a journal of another plan
   * is refused, since rollback would restore settings of instances this plan does not name.
   */
  static async open(options: OpenJournalOptions): Promise<JournalWriter> {
    const { file, planContentHash, tool } = options;
    const now = options.now ?? Date.now;
    const reporter = options.reporter ?? silentReporter;
    const lock = await acquireJournalLock(file);
    try {
      let contents: ParsedJournal | null = null;
      let text: string | null = null;
      try {
        text = await readJournalText(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (text !== null && text.length > 0) contents = parseJournalText(text, file);
      if (contents?.tornTail) {
        reporter.emit({
          type: 'warning',
          code: 'JOURNAL_TORN_LINE',
          message: `${file}: line ${contents.tornTail.line} was never completed (${contents.tornTail.bytes} bytes after the last newline: a write cut short); cut it off and continuing after line ${contents.tornTail.line - 1}`,
        });
      }
      if (contents && contents.header === null) contents = null; // only a torn header: start over
      if (!contents?.header && planContentHash === undefined) {
        throw new CutoverError('BAD_INPUT', `${file}: no journal here (missing or empty)`, {
          suggestions: ['Pass the journal that `imdsv2 enforce --journal FILE` wrote.'],
        });
      }
      if (contents?.header && planContentHash !== undefined && contents.header.planContentHash !== planContentHash) {
        throw new CutoverError(
          'BAD_INPUT',
          `${file} belongs to the plan with hash ${contents.header.planContentHash}, not to this plan (${planContentHash})`,
          { suggestions: ['Use the journal written for this plan, or a new --journal file for a new plan.'] },
        );
      }
      const keep = contents ? contents.goodBytes : 0;
      if (text !== null && Buffer.byteLength(text, 'utf8') !== keep) await truncate(file, keep);
      const fh = await open(file, 'a');
      let header = contents?.header ?? null;
      if (!header) {
        header = {
          type: 'header',
          schema: { name: 'imdsv2-cutover/journal', version: 1 },
          journalId: randomUUID(),
          createdAt: new Date(now()).toISOString(),
          tool,
          planContentHash: planContentHash!,
        };
        await fh.write(`${JSON.stringify(header)}\n`);
      }
      await fh.sync();
      if (text === null) await syncDir(path.dirname(path.resolve(file)));
      return new JournalWriter(file, header, contents?.records ?? [], fh, lock, now);
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  /** The replayed state of everything appended so far. */
  state(): JournalState {
    return replayJournal(this.records);
  }

  /** Appends a record and resolves once it is on disk. */
  append<R extends NewRecord>(record: R, at?: number): Promise<R & { seq: number; at: string }> {
    if (this.broken !== null) return Promise.reject(this.broken);
    const full = { ...record, seq: ++this.seq, at: new Date(at ?? this.now()).toISOString() } as R & {
      seq: number;
      at: string;
    };
    this.records.push(full);
    const text = `${JSON.stringify(full)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = null;
      });
    }).then(() => full);
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        await this.fh.write(batch.map((p) => p.text).join(''));
        await this.fh.datasync();
        for (const p of batch) p.resolve();
      } catch (e) {
        // After a failed write the file's tail is unknown: refuse further appends rather than risk a gap.
        this.broken = e instanceof Error ? e : new Error(String(e));
        for (const p of [...batch, ...this.queue.splice(0)]) p.reject(e);
      }
    }
  }

  /** Waits for queued appends, closes the file and releases the lock. */
  async close(): Promise<void> {
    if (this.flushing) await this.flushing.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await this.lock.release();
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the file's own sync still holds its data.
  }
}
