#!/usr/bin/env node
// Benchmarks a wave against EC2's ModifyInstanceMetadataOptions bucket (100 burst, 5/s per account and region) on the
// simulator with throttling on: wall time of `enforce` vs the bucket-bound minimum ((N - 100) / 5 s).
// Usage: pnpm build && node scripts/bench-enforce.mjs [--instances 5000] [--concurrency 20]
// 5,000 instances are bucket-bound at 980 s (about 16 minutes); pass a smaller --instances for a quick check.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { instances: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '20' } },
});
const count = Number(values.instances);
const requireAws = createRequire(path.join(root, 'packages/aws/package.json'));
const { EC2Client } = requireAws('@aws-sdk/client-ec2');
const { CloudWatchClient } = requireAws('@aws-sdk/client-cloudwatch');
const { AutoScalingClient } = requireAws('@aws-sdk/client-auto-scaling');
const { enforce, computePlanHash } = await import(path.join(root, 'packages/aws/dist/index.js'));
const { startSimulator } = await import(path.join(root, 'packages/simulator/dist/index.js'));
const { Scenario, Policy, bucketBoundMs } = await import(path.join(root, 'packages/core/dist/index.js'));

const ACCOUNT = '111111111111';
const REGION = 'us-east-1';
const sim = await startSimulator({
  scenario: Scenario.parse({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'bench',
    now: '2026-11-20T12:00:00Z',
    regions: [REGION],
    accounts: [{ id: ACCOUNT, name: 'bench' }],
    instanceGroups: [{ name: 'web', account: ACCOUNT, region: REGION, count }],
  }),
  clock: { speed: 1 },
  applyDelayMs: 5000,
  throttling: true,
});
const config = {
  region: REGION,
  endpoint: sim.url,
  credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'x' },
  retryMode: 'adaptive',
  maxAttempts: 8,
  disableClockSkewCorrection: true,
};
const ec2 = new EC2Client(config);
const cw = new CloudWatchClient(config);
const clients = { ec2: () => ec2, cloudwatch: () => cw, autoScaling: () => new AutoScalingClient(config) };
const ids = [...sim.fleet.model.allInstances()].map((i) => i.id);
const plan = {
  schema: { name: 'imdsv2-cutover/plan', version: 1 },
  tool: { name: 'imdsv2-cutover', version: 'bench' },
  assessment: { id: 'bench', createdAt: sim.clock.now().toISOString(), sha256: 'a'.repeat(64) },
  policy: Policy.parse({ schema: { name: 'imdsv2-cutover/policy', version: 1 } }),
  policySha256: 'b'.repeat(64),
  waves: [
    {
      index: 0,
      name: 'all',
      kind: 'rollout',
      soakSeconds: 0,
      startOffsetSeconds: 0,
      guard: { maxRejectedCalls: 0, rollback: 'wave' },
      instances: ids.map((id) => ({
        instanceId: id,
        accountId: ACCOUNT,
        region: REGION,
        planned: { ...sim.fleet.metadataOptions(id), state: 'applied' },
        target: { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' },
        notes: [],
      })),
    },
  ],
  held: [],
  lockIn: [],
  manualLockIn: [],
  scp: null,
  startDate: null,
  notes: [],
};
plan.contentHash = computePlanHash(plan);
const dir = await mkdtemp(path.join(tmpdir(), 'bench-enforce-'));
sim.counters.reset();
const started = Date.now();
const result = await enforce({
  plan,
  wave: 0,
  journalFile: path.join(dir, 'journal.jsonl'),
  tool: plan.tool,
  clients,
  concurrency: Number(values.concurrency),
});
const wallMs = Date.now() - started;
const bound = bucketBoundMs(count, 100, 5);
const snap = sim.counters.snapshot();
console.log(
  JSON.stringify(
    {
      instances: count,
      applied: result.applied.length,
      verified: result.verified.length,
      wallSeconds: wallMs / 1000,
      bucketBoundSeconds: bound / 1000,
      overheadPercent: Math.round(((wallMs - bound) / Math.max(bound, 1)) * 1000) / 10,
      modifyCalls: snap.calls['ec2.ModifyInstanceMetadataOptions'] ?? 0,
      modifyThrottled: snap.throttled['ec2.ModifyInstanceMetadataOptions'] ?? 0,
      describeCalls: snap.calls['ec2.DescribeInstances'] ?? 0,
    },
    null,
    2,
  ),
);
await rm(dir, { recursive: true, force: true });
await sim.stop();
