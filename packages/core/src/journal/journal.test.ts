import { describe, expect, it } from 'vitest';
import type { JournalHeader, JournalRecord } from '../schemas/journal.js';
import type { Plan } from '../schemas/plan.js';
import { parseJournalText } from './parse.js';
import { countWave, replayJournal, targetKey } from './replay.js';
import { encodeSealSlot, journalBytesHash, makeSeal, readSealText, verifyJournalSeal } from './seal.js';
import { assertJournalOfPlan, summarizeJournal } from './summary.js';

const target = {
  kind: 'instance' as const,
  instanceId: 'i-0000000000000001',
  accountId: '111111111111',
  region: 'us-east-1',
};
const a = { httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' } as const;
const b = { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' } as const;
const at = '2026-01-01T00:00:00.000Z';
const header: JournalHeader = {
  type: 'header',
  schema: { name: 'imdsv2-cutover/journal', version: 1 },
  journalId: 'j-1',
  createdAt: at,
  tool: { name: 'imdsv2-cutover', version: 'test' },
  planContentHash: 'a'.repeat(64),
};
const text = (lines: readonly unknown[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

/** apply, verify, roll back, apply again: one target's whole life. */
const applyRollbackReapply: JournalRecord[] = [
  { type: 'wave-start', seq: 0, at, wave: 0, dryRun: false },
  { type: 'intent', seq: 1, at, wave: 0, action: 'apply', target, previous: a, desired: b },
  { type: 'result', seq: 2, at, wave: 0, action: 'apply', target, outcome: 'ok' },
  { type: 'verified', seq: 3, at, wave: 0, target, state: 'applied' },
  { type: 'guard', seq: 4, at, wave: 0, tripped: true, rejected: [{ instanceId: target.instanceId, calls: 3 }] },
  { type: 'intent', seq: 5, at, wave: 0, action: 'rollback', target, previous: b, desired: a },
  { type: 'result', seq: 6, at, wave: 0, action: 'rollback', target, outcome: 'ok' },
  { type: 'wave-end', seq: 7, at, wave: 0, outcome: 'rolled-back' },
  { type: 'wave-start', seq: 8, at, wave: 0, dryRun: false },
  { type: 'intent', seq: 9, at, wave: 0, action: 'apply', target, previous: a, desired: b },
  { type: 'result', seq: 10, at, wave: 0, action: 'apply', target, outcome: 'ok' },
  { type: 'verified', seq: 11, at, wave: 0, target, state: 'applied' },
  { type: 'wave-end', seq: 12, at, wave: 0, outcome: 'completed' },
];

describe('parseJournalText: one set of rules for every reader', () => {
  const good = text([header, ...applyRollbackReapply]);

  it('reads every committed line and how many bytes a writer keeps', () => {
    const p = parseJournalText(good, 'j.jsonl');
    expect(p.header?.journalId).toBe('j-1');
    expect(p.records).toHaveLength(applyRollbackReapply.length);
    expect(p.goodBytes).toBe(Buffer.byteLength(good));
    expect(p.tornTail).toBeNull();
  });

  it('leaves out text after the last newline (a torn write), whatever it is, and says where', () => {
    for (const tail of ['{"type":"wave-e', JSON.stringify(applyRollbackReapply[0]), 'garbage']) {
      const p = parseJournalText(good + tail, 'j.jsonl');
      expect(p.records).toHaveLength(applyRollbackReapply.length);
      expect(p.goodBytes).toBe(Buffer.byteLength(good));
      expect(p.tornTail).toEqual({ line: applyRollbackReapply.length + 2, bytes: Buffer.byteLength(tail) });
    }
  });

  it('refuses a damaged line that ends in a newline, naming file, line and field', () => {
    expect(() => parseJournalText(`${good}{"type":"wave-e\n`, 'j.jsonl')).toThrow(
      /j\.jsonl:15: not a valid journal line \(not JSON/,
    );
    const bad = good.replace('"outcome":"completed"', '"outcome":"done"');
    expect(() => parseJournalText(bad, 'j.jsonl')).toThrow(/j\.jsonl:14: .*outcome/);
    const badId = good.replace('"instanceId":"i-0000000000000001"', '"instanceId":"x"');
    expect(() => parseJournalText(badId, 'j.jsonl')).toThrow(/j\.jsonl:3: .*target\.instanceId/);
  });

  it('refuses a blank line anywhere: the writer never writes one', () => {
    const lines = good.split('\n');
    lines.splice(3, 0, '');
    expect(() => parseJournalText(lines.join('\n'), 'j.jsonl')).toThrow(/j\.jsonl:4: .*blank line/);
    expect(() => parseJournalText(`${good}\n`, 'j.jsonl')).toThrow(/j\.jsonl:15: .*blank line/);
  });

  it('needs the header first and only first', () => {
    expect(() => parseJournalText(text(applyRollbackReapply), 'j.jsonl')).toThrow(/j\.jsonl:1: .*header/);
    expect(() => parseJournalText(text([header, header]), 'j.jsonl')).toThrow(/j\.jsonl:2: .*second header/);
    expect(parseJournalText('', 'j.jsonl').header).toBeNull();
    expect(parseJournalText('{"type":"hea', 'j.jsonl')).toMatchObject({ header: null, goodBytes: 0 });
  });

  it('errors are JOURNAL_CORRUPT, exit 2', () => {
    try {
      parseJournalText('x\n', 'j.jsonl');
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'JOURNAL_CORRUPT', exitCode: 2 });
    }
  });
});

describe('replayJournal', () => {
  it('keeps the earliest previous as the original and flags an intent without a result', () => {
    const s = replayJournal(applyRollbackReapply.slice(0, 10));
    const t = s.targets.get(targetKey(target))!;
    expect(t.original).toEqual(a);
    expect(t.phase).toBe('intent-pending');
    expect(s.waves.get('0')).toMatchObject({ state: 'open', runs: 2 });
    expect(countWave(s, [targetKey(target), 'instance:x'])).toMatchObject({ inFlight: 1, pending: 1, total: 2 });
  });

  it('records every record that touched a target, in order', () => {
    const t = replayJournal(applyRollbackReapply).targets.get(targetKey(target))!;
    expect(t.phase).toBe('verified');
    expect(t.events.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'apply:intent',
      'apply:ok',
      'verify:applied',
      'rollback:intent',
      'rollback:ok',
      'apply:intent',
      'apply:ok',
      'verify:applied',
    ]);
  });
});

describe('summarizeJournal', () => {
  const parsed = parseJournalText(text([header, ...applyRollbackReapply]), 'j.jsonl');

  it('apply, rollback, re-apply: now verified, and the history counts 2 applied, 1 rolled back', () => {
    const s = summarizeJournal(parsed);
    expect(s.waves).toHaveLength(1);
    const [w] = s.waves;
    expect(w).toMatchObject({ wave: 0, state: 'completed', runs: 2, guardTrips: 1 });
    expect(w!.counts).toMatchObject({ total: 1, verified: 1, rolledBack: 0 });
    expect(w!.events).toEqual({ applied: 2, rolledBack: 1, failed: 0, verified: 2 });
    expect(s.targets[0]!.events).toHaveLength(8);
  });

  it('with a plan, counts the plan’s targets (pending = never touched) and refuses another plan’s journal', () => {
    const entry = (instanceId: string) => ({ instanceId, accountId: '111111111111', region: 'us-east-1' });
    const plan = {
      contentHash: 'a'.repeat(64),
      waves: [{ index: 0, name: 'canary', instances: [entry(target.instanceId), entry('i-0000000000000002')] }],
      lockIn: [],
    } as unknown as Plan;
    const s = summarizeJournal(parsed, plan);
    expect(s.waves[0]).toMatchObject({ name: 'canary', counts: { total: 2, pending: 1, verified: 1 } });
    expect(() => assertJournalOfPlan(parsed, { ...plan, contentHash: 'b'.repeat(64) }, 'j.jsonl')).toThrow(
      /j\.jsonl belongs to the plan with hash a{64}, not to this plan/,
    );
  });
});

describe('verifyJournalSeal: a journal cut short is refused, a writer that stopped mid-write is not', () => {
  const v2 = { ...header, schema: { name: 'imdsv2-cutover/journal' as const, version: 2 as const } };
  const full = Buffer.from(text([v2, ...applyRollbackReapply]));
  const sealAt = (bytes: number, lastSeq: number, n = 0) =>
    makeSeal({
      journalId: 'j-1',
      planContentHash: header.planContentHash,
      n,
      bytes,
      lastSeq,
      sha256: journalBytesHash(full.subarray(0, bytes)),
      at,
      open: false,
    });
  const sealText = (...seals: ReturnType<typeof sealAt>[]) => seals.map(encodeSealSlot).join('');
  const check = (bytes: Buffer | null, seal: string | null) =>
    verifyJournalSeal(bytes, bytes ? parseJournalText(bytes.toString('utf8'), 'j.jsonl') : null, seal, 'j.jsonl');

  it.each([
    ['the whole sealed journal', full.length, 'sealed'],
    ['more than sealed: lines committed after the last seal, and a torn tail', full.length + 5, 'sealed'],
  ])('accepts %s', (_what, len, status) => {
    const bytes = Buffer.concat([full, Buffer.from('{"typ')]).subarray(0, len);
    expect(check(bytes, sealText(sealAt(full.length, 12))).status).toBe(status);
  });

  it.each([
    ['emptied', 0],
    ['cut in the header', 10],
    ['cut a byte short', full.length - 1],
  ])('refuses a journal %s (JOURNAL_TRUNCATED, exit 2)', (_what, len) => {
    expect(() => check(full.subarray(0, len), sealText(sealAt(full.length, 12)))).toThrow(
      expect.objectContaining({ code: 'JOURNAL_TRUNCATED', exitCode: 2 }),
    );
  });

  it('refuses a missing journal whose seal exists, and a version-2 journal with records and no seal', () => {
    expect(() => check(null, sealText(sealAt(full.length, 12)))).toThrow(/cut short/);
    expect(() => check(full, null)).toThrow(/seal j\.jsonl\.seal is missing/);
    expect(() => check(full, 'garbage')).toThrow(/seal j\.jsonl\.seal is damaged/);
  });

  it('reads a version-1 journal without a seal as unchecked, and nothing at all as new', () => {
    expect(check(Buffer.from(text([header, ...applyRollbackReapply])), null).status).toBe('unsealed-v1');
    expect(check(null, null).status).toBe('new');
    expect(check(Buffer.from(text([v2])), null).status).toBe('new');
  });

  it('the newest valid slot wins; a torn slot is passed over', () => {
    const older = sealAt(100, 1, 4);
    const newer = sealAt(full.length, 12, 5);
    expect(readSealText(sealText(older, newer)).seal?.n).toBe(5);
    const torn = encodeSealSlot(newer).replace('"open":false', '"open":true ');
    expect(readSealText(encodeSealSlot(older) + torn).seal?.n).toBe(4);
  });

  it('records of a version-2 journal must be numbered 0, 1, 2, ...', () => {
    const gap = text([v2, ...applyRollbackReapply.filter((r) => r.seq !== 4)]);
    expect(() => parseJournalText(gap, 'j.jsonl')).toThrow(/j\.jsonl:6: .*seq 5 where 4 was expected/);
  });
});

describe('lock-in targets of the launch side', () => {
  const group = {
    kind: 'auto-scaling-group' as const,
    autoScalingGroupName: 'batch-asg',
    accountId: '111111111111',
    region: 'us-east-1',
  };
  const canary = {
    kind: 'canary' as const,
    canaryId: 'imdsv2-canary-1',
    launchTemplateId: 'lt-0a',
    accountId: '111111111111',
    region: 'us-east-1',
  };
  const lc = { launchConfigurationName: 'batch-lc', launchTemplateId: null };
  const lt = { launchConfigurationName: null, launchTemplateId: 'lt-0b' };
  const records: JournalRecord[] = [
    { type: 'wave-start', seq: 0, at, wave: 'lockin', dryRun: false },
    { type: 'intent', seq: 1, at, wave: 'lockin', action: 'apply', target: group, previous: lc, desired: lt },
    { type: 'result', seq: 2, at, wave: 'lockin', action: 'apply', target: group, outcome: 'ok' },
    {
      type: 'intent',
      seq: 3,
      at,
      wave: 'lockin',
      action: 'apply',
      target: canary,
      previous: { liveCanaries: 0 },
      desired: {},
    },
    {
      type: 'result',
      seq: 4,
      at,
      wave: 'lockin',
      action: 'apply',
      target: canary,
      outcome: 'ok',
      detail: { instanceId: 'i-1' },
    },
  ];

  it('keys groups and canaries apart, and keeps a canary whose termination is not recorded open', () => {
    const state = replayJournal(records);
    expect(targetKey(group)).toBe('auto-scaling-group:111111111111/us-east-1/batch-asg');
    expect(targetKey(canary)).toBe('canary:111111111111/us-east-1/imdsv2-canary-1');
    expect(state.targets.get(targetKey(group))).toMatchObject({ phase: 'applied', original: lc });
    expect(state.targets.get(targetKey(canary))).toMatchObject({ phase: 'applied', original: { liveCanaries: 0 } });
  });

  it('counts the group as a lock-in change, and the canary not at all', () => {
    const s = summarizeJournal(parseJournalText(text([header, ...records]), 'j.jsonl'));
    const lockin = s.waves.find((w) => w.wave === 'lockin')!;
    expect(lockin.events).toEqual({ applied: 1, rolledBack: 0, failed: 0, verified: 0 });
    expect(lockin.counts.total).toBe(1);
    expect(s.targets.map((t) => t.target.kind).sort()).toEqual(['auto-scaling-group', 'canary']);
  });
});
