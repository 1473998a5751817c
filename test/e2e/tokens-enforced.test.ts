import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import type { JournalRecord, Plan, ScenarioInput } from '@imdsv2-cutover/core';
import { DEFAULT_POLICY_YAML, Scenario } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { useCleanup, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT,
  NOW,
  REGION,
  cliEnv,
  instanceIds,
  planFor,
  runCli,
  settingsOf,
  writePlan,
} from './enforce-helpers.js';

/**
 * HttpTokensEnforced (EC2 User Guide: while it is enabled, setting an instance's HttpTokens to optional fails with
 * UnsupportedOperation) against the simulator, which refuses exactly that. Every rollback path either lifts it first,
 * journaled, and enables it again, or stops before touching any instance with a message naming the command; lock-in
 * enables it last, only once every wave completed clean and the user confirmed it.
 */
const tempDir = useTempDirs('imdsv2-enforced-');
const defer = useCleanup();

/** One account and region: `count` quiet instances, `v1` IMDSv1 callers; HttpTokensEnforced as `enforced` says. */
function scenario(count: number, v1: number, enforced: boolean): Scenario {
  const groups: ScenarioInput['instanceGroups'] = [
    { name: 'web', account: ACCOUNT, region: REGION, count, tags: { Environment: 'dev' }, launchedAt: '-30d' },
  ];
  if (v1 > 0) {
    groups.push({
      name: 'legacy',
      account: ACCOUNT,
      region: REGION,
      count: v1,
      launchedAt: '-30d',
      callers: [{ process: { comm: 'python2' }, imds: 'v1', callsPerHour: 120 }],
    });
  }
  return Scenario.parse({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'tokens-enforced-e2e',
    seed: 23,
    now: NOW,
    emitZeroDatapoints: true,
    regions: [REGION],
    accounts: [
      {
        id: ACCOUNT,
        name: 'test',
        ...(enforced ? { defaults: { [REGION]: { httpTokensEnforced: 'enabled' as const } } } : {}),
      },
    ],
    instanceGroups: groups,
  } satisfies ScenarioInput);
}

const defaults = (sim: Simulator) => ({ ...sim.fleet.model.region(ACCOUNT, REGION)!.defaults });
const allSettings = (sim: Simulator) => new Map(instanceIds(sim).map((id) => [id, settingsOf(sim, id)]));
const notes = (records: JournalRecord[]) => records.flatMap((r) => (r.type === 'result' && r.note ? [r.note] : []));

async function setup(sim: Simulator) {
  defer(() => sim.stop());
  const dir = await tempDir();
  const journal = path.join(dir, 'journal.jsonl');
  const cli = (...args: string[]) => runCli([...args, '--endpoint-url', sim.url], cliEnv(sim));
  const local = (...args: string[]) => runCli(args, cliEnv(sim));
  return { dir, journal, cli, local };
}

describe('HttpTokensEnforced', () => {
  it('a wave whose guard rollback it would block: refused before any change without the flag; with it, a guard trip lifts it, rolls back and enables it again', async () => {
    const sim = await startSimulator({ scenario: scenario(2, 1, true), clock: { speed: 600 } });
    const { dir, journal, cli } = await setup(sim);
    const ids = instanceIds(sim);
    const planFile = path.join(dir, 'plan.json');
    await writePlan(planFile, planFor(sim, [ids], { soakSeconds: 3600, rollback: 'wave' }));
    const before = allSettings(sim);
    const enforce = (...extra: string[]) =>
      cli(
        'enforce',
        '--plan',
        planFile,
        '--wave',
        '0',
        '--yes',
        '--journal',
        journal,
        '--guard-interval',
        '200ms',
        ...extra,
      );

    const refused = await enforce();
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`HttpTokensEnforced is enabled in ${ACCOUNT} ${REGION}`);
    expect(refused.stderr).toContain('--lift-http-tokens-enforced');
    expect(refused.stderr).toMatch(/Nothing was changed/);
    expect(allSettings(sim)).toEqual(before);
    await expect(readFile(journal)).rejects.toThrow(/ENOENT/);

    const tripped = await enforce('--lift-http-tokens-enforced');
    expect(tripped.code, tripped.stderr).toBe(4);
    expect(tripped.stderr).toMatch(/HttpTokensEnforced lifted for the rollback and enabled again/);
    // Every instance exactly as before, and the account default as before.
    expect(allSettings(sim)).toEqual(before);
    expect(defaults(sim).httpTokensEnforced).toBe('enabled');
    // Journal: lift, then the rollbacks, then enabled again, all before the wave's end.
    const records = (await readJournal(journal)).records;
    const seqOf = (pred: (r: JournalRecord) => boolean) => records.findIndex(pred);
    const lift = seqOf((r) => r.type === 'result' && r.note?.startsWith('HttpTokensEnforced lifted') === true);
    const again = seqOf((r) => r.type === 'result' && r.note?.startsWith('HttpTokensEnforced enabled again') === true);
    const rollbacks = records.flatMap((r, i) =>
      r.type === 'result' && r.action === 'rollback' && r.target.kind === 'instance' ? [i] : [],
    );
    expect(rollbacks).toHaveLength(3);
    expect(lift).toBeGreaterThan(-1);
    expect(lift).toBeLessThan(Math.min(...rollbacks));
    expect(again).toBeGreaterThan(Math.max(...rollbacks));
    expect(records.at(-1)).toMatchObject({ type: 'wave-end', outcome: 'rolled-back' });
  }, 120_000);

  it('enabled during the soak without the flag: the guard stops before touching any instance and names the rollback that lifts it', async () => {
    const sim = await startSimulator({ scenario: scenario(1, 1, false), clock: { speed: 600 } });
    const { dir, journal, cli } = await setup(sim);
    const ids = instanceIds(sim);
    const planFile = path.join(dir, 'plan.json');
    await writePlan(planFile, planFor(sim, [ids], { soakSeconds: 3600, rollback: 'wave' }));
    const before = allSettings(sim);
    // Someone enables HttpTokensEnforced once the wave is applied.
    const flip = setInterval(() => {
      if (ids.every((id) => settingsOf(sim, id).httpTokens === 'required')) {
        sim.fleet.model.region(ACCOUNT, REGION)!.defaults.httpTokensEnforced = 'enabled';
        clearInterval(flip);
      }
    }, 2);
    defer(() => clearInterval(flip));
    const r = await cli(
      'enforce',
      '--plan',
      planFile,
      '--wave',
      '0',
      '--yes',
      '--journal',
      journal,
      '--guard-interval',
      '200ms',
    );
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/No instance was rolled back/);
    const command = `imdsv2 rollback --journal ${journal} --wave 0 --lift-http-tokens-enforced`;
    expect(r.stderr).toContain(command);
    // Not half-rolled-back: every instance still has the wave's settings.
    for (const id of ids) expect(settingsOf(sim, id).httpTokens).toBe('required');
    const records = (await readJournal(journal)).records;
    expect(records.some((x) => x.type === 'intent' && x.action === 'rollback')).toBe(false);
    expect(records.at(-1)).toMatchObject({ type: 'wave-end', outcome: 'halted' });

    // The named command does it, and leaves HttpTokensEnforced as it found it.
    const rb = await cli('rollback', '--journal', journal, '--wave', '0', '--lift-http-tokens-enforced', '--json');
    expect(rb.code, rb.stderr).toBe(0);
    expect(allSettings(sim)).toEqual(before);
    expect(defaults(sim).httpTokensEnforced).toBe('enabled');
  }, 120_000);

  it('lock-in enables it last, once every wave completed clean and confirmed; rollback --wave needs the flag; rollback --all restores everything', async () => {
    const sim = await startSimulator({ scenario: scenario(4, 0, false), clock: { speed: 600 } });
    const { dir, journal, cli, local } = await setup(sim);
    const before = allSettings(sim);
    const defaultsBefore = defaults(sim);

    const a = await cli('assess', '--regions', REGION, '--out', dir);
    expect(a.code, a.stderr).toBe(0);
    const policyFile = path.join(dir, 'policy.yaml');
    await writeFile(
      policyFile,
      DEFAULT_POLICY_YAML.replace('  httpTokensEnforced: false', '  httpTokensEnforced: true'),
    );
    const planFile = path.join(dir, 'plan.json');
    const p = await local('plan', '-a', path.join(dir, 'assessment.json'), '-p', policyFile, '-o', planFile);
    expect(p.code, p.stderr).toBe(0);
    const plan = JSON.parse(await readFile(planFile, 'utf8')) as Plan;
    const enforcedId = `http-tokens-enforced:${ACCOUNT}:${REGION}`;
    const step = plan.lockIn.find((s) => s.id === enforcedId)!;
    // The plan says what it costs.
    expect(step.notes.join('\n')).toMatch(/refuses to set any instance in us-east-1 back to HttpTokens=optional/);
    expect(step.notes.join('\n')).toMatch(/every launch that resolves to IMDSv1 fails/);
    expect(plan.waves.flatMap((w) => w.instances)).toHaveLength(4);

    const lockin = async (...extra: string[]) => {
      const r = await cli(
        'enforce',
        '--plan',
        planFile,
        '--wave',
        'lockin',
        '--yes',
        '--journal',
        journal,
        '--json',
        ...extra,
      );
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { lockIn: { steps: { id: string; outcome: string; message: string }[] } };
      return new Map(out.lockIn.steps.map((s) => [s.id, s]));
    };
    // Before any wave: confirmed, but deferred (and named why); the rest of lock-in runs.
    const early = await lockin('--confirm-http-tokens-enforced');
    expect(early.get(enforcedId)).toMatchObject({ outcome: 'deferred', message: expect.stringMatching(/wave 0/) });
    expect(early.get(`account-defaults:${ACCOUNT}:${REGION}`)?.outcome).toBe('applied');
    expect(defaults(sim).httpTokensEnforced).toBeUndefined();

    for (let i = 0; i < plan.waves.length; i++) {
      const w = await cli(
        'enforce',
        '--plan',
        planFile,
        '--next',
        '--yes',
        '--journal',
        journal,
        '--soak',
        '10m',
        '--guard-interval',
        '200ms',
      );
      expect(w.code, w.stderr).toBe(0);
    }
    // Every wave done, but not confirmed: nothing enabled.
    expect((await lockin()).get(enforcedId)?.outcome).toBe('needs-confirmation');
    expect(defaults(sim).httpTokensEnforced).toBeUndefined();
    const done = await lockin('--confirm-http-tokens-enforced');
    expect(done.get(enforcedId)?.outcome).toBe('applied');
    expect(defaults(sim).httpTokensEnforced).toBe('enabled');
    // Last: no lock-in intent after it.
    const lockInIntents = (await readJournal(journal)).records.filter(
      (r) => r.type === 'intent' && r.wave === 'lockin',
    );
    expect(lockInIntents.at(-1)).toMatchObject({
      target: { kind: 'account-defaults' },
      desired: { httpTokensEnforced: 'enabled' },
    });

    // rollback --wave 0 must lift it: refused without the flag, nothing changed.
    const wave0 = plan.waves[0]!.instances.map((e) => e.instanceId);
    const afterLockIn = allSettings(sim);
    const refused = await cli('rollback', '--journal', journal, '--wave', '0');
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('--lift-http-tokens-enforced');
    expect(allSettings(sim)).toEqual(afterLockIn);
    const rb0 = await cli('rollback', '--journal', journal, '--wave', '0', '--lift-http-tokens-enforced', '--json');
    expect(rb0.code, rb0.stderr).toBe(0);
    for (const id of wave0) expect(settingsOf(sim, id)).toEqual(before.get(id));
    expect(defaults(sim).httpTokensEnforced).toBe('enabled');
    expect(notes((await readJournal(journal)).records).filter((n) => n.startsWith('HttpTokensEnforced'))).toHaveLength(
      2,
    );

    // rollback --all undoes lock-in too, so it lifts HttpTokensEnforced without being asked: everything as before.
    const all = await cli('rollback', '--journal', journal, '--all', '--json');
    expect(all.code, all.stderr).toBe(0);
    expect(allSettings(sim)).toEqual(before);
    expect(defaults(sim)).toEqual(defaultsBefore);
  }, 300_000);
});
