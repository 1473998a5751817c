export {
  startSimulator,
  genericCommandRunner,
  type Simulator,
  type SimulatorOptions,
  type FleetAccess,
} from './simulator.js';
export {
  organizationScenario,
  organizationAccountId,
  ORGANIZATION_REGIONS,
  type OrganizationShape,
} from './organization.js';
export { loadScenario, parseScenario, scenarioFrom, bundledScenarios, type BundledScenario } from './scenario.js';
export { Fleet, type SimInstance, type SimCaller, type MetadataOptionValues, type StateSegment } from './fleet.js';
export {
  type MetricSource,
  type MetricWindow,
  type ImdsMetricName,
  callerMetricSource,
  MetricsEngine,
} from './metrics.js';
export type { CommandRunner, CommandRunContext, CommandRunResult } from './context.js';
export type { FaultConfig } from './faults.js';
export type { CounterSnapshot } from './counters.js';
export type { SimClock } from './clock.js';
export { bucketSpecs } from './throttle.js';
export {
  awsLatencyModel,
  modelledLatencyMs,
  parseLatencyModel,
  type LatencyModel,
  type OperationLatency,
} from './latency.js';
export { defaultAccessKey } from './accounts.js';
export { parseCron, cronFires, scheduleToCron } from './schedule.js';
export {
  probeCommandRunner,
  probeScriptParameters,
  simulatedProbeReport,
  type ProbeRunnerOptions,
} from './probe-runner.js';
export { LiveFleet, LiveInstance, type LiveCallerStats } from './live/index.js';
