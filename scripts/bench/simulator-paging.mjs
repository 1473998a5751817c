// Measures how long the 100,000-instance scenario takes to load and to serve a full DescribeInstances paging
// (1,000 per page) to the real SDK client. Run after `pnpm build`: node scripts/bench/simulator-paging.mjs [large-100k]
import { createRequire } from 'node:module';
import { startSimulator } from '../../packages/simulator/dist/index.js';

// The root does not depend on the SDK: resolve it as the simulator package does.
const { DescribeInstancesCommand, EC2Client } = createRequire(
  new URL('../../packages/simulator/package.json', import.meta.url),
)('@aws-sdk/client-ec2');

const scenario = process.argv[2] ?? 'large-100k';
const heapBefore = process.memoryUsage().heapUsed;
let t = performance.now();
const sim = await startSimulator({ scenario, throttling: false });
const loadMs = performance.now() - t;
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
const ec2 = new EC2Client({
  endpoint: sim.url,
  region: 'us-east-1',
  credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'x' },
});
t = performance.now();
let token;
let instances = 0;
let pages = 0;
do {
  const out = await ec2.send(new DescribeInstancesCommand({ MaxResults: 1000, NextToken: token }));
  for (const r of out.Reservations ?? []) instances += r.Instances?.length ?? 0;
  token = out.NextToken;
  pages++;
} while (token);
const pagingMs = performance.now() - t;
await sim.stop();
console.log(
  JSON.stringify({
    scenario,
    instances: sim.fleet.instanceCount,
    loadMs: Math.round(loadMs),
    heapMb: Math.round(heapMb),
    pages,
    described: instances,
    pagingMs: Math.round(pagingMs),
  }),
);
