import type { Assessment } from '@imdsv2-cutover/core';
import { genericCommandRunner, probeCommandRunner, startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { assessAll, faultFleet, imdsv2, lostInstances, readAssessment } from './helpers.js';
import { tally } from './tally.js';

const tempDir = useTempDirs('imdsv2-rel-ssm-');
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('SSM Run Command faults during probing', () => {
  it('records timed-out and undeliverable invocations per instance; every other suspect is probed; nothing is lost', async () => {
    sim = await startSimulator({ scenario: faultFleet(), port: 0, throttling: false });
    const model = probeCommandRunner({ clock: sim.clock, fallback: genericCommandRunner });
    const faulted = new Map<string, 'TimedOut' | 'Undeliverable'>();
    // By instance id, not by call order, so the fault set does not depend on SSM's concurrency.
    sim.setCommandRunner((ctx) => {
      const last = ctx.instance.id.at(-1);
      if (last === '0' || last === '5') {
        faulted.set(ctx.instance.id, 'TimedOut');
        return { status: 'TimedOut' };
      }
      if (last === '3') {
        faulted.set(ctx.instance.id, 'Undeliverable');
        return { status: 'Undeliverable' };
      }
      return model(ctx);
    });
    const out = await tempDir();
    const r = await imdsv2(assessAll(sim, out, ['--probe', 'suspects', '--probe-window', '10s']));
    expect(r.code, r.stderr).toBe(0);
    const a: Assessment = await readAssessment(out);
    const lost = lostInstances(sim, a);
    tally({ scenarios: 1, faults: faulted.size, recordsLost: lost.length });
    expect(lost).toEqual([]);
    expect(a.complete).toBe(true);

    expect(faulted.size).toBeGreaterThan(10);
    const byId = new Map(a.instances.map((i) => [i.instanceId, i]));
    for (const [id, status] of faulted) {
      expect(byId.get(id)!.probe.outcome, id).toBe(status === 'TimedOut' ? 'timed-out' : 'undeliverable');
    }
    // The suspects SSM reached were probed and their IMDSv1 caller named.
    const probed = a.instances.filter((i) => i.probe.outcome === 'ok');
    expect(probed.length).toBeGreaterThan(0);
    const named = probed.filter((i) => i.probe.report?.v1Callers.some((c) => c.comm === 'python2'));
    expect(named.length).toBeGreaterThan(0);
    // A failed probe never makes an instance look better than its metrics say: IMDSv1 callers stay blocked.
    for (const id of faulted.keys()) {
      const i = byId.get(id)!;
      if ((i.metrics.noToken.total ?? 0) > 0) expect(i.readiness.status, id).toBe('blocked');
    }
  });
});
