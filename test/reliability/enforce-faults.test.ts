import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import { bucketSpecs, startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT,
  REGION,
  TARGET,
  cliEnv,
  fleetScenario,
  instanceIds,
  planFor,
  runCli,
  settingsOf,
  writePlan,
} from '../e2e/enforce-helpers.js';
import { injected, tally } from './tally.js';

const tempDir = useTempDirs('imdsv2-rel-enforce-');
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function setup(count: number, soakSeconds: number, throttling = false) {
  sim = await startSimulator({ scenario: fleetScenario(count), clock: { speed: 60 }, applyDelayMs: 2000, throttling });
  const dir = await tempDir();
  const plan = path.join(dir, 'plan.json');
  const journal = path.join(dir, 'journal.jsonl');
  const ids = instanceIds(sim);
  await writePlan(plan, planFor(sim, [ids], { soakSeconds }));
  const args = [
    ...['enforce', '--plan', plan, '--wave', '0', '--yes', '--journal', journal, '--endpoint-url', sim.url],
    ...['--guard-interval', '1s', '--json'],
  ];
  return { ids, plan, journal, args };
}

/** Lines of output that carry an AWS error code or message: each must say where (account, region) and which call. */
function unnamedErrorLines(text: string, marker: RegExp): string[] {
  return text
    .split('\n')
    .filter((l) => marker.test(l))
    .filter((l) => !(l.includes(`account ${ACCOUNT}`) && l.includes(`region ${REGION}`) && /ec2:[A-Z]\w+/.test(l)));
}

describe('enforce when AWS answers badly', () => {
  it('60% of Modify answers lost after the change was made: every changed instance is recorded applied, verified and guarded', async () => {
    const { ids, journal, args } = await setup(130, 120);
    // 90% per attempt, so that with the SDK's 8 attempts some calls end in an error although EC2 made the change.
    sim!.setFaults({ dropAnswerRate: 0.9, operations: ['ec2.ModifyInstanceMetadataOptions'], seed: 11 });
    const r = await runCli([...args, '--modify-bucket', '1000/1000', '--concurrency', '25'], cliEnv(sim!));
    const snap = sim!.counters.snapshot();
    sim!.setFaults({});
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      outcome: string;
      applied: string[];
      failed: unknown[];
      skipped: unknown[];
      verified: string[];
      guard: { watched: number };
    };
    expect(out.failed).toEqual([]);
    expect(out.skipped).toEqual([]);
    expect(out.applied).toHaveLength(130);
    expect(out.verified).toHaveLength(130);
    expect(out.guard.watched).toBe(130);
    expect(ids.filter((id) => settingsOf(sim!, id).httpTokens !== TARGET.httpTokens)).toEqual([]);
    const recs = (await readJournal(journal)).records;
    const lostAnswers = recs.filter((x) => x.type === 'result' && x.note?.includes('answer was lost'));
    const verified = new Set(
      recs.flatMap((x) => (x.type === 'verified' && x.target.kind === 'instance' ? [x.target.instanceId] : [])),
    );
    expect(snap.faults.dropAnswer ?? 0).toBeGreaterThan(130);
    expect(lostAnswers.length, 'calls that ended in an error although the change was made').toBeGreaterThan(10);
    expect(ids.filter((id) => !verified.has(id))).toEqual([]);
    process.stdout.write(
      `lost answers: ${snap.faults.dropAnswer} dropped, ${lostAnswers.length} calls failed after the change; all recorded\n`,
    );
    tally({ scenarios: 1, faults: injected(snap), recordsLost: ids.length - verified.size });
  }, 300_000);

  it('a region that goes down mid-wave: every error names the account, region and call, and what to do', async () => {
    const { journal, args } = await setup(60, 0);
    const env = cliEnv(sim!);
    const lines = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').length : 0);
    // The region goes down once the wave has started (preflight passed): Modify calls and reads fail with resets.
    const poll = setInterval(() => {
      if (lines() > 5) sim!.setFaults({ regionsDown: [REGION] });
    }, 2);
    const r = await runCli([...args, '--modify-bucket', '20/20', '--concurrency', '4'], env);
    clearInterval(poll);
    const snap = sim!.counters.snapshot();
    sim!.setFaults({});
    tally({ scenarios: 1, faults: injected(snap) });
    expect(r.code, r.stderr).toBe(1);
    expect(snap.faults.regionDown ?? 0).toBeGreaterThan(0);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; suggestions?: string[] } };
    // Either the wave's calls failed one by one (INCOMPLETE, one line per cause) or a batch read stopped it.
    expect(['INCOMPLETE', 'AWS_UNREACHABLE']).toContain(error.code);
    expect(`${error.message}\n${(error.suggestions ?? []).join('\n')}`).toMatch(/AWS Health Dashboard/);
    expect(error.message).toMatch(new RegExp(`ec2:\\w+ in account ${ACCOUNT}, region ${REGION} could not be reached`));
    expect(unnamedErrorLines(error.message, /ECONNRESET|socket hang up/)).toEqual([]);
    expect(unnamedErrorLines(r.stderr, /ECONNRESET|socket hang up/)).toEqual([]);
    // The wave's state is kept: the journal reads back sealed, and a later run resumes.
    expect((await readJournal(journal)).integrity?.status).toBe('sealed');

    // Region down from the start: the preflight's first call names where it failed.
    sim!.setFaults({ regionsDown: [REGION] });
    const r2 = await runCli(args, env);
    sim!.setFaults({});
    expect(r2.code).toBe(1);
    const e2 = (JSON.parse(r2.stdout) as { error: { code: string; message: string; suggestions: string[] } }).error;
    expect(e2.code).toBe('AWS_UNREACHABLE');
    expect(e2.message).toContain(`ec2:DescribeInstances in account ${ACCOUNT}, region ${REGION} could not be reached`);
    expect(e2.suggestions.join(' ')).toMatch(/AWS Health Dashboard for the region/);
  }, 300_000);

  it('a throttling storm on Modify: every error names the account, region and call, and says to slow down', async () => {
    const saved = { ...bucketSpecs };
    try {
      // After the preflight's DryRun took the one token, every Modify in the account and region is throttled: each
      // call fails after the SDK's 8 attempts (whose adaptive rate limiter makes this take a minute for 3 calls).
      bucketSpecs['ec2.modify-instance-metadata-options'] = { size: 1, refillPerSecond: 0 };
      const { args } = await setup(3, 0, true);
      const r = await runCli([...args, '--modify-bucket', '1000/1000'], cliEnv(sim!));
      const snap = sim!.counters.snapshot();
      tally({ scenarios: 1, faults: injected(snap) });
      expect(snap.throttled['ec2.ModifyInstanceMetadataOptions']).toBeGreaterThanOrEqual(3 * 8);
      expect(r.code, r.stderr).toBe(1);
      const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(error.code).toBe('INCOMPLETE');
      expect(error.message).toContain(
        `3 × ec2:ModifyInstanceMetadataOptions in account ${ACCOUNT}, region ${REGION} was still throttled after the SDK's retries: RequestLimitExceeded`,
      );
      expect(error.message).toMatch(/lower --concurrency/);
      const warned = r.stderr.split('\n').filter((l) => /RequestLimitExceeded|Request limit exceeded/.test(l));
      expect(warned).toHaveLength(3);
      expect(unnamedErrorLines(r.stderr, /RequestLimitExceeded|Request limit exceeded/)).toEqual([]);
    } finally {
      Object.assign(bucketSpecs, saved);
    }
  }, 600_000);
});
