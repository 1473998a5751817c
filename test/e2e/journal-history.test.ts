import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Assessment, JournalLine, JournalSummary, Plan } from '@imdsv2-cutover/core';
import { defaultPolicy, plan } from '@imdsv2-cutover/core';
import { runReport } from '@imdsv2-cutover/engine';
import { generateFleet, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { imdsv2 } from './assess-helpers.js';

/**
 * One history of one change: `imdsv2 status --json` and the report read the same journal through the same parser and
 * the same summary (core's `parseJournalText` and `summarizeJournal`), so they must show the same per-target histories
 * and the same counts, and refuse the same damaged journals with the same error.
 */
const tempDir = useTempDirs('imdsv2-journal-history-');
const silent = { emit: () => undefined };

function fixture(): { assessment: Assessment; plan: Plan } {
  const assessment = generateFleet({ count: 60, seed: 3 });
  return { assessment, plan: plan(assessment, defaultPolicy(), { tool: { name: 'imdsv2-cutover', version: 'test' } }) };
}

/** Apply, verify, guard trip and rollback of the first canary, then a re-apply; the second canary applied once. */
function journalLines(p: Plan): JournalLine[] {
  const [first, second] = p.waves[0]!.instances;
  const target = (e: typeof first) => ({
    kind: 'instance' as const,
    instanceId: e!.instanceId,
    accountId: e!.accountId,
    region: e!.region,
  });
  const prev = { httpTokens: 'optional' as const, httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' as const };
  const next = { ...prev, httpTokens: 'required' as const };
  let seq = 0;
  const at = (m: number) => new Date(Date.UTC(2026, 10, 20, 9, m)).toISOString();
  const r = (x: Record<string, unknown>) => ({ seq: seq++, at: at(seq), wave: 0, ...x }) as JournalLine;
  const t1 = target(first);
  const lines: JournalLine[] = [
    {
      type: 'header',
      schema: { name: 'imdsv2-cutover/journal', version: 1 },
      journalId: 'journal-history',
      createdAt: at(0),
      tool: { name: 'imdsv2-cutover', version: 'test' },
      planContentHash: p.contentHash,
    },
    r({ type: 'wave-start', dryRun: false }),
    r({ type: 'intent', action: 'apply', target: t1, previous: prev, desired: next }),
    r({ type: 'result', action: 'apply', target: t1, outcome: 'ok' }),
    r({ type: 'verified', target: t1, state: 'applied' }),
    r({ type: 'guard', tripped: true, threshold: 0, rejected: [{ instanceId: t1.instanceId, calls: 2 }] }),
    r({ type: 'intent', action: 'rollback', target: t1, previous: next, desired: prev }),
    r({ type: 'result', action: 'rollback', target: t1, outcome: 'ok' }),
    r({ type: 'wave-end', outcome: 'rolled-back', message: 'guard tripped' }),
    r({ type: 'wave-start', dryRun: false }),
    r({ type: 'intent', action: 'apply', target: t1, previous: prev, desired: next }),
    r({ type: 'result', action: 'apply', target: t1, outcome: 'ok' }),
  ];
  if (second) {
    const t2 = target(second);
    lines.push(
      r({ type: 'intent', action: 'apply', target: t2, previous: prev, desired: next }),
      r({ type: 'result', action: 'apply', target: t2, outcome: 'failed', error: { code: 'X', message: 'boom' } }),
    );
  }
  return lines;
}

const text = (lines: readonly JournalLine[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

async function both(dir: string, p: Plan, journalText: string) {
  const planFile = path.join(dir, 'plan.json');
  const assessmentFile = path.join(dir, 'assessment.json');
  const journalFile = path.join(dir, 'journal.jsonl');
  await writeFile(journalFile, journalText);
  const status = await imdsv2(['status', '--plan', planFile, '--journal', journalFile, '--json']);
  const report = await runReport({
    assessmentFile,
    planFile,
    journalFile,
    outDir: path.join(dir, 'report'),
    formats: ['md'],
    reporter: silent,
    toolVersion: 'test',
  }).then(
    (x) => ({ ok: true as const, summary: x.model.journal!.summary }),
    (e: unknown) => ({ ok: false as const, error: e as { code: string; exitCode: number; message: string } }),
  );
  return { status, report };
}

function histories(s: Pick<JournalSummary, 'targets' | 'waves'>) {
  return {
    targets: s.targets,
    waves: s.waves.map((w) => ({ wave: w.wave, state: w.state, counts: w.counts, events: w.events, runs: w.runs })),
  };
}

describe('status and the report tell one history of a journal', () => {
  it('apply, rollback, re-apply and a failure: identical per-target histories and counts', async () => {
    const dir = await tempDir();
    const { assessment, plan: p } = fixture();
    await writeFile(path.join(dir, 'plan.json'), JSON.stringify(p));
    await writeFile(path.join(dir, 'assessment.json'), JSON.stringify(assessment));
    const { status, report } = await both(dir, p, text(journalLines(p)));
    expect(status.code).toBe(0);
    expect(report.ok).toBe(true);
    const fromStatus = JSON.parse(status.stdout) as JournalSummary;
    const fromReport = (report as { summary: JournalSummary }).summary;
    expect(histories(fromStatus)).toEqual(histories(fromReport));
    const w0 = fromStatus.waves[0]!;
    expect(w0.state).toBe('open');
    expect(w0.events).toMatchObject({ applied: 2, rolledBack: 1, failed: 1 });
    expect(w0.counts).toMatchObject({ applied: 1, failed: 1 });
    expect(fromStatus.targets.find((t) => t.error !== null)?.error).toBe('X: boom');
  });

  it('a torn last line without a newline: both leave it out, say so, and agree', async () => {
    const dir = await tempDir();
    const { assessment, plan: p } = fixture();
    await writeFile(path.join(dir, 'plan.json'), JSON.stringify(p));
    await writeFile(path.join(dir, 'assessment.json'), JSON.stringify(assessment));
    const { status, report } = await both(dir, p, `${text(journalLines(p))}{"type":"result","seq":9`);
    expect(status.code).toBe(0);
    const fromStatus = JSON.parse(status.stdout) as JournalSummary;
    expect(fromStatus.tornTail).toMatchObject({ line: 15 });
    expect(report.ok && report.summary.tornTail).toEqual(fromStatus.tornTail);
    expect(histories(fromStatus)).toEqual(histories((report as { summary: JournalSummary }).summary));
  });

  it.each([
    ['a blank line', (t: string) => t.replace('\n', '\n\n'), 'JOURNAL_CORRUPT', /blank line/],
    [
      'a torn line that ends in a newline',
      (t: string) => `${t}{"type":"result","seq":9\n`,
      'JOURNAL_CORRUPT',
      /not JSON/,
    ],
    [
      'another plan’s journal',
      (t: string) => t.replace(/"planContentHash":"[0-9a-f]+"/, `"planContentHash":"${'f'.repeat(64)}"`),
      'BAD_INPUT',
      /belongs to the plan/,
    ],
  ])('%s: both refuse it, exit 2, with the same code', async (_what, damage, code, message) => {
    const dir = await tempDir();
    const { assessment, plan: p } = fixture();
    await writeFile(path.join(dir, 'plan.json'), JSON.stringify(p));
    await writeFile(path.join(dir, 'assessment.json'), JSON.stringify(assessment));
    const { status, report } = await both(dir, p, damage(text(journalLines(p))));
    expect(status.code).toBe(2);
    expect(JSON.parse(status.stdout)).toMatchObject({ error: { code } });
    expect(report.ok).toBe(false);
    expect(!report.ok && report.error).toMatchObject({ code, exitCode: 2 });
    expect(!report.ok && report.error.message).toMatch(message);
  });
});
