import { Flags } from '@oclif/core';
import { CutoverError, cell, parseDuration } from '@imdsv2-cutover/core';
import { type LatencyModel, bundledScenarios, parseLatencyModel, startSimulator } from '@imdsv2-cutover/simulator';
import { BaseCommand } from '../base-command.js';

/** Result of `imdsv2 simulate --json` (printed once the server listens). */
export interface SimulateResult {
  endpoint: string;
  scenario: string;
  instances: number;
  accessKeyId: string;
  secretAccessKey: string;
  accounts: { id: string; name: string; accessKeyId: string }[];
  clock: { now: string; speed: number };
}

export default class Simulate extends BaseCommand<typeof Simulate> {
  static override description =
    'Run the fleet simulator: an AWS-compatible endpoint (EC2, CloudWatch, SSM, Auto Scaling, STS, Organizations) serving a simulated fleet, for rehearsals with --endpoint-url.';

  static override examples = [
    '<%= config.bin %> simulate --scenario demo --port 4566',
    '<%= config.bin %> simulate --scenario large-100k --clock-speed 3600',
    '<%= config.bin %> simulate --scenario ./my-fleet.yaml --no-throttling',
    '<%= config.bin %> simulate --scenario large-10k --latency aws,cloudwatch.GetMetricData=400+1',
  ];

  static override flags = {
    'apply-delay': Flags.string({
      description: 'Simulated time from pending to applied after ModifyInstanceMetadataOptions, e.g. 5s, 2m.',
      default: '5s',
    }),
    'clock-speed': Flags.string({
      description: 'Simulated seconds per real second (1 = real time, 3600 = an hour a second).',
      default: '1',
    }),
    host: Flags.string({ description: 'Address to listen on.', default: '127.0.0.1' }),
    latency: Flags.string({
      description:
        'AWS-like latency per operation, a base plus a cost per item answered (ms): aws (the default model, docs/simulator.md), or entries such as aws,ec2.DescribeInstances=400+2 or *=100.',
    }),
    'extra-latency': Flags.string({
      description: 'A flat latency added to every call (real time), on top of --latency, e.g. 50ms, 1s.',
      default: '0s',
    }),
    'metric-delay': Flags.string({
      description:
        'CloudWatch ingestion delay: how long after the end of its period a datapoint becomes visible, e.g. 3m (default: the scenario’s, 3m).',
    }),
    port: Flags.integer({ description: 'Port to listen on (0 picks a free one).', default: 4566, min: 0, max: 65535 }),
    scenario: Flags.string({
      description: `A scenario file, or a bundled scenario: ${bundledScenarios.join(', ')}.`,
      default: 'demo',
    }),
    throttling: Flags.boolean({ description: 'Throttle with AWS-like token buckets.', default: true, allowNo: true }),
  };

  async run(): Promise<SimulateResult | undefined> {
    const { flags } = this;
    const speed = Number(flags['clock-speed']);
    if (!(speed > 0))
      throw new CutoverError('BAD_USAGE', `--clock-speed "${cell(flags['clock-speed'])}" is not a positive number`, {
        suggestions: ['Use 1 for real time, or e.g. 3600 for an hour of simulated time a second.'],
      });
    const latency = flags.latency === undefined ? undefined : latencyFlag(flags.latency);
    const sim = await startSimulator({
      scenario: flags.scenario,
      port: flags.port,
      host: flags.host,
      clock: { speed },
      latencyMs: parseDuration(flags['extra-latency'], '--extra-latency') * 1000,
      ...(latency ? { latency } : {}),
      throttling: flags.throttling,
      applyDelayMs: parseDuration(flags['apply-delay'], '--apply-delay') * 1000,
      ...(flags['metric-delay'] === undefined
        ? {}
        : { metricDelayMs: parseDuration(flags['metric-delay'], '--metric-delay') * 1000 }),
    });
    const result: SimulateResult = {
      endpoint: sim.url,
      scenario: sim.scenario.name,
      instances: sim.fleet.instanceCount,
      accessKeyId: sim.defaultAccessKeyId,
      secretAccessKey: 'simulated',
      accounts: sim.fleet.model.accounts.map((a) => ({ id: a.id, name: a.name, accessKeyId: `AKIA${a.id}SIMK` })),
      clock: { now: sim.clock.now().toISOString(), speed },
    };
    if (this.jsonEnabled()) this.logJson(result);
    else this.render(result);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await sim.stop();
    // The JSON document was printed when the server started listening; do not print it a second time on exit.
    return this.jsonEnabled() ? undefined : result;
  }

  private render(result: SimulateResult): void {
    this.log(`Simulator "${cell(result.scenario)}" (${result.instances} instances) listening on ${result.endpoint}`);
    this.log(`  export AWS_ENDPOINT_URL=${result.endpoint}`);
    this.log(`  export AWS_ACCESS_KEY_ID=${result.accessKeyId} AWS_SECRET_ACCESS_KEY=${result.secretAccessKey}`);
    for (const a of result.accounts) this.log(`  account ${a.id} (${cell(a.name)}): access key ${a.accessKeyId}`);
    this.log(`  simulated time ${result.clock.now} at ${result.clock.speed}x; Ctrl-C stops`);
  }
}

/** `--latency` as a latency model; a malformed entry is BAD_USAGE (exit 2) naming it. */
function latencyFlag(text: string): LatencyModel {
  try {
    return parseLatencyModel(text);
  } catch (e) {
    throw new CutoverError('BAD_USAGE', `--latency: ${(e as Error).message}`, {
      suggestions: ['e.g. --latency aws, or --latency aws,ec2.DescribeInstances=400+2'],
    });
  }
}
