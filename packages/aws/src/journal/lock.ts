import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { CutoverError } from '@imdsv2-cutover/core';

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(file: string): Promise<LockInfo | null> {
  try {
    const info = JSON.parse(await readFile(file, 'utf8')) as Partial<LockInfo>;
    if (typeof info.pid === 'number' && typeof info.hostname === 'string') return info as LockInfo;
    return null;
  } catch {
    return null;
  }
}

/** A held single-writer lock; `release()` removes the lock file. */
export interface JournalLock {
  file: string;
  release(): Promise<void>;
}

/**
 * Takes the journal's single-writer lock: a file `<journal>.lock` created with O_EXCL holding the owner's pid and host.
 * A lock left by a process that no longer runs on this host (a crash, SIGKILL) is stale and taken over at once, so a
 * resume right after a crash is not blocked. A lock held by a live process, or by another host (whose processes we
 * cannot see), is JOURNAL_LOCKED.
 */
export async function acquireJournalLock(journalFile: string): Promise<JournalLock> {
  const file = `${journalFile}.lock`;
  const me: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      try {
        await fh.writeFile(JSON.stringify(me));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return {
        file,
        release: async () => {
          const held = await readLock(file);
          if (held?.pid === me.pid && held.hostname === me.hostname) await unlink(file).catch(() => undefined);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await readLock(file);
    // An unreadable lock file is one whose writer died between create and write: stale.
    const stale = holder === null || (holder.hostname === me.hostname && !alive(holder.pid));
    if (!stale) {
      const where =
        holder.hostname === me.hostname ? `process ${holder.pid}` : `process ${holder.pid} on host ${holder.hostname}`;
      throw new CutoverError(
        'JOURNAL_LOCKED',
        `${journalFile} is in use by ${where} (since ${holder.startedAt}); two enforcers cannot share one journal`,
        {
          suggestions: [
            'Wait for the other imdsv2 enforce/rollback to finish, or stop it.',
            `If that process is gone (another host crashed), remove ${file} and retry.`,
          ],
        },
      );
    }
    await unlink(file).catch(() => undefined);
  }
  throw new CutoverError('JOURNAL_LOCKED', `${journalFile}: could not take the lock ${file} (it keeps reappearing)`, {
    suggestions: ['Another process is racing for the journal; make sure only one enforcer runs.'],
  });
}
