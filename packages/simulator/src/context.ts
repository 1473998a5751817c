import type { SimClock } from './clock.js';
import type { Fleet, SimInstance } from './fleet.js';
import type { MetricsEngine } from './metrics.js';
import type { QueryParams } from './protocol/query.js';

/** What decides the output of an SSM command on a simulated instance. */
export interface CommandRunContext {
  instance: SimInstance;
  documentName: string;
  commands: string[];
  executionTimeoutSeconds: number;
}

/** A finished command, or why it never ran. `durationMs` is simulated time. */
export type CommandRunResult =
  | { stdout: string; stderr: string; exitCode: number; durationMs?: number }
  | { status: 'Undeliverable' | 'TimedOut' | 'DeliveryTimedOut' };

export type CommandRunner = (ctx: CommandRunContext) => Promise<CommandRunResult> | CommandRunResult;

/** The simulator's shared state, handed to every service. */
export interface SimState {
  fleet: Fleet;
  clock: SimClock;
  metrics: MetricsEngine;
  applyDelayMs: number;
  emitZeroDatapoints: boolean;
  /** How long after the end of its period a datapoint becomes visible (simulated ms). */
  metricDelayMs: number;
  commandRunner: CommandRunner;
  /** Access keys issued by STS AssumeRole -> account. */
  issuedKeys: Map<string, string>;
  /** Per-service state kept by the services themselves (SSM commands). */
  services: Record<string, unknown>;
}

/** One call: who (account), where (region), when (simulated now). */
export interface Call {
  sim: SimState;
  account: string;
  region: string;
  accessKey: string;
  nowMs: number;
  requestId: string;
  /**
   * Items the answer carries (instances of a DescribeInstances page, queries of a GetMetricData call...), set by the
   * handler: the latency model's per-item cost (`latency.ts`) applies to them.
   */
  items?: number;
}

/** A query-protocol operation: returns the XML inside the response (EC2) or inside `<OpResult>` (awsQuery). */
export type QueryHandler = (call: Call, params: QueryParams) => string | Promise<string>;
/** A JSON-protocol operation: returns the response object. */
export type JsonHandler = (call: Call, body: Record<string, unknown>) => unknown;

/** A simulated service: its operations and the throttling category of each call. */
export interface QueryService {
  kind: 'query';
  name: string;
  xmlns: string;
  /** EC2 answers without an `<OpResult>` wrapper and with its own error envelope. */
  ec2: boolean;
  handlers: Record<string, QueryHandler>;
  category(op: string, params: QueryParams): string;
}

export interface JsonService {
  kind: 'json';
  name: string;
  contentType: string;
  /** The Smithy namespace for `__type` (e.g. com.amazonaws.ssm). */
  namespace: string;
  /** awsQuery-compatible JSON (CloudWatch): errors also carry `x-amzn-query-error`. */
  queryCompatible: boolean;
  handlers: Record<string, JsonHandler>;
  category(op: string, body: Record<string, unknown>): string;
}
