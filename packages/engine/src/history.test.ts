import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RecordingReporter } from '@imdsv2-cutover/core';
import { generateFleet, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { historyStamp, historyTrend, listHistory, writeHistory } from './history.js';

const tempDir = useTempDirs('imdsv2-history-');

function run(id: string, createdAt: string, enforcedShare: number) {
  const a = generateFleet({ count: 50, seed: 5, shares: { enforced: enforcedShare, 'imds-disabled': 0 } });
  return { ...a, id, createdAt };
}

describe('history', () => {
  it('names files by the UTC time of the assessment', () => {
    expect(historyStamp('2026-11-20T12:00:00.000Z')).toBe('20261120T120000Z');
    expect(historyStamp('2026-11-20T13:30:05+01:00')).toBe('20261120T123005Z');
  });

  it('writes dated files, replaces a rewrite of the same run, and keeps two runs of the same second apart', async () => {
    const dir = path.join(await tempDir(), 'history');
    const reporter = new RecordingReporter();
    const a = run('a', '2026-11-20T12:00:00.000Z', 0.1);
    const f1 = await writeHistory(dir, a, reporter);
    expect(path.basename(f1)).toBe('assessment-20261120T120000Z.json');
    expect(await writeHistory(dir, a, reporter)).toBe(f1);
    const b = await writeHistory(dir, { ...a, id: 'b' }, reporter);
    expect(path.basename(b)).toBe('assessment-20261120T120000Z-2.json');
    await writeHistory(dir, run('c', '2026-11-19T12:00:00.000Z', 0.1), reporter);
    await writeFile(path.join(dir, 'notes.txt'), 'not history');
    expect((await listHistory(dir)).map((f) => path.basename(f))).toEqual([
      'assessment-20261119T120000Z.json',
      'assessment-20261120T120000Z.json',
      'assessment-20261120T120000Z-2.json',
    ]);
    expect(JSON.parse(await readFile(f1, 'utf8')).id).toBe('a');
  });

  it('computes the enforced-share trend oldest first and skips damaged files with a warning', async () => {
    const dir = await tempDir();
    const reporter = new RecordingReporter();
    await writeHistory(dir, run('late', '2026-11-22T00:00:00.000Z', 0.6), reporter);
    await writeHistory(dir, run('early', '2026-11-20T00:00:00.000Z', 0.1), reporter);
    await writeFile(path.join(dir, 'assessment-20261121T000000Z.json'), '{"truncated":');
    const points = await historyTrend(dir, reporter);
    expect(points.map((p) => p.id)).toEqual(['early', 'late']);
    expect(points[1]!.sharePercent!).toBeGreaterThan(points[0]!.sharePercent!);
    expect(reporter.ofType('warning').map((w) => w.code)).toEqual(['HISTORY_UNREADABLE']);
    expect(await listHistory(path.join(dir, 'absent'))).toEqual([]);
  });
});
