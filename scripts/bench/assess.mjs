// Assessment at fleet scale on the simulator (AWS's throttling buckets, fixed latency per call), side by side with the
// per-instance approach on the same fleet. The simulator runs in this process; `imdsv2 assess` and the per-instance
// client each run as a measured child process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ACCESS_KEY, REGIONS, benchScenario, orgScenario } from './fleet.mjs';
import { latencyBound } from './model.mjs';
import { bucketSeconds, load, root, runCli, runNode } from './lib.mjs';

const { bucketSpecs, scenarioFrom, startSimulator } = await load('simulator');

/** Calls that succeeded and calls throttled, per operation, from the simulator's counters (retries included). */
function served(snap) {
  const ok = {};
  for (const [op, n] of Object.entries(snap.calls)) ok[op] = n - (snap.throttled[op] ?? 0) - (snap.faults?.[op] ?? 0);
  const throttled = Object.values(snap.throttled).reduce((a, b) => a + b, 0);
  return { ok, throttled, total: snap.totalCalls ?? Object.values(snap.calls).reduce((a, b) => a + b, 0) };
}

/**
 * The fewest calls `assess` can make for the fleet: 1 GetCallerIdentity, and per region ceil(n/1000)
 * DescribeInstances pages, ceil(n/500) GetMetricData batches, and one call each for the account defaults, launch
 * template versions, Auto Scaling groups and images (one template, group and image per region here).
 */
export function assessLowerBound(count, regionCount) {
  const per = Math.floor(count / regionCount);
  const region = {
    'ec2.DescribeInstances': Math.ceil(per / 1000),
    'cloudwatch.GetMetricData': Math.ceil(per / 500),
    'ec2.GetInstanceMetadataDefaults': 1,
    'ec2.DescribeLaunchTemplateVersions': 1,
    'autoscaling.DescribeAutoScalingGroups': 1,
    'ec2.DescribeImages': 1,
  };
  const total = 1 + regionCount * Object.values(region).reduce((a, b) => a + b, 0);
  return { perRegion: region, total };
}

/**
 * Throttle-bound minimum time (seconds) of a region's calls, regions in parallel (each has its own buckets):
 * the slowest bucket's wait (calls beyond the burst at the refill rate) plus the latency of the calls that must be
 * sequential (`depth`).
 */
export function throttleBoundSeconds(callsByCategory, depth, latencyMs) {
  const wait = Math.max(0, ...Object.entries(callsByCategory).map(([cat, n]) => bucketSeconds(n, bucketSpecs[cat])));
  return wait + (depth * latencyMs) / 1000;
}

export async function benchAssess({ count, regionCount, latencyMs, baseline, baselineProbe, concurrency = 16 }) {
  const regions = REGIONS.slice(0, regionCount);
  const scenario = scenarioFrom(benchScenario(count, regionCount));
  const env = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: regions[0] };
  const per = Math.floor(count / regionCount);
  const pages = Math.ceil(per / 1000);

  let sim = await startSimulator({ scenario, port: 0, throttling: true, latencyMs });
  const out = mkdtempSync(path.join(tmpdir(), 'bench-assess-'));
  let tool;
  try {
    sim.counters.reset();
    const simCpu = process.cpuUsage();
    const run = await runCli(
      // Discovery and measurement only: this is what the lower bound covers. The fleet probe is measured below.
      [
        ...['assess', '--endpoint-url', sim.url, '--regions', regions.join(','), '--no-report', '--out', out],
        ...['--json', '--probe', 'none'],
      ],
      { env },
    );
    const simCpuUsage = process.cpuUsage(simCpu);
    const result = JSON.parse(run.stdout);
    const s = served(sim.counters.snapshot());
    const bound = assessLowerBound(count, regionCount);
    const calls = Object.values(s.ok).reduce((a, b) => a + b, 0);
    // Sequential depth: identity, the DescribeInstances pages (NextToken chain), the last metric batch.
    const minSeconds = throttleBoundSeconds(
      { 'ec2.describe': pages + 3, 'cloudwatch.GetMetricData': Math.ceil(per / 500), 'autoscaling.describe': 1 },
      pages + 2,
      latencyMs,
    );
    tool = {
      complete: result.complete,
      instances: result.summary.totals.instances,
      calls,
      callsByOp: s.ok,
      lowerBound: bound.total,
      throttled: s.throttled,
      retries: s.total - calls,
      wallMs: run.wallMs,
      cpuMs: run.cpuMs,
      // This process (the simulator, answering) during the run: the other half of the CPU the run needs.
      simulatorCpuMs: (simCpuUsage.user + simCpuUsage.system) / 1000,
      maxRssMiB: run.maxRssMiB,
      minSeconds,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
    await sim.stop();
  }

  let naive = null;
  if (baseline) {
    // A fresh simulator: full buckets, as for the tool.
    sim = await startSimulator({ scenario, port: 0, throttling: true, latencyMs });
    try {
      sim.counters.reset();
      const args = [
        path.join(root, 'scripts/bench/per-instance-client.mjs'),
        '--endpoint',
        sim.url,
        '--regions',
        regions.join(','),
        '--concurrency',
        String(concurrency),
      ];
      if (baselineProbe) args.push('--probe');
      const run = await runNode(args, { env });
      const result = JSON.parse(run.stdout);
      const s = served(sim.counters.snapshot());
      const calls = Object.values(s.ok).reduce((a, b) => a + b, 0);
      const suspectsPerRegion = Math.ceil(result.suspects / regionCount);
      naive = {
        instances: result.instances,
        suspects: result.suspects,
        probed: baselineProbe,
        calls,
        callsByOp: s.ok,
        throttled: s.throttled,
        retries: s.total - calls,
        wallMs: run.wallMs,
        cpuMs: run.cpuMs,
        maxRssMiB: run.maxRssMiB,
        minSeconds: throttleBoundSeconds(
          {
            'ec2.describe': pages,
            'cloudwatch.GetMetricStatistics': per,
            ...(baselineProbe ? { 'ssm.SendCommand': suspectsPerRegion } : {}),
          },
          pages + 1 + (baselineProbe ? 1 : 0),
          latencyMs,
        ),
      };
    } finally {
      await sim.stop();
    }
  }
  // imdsv2's fleet probe, measured: assess with --probe suspects on a fresh simulator whose clock runs at 60x, so the
  // simulated hosts' 10 s trace window passes quickly. The simulator counts the SSM calls.
  sim = await startSimulator({ scenario, port: 0, throttling: true, latencyMs, clock: { speed: 60 } });
  const probeOut = mkdtempSync(path.join(tmpdir(), 'bench-probe-'));
  let probe;
  try {
    sim.counters.reset();
    await runCli(
      [
        ...['assess', '--endpoint-url', sim.url, '--regions', regions.join(','), '--no-report', '--out', probeOut],
        ...['--json', '--probe', 'suspects', '--probe-window', '10s'],
      ],
      { env },
    );
    const s = served(sim.counters.snapshot());
    const assessment = JSON.parse(readFileSync(path.join(probeOut, 'assessment.json'), 'utf8'));
    const sent = assessment.instances.filter(
      (i) => !['not-probed', 'not-managed', 'offline'].includes(i.probe.outcome),
    );
    const perRegion = new Map();
    for (const i of sent) perRegion.set(i.region, (perRegion.get(i.region) ?? 0) + 1);
    probe = {
      suspects: sent.length,
      toolSendCommand: s.ok['ssm.SendCommand'] ?? 0,
      toolSsmCalls: Object.entries(s.ok)
        .filter(([op]) => op.startsWith('ssm.'))
        .reduce((a, [, n]) => a + n, 0),
      toolLowerBound: [...perRegion.values()].reduce((a, n) => a + Math.ceil(n / 50), 0),
      perInstance: naive?.suspects ?? sent.length,
    };
  } finally {
    rmSync(probeOut, { recursive: true, force: true });
    await sim.stop();
  }
  return { count, regionCount, latencyMs, tool, naive, probe };
}

/**
 * `imdsv2 assess` against the simulator's latency model (`--latency`, default the AWS model): wall time beside the
 * latency-bound minimum of the same model (model.mjs) at the CLI's default concurrency. One account over `regionCount`
 * regions, or an organization (`accounts` > 1, `assess --org`). Peak RSS and CPU of the CLI; the progress lines it
 * printed (stderr is not a TTY here, so they are plain lines).
 */
export async function benchAssessModel({ accounts = 1, regionCount, perRegion, latency = 'aws' }) {
  const org = accounts > 1;
  const regions = REGIONS.slice(0, regionCount);
  const scenario = scenarioFrom(
    org ? orgScenario(accounts, regionCount, perRegion) : benchScenario(perRegion * regionCount, regionCount),
  );
  const env = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: regions[0] };
  const sim = await startSimulator({ scenario, port: 0, throttling: true, latency });
  const out = mkdtempSync(path.join(tmpdir(), 'bench-assess-model-'));
  try {
    sim.counters.reset();
    const simCpu = process.cpuUsage();
    // Without --json, so that the CLI prints its progress (stderr is a pipe: plain lines).
    const run = await runCli(
      [
        ...['assess', '--endpoint-url', sim.url, '--regions', regions.join(','), '--no-report', '--out', out],
        ...['--probe', 'none'],
        ...(org ? ['--org', '--role-name', 'OrganizationAccountAccessRole'] : []),
      ],
      { env },
    );
    const simCpuUsage = process.cpuUsage(simCpu);
    const assessment = JSON.parse(readFileSync(path.join(out, 'assessment.json'), 'utf8'));
    const s = served(sim.counters.snapshot());
    const bound = latencyBound({ accounts, regions: regionCount, perRegion, model: latency });
    const progressLines = run.stderr.split('\n').filter((l) => /^assess: \d+/.test(l));
    return {
      accounts,
      regionCount,
      perRegion,
      instances: assessment.instances.length,
      complete: assessment.complete,
      calls: Object.values(s.ok).reduce((a, b) => a + b, 0),
      boundCalls: bound.calls,
      throttled: s.throttled,
      wallMs: run.wallMs,
      cpuMs: run.cpuMs,
      simulatorCpuMs: (simCpuUsage.user + simCpuUsage.system) / 1000,
      maxRssMiB: run.maxRssMiB,
      bound,
      progress: { lines: progressLines.length, last: progressLines.at(-1) ?? null },
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
    await sim.stop();
  }
}
