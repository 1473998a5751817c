/** Counts of what the simulator served, for tests and benchmarks. Keys are `${service}.${operation}`. */
export interface CounterSnapshot {
  /** Calls received per operation (including throttled and faulted ones). */
  calls: Record<string, number>;
  /** Calls answered with a throttling error, per operation. */
  throttled: Record<string, number>;
  /** Faults injected, per kind (`error`, `reset`, `slow`, `regionDown`). */
  faults: Record<string, number>;
  totalCalls: number;
}

export class Counters {
  private calls = new Map<string, number>();
  private throttledCalls = new Map<string, number>();
  private faultCounts = new Map<string, number>();

  call(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  throttled(key: string): void {
    this.throttledCalls.set(key, (this.throttledCalls.get(key) ?? 0) + 1);
  }

  fault(kind: string): void {
    this.faultCounts.set(kind, (this.faultCounts.get(kind) ?? 0) + 1);
  }

  /** Calls of one operation so far. */
  get(key: string): number {
    return this.calls.get(key) ?? 0;
  }

  reset(): void {
    this.calls.clear();
    this.throttledCalls.clear();
    this.faultCounts.clear();
  }

  snapshot(): CounterSnapshot {
    let total = 0;
    for (const v of this.calls.values()) total += v;
    return {
      calls: Object.fromEntries(this.calls),
      throttled: Object.fromEntries(this.throttledCalls),
      faults: Object.fromEntries(this.faultCounts),
      totalCalls: total,
    };
  }
}
