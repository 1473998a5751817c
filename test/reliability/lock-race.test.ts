import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { tally } from './tally.js';

const tempDir = useTempDirs('imdsv2-rel-lock-');
const racerFile = fileURLToPath(new URL('./lock-racer.mjs', import.meta.url));
const RACERS = 4;
const ROUNDS = Number(process.env.LOCK_ROUNDS ?? 1000);

type Msg = { type: string; round?: number; owner?: boolean; code?: string };

/** One racer process with a queue of its answers. */
function startRacer(): Promise<{ child: ChildProcess; next: () => Promise<Msg> }> {
  const child = fork(racerFile, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const inbox: Msg[] = [];
  let waiting: ((m: Msg) => void) | null = null;
  child.on('message', (m: Msg) => {
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(m);
    } else inbox.push(m);
  });
  const next = () =>
    inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise<Msg>((resolve) => (waiting = resolve));
  return next().then(() => ({ child, next }));
}

/** Pids of processes that have exited (the owners of stale locks). */
const deadPids = Array.from({ length: 8 }, () => spawnSync(process.execPath, ['-e', '0']).pid);

let racers: Awaited<ReturnType<typeof startRacer>>[] = [];
afterAll(() => {
  for (const r of racers) r.child.kill();
});

/**
 * Races RACERS processes for one journal's lock, ROUNDS times, and counts the rounds in which more than one process
 * held it at once (double owners) or none did. With `stale`, each round starts with a lock left by a dead process on
 * this host, the usual state after a crash, so every racer tries to take it over at the same moment.
 */
async function race(stale: boolean): Promise<{ doubleOwners: number; noOwner: number; codes: Set<string> }> {
  const dir = await tempDir();
  const journal = path.join(dir, 'j.jsonl');
  let doubleOwners = 0;
  let noOwner = 0;
  const codes = new Set<string>();
  for (let round = 0; round < ROUNDS; round++) {
    if (stale) {
      const holder = {
        pid: deadPids[round % deadPids.length],
        hostname: hostname(),
        startedAt: new Date().toISOString(),
        token: randomBytes(8).toString('hex'),
      };
      writeFileSync(`${journal}.lock`, JSON.stringify(holder));
    }
    const at = Date.now() + 3;
    for (const r of racers) r.child.send({ type: 'race', round, journal, at });
    const answers = await Promise.all(racers.map((r) => r.next()));
    const owners = answers.filter((a) => a.owner).length;
    for (const a of answers) if (!a.owner && a.code) codes.add(a.code);
    if (owners > 1) doubleOwners++;
    if (owners === 0) noOwner++;
    for (const r of racers) r.child.send({ type: 'release', round });
    await Promise.all(racers.map((r) => r.next()));
  }
  // Every round's lock was released and its take-over claims removed: nothing is left beside the journal's directory.
  expect(readdirSync(dir).filter((f) => f.startsWith('j.jsonl.lock'))).toEqual([]);
  return { doubleOwners, noOwner, codes };
}

describe('the journal lock under races between processes', () => {
  it(`${RACERS} processes open one journal at the same instant, ${ROUNDS} rounds: exactly one owner each round`, async () => {
    racers = await Promise.all(Array.from({ length: RACERS }, startRacer));
    const r = await race(false);
    tally({ scenarios: ROUNDS });
    expect(r.doubleOwners, `double owners in ${ROUNDS} rounds`).toBe(0);
    expect(r.noOwner, `rounds nobody won`).toBe(0);
    expect([...r.codes]).toEqual(['JOURNAL_LOCKED']);
  }, 600_000);

  it(`the same with a lock left by a dead process in every round: one process takes it over, ${ROUNDS} rounds`, async () => {
    const r = await race(true);
    tally({ scenarios: ROUNDS });
    expect(r.doubleOwners, `double owners in ${ROUNDS} rounds`).toBe(0);
    expect(r.noOwner, `rounds nobody won`).toBe(0);
    expect([...r.codes]).toEqual(['JOURNAL_LOCKED']);
  }, 600_000);
});
