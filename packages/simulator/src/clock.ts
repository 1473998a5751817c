/**
 * The simulated clock. It runs from a start time at `speed` simulated seconds per real second, and can be advanced by
 * hand, so tests and demos pass a 24-hour soak in seconds. Every response's `Date` header comes from it.
 */
export interface SimClock {
  now(): Date;
  nowMs(): number;
  /**
   * The simulated time it was at a past real time (epoch ms), through every jump and speed change since the clock
   * started: what an event seen outside the simulator (a live instance's fake IMDS logs real times) maps to.
   */
  simMsAt(realMs: number): number;
  /** Jumps forward by `ms` simulated milliseconds. */
  advance(ms: number): void;
  /** Changes the speed from now on (1 = real time). */
  setSpeed(speed: number): void;
  readonly speed: number;
}

export function createClock(start: Date, speed = 1, realNow: () => number = () => Date.now()): SimClock {
  if (!(speed > 0)) throw new RangeError(`clock speed must be positive, got ${speed}`);
  let baseSim = start.getTime();
  let baseReal = realNow();
  let currentSpeed = speed;
  /** Earlier segments (real start, simulated start, speed), for `simMsAt`; the current one is the base above. */
  const history: { real: number; sim: number; speed: number }[] = [];
  const nowMs = (): number => baseSim + (realNow() - baseReal) * currentSpeed;
  const newSegment = (sim: number) => {
    history.push({ real: baseReal, sim: baseSim, speed: currentSpeed });
    baseReal = realNow();
    baseSim = sim;
  };
  return {
    nowMs,
    now: () => new Date(nowMs()),
    simMsAt(realMs: number) {
      if (realMs >= baseReal) return baseSim + (realMs - baseReal) * currentSpeed;
      for (let i = history.length - 1; i >= 0; i--) {
        const h = history[i]!;
        if (realMs >= h.real || i === 0) return h.sim + (realMs - h.real) * h.speed;
      }
      return baseSim + (realMs - baseReal) * currentSpeed;
    },
    advance(ms: number) {
      if (!(ms >= 0)) throw new RangeError(`can only advance the clock forward, got ${ms} ms`);
      newSegment(nowMs() + ms);
    },
    setSpeed(s: number) {
      if (!(s > 0)) throw new RangeError(`clock speed must be positive, got ${s}`);
      newSegment(nowMs());
      currentSpeed = s;
    },
    get speed() {
      return currentSpeed;
    },
  };
}

const unitMs = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Resolves a scenario time reference (`-20d`, `+6h` or an ISO date-time) against the scenario's `now`. */
export function resolveTimeRef(ref: string, nowMs: number): number {
  const m = /^([-+])(\d+)(s|m|h|d|w)$/.exec(ref);
  if (m) return nowMs + (m[1] === '-' ? -1 : 1) * Number(m[2]) * unitMs[m[3] as keyof typeof unitMs];
  const t = Date.parse(ref);
  if (Number.isNaN(t)) throw new RangeError(`not a time reference: ${ref}`);
  return t;
}
