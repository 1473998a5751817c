import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import type { MetricSource, Simulator } from '@imdsv2-cutover/simulator';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { useCleanup, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import {
  TARGET,
  cliEnv,
  fleetScenario,
  instanceIds,
  planFor,
  runCli,
  settingsOf,
  writePlan,
} from './enforce-helpers.js';

const tempDir = useTempDirs('imdsv2-guard-');
const defer = useCleanup();

/**
 * A live instance: an IMDS endpoint on loopback that enforces the simulated instance's current HttpTokens (a GET
 * without a token answers 401 once tokens are required) and counts every call on the simulator's clock, plugged into
 * the simulator as the instance's metric source. The guard therefore sees exactly the calls that really failed.
 */
async function liveInstance(sim: Simulator, id: string) {
  const calls: { atMs: number; rejected: boolean }[] = [];
  const server: Server = createServer((req, res) => {
    const tokens = sim.fleet.metadataOptions(id)!.httpTokens;
    const hasToken = req.headers['x-aws-ec2-metadata-token'] !== undefined;
    const rejected = tokens === 'required' && !hasToken;
    calls.push({ atMs: sim.clock.nowMs(), rejected });
    res.writeHead(rejected ? 401 : 200, { 'content-type': 'text/plain' }).end(rejected ? '' : id);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/latest/meta-data/instance-id`;
  const source: MetricSource = {
    sums(_inst, metric, w) {
      const out = new Float64Array(w.buckets).fill(Number.NaN);
      for (let k = 0; k < w.buckets; k++) if (w.startMs + k * w.periodMs < w.nowMs) out[k] = 0;
      for (const c of calls) {
        if (c.rejected !== (metric === 'MetadataNoTokenRejected')) continue;
        const k = Math.floor((c.atMs - w.startMs) / w.periodMs);
        if (k >= 0 && k < w.buckets && c.atMs < w.nowMs) out[k]! += 1;
      }
      return out;
    },
  };
  sim.fleet.setMetricSource(id, source);
  // The IMDSv1 caller: a loop that reads instance-id without a token, as an old SDK would.
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      statuses.push((await fetch(url)).status);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  defer(async () => {
    running = false;
    await loop;
    await new Promise((r) => server.close(r));
  });
  return { calls, statuses };
}

describe('enforce against the simulator', () => {
  it('the guard sees MetadataNoTokenRejected from a live IMDSv1 caller, rolls the instance back, the caller works again, exit 4', async () => {
    const sim = await startSimulator({ scenario: fleetScenario(3), clock: { speed: 600 } });
    defer(() => sim.stop());
    const ids = instanceIds(sim);
    const live = ids[1]!;
    const { statuses } = await liveInstance(sim, live);
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    const journal = path.join(dir, 'journal.jsonl');
    await writePlan(planFile, planFor(sim, [ids], { soakSeconds: 24 * 3600, rollback: 'instance' }));
    const started = Date.now();
    const r = await runCli(
      [
        'enforce',
        '--plan',
        planFile,
        '--next',
        '--yes',
        '--journal',
        journal,
        '--endpoint-url',
        sim.url,
        '--guard-interval',
        '200ms',
      ],
      cliEnv(sim),
    );
    expect(r.code, r.stderr).toBe(4);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.stderr).toContain(live);
    expect(r.stderr).toMatch(/rejected IMDSv1 call/);
    // The caller broke while tokens were required...
    expect(statuses).toContain(401);
    // ...the offender is back at its previous settings, the others keep IMDSv2.
    expect(settingsOf(sim, live)).toEqual({
      httpTokens: 'optional',
      httpPutResponseHopLimit: 1,
      httpEndpoint: 'enabled',
    });
    for (const id of ids.filter((x) => x !== live)) expect(settingsOf(sim, id)).toEqual(TARGET);
    // ...and it works again.
    const before = statuses.length;
    await new Promise((res) => setTimeout(res, 200));
    expect(statuses.slice(before).length).toBeGreaterThan(0);
    expect(statuses.slice(before).every((s) => s === 200)).toBe(true);
    const recs = (await readJournal(journal)).records;
    const guard = recs.find((x) => x.type === 'guard');
    expect(guard).toMatchObject({ tripped: true, rejected: [{ instanceId: live }] });
    expect(
      recs
        .filter((x) => x.type === 'result' && x.action === 'rollback')
        .map((x) => 'target' in x && x.target.kind === 'instance' && x.target.instanceId),
    ).toEqual([live]);
    expect(recs.at(-1)).toMatchObject({ type: 'wave-end', outcome: 'rolled-back' });

    const st = await runCli(
      ['status', '--plan', planFile, '--journal', journal, '--json', '--live', '--endpoint-url', sim.url],
      cliEnv(sim),
    );
    expect(st.code, st.stderr).toBe(0);
    const status = JSON.parse(st.stdout) as {
      waves: { state: string; counts: Record<string, number>; live: Record<string, number> }[];
    };
    expect(status.waves[0]).toMatchObject({
      state: 'rolled-back',
      counts: { rolledBack: 1, verified: 2 },
      live: { atTarget: 2, atPlanned: 1 },
    });
  });

  it('a soak is measured on the service clock: 2 simulated hours pass in about 2 seconds, then the wave completes', async () => {
    const sim = await startSimulator({ scenario: fleetScenario(5), clock: { speed: 3600 } });
    defer(() => sim.stop());
    const ids = instanceIds(sim);
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    const journal = path.join(dir, 'journal.jsonl');
    await writePlan(planFile, planFor(sim, [ids], { soakSeconds: 7200 }));
    const simStart = sim.clock.nowMs();
    const r = await runCli(
      [
        'enforce',
        '--plan',
        planFile,
        '--wave',
        '0',
        '--yes',
        '--json',
        '--journal',
        journal,
        '--endpoint-url',
        sim.url,
        '--guard-interval',
        '100ms',
      ],
      cliEnv(sim),
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      guard: { tripped: boolean; polls: number; windowStart: string; windowEnd: string };
    };
    expect(out.guard.tripped).toBe(false);
    expect(out.guard.polls).toBeGreaterThan(1);
    expect(Date.parse(out.guard.windowEnd) - Date.parse(out.guard.windowStart)).toBeGreaterThanOrEqual(
      7200_000 - 60_000,
    );
    expect(Date.parse(out.guard.windowStart)).toBeGreaterThanOrEqual(simStart);
    for (const id of ids) expect(settingsOf(sim, id)).toEqual(TARGET);
  });

  it('--dry-run changes nothing: the only Modify call is the DryRun, and no journal is written', async () => {
    const sim = await startSimulator({ scenario: fleetScenario(20), clock: { speed: 60 } });
    defer(() => sim.stop());
    const ids = instanceIds(sim);
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    await writePlan(planFile, planFor(sim, [ids]));
    const r = await runCli(
      ['enforce', '--plan', planFile, '--wave', '0', '--dry-run', '--json', '--endpoint-url', sim.url],
      cliEnv(sim),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outcome: 'dry-run',
      preflight: { toApply: 20, permissions: [{ permitted: true }] },
    });
    expect(sim.counters.get('ec2.ModifyInstanceMetadataOptions')).toBe(1);
    for (const id of ids) expect(settingsOf(sim, id).httpTokens).toBe('optional');
    const { existsSync } = await import('node:fs');
    expect(existsSync(path.join(dir, 'plan.journal.jsonl'))).toBe(false);
  });

  it('without --yes and without a terminal, enforce refuses before touching AWS', async () => {
    const sim = await startSimulator({ scenario: fleetScenario(2) });
    defer(() => sim.stop());
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    await writePlan(planFile, planFor(sim, [instanceIds(sim)]));
    const r = await runCli(['enforce', '--plan', planFile, '--next', '--endpoint-url', sim.url], cliEnv(sim));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(sim.counters.snapshot().totalCalls).toBe(0);
  });
});
