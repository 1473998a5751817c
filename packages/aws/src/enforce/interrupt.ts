import type { Reporter } from '@imdsv2-cutover/core';
import { CutoverError } from '@imdsv2-cutover/core';
import { defaultSleep } from './types.js';

/** Thrown by `Interrupt.sleep` when the user interrupts: the wave's run ends where it stands. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/** The phase of a wave a Ctrl-C came in. */
export type InterruptedPhase = 'apply' | 'verify' | 'soak';

/**
 * A user's interruption (Ctrl-C) of an instance wave, seen through an AbortSignal. Once requested, the enforcer sends
 * no new change (`requested`), lets the calls in flight finish and record their answers, and ends waits and the soak
 * at once (`sleep` rejects with `Interrupted`). The journal keeps the wave open (no wave-end), so a re-run resumes it.
 * The guard's own rollback never uses this sleep: a rollback is never left half done.
 */
export class Interrupt {
  requested = false;
  /** The instances whose ModifyInstanceMetadataOptions was in flight when the interruption came. */
  inFlightAtRequest: string[] = [];

  constructor(
    private readonly signal: AbortSignal | undefined,
    reporter: Reporter,
    scope: { wave: number },
    inFlight: ReadonlySet<string>,
  ) {
    if (!signal) return;
    const onAbort = () => {
      this.requested = true;
      this.inFlightAtRequest = [...inFlight].sort();
      const n = this.inFlightAtRequest.length;
      reporter.emit({
        type: 'warning',
        code: 'INTERRUPTED',
        message:
          `interrupted: no new change is sent; ` +
          (n > 0
            ? `${n} call(s) in flight finish and are recorded (${listed(this.inFlightAtRequest)})`
            : 'no call is in flight') +
          '. Ctrl-C again exits at once (the journal still resumes).',
        scope,
      });
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** `base` that rejects with `Interrupted` as soon as the interruption comes (at once if it already has). */
  sleep(base: (ms: number) => Promise<void>): (ms: number) => Promise<void> {
    const signal = this.signal;
    if (!signal) return base;
    return (ms) =>
      new Promise<void>((resolve, reject) => {
        if (this.requested || signal.aborted) {
          reject(new Interrupted());
          return;
        }
        let timer: NodeJS.Timeout | undefined;
        const onAbort = () => {
          if (timer) clearTimeout(timer);
          reject(new Interrupted());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        // The real sleep's timer is cleared on abort, so the process does not wait out a guard interval to exit.
        if (base === defaultSleep) timer = setTimeout(done, ms);
        else base(ms).then(done, reject);
      });
  }

  /**
   * INTERRUPTED (exit 130): what the run did (changed and recorded, in flight then recorded, recorded intents not
   * sent, not changed), that nothing watches the changed instances until the wave resumes, and the commands that
   * resume it or roll it back.
   */
  error(o: {
    phase: InterruptedPhase;
    wave: { index: number; name: string; instances: number };
    changed: string[];
    before: number;
    notSent: number;
    untouched: number;
    soak?: { elapsedSeconds: number; totalSeconds: number };
    planFile: string | undefined;
    journalFile: string;
    details: Record<string, unknown>;
  }): CutoverError {
    const where =
      o.phase === 'apply'
        ? 'while applying'
        : o.phase === 'verify'
          ? 'while waiting for EC2 to report the changes applied'
          : `during the soak (${o.soak?.elapsedSeconds ?? 0} s of ${o.soak?.totalSeconds ?? 0} s)`;
    const parts = [
      `${o.changed.length} instance(s) changed in this run and recorded${o.changed.length > 0 ? ` (${listed(o.changed)})` : ''}`,
      ...(o.before > 0 ? [`${o.before} changed by an earlier run`] : []),
      ...(this.inFlightAtRequest.length > 0
        ? [`${this.inFlightAtRequest.length} call(s) were in flight and their answers are recorded`]
        : []),
      ...(o.notSent > 0 ? [`${o.notSent} intent(s) recorded but not sent (a resume reads them back from EC2)`] : []),
      ...(o.untouched > 0 ? [`${o.untouched} instance(s) not changed`] : []),
    ];
    const plan = o.planFile ?? 'PLAN';
    return new CutoverError(
      'INTERRUPTED',
      `wave ${o.wave.index} (${o.wave.name}) interrupted ${where}: ${parts.join('; ')}. The journal ${o.journalFile} keeps the wave open; until it resumes, no guard watches the changed instances.`,
      {
        suggestions: [
          `Resume (the next run says it is resuming; the soak keeps its start): imdsv2 enforce --plan ${plan} --wave ${o.wave.index} --journal ${o.journalFile}`,
          `Or undo the wave: imdsv2 rollback --journal ${o.journalFile} --wave ${o.wave.index}`,
        ],
        details: o.details,
      },
    );
  }
}

function listed(ids: readonly string[]): string {
  return ids.length > 10 ? `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more` : ids.join(', ');
}
