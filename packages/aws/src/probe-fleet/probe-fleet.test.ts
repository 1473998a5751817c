import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Instance, ScenarioInput } from '@imdsv2-cutover/core';
import { SEND_COMMAND_PARAMETERS_MAX_BYTES, renderProbeOutput } from '@imdsv2-cutover/probe';
import {
  genericCommandRunner,
  probeCommandRunner,
  scenarioFrom,
  simulatedProbeReport,
  startSimulator,
  type Simulator,
} from '@imdsv2-cutover/simulator';
import { makeInstance, makeMetric } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProbeSelection, probeFleet, type ProbeClients, type ProbeSelection } from './index.js';

const ACCOUNT = '111111111111';
const REGION = 'us-east-1';
const id = (n: number) => `i-0f1ee7${String(n).padStart(11, '0')}`;

const v1Caller = {
  process: { comm: 'python3', exe: '/usr/bin/python3', argv: 'python3 /opt/poll.py --password hunter2', user: 'app' },
  imds: 'v1' as const,
  callsPerHour: 3600,
};

function scenario(): ScenarioInput {
  const group = (name: string, n0: number, count: number, extra: Record<string, unknown> = {}) => ({
    name,
    account: ACCOUNT,
    region: REGION,
    count,
    ids: Array.from({ length: count }, (_, k) => id(n0 + k)),
    launchedAt: '-90d',
    ...extra,
  });
  return {
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'probe-fleet',
    now: '2025-06-30T06:00:00Z',
    regions: [REGION],
    accounts: [{ id: ACCOUNT, name: 'prod' }],
    instanceGroups: [
      group('callers', 1, 1000, {
        callers: [v1Caller],
        packages: [{ ecosystem: 'python', name: 'botocore', version: '1.12.0' }],
      }),
      group('clean', 2001, 3),
      group('nodes', 2101, 1, {
        containerHost: true,
        callers: [{ ...v1Caller, process: { comm: 'aws-node', container: true } }],
      }),
      group('windows', 2201, 1, {
        platform: 'windows',
        callers: [{ ...v1Caller, process: { comm: 'powershell.exe' } }],
      }),
      group('unmanaged', 2301, 1, { ssm: { managed: false } }),
      group('lost', 2401, 1, { ssm: { pingStatus: 'ConnectionLost' } }),
      group('stopped', 2501, 1, { state: 'stopped' }),
      group('misc', 2601, 6),
      group('forbidden', 2701, 2, { ssm: { permitted: false }, callers: [v1Caller] }),
      group('doomed', 2801, 1, { callers: [v1Caller] }),
    ],
  };
}

let sim: Simulator;
let clients: ProbeClients & { s3(scope: { region: string }): S3Client };
const sent: string[][] = [];

/** Assessment instances for the simulated fleet: callers have IMDSv1 calls, clean ones zero, `misc` unknown. */
function assessed(): Instance[] {
  return sim.fleet.model.region(ACCOUNT, REGION)!.instances.map((i) =>
    makeInstance({
      instanceId: i.id,
      accountId: ACCOUNT,
      region: REGION,
      platform: i.platform,
      state: i.running ? 'running' : 'stopped',
      metrics: { noToken: makeMetric(i.group === 'clean' ? 0 : i.group === 'misc' ? null : 500) },
    }),
  );
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: scenarioFrom(scenario()), throttling: true });
  const cfg = (region: string) => ({
    endpoint: sim.url,
    region,
    credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'x' },
  });
  // As the client factory configures them: adaptive retry rides out the simulator's throttling, and no clock-skew
  // correction against the simulated clock (it would retry every error).
  const ssm = new SSMClient({
    ...cfg(REGION),
    retryMode: 'adaptive',
    maxAttempts: 8,
    disableClockSkewCorrection: true,
  });
  const s3 = new S3Client({ ...cfg(REGION), forcePathStyle: true });
  clients = { ssm: () => ssm, s3: () => s3 };
  // Odd outcomes on the `misc` hosts; the rest answer as the scenario implies.
  const model = probeCommandRunner({ clock: sim.clock, fallback: genericCommandRunner });
  sim.setCommandRunner((ctx) => {
    sent.push(ctx.commands);
    const n = Number(ctx.instance.id.slice(-4));
    const report = simulatedProbeReport(ctx.instance, sim.clock.nowMs(), 10);
    switch (n) {
      case 2601:
        return {
          stdout: '',
          stderr: 'sh: 12: bpftrace: Permission denied\n\u001b[31mboom AWS_SECRET_ACCESS_KEY=abc',
          exitCode: 2,
        };
      case 2602:
        return { status: 'TimedOut' };
      case 2603:
        return { status: 'Undeliverable' };
      case 2604:
        return { stdout: 'Hello from a login banner\n', stderr: '', exitCode: 0 };
      case 2605: {
        // A host with thousands of packages: 60,000 characters that only S3 returns whole.
        const packages = Array.from({ length: 600 }, (_, k) => ({
          ecosystem: 'node' as const,
          name: `pkg-${k}`,
          version: '1.0.0',
          path: `/srv/app/node_modules/pkg-${k}/${'x'.repeat(40)}`,
          status: 'unknown' as const,
        }));
        return {
          stdout: renderProbeOutput({ ...report, packages }, { maxOutputChars: 200_000 }),
          stderr: '',
          exitCode: 0,
        };
      }
      default:
        return model(ctx);
    }
  });
});
afterAll(async () => sim.stop());

async function run(
  selection: ProbeSelection,
  instances = assessed(),
  extra: { outputS3?: { bucket: string; prefix: string } } = {},
) {
  sim.counters.reset();
  return probeFleet({
    clients,
    instances,
    selection,
    windowSeconds: 10,
    poll: { initialMs: 300, maxMs: 1000 },
    ...extra,
  });
}

describe('a bad instance does not blank its batch', { timeout: 120_000 }, () => {
  it('50 instances, one terminated and two SSM refuses: 47 probed, 3 with their own outcomes, few extra calls', async () => {
    const callers = assessed().filter((i) => Number(i.instanceId.slice(-4)) <= 47);
    const refused = assessed().filter((i) => ['2701', '2702', '2801'].includes(i.instanceId.slice(-4)));
    // Terminated after the assessment (the probe's own DescribeInstanceInformation no longer lists it).
    sim.fleet.terminate(id(2801));
    const batch = [...callers.slice(0, 20), refused[0]!, ...callers.slice(20), refused[1]!, refused[2]!];
    const r = await run('all', batch);
    expect(r.results.size).toBe(50);
    expect(callers.filter((i) => r.results.get(i.instanceId)?.probe.outcome === 'ok')).toHaveLength(47);
    expect(r.results.get(id(2701))!.probe).toMatchObject({ outcome: 'undeliverable' });
    expect(r.results.get(id(2701))!.probe.detail).toMatch(/InvalidInstanceId/);
    expect(r.results.get(id(2702))!.probe).toMatchObject({ outcome: 'undeliverable' });
    expect(r.results.get(id(2801))!.probe.outcome).toBe('not-managed');
    // One call for the batch, then the refusals isolated: far below one call per instance (throttled retries aside).
    const snap = sim.counters.snapshot();
    const sends = snap.calls['ssm.SendCommand']! - (snap.throttled['ssm.SendCommand'] ?? 0);
    expect(sends).toBeLessThanOrEqual(4);
  });
});

describe('fleet probe through SSM Run Command', { timeout: 120_000 }, () => {
  it('probes 1,000 suspects with at most 20 SendCommand calls and names the caller on each', async () => {
    const callers = assessed().filter((i) => Number(i.instanceId.slice(-4)) <= 1000);
    const r = await run('suspects', callers);
    expect(r.results.size).toBe(1000);
    expect(r.counts).toEqual({ ok: 1000 });
    const snap = sim.counters.snapshot().calls;
    expect(snap['ssm.SendCommand']).toBeLessThanOrEqual(20);
    expect(snap['ssm.DescribeInstanceInformation']).toBeLessThanOrEqual(20);
    // Details carry the whole (short) output: no per-instance GetCommandInvocation.
    expect(snap['ssm.GetCommandInvocation'] ?? 0).toBe(0);
    expect(snap['ssm.ListCommandInvocations']).toBeLessThan(20 * 15);
    const one = r.results.get(id(7))!.probe;
    expect(one.outcome).toBe('ok');
    expect(one.report!.v1Callers[0]).toMatchObject({ comm: 'python3', user: 'app', requests: 10 });
    // The host's command line is redacted again by the parser.
    expect(one.report!.v1Callers[0]!.argv).not.toContain('hunter2');
    expect(one.report!.packages.find((p) => p.name === 'botocore')?.status).toBe('outdated');
  });

  it('reports every outcome: ok, not-managed, offline, undeliverable, timed-out, failed, truncated, invalid', async () => {
    const r = await run('suspects');
    const outcome = (n: number) => r.results.get(id(n))?.probe;
    // Clean instances are not suspects.
    expect(outcome(2001)).toBeUndefined();
    expect(outcome(2101)).toMatchObject({ outcome: 'ok', report: { containers: { detected: true } } });
    expect(outcome(2201)).toMatchObject({ outcome: 'ok', report: { host: { platform: 'windows' } } });
    expect(outcome(2301)).toMatchObject({ outcome: 'not-managed' });
    expect(r.results.get(id(2301))!.ssm).toEqual({ managed: false });
    expect(outcome(2401)).toMatchObject({ outcome: 'offline', detail: 'SSM PingStatus is ConnectionLost.' });
    expect(outcome(2501)).toBeUndefined(); // stopped: not a candidate of `suspects`
    const failed = outcome(2601)!;
    expect(failed.outcome).toBe('failed');
    expect(failed.detail).toContain('bpftrace: Permission denied');
    expect(failed.detail).not.toContain('\u001b');
    expect(failed.detail).not.toContain('abc');
    expect(outcome(2602)).toMatchObject({ outcome: 'timed-out' });
    expect(outcome(2603)).toMatchObject({ outcome: 'undeliverable' });
    expect(outcome(2604)).toMatchObject({ outcome: 'invalid' });
    expect(outcome(2604)!.report).toBeUndefined();
    const big = outcome(2605)!;
    expect(big.outcome).toBe('truncated');
    expect(big.detail).toContain('--probe-output-s3');
    expect(big.report!.packages.length).toBeGreaterThan(100); // the records before the cut are kept
    // The Windows host got the PowerShell probe, the others the shell script.
    expect(sent.some((c) => c[0]!.includes('$Window = 10'))).toBe(true);
    expect(sent.some((c) => c[0]!.includes("WINDOW='10'"))).toBe(true);
  });

  it('reads the full output from S3 with --probe-output-s3', async () => {
    const subset = assessed().filter((i) => ['2605', '0003'].includes(i.instanceId.slice(-4)));
    const r = await run('all', subset, { outputS3: { bucket: 'ssm-output', prefix: 'imdsv2/probe' } });
    expect(r.results.get(id(2605))!.probe.outcome).toBe('ok');
    expect(r.results.get(id(2605))!.probe.report!.packages.length).toBeGreaterThan(500);
    expect(r.results.get(id(3))!.probe.outcome).toBe('ok');
    expect(sim.counters.snapshot().calls['s3.GetObject']).toBe(2);
  });

  it('sends the Linux probe compressed, within SSM document limit', () => {
    const linux = sent.find((c) => c[0]!.includes("WINDOW='10'"))![0]!;
    expect(linux).toMatch(/^#!\/bin\/sh\n/);
    expect(linux).toContain('gzip -dc');
    expect(Buffer.byteLength(linux)).toBeLessThan(SEND_COMMAND_PARAMETERS_MAX_BYTES / 2);
  });

  it('refuses, before any SSM call, an agents file that pushes the probe over SSM document limit', async () => {
    // Advice that does not compress: 250 agents of 300 characters drawn from sha256 digests.
    const noise = (k: number) =>
      Array.from({ length: 8 }, (_, i) => createHash('sha256').update(`${k}/${i}`).digest('base64'))
        .join('')
        .replace(/[^A-Za-z0-9]/g, '')
        .slice(0, 300);
    const agents = Array.from({ length: 250 }, (_, k) => ({
      name: `agent ${k}`,
      paths: [`/opt/a${k}`],
      advice: noise(k),
    }));
    sim.counters.reset();
    const err = await probeFleet({ clients, instances: assessed(), selection: 'all', extraAgents: { agents } }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BAD_INPUT', exitCode: 2 });
    expect((err as Error).message).toMatch(/takes \d+ bytes in the SendCommand request, more than the 63488 bytes/);
    expect(sim.counters.snapshot().calls).toEqual({});
  });

  it('reports stopped instances named by id as offline and refuses ids outside the scope', async () => {
    const r = await run(parseProbeSelection(`${id(2501)},${id(2001)}`));
    expect(r.results.get(id(2501))!.probe).toMatchObject({ outcome: 'offline' });
    expect(r.results.get(id(2001))!.probe.outcome).toBe('ok');
    await expect(run({ ids: ['i-0deadbeef0000000'] })).rejects.toMatchObject({ code: 'BAD_USAGE' });
    expect(() => parseProbeSelection('suspect')).toThrow(/--probe must be/);
    expect((await run('none')).results.size).toBe(0);
  });
});
