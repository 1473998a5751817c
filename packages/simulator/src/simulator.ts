import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Scenario } from '@imdsv2-cutover/core';
import { CutoverError } from '@imdsv2-cutover/core';
import { defaultAccessKey } from './accounts.js';
import { createClock, type SimClock } from './clock.js';
import type { CommandRunner, JsonService, QueryService, SimState } from './context.js';
import { type CounterSnapshot, Counters } from './counters.js';
import { type FaultConfig, Faults } from './faults.js';
import { Fleet, type MetadataOptionValues, type SimCaller, type SimInstance } from './fleet.js';
import { type MetricSource, MetricsEngine } from './metrics.js';
import { type LatencyModel, parseLatencyModel } from './latency.js';
import { LiveFleet } from './live/index.js';
import { probeCommandRunner } from './probe-runner.js';
import { loadScenario } from './scenario.js';
import { handleRequest } from './server.js';
import { autoScalingService } from './services/autoscaling.js';
import { cloudWatchJsonService, cloudWatchQueryService } from './services/cloudwatch.js';
import { ec2Service } from './services/ec2.js';
import { organizationsService, stsService } from './services/identity.js';
import { ssmService } from './services/ssm.js';
import { Throttler } from './throttle.js';

export interface SimulatorOptions {
  /** A scenario object, a bundled scenario name (see `bundledScenarios`) or a scenario file path. */
  scenario: Scenario | string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Simulated start (default the scenario's `now`) and speed (simulated seconds per real second, default 1). */
  clock?: { start?: Date | string; speed?: number };
  /** Flat real latency (ms) added to every call before it is served. */
  latencyMs?: number;
  /**
   * AWS's latency per operation, a base plus a cost per item of the answer (`latency.ts`): a model, or the `--latency`
   * grammar (`aws`, `aws,ec2.DescribeInstances=400+2`). Default: none. Held from the request's arrival, so the
   * simulator's own work is inside it; `latencyMs` adds on top.
   */
  latency?: LatencyModel | string;
  /** Token-bucket throttling (default on). */
  throttling?: boolean;
  faults?: FaultConfig;
  /** Simulated ms from `pending` to `applied` after ModifyInstanceMetadataOptions (default 5000). */
  applyDelayMs?: number;
  /** CloudWatch ingestion delay in simulated ms (default: the scenario's `metricIngestionDelay`, 3 minutes). */
  metricDelayMs?: number;
  /**
   * Start the scenario's live instances (`live: true` groups) as network namespaces (default true; needs root). With
   * false they are modelled like the others.
   */
  live?: boolean;
}

/** Read/write access to the simulated fleet for tests. */
export interface FleetAccess {
  readonly instanceCount: number;
  instance(id: string): SimInstance | undefined;
  /** Current metadata options with their state (`pending` until applied). */
  metadataOptions(id: string): (MetadataOptionValues & { state: 'pending' | 'applied' }) | undefined;
  callers(id: string): SimCaller[] | undefined;
  setCallers(id: string, callers: SimCaller[]): void;
  start(id: string): void;
  stop(id: string): void;
  /** Terminates an instance: it stays listed as `terminated`; SSM and Modify calls refuse it. */
  terminate(id: string): void;
  /** Plugs a live metric source (e.g. a fake IMDS in a network namespace) into one instance; `undefined` restores the model. */
  setMetricSource(id: string, source: MetricSource | undefined): void;
  /** The underlying model, for anything not covered above. */
  readonly model: Fleet;
}

export interface Simulator {
  /** `http://host:port`: give it to the SDK clients as `endpoint`. */
  url: string;
  port: number;
  /** The access key that maps to the scenario's first account (any secret works). */
  defaultAccessKeyId: string;
  scenario: Scenario;
  clock: SimClock;
  counters: { get(key: string): number; reset(): void; snapshot(): CounterSnapshot };
  fleet: FleetAccess;
  setFaults(faults: FaultConfig): void;
  /** Changes the CloudWatch ingestion delay (simulated ms). */
  setMetricDelay(ms: number): void;
  setThrottling(enabled: boolean): void;
  /** Replaces the runner of modelled instances (live instances always run commands for real). */
  setCommandRunner(fn: CommandRunner): void;
  /** The live instances (network namespaces), when the scenario has any. */
  live: LiveFleet | undefined;
  stop(): Promise<void>;
}

/**
 * The fallback SSM command runner: every command succeeds quickly with a generic line of output. (The simulator's
 * default runner answers the on-host probe with what the instance's callers imply and other commands with this.)
 */
export const genericCommandRunner: CommandRunner = ({ instance, commands }) => ({
  stdout: `simulated: ran ${commands.length} command(s) on ${instance.id}\n`,
  stderr: '',
  exitCode: 0,
  durationMs: 1500,
});

/** Instances whose scenario says `ssm.failCommands` fail every command (exit code 1); others run `next`. */
function failingHosts(next: CommandRunner): CommandRunner {
  return (ctx) =>
    ctx.instance.ssm.failCommands
      ? { stdout: '', stderr: 'simulated failure (scenario ssm.failCommands)\n', exitCode: 1, durationMs: 1500 }
      : next(ctx);
}

/** `3m`, `90s`, `1h` (validated by the scenario schema) in ms. */
function delayMs(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text);
  if (!m) throw new RangeError(`not a delay: ${text}`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

/**
 * Why the server could not listen, as BAD_USAGE (exit 2) naming the address: a port in use (another simulator, a
 * LocalStack), a privileged port without root, or a host address this machine does not have. Other errors pass as is.
 */
function listenError(e: unknown, host: string, port: number): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const reason: Record<string, string> = {
    EADDRINUSE: `port ${port} on ${host} is already in use`,
    EACCES: `not allowed to listen on ${where} (ports below 1024 need root)`,
    EADDRNOTAVAIL: `cannot listen on ${where}: ${host} is not an address of this machine`,
  };
  if (code === undefined || reason[code] === undefined) return e;
  return new CutoverError('BAD_USAGE', `the simulator cannot start: ${reason[code]}`, {
    suggestions: [
      code === 'EADDRNOTAVAIL'
        ? 'Listen on 127.0.0.1 (the default) or another address of this machine: --host 127.0.0.1'
        : 'Pick another port, or --port 0 to have a free one picked (the endpoint is printed).',
    ],
    cause: e,
  });
}

/** Starts the simulator's HTTP server. Errors: BAD_USAGE when it cannot listen on the host and port asked for. */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const scenario = typeof opts.scenario === 'string' ? await loadScenario(opts.scenario) : opts.scenario;
  const fleet = new Fleet(scenario);
  const start = opts.clock?.start === undefined ? new Date(fleet.startMs) : new Date(opts.clock.start);
  const clock = createClock(start, opts.clock?.speed ?? 1);
  const metrics = new MetricsEngine();
  const state: SimState = {
    fleet,
    clock,
    metrics,
    applyDelayMs: opts.applyDelayMs ?? 5000,
    emitZeroDatapoints: scenario.emitZeroDatapoints,
    metricDelayMs: opts.metricDelayMs ?? delayMs(scenario.metricIngestionDelay),
    commandRunner: failingHosts(probeCommandRunner({ clock, fallback: genericCommandRunner })),
    issuedKeys: new Map(),
    services: {},
  };
  const liveIds = opts.live === false ? [] : LiveFleet.liveIds(scenario, fleet);
  const live = liveIds.length > 0 ? await LiveFleet.start(liveIds, fleet, clock, metrics) : undefined;
  if (live) state.commandRunner = live.commandRunner(state.commandRunner);
  const counters = new Counters();
  const throttler = new Throttler(opts.throttling ?? true);
  const faults = new Faults(opts.faults);
  const queryServices = new Map<string, QueryService>([
    ['2016-11-15', ec2Service],
    ['2010-08-01', cloudWatchQueryService],
    ['2011-01-01', autoScalingService],
    ['2011-06-15', stsService],
  ]);
  const jsonServices = new Map<string, JsonService>([
    ['GraniteServiceVersion20100801', cloudWatchJsonService],
    ['AmazonSSM', ssmService],
    ['AWSOrganizationsV20161128', organizationsService],
  ]);
  const env = {
    state,
    queryServices,
    jsonServices,
    counters,
    throttler,
    faults,
    latencyMs: opts.latencyMs ?? 0,
    latency: typeof opts.latency === 'string' ? parseLatencyModel(opts.latency) : opts.latency,
    globalServices: new Set(['sts', 'organizations']),
  };
  const server: Server = createServer((req, res) => {
    handleRequest(env, req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 5000;
  const host = opts.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
  } catch (e) {
    live?.close();
    throw listenError(e, host, opts.port ?? 0);
  }
  const port = (server.address() as AddressInfo).port;
  const mustGet = (id: string): SimInstance => {
    const inst = fleet.instance(id);
    if (!inst) throw new RangeError(`no instance ${id} in the simulated fleet`);
    return inst;
  };
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    defaultAccessKeyId: defaultAccessKey(fleet.accounts[0]!.id),
    scenario,
    clock,
    counters,
    fleet: {
      get instanceCount() {
        return fleet.instanceCount;
      },
      instance: (id) => fleet.instance(id),
      metadataOptions(id) {
        const inst = fleet.instance(id);
        return inst ? { ...inst.options, state: fleet.optionsState(inst, clock.nowMs()) } : undefined;
      },
      callers: (id) => fleet.instance(id)?.callers,
      setCallers(id, callers) {
        mustGet(id).callers = callers;
      },
      start: (id) => fleet.start(mustGet(id), clock.nowMs()),
      terminate: (id) => fleet.terminate(mustGet(id), clock.nowMs()),
      stop: (id) => fleet.stop(mustGet(id), clock.nowMs()),
      setMetricSource: (id, source) => metrics.setSource(id, source),
      model: fleet,
    },
    setFaults: (f) => faults.set(f),
    setMetricDelay(ms) {
      state.metricDelayMs = ms;
    },
    setThrottling(enabled) {
      throttler.enabled = enabled;
      throttler.reset();
    },
    setCommandRunner(fn) {
      state.commandRunner = failingHosts(live ? live.commandRunner(fn) : fn);
    },
    live,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        live?.close();
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
