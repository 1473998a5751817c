import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Assessment } from '@imdsv2-cutover/core';
import { organizationAccountId, organizationScenario, scenarioFrom, startSimulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imdsv2 } from './assess-helpers.js';

const tempDir = useTempDirs('imdsv2-shards-');
const REGIONS = ['us-east-1', 'eu-west-1'];
const ACCOUNTS = 7;

let sim: Awaited<ReturnType<typeof startSimulator>>;
beforeAll(async () => {
  // A clock that barely moves: every run sees the same simulated time, so the runs' windows and evidence are equal.
  sim = await startSimulator({
    scenario: scenarioFrom(organizationScenario({ accounts: ACCOUNTS, regions: REGIONS, instancesPerRegion: 10 })),
    clock: { speed: 1e-6 },
  });
});
afterAll(async () => sim.stop());

const cli = (args: string[], env: Record<string, string> = {}) => imdsv2(args, organizationAccountId(0), env);

const assessArgs = (out: string) => [
  'assess',
  ...['--endpoint-url', sim.url, '--org', '--role-name', 'Audit', '--regions', REGIONS.join(',')],
  ...['--probe', 'none', '--no-report', '--out', out, '--json'],
];

const read = async (file: string): Promise<Assessment> => JSON.parse(await readFile(file, 'utf8')) as Assessment;

describe('assess --shard: separate jobs merged give the single run', () => {
  it('3 shards with the index from a Kubernetes Indexed Job or an AWS Batch array job, merged, equal one run instance for instance', async () => {
    const single = await tempDir();
    const whole = await cli(assessArgs(single));
    expect(whole.code, whole.stderr).toBe(0);

    // Each shard is its own process, as each pod or array child would be; the index comes from the environment.
    const envs: Record<string, string>[] = [
      { JOB_COMPLETION_INDEX: '0' },
      { JOB_COMPLETION_INDEX: '1' },
      { AWS_BATCH_JOB_ARRAY_INDEX: '2', AWS_BATCH_JOB_ARRAY_SIZE: '3' },
    ];
    const dirs = await Promise.all(envs.map(() => tempDir()));
    const runs = await Promise.all(envs.map((env, k) => cli([...assessArgs(dirs[k]!), '--shard', '3'], env)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const shards = await Promise.all(dirs.map((d) => read(path.join(d, 'assessment.json'))));
    // A deterministic share: account id modulo 3, and every account in exactly one shard.
    shards.forEach((s, k) => {
      expect(s.accounts.length).toBeGreaterThan(0);
      for (const a of s.accounts) expect(Number(a.accountId) % 3).toBe(k);
    });
    expect(shards.flatMap((s) => s.accounts.map((a) => a.accountId)).sort()).toHaveLength(ACCOUNTS);

    const mergedFile = path.join(await tempDir(), 'merged.json');
    const merge = await cli(['merge', ...dirs.map((d) => path.join(d, 'assessment.json')), '--out', mergedFile]);
    expect(merge.code, merge.stderr).toBe(0);
    const [merged, one] = [await read(mergedFile), await read(path.join(single, 'assessment.json'))];
    expect(merged.complete).toBe(true);
    expect(merged.instances).toHaveLength(ACCOUNTS * REGIONS.length * 10);
    expect(merged.instances).toEqual(one.instances);
    expect(merged.regions).toEqual(one.regions);
    expect(merged.accounts.map((a) => [a.accountId, a.status])).toEqual(
      one.accounts.map((a) => [a.accountId, a.status]),
    );
    expect(merged.launchTemplates).toEqual(one.launchTemplates);
    expect(merged.autoScalingGroups).toEqual(one.autoScalingGroups);
    expect(merged.images).toEqual(one.images);
  });

  it('a bad shard is exit 2 with the value and what to do, before any AWS call', async () => {
    const out = await tempDir();
    const before = sim.counters.snapshot().totalCalls;
    const bad = await cli([...assessArgs(out), '--shard', '3/3']);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(/--shard 3\/3: shard index 3 is outside 0\.\.2/);
    const none = await cli([...assessArgs(out), '--shard', '3']);
    expect(none.code).toBe(2);
    expect(none.stdout + none.stderr).toMatch(/JOB_COMPLETION_INDEX nor AWS_BATCH_JOB_ARRAY_INDEX/);
    const size = await cli([...assessArgs(out), '--shard', '3'], {
      AWS_BATCH_JOB_ARRAY_INDEX: '0',
      AWS_BATCH_JOB_ARRAY_SIZE: '4',
    });
    expect(size.code).toBe(2);
    expect(size.stdout + size.stderr).toMatch(/AWS_BATCH_JOB_ARRAY_SIZE/);
    expect(sim.counters.snapshot().totalCalls).toBe(before);
  });
});
