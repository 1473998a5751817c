import { hash32 } from './random.js';

/** Failures to inject into calls, from the scenario or the options. Rates are shares of calls (0..1). */
export interface FaultConfig {
  /** Share of calls answered with a 500 InternalError (EC2: InternalError; JSON services: InternalServerError). */
  errorRate?: number;
  /** Share of calls answered with a 503 ServiceUnavailable. */
  unavailableRate?: number;
  /** Share of calls whose connection is reset before any answer. */
  resetRate?: number;
  /**
   * Share of calls that are served (a Modify call makes its change) but whose connection is reset instead of the
   * successful answer: a lost answer. Error answers are sent as usual.
   */
  dropAnswerRate?: number;
  /** Share of calls delayed by `slowMs` real milliseconds. */
  slowRate?: number;
  slowMs?: number;
  /** Regions whose every call has its connection reset (a region outage). */
  regionsDown?: string[];
  /** Only these operations (`ec2.DescribeInstances`, ...) get faults; default all. */
  operations?: string[];
  /** Makes the draw deterministic. */
  seed?: number;
}

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'error' | 'unavailable' | 'reset' | 'regionDown' | 'dropAnswer' }
  | { kind: 'slow'; ms: number };

export class Faults {
  private config: FaultConfig;
  private n = 0;

  constructor(config: FaultConfig = {}) {
    this.config = config;
  }

  set(config: FaultConfig): void {
    this.config = config;
    this.n = 0;
  }

  decide(op: string, region: string): FaultDecision {
    const c = this.config;
    if (c.regionsDown?.includes(region)) return { kind: 'regionDown' };
    if (c.operations && !c.operations.includes(op)) return { kind: 'none' };
    const r = hash32(`fault/${this.n++}`, c.seed ?? 7) / 0x1_0000_0000;
    let edge = 0;
    for (const [kind, rate] of [
      ['reset', c.resetRate],
      ['error', c.errorRate],
      ['unavailable', c.unavailableRate],
      ['dropAnswer', c.dropAnswerRate],
    ] as const) {
      edge += rate ?? 0;
      if (r < edge) return { kind };
    }
    edge += c.slowRate ?? 0;
    if (r < edge) return { kind: 'slow', ms: c.slowMs ?? 2000 };
    return { kind: 'none' };
  }
}
