// One wave of `imdsv2 enforce` against EC2's ModifyInstanceMetadataOptions bucket (100 burst, 5/s per account and
// region) on the simulator: wall time against the bucket-bound minimum. The simulator runs in this process, the CLI
// as a measured child process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ACCESS_KEY, ACCOUNT } from './fleet.mjs';
import { bucketSeconds, load, runCli } from './lib.mjs';

const { bucketSpecs, startSimulator } = await load('simulator');
const { computePlanHash } = await load('aws');
const { Policy, Scenario } = await load('core');
const REGION = 'us-east-1';
const APPLY_DELAY_MS = 5000;

function wavePlan(sim, ids) {
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
  return plan;
}

export async function benchEnforce({ count, concurrency = 20 }) {
  const sim = await startSimulator({
    scenario: Scenario.parse({
      schema: { name: 'imdsv2-cutover/scenario', version: 1 },
      name: 'bench-enforce',
      now: '2026-11-20T12:00:00Z',
      regions: [REGION],
      accounts: [{ id: ACCOUNT, name: 'bench' }],
      instanceGroups: [{ name: 'web', account: ACCOUNT, region: REGION, count }],
    }),
    port: 0,
    clock: { speed: 1 },
    applyDelayMs: APPLY_DELAY_MS,
    throttling: true,
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-enforce-'));
  try {
    const ids = [...sim.fleet.model.allInstances()].map((i) => i.id);
    const planFile = path.join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(wavePlan(sim, ids)));
    sim.counters.reset();
    const run = await runCli(
      [
        'enforce',
        '--plan',
        planFile,
        '--wave',
        '0',
        '--yes',
        '--soak',
        '0s',
        '--endpoint-url',
        sim.url,
        '--region',
        REGION,
      ].concat(['--concurrency', String(concurrency), '--journal', path.join(dir, 'journal.jsonl'), '--json']),
      { env: { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'x' } },
    );
    const result = JSON.parse(run.stdout);
    const snap = sim.counters.snapshot();
    const op = 'ec2.ModifyInstanceMetadataOptions';
    return {
      count,
      applied: result.applied?.length ?? null,
      verified: result.verified?.length ?? null,
      wallMs: run.wallMs,
      cpuMs: run.cpuMs,
      maxRssMiB: run.maxRssMiB,
      boundSeconds: bucketSeconds(count, bucketSpecs['ec2.modify-instance-metadata-options']),
      // The last change still has to be applied (the simulator's apply delay) before the wave is verified.
      minSeconds: bucketSeconds(count, bucketSpecs['ec2.modify-instance-metadata-options']) + APPLY_DELAY_MS / 1000,
      modifyCalls: (snap.calls[op] ?? 0) - (snap.throttled[op] ?? 0),
      modifyThrottled: snap.throttled[op] ?? 0,
      describeCalls: snap.calls['ec2.DescribeInstances'] ?? 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await sim.stop();
  }
}
