import { open, readFile, stat, statfs, truncate, unlink } from 'node:fs/promises';

/** An open file of the journal's file layer. */
export interface JournalFileHandle {
  /**
   * Writes `data` at `position` (null: at the end, for a file opened to append). Resolves with the bytes written, which
   * may be fewer than asked (a disk filling up): the caller writes the rest or treats the shortfall as a failure.
   */
  write(data: Uint8Array, position: number | null): Promise<number>;
  /** fdatasync(2): the data written so far (and the size) is on disk when this resolves. */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations the journal's writer and readers make, so that tests can put the journal on a disk that fills
 * up or fails (ENOSPC, EIO) at any byte. Errors are Node's (`code` ENOENT, ENOSPC, EIO, ...). The lock is not part of
 * it: it is tested against real processes.
 */
export interface JournalFs {
  /** The whole file; ENOENT when it does not exist. */
  readFile(file: string): Promise<Buffer>;
  /** The file's size in bytes; ENOENT when it does not exist. */
  size(file: string): Promise<number>;
  /** `flags` as Node's: `a` (append, create), `r+` (read-write), `w` (create or empty). */
  open(file: string, flags: 'a' | 'r+' | 'w'): Promise<JournalFileHandle>;
  truncate(file: string, length: number): Promise<void>;
  /** Removes a file; a missing one is not an error. */
  remove(file: string): Promise<void>;
  /** Bytes an unprivileged writer can still use on the file system holding `dir` (statfs: bavail × bsize). */
  freeBytes(dir: string): Promise<number>;
  /** fsync of a directory, so that a new file's name is on disk too (best effort: some file systems refuse it). */
  syncDir(dir: string): Promise<void>;
}

/** The journal's file layer on the real file system (node:fs). */
export const nodeJournalFs: JournalFs = {
  readFile: (file) => readFile(file),
  size: async (file) => (await stat(file)).size,
  async open(file, flags) {
    const fh = await open(file, flags, 0o644);
    return {
      write: async (data, position) => (await fh.write(data, 0, data.length, position)).bytesWritten,
      datasync: () => fh.datasync(),
      close: () => fh.close(),
    };
  },
  truncate: (file, length) => truncate(file, length),
  async remove(file) {
    await unlink(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  },
  async freeBytes(dir) {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  },
  async syncDir(dir) {
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
  },
};
