/**
 * How long AWS takes to answer a call: per operation a base plus a cost per item the answer carries (an instance of a
 * DescribeInstances page, a query of a GetMetricData call). The simulator holds each answer until its modelled latency
 * has passed since the request arrived, so the time it spends building the answer is inside the model, not added to it.
 *
 * AWS publishes no latency figures for these APIs. The defaults (`awsLatencyModel`) are assumptions set from what users
 * report, each listed with its reasoning in docs/simulator-fidelity.md ("Latency"); change them with
 * `imdsv2 simulate --latency` or `SimulatorOptions.latency`.
 */
export interface OperationLatency {
  /** Milliseconds every answer of the operation takes. */
  baseMs: number;
  /** Milliseconds added per item of the answer (see `itemsOf` in the handlers: instances, queries, accounts...). */
  perItemMs: number;
}

/**
 * Latency by operation, keyed `service.Operation` (`ec2.DescribeInstances`, `cloudwatch.GetMetricData`); the key `*`
 * applies to every operation not listed. An operation with no entry and no `*` answers at once.
 */
export type LatencyModel = Readonly<Record<string, OperationLatency>>;

/**
 * The default model (all assumptions, see docs/simulator-fidelity.md): about a second for a page of 1,000 instances,
 * 0.7 s for a GetMetricData call of 500 queries, 0.1 to 0.3 s for small calls.
 */
export const awsLatencyModel: LatencyModel = {
  '*': { baseMs: 100, perItemMs: 0 },
  'ec2.DescribeInstances': { baseMs: 200, perItemMs: 1 },
  'ec2.DescribeImages': { baseMs: 150, perItemMs: 1 },
  'ec2.DescribeLaunchTemplates': { baseMs: 150, perItemMs: 0.5 },
  'ec2.DescribeLaunchTemplateVersions': { baseMs: 150, perItemMs: 0.5 },
  'ec2.GetInstanceMetadataDefaults': { baseMs: 100, perItemMs: 0 },
  'ec2.DescribeRegions': { baseMs: 100, perItemMs: 0 },
  'ec2.ModifyInstanceMetadataOptions': { baseMs: 150, perItemMs: 0 },
  'cloudwatch.GetMetricData': { baseMs: 200, perItemMs: 1 },
  'cloudwatch.GetMetricStatistics': { baseMs: 100, perItemMs: 0 },
  'autoscaling.DescribeAutoScalingGroups': { baseMs: 150, perItemMs: 1 },
  'autoscaling.DescribeLaunchConfigurations': { baseMs: 150, perItemMs: 0.5 },
  'sts.GetCallerIdentity': { baseMs: 100, perItemMs: 0 },
  'sts.AssumeRole': { baseMs: 250, perItemMs: 0 },
  'organizations.ListAccounts': { baseMs: 200, perItemMs: 1 },
  'ssm.DescribeInstanceInformation': { baseMs: 150, perItemMs: 1 },
  'ssm.SendCommand': { baseMs: 200, perItemMs: 1 },
  'ssm.ListCommandInvocations': { baseMs: 150, perItemMs: 1 },
};

/** The modelled latency (ms) of one answer of `operation` (`service.Operation`) carrying `items` items. */
export function modelledLatencyMs(model: LatencyModel | undefined, operation: string, items: number): number {
  if (!model) return 0;
  const l = model[operation] ?? model['*'];
  return l ? l.baseMs + l.perItemMs * Math.max(0, items) : 0;
}

const entryRe = /^([*]|[a-z0-9-]+\.[A-Za-z0-9]+)=(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?$/;

/**
 * Parses the `--latency` grammar: entries separated by commas, each `aws` (the default model), `none` (no latency), or
 * `service.Operation=BASE[+PER_ITEM]` in milliseconds (`*=BASE[+PER_ITEM]` for every operation not listed). Later
 * entries override earlier ones: `aws,ec2.DescribeInstances=400+2` is the default model with slower pages.
 * Throws a RangeError naming the entry that does not parse.
 */
export function parseLatencyModel(text: string): LatencyModel {
  const model: Record<string, OperationLatency> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === 'aws') Object.assign(model, awsLatencyModel);
    else if (entry === 'none') for (const k of Object.keys(model)) delete model[k];
    else {
      const m = entryRe.exec(entry);
      if (!m)
        throw new RangeError(
          `"${entry}" is not a latency entry: use aws, none, or service.Operation=BASE[+PER_ITEM] in ms (e.g. ec2.DescribeInstances=200+1)`,
        );
      model[m[1]!] = { baseMs: Number(m[2]), perItemMs: m[3] === undefined ? 0 : Number(m[3]) };
    }
  }
  return model;
}
