#!/usr/bin/env node
// Calls per AWS operation that `imdsv2 assess` makes for a fleet of N instances in one account and region, counted by
// the simulator. Run after `pnpm build`: node scripts/bench-assess-calls.mjs 5000 50000
import { assess, createAwsClients } from '../packages/aws/dist/index.js';
import { scenarioFrom, startSimulator } from '../packages/simulator/dist/index.js';

const acct = '111111111111';
const region = 'us-east-1';
const ami = 'ami-0a1b2c3d4e5f60001';

function fleet(n) {
  return scenarioFrom({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: `bench-${n}`,
    now: '2025-06-30T06:00:00Z',
    regions: [region],
    accounts: [{ id: acct, name: 'bench' }],
    images: [{ id: ami, account: acct, region, name: 'al2023' }],
    launchTemplates: [{ name: 'app-lt', account: acct, region, versions: [{ imageId: ami }] }],
    autoScalingGroups: [{ name: 'asg', account: acct, region, launchTemplate: { name: 'app-lt' } }],
    instanceGroups: [
      {
        name: 'app',
        account: acct,
        region,
        count: n * 0.8,
        imageId: ami,
        callers: [{ process: { comm: 'aws', user: 'root' }, imds: 'v1', callsPerHour: 2, share: 0.1 }],
      },
      {
        name: 'asg',
        account: acct,
        region,
        count: n * 0.1,
        autoScalingGroup: 'asg',
        launchTemplate: { name: 'app-lt' },
      },
      {
        name: 'enforced',
        account: acct,
        region,
        count: n * 0.1,
        imageId: ami,
        metadataOptions: { httpTokens: 'required' },
      },
    ],
  });
}

for (const n of process.argv
  .slice(2)
  .map(Number)
  .filter((x) => x > 0).length
  ? process.argv.slice(2).map(Number)
  : [5000, 50000]) {
  const sim = await startSimulator({ scenario: fleet(n), port: 0, throttling: process.env.THROTTLING === '1' });
  const clients = createAwsClients({
    region,
    endpointUrl: sim.url,
    credentials: { accessKeyId: `AKIA${acct}SIMK`, secretAccessKey: 'x' },
    concurrency: 32,
  });
  const t0 = performance.now();
  const a = await assess({
    clients,
    regions: [region],
    lookbackDays: 14,
    minObservationDays: 7,
    tool: { name: 'bench', version: '0' },
  });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const snap = sim.counters.snapshot();
  console.log(
    JSON.stringify(
      {
        instances: a.instances.length,
        seconds,
        complete: a.complete,
        serverCalls: snap.calls,
        throttled: snap.throttled,
        logicalCalls: clients.log.snapshot(),
      },
      null,
      2,
    ),
  );
  clients.destroy();
  await sim.stop();
}
