import { stat } from 'node:fs/promises';
import { nodeJournalFs, type JournalFileHandle, type JournalFs } from './fs.js';

/** How a `FaultyJournalFs` disk fails. */
export interface DiskFaults {
  /**
   * Bytes the disk can still take from now on: writes that grow a file use them, truncating and removing files give
   * them back (so removing the journal's reserve frees room). A write larger than the room left writes what fits and
   * reports the shorter count; the next one fails with ENOSPC, as write(2) does on a full disk.
   */
  room?: number;
  /** Fail every write and sync with this code (EIO) once this many bytes were written through the layer. */
  failAfterBytes?: number;
  /** Fail the Nth fdatasync (1-based) with EIO, and every one after it when `sticky`. */
  failSync?: number;
  /** After the first failure every write, sync and truncate fails too (a disk gone bad, not one that filled up). */
  sticky?: boolean;
  /** What `freeBytes` reports (statfs). Default: plenty, as when another process fills the disk after the check. */
  reportedFree?: number;
}

const fault = (code: string, what: string) =>
  Object.assign(new Error(`${code}: ${what} (injected)`), { code, errno: code === 'ENOSPC' ? -28 : -5 });

/**
 * A journal file layer over the real file system whose disk fills up or fails where a test says (`DiskFaults`), for
 * proving the journal's rules at every byte offset without mounting file systems. Counts what it did in `stats`.
 */
export class FaultyJournalFs implements JournalFs {
  private room: number;
  private written = 0;
  private syncs = 0;
  private broken: string | null = null;
  /**
   * Bytes written, fdatasync calls, and the first failure injected: its code, the file and the byte offset in it where
   * writing stopped (for a sync, the file's size), for the test's figures.
   */
  readonly stats = {
    written: 0,
    syncs: 0,
    failure: null as string | null,
    failedFile: null as string | null,
    failedAt: null as number | null,
  };

  constructor(private readonly faults: DiskFaults = {}) {
    this.room = faults.room ?? Number.POSITIVE_INFINITY;
  }

  private fail(code: string, what: string, file: string, offset: number): Error {
    if (this.faults.sticky) this.broken ??= code;
    if (this.stats.failure === null) {
      this.stats.failure = code;
      this.stats.failedFile = file;
      this.stats.failedAt = offset;
    }
    return fault(code, what);
  }

  /** Changes the faults from now on (e.g. once the journal is open); `room` counts from this call. */
  set(faults: DiskFaults): void {
    Object.assign(this.faults, faults);
    if (faults.room !== undefined) this.room = faults.room;
    if (faults.failAfterBytes !== undefined) this.written = 0;
    if (faults.failSync !== undefined) this.syncs = 0;
  }

  private check(what: string): void {
    if (this.broken) throw fault(this.broken, what);
  }

  readFile(file: string): Promise<Buffer> {
    return nodeJournalFs.readFile(file);
  }

  size(file: string): Promise<number> {
    return nodeJournalFs.size(file);
  }

  async open(file: string, flags: 'a' | 'r+' | 'w'): Promise<JournalFileHandle> {
    this.check(`open ${file}`);
    const before = flags === 'w' ? await sizeOr0(file) : 0;
    const fh = await nodeJournalFs.open(file, flags);
    this.room += before; // 'w' empties the file
    return {
      write: async (data, position) => {
        this.check(`write ${file}`);
        const size = await sizeOr0(file);
        const end = (position ?? size) + data.length;
        const growth = Math.max(0, end - size);
        let n = data.length;
        if (growth > this.room) n = data.length - (growth - this.room);
        if (this.faults.failAfterBytes !== undefined) {
          n = Math.min(n, this.faults.failAfterBytes - this.written);
          if (n <= 0) throw this.fail('EIO', `write ${file}`, file, position ?? size);
        }
        if (n <= 0) throw this.fail('ENOSPC', `write ${file}`, file, position ?? size);
        const wrote = await fh.write(data.subarray(0, n), position);
        this.room -= Math.max(0, Math.max(size, (position ?? size) + wrote) - size);
        this.written += wrote;
        this.stats.written += wrote;
        return wrote;
      },
      datasync: async () => {
        this.check(`fdatasync ${file}`);
        this.syncs++;
        this.stats.syncs++;
        if (this.faults.failSync !== undefined && this.syncs >= this.faults.failSync) {
          if (this.syncs === this.faults.failSync || this.faults.sticky) {
            throw this.fail('EIO', `fdatasync ${file}`, file, await sizeOr0(file));
          }
        }
        await fh.datasync();
      },
      close: () => fh.close(),
    };
  }

  async truncate(file: string, length: number): Promise<void> {
    this.check(`truncate ${file}`);
    const before = await sizeOr0(file);
    await nodeJournalFs.truncate(file, length);
    this.room += Math.max(0, before - length);
  }

  async remove(file: string): Promise<void> {
    const before = await sizeOr0(file);
    await nodeJournalFs.remove(file);
    this.room += before;
  }

  freeBytes(): Promise<number> {
    return Promise.resolve(this.faults.reportedFree ?? 1024 ** 4);
  }

  syncDir(dir: string): Promise<void> {
    return nodeJournalFs.syncDir(dir);
  }
}

async function sizeOr0(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
