import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Assessment, Reporter, TrendPoint } from '@imdsv2-cutover/core';
import { isCutoverError, trend, trendPoint } from '@imdsv2-cutover/core';
import { readAssessmentFile, writeJsonAtomic } from './files.js';

/**
 * A history directory of dated assessments (`assess --history-dir DIR`): one file per run named
 * `assessment-<UTC yyyymmddThhmmssZ>.json` after the assessment's `createdAt`, so that `ls` sorts them by time.
 * Writing is atomic; writing the same assessment twice replaces its file; a different assessment created in the same
 * second gets a `-2`, `-3`... suffix.
 */

const NAME = /^assessment-(\d{8}T\d{6}Z)(?:-(\d+))?\.json$/;

/** `2026-11-20T12:00:00.000Z` -> `20261120T120000Z` (UTC, whatever offset `createdAt` was written with). */
export function historyStamp(createdAt: string): string {
  const iso = new Date(createdAt).toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}T${iso.slice(11, 19).replaceAll(':', '')}Z`;
}

/** The history files of `dir`, oldest first (an absent directory is an empty history). */
export async function listHistory(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const order = (n: string) => {
    const m = NAME.exec(n)!;
    return [m[1]!, Number(m[2] ?? 1)] as const;
  };
  return names
    .filter((n) => NAME.test(n))
    .sort((a, b) => {
      const [sa, na] = order(a);
      const [sb, nb] = order(b);
      return sa < sb ? -1 : sa > sb ? 1 : na - nb;
    })
    .map((n) => path.join(dir, n));
}

/** Saves `assessment` in the history directory and returns the file written. */
export async function writeHistory(dir: string, assessment: Assessment, reporter: Reporter): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = historyStamp(assessment.createdAt);
  const existing = new Set((await listHistory(dir)).map((f) => path.basename(f)));
  for (let n = 1; ; n++) {
    const name = `assessment-${stamp}${n === 1 ? '' : `-${n}`}.json`;
    const file = path.join(dir, name);
    if (existing.has(name)) {
      const other = await readAssessmentFile(file).catch(() => null);
      if (other?.id !== assessment.id) continue;
    }
    await writeJsonAtomic(file, assessment, { digestFile: true, compact: true });
    reporter.emit({ type: 'info', message: `saved the assessment in the history as ${file}` });
    return file;
  }
}

/**
 * The enforced-share trend over the history in `dir`, oldest first. A file that cannot be read or is not a valid
 * assessment is skipped with a warning: a damaged history file must not fail a scheduled run.
 */
export async function historyTrend(dir: string, reporter: Reporter): Promise<TrendPoint[]> {
  const points: TrendPoint[] = [];
  for (const file of await listHistory(dir)) {
    try {
      points.push(trendPoint(await readAssessmentFile(file)));
    } catch (e) {
      reporter.emit({
        type: 'warning',
        code: 'HISTORY_UNREADABLE',
        message: `skipped ${file} in the history: ${isCutoverError(e) ? e.message : String(e)}`,
      });
    }
  }
  return trend(points);
}
