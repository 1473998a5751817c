/**
 * The engine never prints. It reports what it does through a `Reporter` that the caller injects: the CLI turns events
 * into progress bars on a TTY and plain lines elsewhere, tests record them, and a library user can forward them to a
 * logger. Results are return values, never events.
 */

/** Where an event happened: an account, a region, an instance, a wave. All optional. */
export interface EventScope {
  account?: string;
  region?: string;
  instanceId?: string;
  wave?: number | string;
}

export type EngineEvent =
  /** A phase of a long operation starts (discover, measure, probe, plan, apply, soak, rollback...). */
  | { type: 'phase'; phase: string; message: string; scope?: EventScope }
  /**
   * Progress within a phase: `done` of `total` units (total unknown while paging); `also` counts a second unit of the
   * same progress (regions done, and the accounts whose every region is done).
   */
  | {
      type: 'progress';
      phase: string;
      done: number;
      total?: number;
      unit?: string;
      also?: { done: number; total?: number; unit: string };
      scope?: EventScope;
    }
  /** Something the user should know but that does not stop the run (a region failed, data incomplete). */
  | { type: 'warning'; code: string; message: string; scope?: EventScope }
  /** A noteworthy step (a wave applied, a guard poll) for logs. */
  | { type: 'info'; message: string; scope?: EventScope }
  /** Detail for `--verbose` / debugging. */
  | { type: 'debug'; message: string; scope?: EventScope };

export interface Reporter {
  emit(event: EngineEvent): void;
}

/** A reporter that drops everything: for library use where nobody listens. */
export const silentReporter: Reporter = { emit: () => undefined };

/** A reporter that keeps every event in memory; tests assert on what the engine told the user. */
export class RecordingReporter implements Reporter {
  readonly events: EngineEvent[] = [];
  emit(event: EngineEvent): void {
    this.events.push(event);
  }
  ofType<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
  }
}
