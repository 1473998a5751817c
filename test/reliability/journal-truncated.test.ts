import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MetadataSettings } from '@imdsv2-cutover/core';
import { CutoverError, RecordingReporter } from '@imdsv2-cutover/core';
import { runEnforcement, runRollback, runStatus } from '@imdsv2-cutover/engine';
import { startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REGION,
  TARGET,
  cliEnv,
  fleetScenario,
  instanceIds,
  planFor,
  runCli,
  sameSettings as same,
  settingsOf,
  writePlan,
} from '../e2e/enforce-helpers.js';
import { tally } from './tally.js';

const INSTANCES = 3;
const dir = mkdtempSync(path.join(tmpdir(), 'imdsv2-rel-cut-'));
const planFile = path.join(dir, 'plan.json');
const journal = path.join(dir, 'journal.jsonl');
let sim: Simulator;
let ids: string[];
let original: Map<string, MetadataSettings>;
/** The journal and seal of a short, completed run. */
let whole: Buffer;
let seal: Buffer;

const connection = () => ({
  endpointUrl: sim.url,
  region: REGION,
  credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'simulated' },
});
const common = { reporter: new RecordingReporter(), toolVersion: 'test', modifyBucket: '1000/1000' };

/** Enforces wave 0 with a scratch journal: puts the fleet back at the target. */
async function applyAll(journalFile: string) {
  await runEnforcement({ ...common, connection: connection(), planFile, wave: 0, journalFile });
  expect(ids.filter((id) => !same(settingsOf(sim, id), TARGET))).toEqual([]);
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: fleetScenario(INSTANCES), clock: { speed: 60 }, applyDelayMs: 2000 });
  ids = instanceIds(sim);
  original = new Map(ids.map((id) => [id, settingsOf(sim, id)]));
  await writePlan(planFile, planFor(sim, [ids]));
  await applyAll(journal);
  whole = readFileSync(journal);
  seal = readFileSync(`${journal}.seal`);
});
afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Puts the journal back cut at `k` bytes, with its seal. */
function cutAt(k: number) {
  writeFileSync(journal, whole.subarray(0, k));
  writeFileSync(`${journal}.seal`, seal);
}

async function refusal(p: Promise<unknown>): Promise<CutoverError | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof CutoverError ? e : null),
  );
}

describe(`a journal of a short run (${INSTANCES} instances) cut at every byte offset`, () => {
  it('status, a resume and rollback all refuse it (JOURNAL_TRUNCATED, exit 2), change nothing and leave it as it is', async () => {
    let detected = 0;
    for (let k = 0; k < whole.length; k++) {
      cutAt(k);
      const attempts = {
        status: await refusal(
          runStatus({ connection: connection(), planFile, journalFile: journal, toolVersion: 't' }),
        ),
        resume: await refusal(
          runEnforcement({ ...common, connection: connection(), planFile, wave: 'next', journalFile: journal }),
        ),
        rollback: await refusal(
          runRollback({ ...common, connection: connection(), journalFile: journal, scope: { all: true } }),
        ),
      };
      for (const [what, e] of Object.entries(attempts)) {
        expect(e?.code, `cut at ${k} of ${whole.length}: ${what}`).toBe('JOURNAL_TRUNCATED');
        expect(e?.exitCode).toBe(2);
      }
      expect(statSync(journal).size, `cut at ${k}: the journal is left as it is`).toBe(k);
      expect(ids.filter((id) => !same(settingsOf(sim, id), TARGET))).toEqual([]);
      detected++;
    }
    process.stdout.write(
      `cut journal: ${detected} of ${whole.length} offsets detected by status, resume and rollback\n`,
    );
    tally({ badInputs: whole.length * 3 });
    expect(detected).toBe(whole.length);
  }, 900_000);

  it('what the refusal says: the figures, what the remaining records show, and the two ways out', async () => {
    const k = Math.floor(whole.length * 0.6);
    cutAt(k);
    const env = cliEnv(sim);
    const status = await runCli(['status', '--plan', planFile, '--journal', journal, '--json'], env);
    const resume = await runCli(
      ['enforce', '--plan', planFile, '--next', '--yes', '--journal', journal, '--endpoint-url', sim.url, '--json'],
      env,
    );
    const rollback = await runCli(['rollback', '--journal', journal, '--all', '--endpoint-url', sim.url], env);
    tally({ badInputs: 3 });
    for (const r of [status, resume, rollback]) expect(r.code, r.stdout + r.stderr).toBe(2);
    const { error } = JSON.parse(status.stdout) as { error: { code: string; message: string; suggestions: string[] } };
    expect(error.code).toBe('JOURNAL_TRUNCATED');
    expect(error.message).toMatch(
      new RegExp(
        `was cut short: its seal .* records ${whole.length} bytes up to record \\d+, but the file holds ${k} bytes`,
      ),
    );
    expect(error.message).toMatch(/What the remaining records show: \d+ instance\(s\) changed/);
    expect(error.suggestions.join('\n')).toContain(`imdsv2 rollback --journal ${journal} --from-plan PLAN.json --all`);
    expect(rollback.stderr).toContain('JOURNAL_TRUNCATED');
  }, 300_000);

  it('rollback --from-plan restores every instance that shows the change, whatever the cut; the journal records it', async () => {
    const scratch = path.join(dir, 'scratch.jsonl');
    const offsets = [0, 1, 200, Math.floor(whole.length / 3), Math.floor(whole.length / 2), whole.length - 1];
    for (const [n, k] of offsets.entries()) {
      cutAt(k);
      const r =
        n === offsets.length - 1
          ? await runCli(
              ['rollback', '--journal', journal, '--from-plan', planFile, '--all', '--endpoint-url', sim.url, '--json'],
              cliEnv(sim),
            )
          : await runRollback({
              ...common,
              connection: connection(),
              journalFile: journal,
              fromPlanFile: planFile,
              scope: { all: true },
            }).then(() => ({ code: 0, stdout: '', stderr: '' }));
      expect(r.code, `cut at ${k}: ${r.stderr}`).toBe(0);
      const notRestored = ids.filter((id) => !same(settingsOf(sim, id), original.get(id)!));
      tally({ scenarios: 1, recordsLost: notRestored.length });
      expect(notRestored, `cut at ${k}`).toEqual([]);
      // The journal is whole again (resealed) and tells the restores.
      const s = await runStatus({ connection: connection(), planFile, journalFile: journal, toolVersion: 't' });
      expect(s.waves[0]!.counts.rolledBack, `cut at ${k}`).toBe(INSTANCES);
      // Back to the target for the next cut (a scratch journal, so the cut one stays what it was).
      rmSync(scratch, { force: true });
      rmSync(`${scratch}.seal`, { force: true });
      await applyAll(scratch);
    }
  }, 600_000);
});
