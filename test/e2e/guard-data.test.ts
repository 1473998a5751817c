import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import { Scenario } from '@imdsv2-cutover/core';
import { startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, fleetScenario, instanceIds, planFor, runCli, writePlan } from './enforce-helpers.js';

/**
 * The guard waits for the data (docs/enforce.md, "The guard"): CloudWatch datapoints arrive minutes after the period
 * they describe, so a wave is clean only once data covering the whole soak is in, and a wait that times out is a
 * failure to verify (exit 1), never a pass.
 */
const tempDir = useTempDirs('imdsv2-guard-data-');
const sims: Simulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.stop();
});

const MIN = 60_000;

async function runWave(opts: { delayMinutes: number; zeros: boolean; timeout: string }) {
  const scenario = Scenario.parse({ ...fleetScenario(4), emitZeroDatapoints: opts.zeros });
  const sim = await startSimulator({
    scenario,
    port: 0,
    clock: { speed: 1200 },
    metricDelayMs: opts.delayMinutes * MIN,
  });
  sims.push(sim);
  const dir = await tempDir();
  const planFile = path.join(dir, 'plan.json');
  await writePlan(planFile, planFor(sim, [instanceIds(sim)], { soakSeconds: 3600 }));
  const journal = path.join(dir, 'journal.jsonl');
  const r = await runCli(
    [
      'enforce',
      '--plan',
      planFile,
      '--wave',
      '0',
      '--yes',
      '--journal',
      journal,
      '--endpoint-url',
      sim.url,
      '--guard-interval',
      '100ms',
      '--guard-data-timeout',
      opts.timeout,
      '--apply-timeout',
      '1h',
      '--json',
    ],
    cliEnv(sim),
  );
  const { records } = await readJournal(journal);
  const guard = records.find((x) => x.type === 'guard');
  const end = records.find((x) => x.type === 'wave-end');
  return { r, guard, end, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

describe('the guard waits for CloudWatch data covering the soak', () => {
  it.each([
    ['zeros are published', true],
    ['no zeros are published (CPUUtilization shows the data is in)', false],
  ])('late datapoints (%s): the wave completes only after the data arrived', async (_what, zeros) => {
    const { r, guard, end } = await runWave({ delayMinutes: 20, zeros, timeout: '1h' });
    expect(r.code, r.stderr).toBe(0);
    expect(end).toMatchObject({ outcome: 'completed' });
    // The guard's verdict was written after the soak's end plus the ingestion delay, on the service's clock.
    const soakEnd = Date.parse((guard as { windowStart: string }).windowStart) + 3600_000;
    expect(Date.parse(guard!.at)).toBeGreaterThanOrEqual(soakEnd + 20 * MIN);
  });

  it('data that never arrives within the timeout is a failure to verify: exit 1, the wave not completed', async () => {
    const { r, end, json } = await runWave({ delayMinutes: 90, zeros: true, timeout: '30m' });
    expect(r.code).toBe(1);
    expect(json).toMatchObject({ error: { code: 'GUARD_UNVERIFIED' } });
    expect(String((json.error as { message: string }).message)).toMatch(/CloudWatch data covering it never arrived/);
    expect(end).toMatchObject({ outcome: 'failed' });
  });
});
