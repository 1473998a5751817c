import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import type { Assessment } from '@imdsv2-cutover/core';
import { startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The scheduled job as it runs: assess the same fleet twice, a week apart, and compare. Between the runs the simulated
 * fleet changes the way real fleets do: an enforced instance is switched back to optional, two quiet instances start an
 * IMDSv1 job; then a region becomes unreachable. Each gate fails on the change that concerns it; a quiet week fails none.
 */

const bin = fileURLToPath(new URL('../../packages/cli/bin/run.js', import.meta.url));
const tempDir = useTempDirs('imdsv2-diff-sim-');
const env = { ...process.env, NO_COLOR: '1', AWS_ACCESS_KEY_ID: 'AKIA111111111111SIMK', AWS_SECRET_ACCESS_KEY: 'x' };
const REGIONS = 'us-east-1,eu-west-1';
let sim: Simulator;

/** Runs the CLI without blocking: the simulator answers from this process's event loop. */
function imdsv2(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env, timeout: 120_000, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      const code =
        err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? null : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

async function assessRun(regions = REGIONS): Promise<{ file: string; a: Assessment }> {
  const out = await tempDir();
  const r = await imdsv2([
    'assess',
    '--endpoint-url',
    sim.url,
    '--regions',
    regions,
    '--probe',
    'none',
    '--no-report',
    '--out',
    out,
  ]);
  expect(r.status, r.stderr).toBe(0);
  const file = path.join(out, 'assessment.json');
  return { file, a: JSON.parse(readFileSync(file, 'utf8')) as Assessment };
}

afterAll(async () => {
  await sim?.stop();
});

describe('diff over two assessments of the simulated fleet', () => {
  it('a quiet week passes every gate; a week with a regression, new IMDSv1 callers and a region down fails each', async () => {
    sim = await startSimulator({ scenario: 'demo', port: 0, throttling: false });
    const allGates = 'new-v1-callers,regressions,blocked-increase,incomplete';

    const first = await assessRun();
    const quiet = await assessRun();
    const same = await imdsv2(['diff', first.file, quiet.file, '--fail-on', allGates]);
    expect(same.status, same.stdout + same.stderr).toBe(0);

    // The week's changes.
    const east = first.a.instances.filter((i) => i.region === 'us-east-1');
    const regressed = east.find((i) => i.readiness.status === 'enforced')!;
    const [caller1, caller2] = east.filter((i) => i.readiness.status === 'ready' && i.state === 'running');
    const ec2 = new EC2Client({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: 'x' },
    });
    await ec2.send(
      new ModifyInstanceMetadataOptionsCommand({ InstanceId: regressed.instanceId, HttpTokens: 'optional' }),
    );
    ec2.destroy();
    const since = sim.clock.nowMs() - 86_400_000;
    for (const i of [caller1!, caller2!]) {
      sim.fleet.setCallers(i.instanceId, [
        ...(sim.fleet.callers(i.instanceId) ?? []),
        {
          comm: 'backup.sh',
          argv: '/bin/sh /opt/backup.sh',
          user: 'root',
          container: false,
          imds: 'v1',
          cron: null,
          callsPerHour: 12,
          callsPerRun: 1,
          sinceMs: since,
          untilMs: Number.POSITIVE_INFINITY,
        },
      ]);
    }
    const later = await assessRun();
    expect(later.a.complete).toBe(true);
    const d = await imdsv2(['diff', first.file, later.file, '--fail-on', allGates, '--json']);
    expect(d.status, d.stderr).toBe(3);
    const result = JSON.parse(d.stdout) as { gates: { failed: { gate: string; reasons: string[] }[] } };
    const failed = new Map(result.gates.failed.map((g) => [g.gate, g.reasons.join('\n')]));
    expect([...failed.keys()].sort()).toEqual(['blocked-increase', 'new-v1-callers', 'regressions']);
    expect(failed.get('regressions')).toContain(regressed.instanceId);
    expect(failed.get('new-v1-callers')).toContain(caller1!.instanceId);
    expect(failed.get('new-v1-callers')).toContain(caller2!.instanceId);

    // A region that cannot be read: its instances leave the counts, so only the incomplete gate can tell.
    sim.setFaults({ regionsDown: ['eu-west-1'] });
    const partial = await assessRun();
    expect(partial.a.complete).toBe(false);
    const inc = await imdsv2(['diff', later.file, partial.file, '--fail-on', 'incomplete']);
    expect(inc.status, inc.stderr).toBe(3);
    expect(inc.stdout).toMatch(/Gate failed: incomplete:.*eu-west-1/s);
    sim.setFaults({});

    // The one-step scheduled form: assess --compare with a gate, exit 3 and the gate printed.
    const out = await tempDir();
    const one = await imdsv2([
      ...['assess', '--endpoint-url', sim.url, '--regions', 'us-east-1', '--probe', 'none', '--no-report'],
      ...['--out', out, '--compare', first.file, '--fail-on', 'regressions'],
    ]);
    expect(one.status, one.stderr).toBe(3);
    expect(one.stdout).toContain('Gate failed: regressions');
    expect(one.stdout).toContain(regressed.instanceId);
  });

  it('merges shards assessed by separate jobs, and refuses overlapping ones', async () => {
    const east = await assessRun('us-east-1');
    const west = await assessRun('eu-west-1');
    const both = await assessRun('us-east-1,eu-west-1');
    const out = path.join(await tempDir(), 'all.json');
    const ok = await imdsv2(['merge', east.file, west.file, '--out', out]);
    expect(ok.status, ok.stderr).toBe(0);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as Assessment;
    expect(merged.instances.length).toBe(east.a.instances.length + west.a.instances.length);
    expect(merged.instances.map((i) => i.instanceId).sort()).toEqual(both.a.instances.map((i) => i.instanceId).sort());

    const refused = path.join(await tempDir(), 'refused.json');
    const overlap = await imdsv2(['merge', east.file, both.file, '--out', refused]);
    expect(overlap.status).toBe(2);
    expect(overlap.stderr).toContain('us-east-1');
    expect(() => readFileSync(refused)).toThrow();
  });
});
