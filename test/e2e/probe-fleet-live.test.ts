import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import type { ScenarioInput } from '@imdsv2-cutover/core';
import { scenarioFrom, startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { describePrivileged, useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { imdsv2, readAssessment } from './assess-helpers.js';

const ACCOUNT = '111111111111';
const REGION = 'us-east-1';
const LEGACY = 'i-0a11ce00000000001';
const CLEAN = 'i-0c1ea000000000002';
const IMDS = 'http://169.254.169.254/latest';

/**
 * Two live instances (network namespaces with a fake IMDS; their callers and the probe run for real) among modelled
 * ones. The legacy host runs an IMDSv1 curl once a second; the clean one fetches a token first (IMDSv2).
 */
function scenario(): ScenarioInput {
  const base = { account: ACCOUNT, region: REGION, launchedAt: '-30d' };
  return {
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'probe-fleet-live',
    now: '2025-06-30T06:00:00Z',
    regions: [REGION],
    accounts: [{ id: ACCOUNT, name: 'prod' }],
    instanceGroups: [
      {
        ...base,
        name: 'modelled',
        count: 12,
        callers: [
          {
            process: { comm: 'python3', argv: 'python3 /opt/report.py', user: 'app' },
            imds: 'v1',
            // Often enough to be seen in a 10 s trace window (a slower caller is, rightly, not seen).
            callsPerHour: 1800,
            share: 0.5,
          },
        ],
      },
      {
        ...base,
        name: 'legacy',
        count: 1,
        ids: [LEGACY],
        live: true,
        callers: [
          {
            process: { comm: 'curl', argv: `curl -sf ${IMDS}/meta-data/instance-id`, user: 'root' },
            imds: 'v1',
            callsPerHour: 3600,
          },
        ],
      },
      {
        ...base,
        name: 'clean',
        count: 1,
        ids: [CLEAN],
        live: true,
        callers: [
          {
            process: {
              comm: 'curl',
              argv: `T=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${IMDS}/api/token) && curl -sf -H "X-aws-ec2-metadata-token: $T" ${IMDS}/meta-data/instance-id`,
              user: 'root',
            },
            imds: 'v2',
            callsPerHour: 1800,
          },
        ],
      },
    ],
  };
}

const tempDir = useTempDirs('imdsv2-probe-live-');
let sim: Simulator | undefined;

describePrivileged('fleet probe with live instances', { root: true, netns: true, bpftrace: true, curl: true }, () => {
  beforeAll(async () => {
    sim = await startSimulator({ scenario: scenarioFrom(scenario()), applyDelayMs: 1000 });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  // --probe all: the clean host (IMDSv2 only, 30 days observed) is ready, so it is no suspect; it is probed here to show
  // that the legacy host's caller is not attributed to it.
  it('assess --probe all names the IMDSv1 caller on the right live instance and marks the clean one', async () => {
    const dir = await tempDir();
    const r = await imdsv2([
      'assess',
      '--endpoint-url',
      sim!.url,
      '--regions',
      REGION,
      '--probe',
      'all',
      '--probe-window',
      '10s',
      '--out',
      dir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const a = await readAssessment(dir);
    expect(a.scope.probe).toBe('all');
    const legacy = a.instances.find((i) => i.instanceId === LEGACY)!;
    const clean = a.instances.find((i) => i.instanceId === CLEAN)!;

    expect(legacy.probe.outcome).toBe('ok');
    expect(legacy.probe.report!.tracer).toBe('bpftrace');
    expect(legacy.probe.report!.host.instanceId).toBe(LEGACY);
    const callers = legacy.probe.report!.v1Callers;
    expect(callers.map((c) => c.comm)).toEqual(['curl']);
    expect(callers[0]!.argv).toContain('/latest/meta-data/instance-id');
    expect(callers[0]!.requests).toBeGreaterThanOrEqual(5);
    expect(legacy.readiness.status).toBe('blocked');
    const culprit = legacy.readiness.reasons.find((x) => x.code === 'v1-caller-found');
    expect(culprit?.message).toContain('curl');

    // The clean host's token-using curl is not blamed (and the legacy host's curl is not attributed to it).
    expect(clean.probe.outcome).toBe('ok');
    expect(clean.probe.report!.v1Callers).toEqual([]);
    expect(clean.probe.report!.tokenRequests + clean.probe.report!.v2Callers.length).toBeGreaterThan(0);
    expect(clean.readiness.status).not.toBe('blocked');
    expect(clean.readiness.reasons.map((x) => x.code)).not.toContain('v1-caller-found');

    // Modelled instances are probed from their scenario callers in the same run.
    const modelled = a.instances.filter((i) => i.instanceId !== LEGACY && i.instanceId !== CLEAN);
    expect(modelled.every((i) => i.probe.outcome === 'ok')).toBe(true);
    const withCaller = modelled.filter((i) => sim!.fleet.callers(i.instanceId)!.some((c) => c.imds === 'v1'));
    expect(withCaller.length).toBeGreaterThan(0);
    for (const i of withCaller) expect(i.probe.report!.v1Callers[0]?.comm).toBe('python3');
  }, 300_000);

  it('enforcing a live instance breaks its IMDSv1 caller, counts MetadataNoTokenRejected, and rollback recovers', async () => {
    const cfg = {
      endpoint: sim!.url,
      region: REGION,
      credentials: { accessKeyId: sim!.defaultAccessKeyId, secretAccessKey: 'x' },
    };
    const ec2 = new EC2Client(cfg);
    const cw = new CloudWatchClient(cfg);
    const live = sim!.live!.instance(LEGACY)!;
    // Polls for up to 60 s: the caller loops run once a second, slower on a loaded machine.
    const waitFor = async (what: string, ok: () => boolean) => {
      for (let k = 0; k < 600 && !ok(); k++) await new Promise((r) => setTimeout(r, 100));
      expect(ok(), what).toBe(true);
    };
    const before = live.callerStats()[0]!;
    expect(before.failures).toBe(0);

    await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: LEGACY, HttpTokens: 'required' }));
    sim!.clock.advance(2000); // past the apply delay
    await waitFor('the caller fails once required applies', () => live.callerStats()[0]!.failures >= 2);
    expect(live.imdsLog().some((e) => e.kind === 'v1' && e.status === 401)).toBe(true);

    // Basic monitoring publishes 5-minute datapoints, visible minutes after their period ends: let 10 simulated
    // minutes pass before reading the one that holds the rejected calls.
    const end = sim!.clock.now();
    sim!.clock.advance(10 * 60_000);
    const metric = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(end.getTime() - 3600_000),
        EndTime: new Date(end.getTime() + 300_000),
        MetricDataQueries: [
          {
            Id: 'r',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/EC2',
                MetricName: 'MetadataNoTokenRejected',
                Dimensions: [{ Name: 'InstanceId', Value: LEGACY }],
              },
              Period: 60,
              Stat: 'Sum',
            },
          },
        ],
      }),
    );
    const rejected = (metric.MetricDataResults?.[0]?.Values ?? []).reduce((x, y) => x + y, 0);
    expect(rejected).toBeGreaterThanOrEqual(2);

    await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: LEGACY, HttpTokens: 'optional' }));
    sim!.clock.advance(2000);
    const failures = live.callerStats()[0]!.failures;
    await waitFor('the caller recovers after rollback', () => {
      const s = live.callerStats()[0]!;
      return s.lastExitCode === 0 && s.runs > before.runs && s.failures >= failures;
    });
  }, 300_000);
});
