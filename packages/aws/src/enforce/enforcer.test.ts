import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JournalRecord } from '@imdsv2-cutover/core';
import { CutoverError, RecordingReporter } from '@imdsv2-cutover/core';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { JournalWriter, readJournal } from '../journal/journal.js';
import { ACCOUNT, FakeFleet, ORIGINAL, REGION, TARGET, instanceId, makePlan } from './__fixtures__/fake-fleet.js';
import type { EnforceOptions } from './enforcer.js';
import { enforce } from './enforcer.js';
import { rollback } from './rollback-command.js';
import { status } from './status.js';

const tempDir = useTempDirs();
const tool = { name: 'imdsv2-cutover', version: '0.1.0' };
const noSleep = async () => undefined;
/** A local clock that sleeping advances: soaks and timeouts pass instantly. */
function fakeTime() {
  let t = Date.now();
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}
let fleet: FakeFleet;
afterEach(() => fleet?.restore());

async function setup(count: number, sizes: number[], planOptions: Parameters<typeof makePlan>[1] = {}) {
  fleet = new FakeFleet(count);
  const dir = await tempDir();
  const journalFile = path.join(dir, 'journal.jsonl');
  const plan = makePlan(sizes, planOptions);
  const base: EnforceOptions = {
    plan,
    wave: 0,
    journalFile,
    tool,
    clients: fleet.clients,
    ...fakeTime(),
    guardIntervalMs: 10_000,
  };
  return { plan, journalFile, base };
}

async function records(file: string): Promise<JournalRecord[]> {
  return (await readJournal(file)).records;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<CutoverError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CutoverError);
  expect((e as CutoverError).code).toBe(code);
  return e as CutoverError;
}

describe('enforce', () => {
  it('--dry-run proves permission with one DryRun per account and region and changes nothing', async () => {
    const { base, journalFile } = await setup(5, [5]);
    const r = await enforce({ ...base, dryRun: true });
    expect(r.outcome).toBe('dry-run');
    expect(r.preflight?.toApply).toBe(5);
    expect(r.preflight?.permissions).toEqual([
      { accountId: ACCOUNT, region: REGION, instanceId: instanceId(1), permitted: true },
    ]);
    expect(fleet.modifyCalls).toEqual([{ id: instanceId(1), dryRun: true }]);
    expect(existsSync(journalFile)).toBe(false);
    for (const i of fleet.instances.values()) expect(i.settings).toEqual(ORIGINAL);
  });

  it('applies a wave: intent with the exact previous settings before each call, result after, then verified', async () => {
    const { base, journalFile } = await setup(4, [3, 1]);
    fleet.instances.get(instanceId(2))!.settings.httpPutResponseHopLimit = 1;
    const r = await enforce(base);
    expect(r.applied.sort()).toEqual([instanceId(1), instanceId(2), instanceId(3)]);
    expect(r.verified).toHaveLength(3);
    expect(fleet.realModifies()).toBe(3);
    expect(fleet.instances.get(instanceId(1))!.settings).toEqual(TARGET);
    expect(fleet.instances.get(instanceId(4))!.settings).toEqual(ORIGINAL);
    const recs = await records(journalFile);
    for (let i = 1; i <= 3; i++) {
      const mine = recs.filter(
        (x) => 'target' in x && x.target.kind === 'instance' && x.target.instanceId === instanceId(i),
      );
      expect(mine.map((x) => x.type)).toEqual(['intent', 'result', 'verified']);
      expect(mine[0]).toMatchObject({ action: 'apply', previous: ORIGINAL, desired: TARGET });
    }
    expect(recs.at(-1)).toMatchObject({ type: 'wave-end', outcome: 'completed' });
  });

  it('refuses a plan edited after hashing, and a stale assessment unless forced', async () => {
    const { base, plan } = await setup(2, [2]);
    const edited = { ...plan, waves: plan.waves.map((w) => ({ ...w, soakSeconds: 1 })) };
    await expectCode(enforce({ ...base, plan: edited }), 'HASH_MISMATCH');
    const old = makePlan([2], { createdAt: '2020-01-01T00:00:00Z' });
    const e = await expectCode(enforce({ ...base, plan: old }), 'STALE_INPUT');
    expect(e.exitCode).toBe(2);
    expect(fleet.realModifies()).toBe(0);
    await expect(enforce({ ...base, plan: old, forceStale: true })).resolves.toMatchObject({ outcome: 'completed' });
  });

  it('reports drift and skips drifted instances by default; fail refuses before any change; adopt records live settings', async () => {
    const { base, journalFile } = await setup(3, [3]);
    const drifted = { httpTokens: 'optional' as const, httpPutResponseHopLimit: 3, httpEndpoint: 'enabled' as const };
    fleet.instances.get(instanceId(2))!.settings = { ...drifted };
    const e = await expectCode(enforce({ ...base, onDrift: 'fail' }), 'DRIFT');
    expect(e.message).toContain(instanceId(2));
    expect(fleet.realModifies()).toBe(0);

    const reporter = new RecordingReporter();
    const r = await enforce({ ...base, reporter });
    expect(r.skipped.map((s) => s.instanceId)).toEqual([instanceId(2)]);
    expect(reporter.ofType('warning').some((w) => w.code === 'DRIFT')).toBe(true);
    expect(fleet.instances.get(instanceId(2))!.settings).toEqual(drifted);

    const r2 = await enforce({ ...base, onDrift: 'adopt' });
    expect(r2.applied).toEqual([instanceId(2)]);
    const intent = (await records(journalFile)).find(
      (x) => x.type === 'intent' && x.target.kind === 'instance' && x.target.instanceId === instanceId(2),
    );
    expect(intent).toMatchObject({ previous: drifted });
  });

  it('refuses with ACCESS_DENIED when the DryRun is unauthorized', async () => {
    const { base } = await setup(2, [2]);
    fleet.denyDryRun = true;
    await expectCode(enforce(base), 'ACCESS_DENIED');
    expect(fleet.realModifies()).toBe(0);
  });

  it('records an instance terminated since the plan, without failing the wave', async () => {
    const { base } = await setup(3, [3]);
    fleet.instances.delete(instanceId(3));
    const r = await enforce(base);
    expect(r.terminated).toEqual([instanceId(3)]);
    expect(r.applied).toHaveLength(2);
  });

  it('an unconfirmed run changes nothing', async () => {
    const { base, journalFile } = await setup(2, [2]);
    await expectCode(enforce({ ...base, confirm: async () => false }), 'NOT_CONFIRMED');
    expect(fleet.realModifies()).toBe(0);
    expect(existsSync(journalFile)).toBe(false);
  });

  it('the guard rolls back the wave when MetadataNoTokenRejected appears, journals it and halts with exit 4', async () => {
    const { base, journalFile } = await setup(3, [3], { soakSeconds: 3600 });
    fleet.breakers.set(instanceId(2), 7);
    const e = await expectCode(enforce(base), 'GUARD_HALTED');
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain(`${instanceId(2)} (7 rejected IMDSv1 calls)`);
    for (const i of fleet.instances.values()) expect(i.settings).toEqual(ORIGINAL);
    const recs = await records(journalFile);
    expect(recs.find((x) => x.type === 'guard')).toMatchObject({
      tripped: true,
      rejected: [{ instanceId: instanceId(2), calls: 7 }],
    });
    expect(recs.filter((x) => x.type === 'result' && x.action === 'rollback' && x.outcome === 'ok')).toHaveLength(3);
    expect(recs.at(-1)).toMatchObject({ type: 'wave-end', outcome: 'rolled-back' });
    // --next will not move past a rolled-back wave.
    await expectCode(enforce({ ...base, wave: 'next' }), 'BAD_USAGE');
  });

  it('with rollback scope "instance" only the offender is rolled back; a threshold above its count does not trip', async () => {
    const { base } = await setup(3, [3], { soakSeconds: 60, rollback: 'instance' });
    fleet.breakers.set(instanceId(1), 2);
    await expectCode(enforce(base), 'GUARD_HALTED');
    expect(fleet.instances.get(instanceId(1))!.settings).toEqual(ORIGINAL);
    expect(fleet.instances.get(instanceId(2))!.settings).toEqual(TARGET);

    const tolerant = await setup(2, [2], { soakSeconds: 60, maxRejectedCalls: 5 });
    fleet.breakers.set(instanceId(1), 2);
    const r = await enforce(tolerant.base);
    expect(r.guard).toMatchObject({ tripped: false, rejected: [{ instanceId: instanceId(1), calls: 2 }] });
  });

  it('the guard watches earlier waves too', async () => {
    const { base } = await setup(4, [2, 2], { soakSeconds: 60 });
    await enforce(base);
    fleet.breakers.set(instanceId(1), 1);
    await expectCode(enforce({ ...base, wave: 'next' }), 'GUARD_HALTED');
    expect(fleet.instances.get(instanceId(1))!.settings).toEqual(ORIGINAL);
    expect(fleet.instances.get(instanceId(2))!.settings).toEqual(TARGET);
  });

  it('resumes after a crash: an open intent whose change was made is recorded, one whose change was not is re-applied', async () => {
    const { base, journalFile, plan } = await setup(3, [3]);
    // A run that died after journaling intents for 1 and 2 and changing only 1; its last line half-written.
    const at = new Date().toISOString();
    const header = {
      type: 'header',
      schema: { name: 'imdsv2-cutover/journal', version: 1 },
      journalId: 'j1',
      createdAt: at,
      tool,
      planContentHash: plan.contentHash,
    };
    const intent = (n: number, seq: number) => ({
      type: 'intent',
      seq,
      at,
      wave: 0,
      action: 'apply',
      target: { kind: 'instance', instanceId: instanceId(n), accountId: ACCOUNT, region: REGION },
      previous: ORIGINAL,
      desired: TARGET,
    });
    const lines = [header, { type: 'wave-start', seq: 0, at, wave: 0, dryRun: false }, intent(1, 1), intent(2, 2)];
    await writeFile(journalFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    await appendFile(journalFile, '{"type":"intent","seq":3,"at":"');
    fleet.instances.get(instanceId(1))!.settings = { ...TARGET };
    const reporter = new RecordingReporter();
    const r = await enforce({ ...base, wave: 'next', reporter });
    expect(reporter.ofType('warning').some((w) => w.code === 'JOURNAL_TORN_LINE')).toBe(true);
    expect(r.recovered).toEqual([instanceId(1)]);
    expect(r.applied.sort()).toEqual([instanceId(2), instanceId(3)]);
    expect(fleet.modifyCalls.filter((c) => !c.dryRun).map((c) => c.id)).not.toContain(instanceId(1));
    const text = await readFile(journalFile, 'utf8');
    expect(text.split('\n').every((l) => l === '' || JSON.parse(l))).toBeTruthy();
    // Rollback restores the originals from the first intents.
    const rb = await rollback({ journalFile, tool, scope: { all: true }, clients: fleet.clients, sleep: noSleep });
    expect(rb.rolledBack.sort()).toEqual([instanceId(1), instanceId(2), instanceId(3)]);
    for (const i of fleet.instances.values()) expect(i.settings).toEqual(ORIGINAL);
  });

  it('a failed change is journaled, the wave ends failed, and a re-run retries it', async () => {
    const { base } = await setup(2, [2]);
    fleet.failModify = (id) =>
      id === instanceId(2) ? Object.assign(new Error('boom'), { name: 'InternalError' }) : undefined;
    const e = await expectCode(enforce(base), 'INCOMPLETE');
    expect(e.message).toContain('1 failed');
    fleet.failModify = () => undefined;
    const r = await enforce({ ...base, wave: 'next' });
    expect(r.applied).toEqual([instanceId(2)]);
    expect(r.alreadyDone).toEqual([instanceId(1)]);
  });
});

describe('changes whose record was lost', () => {
  it('a change recorded as failed (its answer lost) that live state shows made is recovered, verified and guarded', async () => {
    const { base, journalFile, plan } = await setup(3, [3], { soakSeconds: 60 });
    const w = await JournalWriter.open({ file: journalFile, planContentHash: plan.contentHash, tool });
    const target = { kind: 'instance' as const, instanceId: instanceId(1), accountId: ACCOUNT, region: REGION };
    await w.append({ type: 'wave-start', wave: 0, dryRun: false });
    await w.append({ type: 'intent', wave: 0, action: 'apply', target, previous: ORIGINAL, desired: TARGET });
    await w.append({
      type: 'result',
      wave: 0,
      action: 'apply',
      target,
      outcome: 'failed',
      error: { code: 'ECONNRESET', message: 'socket hang up' },
    });
    await w.close();
    fleet.instances.get(instanceId(1))!.settings = { ...TARGET };
    const r = await enforce(base);
    expect(r.recovered).toEqual([instanceId(1)]);
    expect(r.skipped).toEqual([]);
    expect(r.verified.sort()).toEqual([instanceId(1), instanceId(2), instanceId(3)]);
    expect(r.guard?.watched).toBe(3);
    expect(fleet.modifyCalls.filter((c) => !c.dryRun).map((c) => c.id)).not.toContain(instanceId(1));
  });

  it('an instance at the target with no record is "changed without record", previous from the plan; rollback restores it', async () => {
    const { base, journalFile } = await setup(3, [3], { soakSeconds: 60 });
    fleet.instances.get(instanceId(2))!.settings = { ...TARGET };
    const reporter = new RecordingReporter();
    const r = await enforce({ ...base, onDrift: 'fail', reporter });
    expect(r.changedWithoutRecord).toEqual([{ instanceId: instanceId(2), previous: ORIGINAL }]);
    expect(r.skipped).toEqual([]);
    expect(r.preflight?.changedWithoutRecord).toBe(1);
    expect(r.guard?.watched).toBe(3);
    expect(reporter.ofType('warning').filter((x) => x.code === 'CHANGED_WITHOUT_RECORD')).toHaveLength(1);
    const recs = (await records(journalFile)).filter(
      (x) => 'target' in x && x.target.kind === 'instance' && x.target.instanceId === instanceId(2),
    );
    expect(recs.map((x) => x.type)).toEqual(['intent', 'result', 'verified']);
    expect(recs[0]).toMatchObject({ previous: ORIGINAL, desired: TARGET });
    await rollback({ journalFile, tool, scope: { all: true }, clients: fleet.clients, sleep: noSleep });
    for (const i of fleet.instances.values()) expect(i.settings).toEqual(ORIGINAL);
  });

  it('a Modify whose answer is lost after EC2 made the change is read back and recorded applied, not failed', async () => {
    const { base, journalFile } = await setup(2, [2]);
    const lost = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    fleet.applyThenFail = (id) => (id === instanceId(2) ? lost : undefined);
    const r = await enforce(base);
    expect(r.applied.sort()).toEqual([instanceId(1), instanceId(2)]);
    expect(r.failed).toEqual([]);
    const res = (await records(journalFile)).find(
      (x) => x.type === 'result' && x.target.kind === 'instance' && x.target.instanceId === instanceId(2),
    );
    expect(res).toMatchObject({ outcome: 'ok', note: expect.stringContaining('answer was lost (ECONNRESET)') });
  });
});

describe('rollback and status', () => {
  it('rollback is idempotent, reports terminated instances, and status counts per wave', async () => {
    const { base, journalFile, plan } = await setup(4, [2, 2]);
    await enforce(base);
    await enforce({ ...base, wave: 1 });
    fleet.instances.delete(instanceId(4));
    let s = await status({ plan, journalFile });
    expect(s.waves.map((w) => [w.state, w.counts.verified])).toEqual([
      ['completed', 2],
      ['completed', 2],
    ]);

    const r1 = await rollback({ journalFile, tool, scope: { wave: 1 }, clients: fleet.clients, sleep: noSleep });
    expect(r1.rolledBack).toEqual([instanceId(3)]);
    expect(r1.terminated).toEqual([instanceId(4)]);
    const r2 = await rollback({
      journalFile,
      tool,
      scope: { instances: [instanceId(3), 'i-00000000000000fff'] },
      clients: fleet.clients,
      sleep: noSleep,
    });
    expect(r2.rolledBack).toEqual([]);
    expect(r2.alreadyThere).toEqual([instanceId(3)]);
    expect(r2.unknown).toEqual(['i-00000000000000fff']);
    expect(fleet.instances.get(instanceId(1))!.settings).toEqual(TARGET);

    s = await status({ plan, journalFile, live: true, clients: fleet.clients });
    expect(s.waves[1]).toMatchObject({
      state: 'rolled-back',
      counts: { rolledBack: 1, terminated: 1 },
      live: { atPlanned: 1, gone: 1 },
    });
    expect(s.waves[0]).toMatchObject({ counts: { verified: 2 }, live: { atTarget: 2 } });
  });
});
