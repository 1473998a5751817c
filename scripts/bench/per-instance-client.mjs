#!/usr/bin/env node
// The per-instance approach that existing IMDSv1 finders take, as a baseline: list the instances, then one
// GetMetricStatistics per instance for MetadataNoToken, then one SendCommand per instance that made IMDSv1 calls. It uses
// the real SDK clients (adaptive retry, 8 attempts, as imdsv2 does, so that it finishes under throttling), runs regions in
// parallel and keeps `--concurrency` calls in flight per region: the approach at its best, not a strawman.
// Prints one JSON document: instances, suspects, calls made. Usage (the runner starts it against the simulator):
//   node scripts/bench/per-instance-client.mjs --endpoint URL --regions us-east-1,eu-west-1 [--concurrency 16] [--probe]
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { root } from './lib.mjs';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    regions: { type: 'string', default: 'us-east-1' },
    concurrency: { type: 'string', default: '16' },
    'lookback-days': { type: 'string', default: '14' },
    probe: { type: 'boolean', default: false },
  },
});
const sdk = createRequire(path.join(root, 'packages/aws/package.json'));
const { EC2Client, paginateDescribeInstances } = sdk('@aws-sdk/client-ec2');
const { CloudWatchClient, GetMetricStatisticsCommand } = sdk('@aws-sdk/client-cloudwatch');
const { SSMClient, SendCommandCommand } = sdk('@aws-sdk/client-ssm');

/** Runs fn over items with at most `limit` in flight. */
async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const calls = {};
const count = (op) => (calls[op] = (calls[op] ?? 0) + 1);
let serviceNow = 0;
/** The service's clock from the Date header (the simulator's clock is not this machine's). */
const clockMiddleware = (next) => async (args) => {
  const out = await next(args);
  const date = out.response?.headers?.date;
  if (date) serviceNow = Date.parse(date);
  return out;
};

async function region(name) {
  const config = {
    region: name,
    endpoint: values.endpoint,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: 'x' },
    retryMode: 'adaptive',
    maxAttempts: 8,
  };
  const ec2 = new EC2Client(config);
  ec2.middlewareStack.add(clockMiddleware, { step: 'deserialize' });
  const cw = new CloudWatchClient(config);
  const ssm = new SSMClient(config);
  const instances = [];
  for await (const page of paginateDescribeInstances({ client: ec2 }, { MaxResults: 1000 })) {
    count('ec2:DescribeInstances');
    for (const r of page.Reservations ?? []) instances.push(...(r.Instances ?? []));
  }
  const end = new Date(serviceNow);
  const start = new Date(serviceNow - Number(values['lookback-days']) * 86_400_000);
  const suspects = [];
  await pool(instances, Number(values.concurrency), async (i) => {
    const out = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/EC2',
        MetricName: 'MetadataNoToken',
        Dimensions: [{ Name: 'InstanceId', Value: i.InstanceId }],
        StartTime: start,
        EndTime: end,
        Period: 86_400,
        Statistics: ['Sum'],
      }),
    );
    count('cloudwatch:GetMetricStatistics');
    if ((out.Datapoints ?? []).some((d) => (d.Sum ?? 0) > 0)) suspects.push(i.InstanceId);
  });
  if (values.probe) {
    await pool(suspects, Number(values.concurrency), async (id) => {
      await ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [id],
          Parameters: { commands: ['/usr/local/bin/find-imdsv1-callers'] },
        }),
      );
      count('ssm:SendCommand');
    });
  }
  for (const c of [ec2, cw, ssm]) c.destroy();
  return { instances: instances.length, suspects: suspects.length };
}

const results = await Promise.all(values.regions.split(',').map(region));
console.log(
  JSON.stringify({
    instances: results.reduce((n, r) => n + r.instances, 0),
    suspects: results.reduce((n, r) => n + r.suspects, 0),
    calls,
  }),
);
