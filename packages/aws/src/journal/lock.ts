import { randomBytes } from 'node:crypto';
import { link, open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { CutoverError } from '@imdsv2-cutover/core';

/** What a lock file holds (JSON): the owner, and a token no other lock file ever has. */
interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  /** 16 hex digits, random: tells this lock file from any later one at the same path. Absent in locks of version 1. */
  token?: string;
}

/** How long to wait for another process's take-over of a stale lock to finish before refusing. */
const TAKEOVER_WAIT_MS = 5_000;
/** Take-overs of take-overs (a process killed while taking over a stale lock) are followed this deep. */
const MAX_DEPTH = 4;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * The holder of a lock file: its content and an identity for it. `null` when the file does not exist. `info` is null
 * when the content is not a lock (never written by this tool: a damaged disk); `id` is then its inode.
 */
async function readHolder(file: string): Promise<{ info: LockInfo | null; id: string } | null> {
  let text: string;
  let ino: number;
  try {
    [text, { ino }] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
  try {
    const info = JSON.parse(text) as Partial<LockInfo>;
    if (typeof info.pid === 'number' && typeof info.hostname === 'string') {
      const full = { startedAt: '?', ...info } as LockInfo;
      // A version-1 lock has no token; the inode names it (no later lock lacks a token, so none can be mistaken for it).
      return { info: full, id: typeof info.token === 'string' ? info.token : `ino${ino}` };
    }
  } catch {
    // Not JSON: fall through.
  }
  return { info: null, id: `ino${ino}` };
}

/**
 * Creates `file` holding `info` if no file is there, atomically and with its whole content at once: the content goes
 * to a uniquely named temporary file first, which is then hard-linked to `file` (link(2) fails with EEXIST when `file`
 * exists, on local file systems and on NFS alike). Returns false when `file` exists.
 */
async function createExclusive(file: string, info: LockInfo): Promise<boolean> {
  const tmp = `${file}.${info.token}.tmp`;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(JSON.stringify(info));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    if (errno(e) === 'EEXIST') return false;
    if (errno(e) === 'EPERM' || errno(e) === 'ENOTSUP' || errno(e) === 'ENOSYS') {
      throw new CutoverError(
        'BAD_USAGE',
        `${file}: the journal's file system does not support hard links, which the journal lock needs (${errno(e)})`,
        {
          suggestions: ['Keep the journal on a local file system (ext4, xfs, apfs, ntfs) or NFS: pass --journal FILE.'],
        },
      );
    }
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Removes `file` if it still holds the lock `id`. Sound only for the owner of `id`, or the one claimant of it. */
async function removeIfHeld(file: string, id: string): Promise<void> {
  const now = await readHolder(file);
  if (now?.id !== id) return;
  try {
    await unlink(file);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newInfo(): LockInfo {
  return {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
}

/**
 * Removes the stale lock `stale` (whose owner is dead) from `file`, such that of any number of processes doing this
 * at once exactly one removes it and none removes anything else. The claimant is whoever creates the claim file
 * `<file>.stale-<id>` (exclusively, as above); only it may remove `file`, and only while `file` still holds `stale`:
 * nobody else can change `file` meanwhile (its owner is dead, others only create it when absent), and lock ids are
 * never reused, so a claim made late finds another id and removes nothing. A claim left by a claimant that died is
 * itself stale and removed the same way, one level deeper.
 */
async function removeStale(file: string, staleId: string, depth: number): Promise<void> {
  const claim = `${file}.stale-${staleId.slice(0, 24)}`;
  const me = newInfo();
  const until = Date.now() + TAKEOVER_WAIT_MS;
  for (;;) {
    if (await createExclusive(claim, me)) {
      try {
        await removeIfHeld(file, staleId);
      } finally {
        await removeIfHeld(claim, me.token!);
      }
      return;
    }
    const claimant = await readHolder(claim);
    if (claimant === null) continue; // the claim was just released: try again
    if (claimant.info && (claimant.info.hostname !== me.hostname || alive(claimant.info.pid))) {
      // Another process is taking the lock over right now; it finishes within milliseconds.
      if (Date.now() > until) throw lockedError(file, claimant.info, 'taking over a stale lock');
      await sleep(2 + Math.random() * 8);
      continue;
    }
    if (claimant.info === null || depth >= MAX_DEPTH) {
      throw new CutoverError('JOURNAL_LOCKED', `${file}: a take-over of a stale lock did not finish (${claim})`, {
        suggestions: [`Make sure no imdsv2 enforce/rollback runs on this journal, then remove ${claim} and retry.`],
      });
    }
    await removeStale(claim, claimant.id, depth + 1);
  }
}

function lockedError(lockFile: string, holder: LockInfo, doing = 'in use'): CutoverError {
  const journalFile = lockFile.replace(/\.lock(\.stale-.*)?$/, '');
  const where =
    holder.hostname === hostname() ? `process ${holder.pid}` : `process ${holder.pid} on host ${holder.hostname}`;
  return new CutoverError(
    'JOURNAL_LOCKED',
    `${journalFile} is ${doing} by ${where} (since ${holder.startedAt}); two enforcers cannot share one journal`,
    {
      suggestions: [
        'Wait for the other imdsv2 enforce/rollback to finish, or stop it.',
        `If that process is gone (another host crashed), remove ${lockFile} and retry.`,
      ],
    },
  );
}

/** A held single-writer lock; `release()` removes the lock file if it is still this one. */
export interface JournalLock {
  file: string;
  release(): Promise<void>;
}

/**
 * Takes the journal's single-writer lock `<journal>.lock`, a JSON file naming the owner (pid, host, start) with a
 * random token. Sound under races between processes of one host (tested: test/reliability/lock-race.test.ts):
 * - the lock file is created whole and exclusively (a temporary file hard-linked into place), so no reader ever sees
 *   an empty or half-written lock and two creators cannot both succeed;
 * - a lock whose owner no longer runs on this host (a crash, SIGKILL) is stale and taken over at once, so a resume
 *   right after a crash is not blocked; of many processes taking it over at the same moment one removes it (see
 *   `removeStale`), and all then race to create it afresh, which one wins;
 * - a lock held by a live process, or by another host (whose processes cannot be seen), is JOURNAL_LOCKED (exit 1).
 * Across hosts sharing a file system (NFS) the lock still excludes (link(2) is atomic on the server), but a lock left
 * by a crashed host is never taken over: the error names the file to remove by hand.
 */
export async function acquireJournalLock(journalFile: string): Promise<JournalLock> {
  const file = `${path.resolve(journalFile)}.lock`;
  const me = newInfo();
  const shown = `${journalFile}.lock`;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await createExclusive(file, me)) {
      return { file: shown, release: () => removeIfHeld(file, me.token!) };
    }
    const holder = await readHolder(file);
    if (holder === null) continue; // released meanwhile
    if (holder.info === null) {
      throw new CutoverError('JOURNAL_LOCKED', `${shown} exists but is not a lock this tool wrote`, {
        suggestions: [`Make sure no imdsv2 enforce/rollback runs on ${journalFile}, then remove ${shown}.`],
      });
    }
    if (holder.info.hostname !== me.hostname || alive(holder.info.pid)) {
      throw lockedError(shown, holder.info);
    }
    await removeStale(file, holder.id, 0);
  }
  throw new CutoverError('JOURNAL_LOCKED', `${journalFile}: could not take the lock ${shown} (it keeps reappearing)`, {
    suggestions: ['Another process is racing for the journal; make sure only one enforcer runs.'],
  });
}
