import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import { startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
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

const tempDir = useTempDirs('imdsv2-rel-journal-');
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

/** Journal intents (instance changes) with no result after them: a change whose outcome nobody recorded. */
async function unresolvedIntents(journal: string): Promise<string[]> {
  const open = new Map<string, number>();
  for (const r of (await readJournal(journal)).records) {
    if (!('target' in r) || r.target.kind !== 'instance') continue;
    const key = `${r.wave}/${r.target.instanceId}`;
    if (r.type === 'intent') open.set(key, (open.get(key) ?? 0) + 1);
    else if (r.type === 'result' && open.has(key)) open.delete(key);
  }
  return [...open.keys()];
}

async function setup(count: number, waves: (ids: string[]) => string[][], soakSeconds = 0) {
  sim = await startSimulator({ scenario: fleetScenario(count), clock: { speed: 60 }, applyDelayMs: 2000 });
  const dir = await tempDir();
  const plan = path.join(dir, 'plan.json');
  const journal = path.join(dir, 'journal.jsonl');
  const ids = instanceIds(sim);
  await writePlan(plan, planFor(sim, waves(ids), { soakSeconds }));
  const args = (wave: number) => [
    ...['enforce', '--plan', plan, '--wave', String(wave), '--yes', '--journal', journal],
    ...['--endpoint-url', sim!.url, '--modify-bucket', '1000/1000', '--concurrency', '25', '--json'],
  ];
  return { ids, journal, args };
}

describe('the journal under concurrency, crashes and faults', () => {
  it('a second enforce on the same journal is refused while the first runs', async () => {
    const { ids, journal, args } = await setup(20, (ids) => [ids], 600);
    const first = runCli(args(0), cliEnv(sim!));
    const start = Date.now();
    while (!existsSync(`${journal}.lock`) && Date.now() - start < 30_000) await new Promise((r) => setTimeout(r, 20));
    const second = await runCli(args(0), cliEnv(sim!));
    expect(second.code, second.stderr).toBe(1);
    expect(second.stdout + second.stderr).toContain('JOURNAL_LOCKED');
    const done = await first;
    expect(done.code, done.stderr).toBe(0);
    expect(ids.filter((id) => settingsOf(sim!, id).httpTokens !== TARGET.httpTokens)).toEqual([]);
    const lost = await unresolvedIntents(journal);
    tally({ scenarios: 1, recordsLost: lost.length });
    expect(lost).toEqual([]);
  });

  it('a half-written last line is dropped with a warning and the next wave runs', async () => {
    const { ids, journal, args } = await setup(30, (ids) => [ids.slice(0, 10), ids.slice(10)]);
    const w0 = await runCli(args(0), cliEnv(sim!));
    expect(w0.code, w0.stderr).toBe(0);
    appendFileSync(journal, '{"type":"wave-start","wa');
    const w1 = await runCli(
      [...args(1)].filter((a) => a !== '--json'),
      cliEnv(sim!),
    );
    expect(w1.code, w1.stderr).toBe(0);
    expect(w1.stderr).toMatch(/never completed .* cut it off/);
    const j = await readJournal(journal);
    expect(j.tornTail).toBeNull();
    expect(ids.filter((id) => settingsOf(sim!, id).httpTokens !== TARGET.httpTokens)).toEqual([]);
    const lost = await unresolvedIntents(journal);
    tally({ scenarios: 1, badInputs: 1, recordsLost: lost.length });
    expect(lost).toEqual([]);
  });

  it('enforce under 500s and connection resets, resumed until done: every intent has its result', async () => {
    const { ids, journal, args } = await setup(60, (ids) => [ids]);
    sim!.setFaults({ errorRate: 0.1, resetRate: 0.05, unavailableRate: 0.05, seed: 3 });
    let runs = 0;
    let last;
    do {
      last = await runCli(args(0), cliEnv(sim!));
      runs++;
    } while (last.code !== 0 && runs < 4);
    const faults = injected(sim!.counters.snapshot());
    sim!.setFaults({});
    expect(last.code, last.stderr).toBe(0);
    expect(faults).toBeGreaterThan(0);
    expect(ids.filter((id) => settingsOf(sim!, id).httpTokens !== TARGET.httpTokens)).toEqual([]);
    const lost = await unresolvedIntents(journal);
    tally({ scenarios: 1, faults, recordsLost: lost.length });
    expect(lost).toEqual([]);
  });
});
