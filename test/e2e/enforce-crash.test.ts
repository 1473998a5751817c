import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import {
  TARGET,
  cliEnv,
  fleetScenario,
  instanceIds,
  planFor,
  runCli,
  sameSettings as same,
  settingsOf,
  writePlan,
} from './enforce-helpers.js';

const tempDir = useTempDirs('imdsv2-crash-');
const INSTANCES = 300;
const TRIALS = 20;

/** mulberry32: a tiny seeded PRNG, so a failing trial can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('enforce survives SIGKILL at any moment', () => {
  it(`${TRIALS} trials over ${INSTANCES} instances: nothing changed without an intent; resume or rollback --all finishes`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? 20261126);
    const random = prng(seed);
    let partial = 0;
    let killedCount = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const sim = await startSimulator({
        scenario: fleetScenario(INSTANCES),
        clock: { speed: 60 },
        applyDelayMs: 2000,
        throttling: false,
      });
      try {
        const dir = await tempDir();
        const planFile = path.join(dir, 'plan.json');
        const journal = path.join(dir, 'journal.jsonl');
        const ids = instanceIds(sim);
        const original = new Map(ids.map((id) => [id, settingsOf(sim, id)]));
        await writePlan(planFile, planFor(sim, [ids]));
        const env = cliEnv(sim);
        const args = [
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
        ];
        const fast = ['--modify-bucket', '1000/1000', '--concurrency', '25', '--json'];
        // Most kills land at a random journal length (so between any intent and its result, during the wait for
        // applied, at the wave's end); some at a random time (start-up, preflight, journal creation).
        const lines = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').length - 1 : 0);
        const atLine = Math.floor(random() * (3 * INSTANCES + 3)); // header, wave-start, intent+result+verified each
        const kill =
          trial % 5 === 4 ? { afterMs: 1000 + Math.floor(random() * 1500) } : { when: () => lines() >= atLine };
        const killed = await runCli([...args, ...fast], env, kill);
        const context = `seed ${seed} trial ${trial} (kill ${JSON.stringify(kill.afterMs ?? `at line ${atLine}`)}, signal ${killed.signal}, journal lines ${lines()})`;

        // Invariant: every instance that differs from its original has an intent in the journal.
        const intents = new Set<string>();
        if (existsSync(journal)) {
          for (const r of (await readJournal(journal)).records) {
            if (r.type === 'intent' && r.target.kind === 'instance') intents.add(r.target.instanceId);
          }
        }
        const changed = ids.filter((id) => !same(settingsOf(sim, id), original.get(id)!));
        const unjournaled = changed.filter((id) => !intents.has(id));
        expect(unjournaled, context).toEqual([]);
        if (changed.length > 0 && changed.length < INSTANCES) partial++;
        if (killed.signal === 'SIGKILL') killedCount++;

        if (trial % 2 === 0) {
          const resumed = await runCli([...args, ...fast], env);
          expect(resumed.code, `${context}: resume\n${resumed.stderr}`).toBe(0);
          const notDone = ids.filter((id) => !same(settingsOf(sim, id), TARGET));
          expect(notDone, context).toEqual([]);
        } else {
          if (existsSync(journal)) {
            const rb = await runCli(
              [
                'rollback',
                '--journal',
                journal,
                '--all',
                '--endpoint-url',
                sim.url,
                '--modify-bucket',
                '1000/1000',
                '--json',
              ],
              env,
            );
            expect(rb.code, `${context}: rollback\n${rb.stderr}`).toBe(0);
          }
          const notRestored = ids.filter((id) => !same(settingsOf(sim, id), original.get(id)!));
          expect(notRestored, context).toEqual([]);
        }
      } finally {
        await sim.stop();
      }
    }
    // The kills must land mid-wave often enough for the test to mean something.
    expect(partial).toBeGreaterThanOrEqual(4);
    expect(killedCount).toBeGreaterThanOrEqual(TRIALS - 2);
  }, 600_000);
});
