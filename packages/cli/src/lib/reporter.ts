import type { EngineEvent, Reporter } from '@imdsv2-cutover/core';
import { terminalSafe } from '@imdsv2-cutover/core';
import ansis from 'ansis';

export interface CliReporterOptions {
  /** Where progress goes: stderr, so that stdout carries only results. */
  stream?: NodeJS.WriteStream;
  verbose?: boolean;
  quiet?: boolean;
  /** Off a TTY, the run's overall progress is printed at most this often (ms), and when complete. Default 10 s. */
  progressIntervalMs?: number;
  /** Clock for that interval (tests). */
  now?: () => number;
}

type ProgressEvent = Extract<EngineEvent, { type: 'progress' }>;

function progressText(e: ProgressEvent): string {
  const count = (done: number, total: number | undefined, unit: string | undefined) =>
    `${done}${total === undefined ? '' : `/${total}`}${unit ? ` ${unit}` : ''}`;
  const also = e.also ? `, ${count(e.also.done, e.also.total, e.also.unit)}` : '';
  return `${scopeLabel(e)}${e.phase}: ${count(e.done, e.total, e.unit)}${also}`;
}

function scopeLabel(e: EngineEvent): string {
  const s = e.scope;
  if (!s) return '';
  const parts = [s.account, s.region, s.wave === undefined ? undefined : `wave ${s.wave}`, s.instanceId].filter(
    (p): p is string => p !== undefined,
  );
  return parts.length > 0 ? `[${parts.map(terminalSafe).join(' ')}] ` : '';
}

/**
 * Turns engine events into terminal output on stderr. On a TTY, progress rewrites one line in place: the run's overall
 * progress (an event with `also`: regions and accounts done) followed by the latest detail (a region's pages or
 * series). Elsewhere (CI, pipes, files) each phase and warning is one plain line; the overall progress is a plain line
 * every `progressIntervalMs` and when complete, other progress only at its end and only when there is no overall
 * progress (a run over 4,000 regions would otherwise print a line per region), so logs stay short. Progress counted
 * in seconds (the guard's soak, which lasts hours) is a plain line for each minute it advances, and at its end.
 * Colour follows ansis' detection, which honours NO_COLOR and non-TTY streams.
 */
export class CliReporter implements Reporter {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly verbose: boolean;
  private readonly quiet: boolean;
  private liveLine = false;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private overall: string | undefined;
  private overallPrintedAt = Number.NEGATIVE_INFINITY;
  /** Off a TTY: the `done` of the last line printed per timed progress (a soak), so one line a minute is printed. */
  private readonly secondsPrinted = new Map<string, number>();

  constructor(options: CliReporterOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && process.env.TERM !== 'dumb';
    this.verbose = options.verbose ?? false;
    this.quiet = options.quiet ?? false;
    this.intervalMs = options.progressIntervalMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  emit(e: EngineEvent): void {
    switch (e.type) {
      case 'progress':
        if (!this.quiet) this.progress(e);
        return;
      case 'phase':
        if (!this.quiet) this.line(`${ansis.cyan('›')} ${scopeLabel(e)}${terminalSafe(e.message)}`);
        return;
      case 'warning':
        this.line(`${ansis.yellow('warning')} ${scopeLabel(e)}${terminalSafe(e.message)}`);
        return;
      case 'info':
        if (!this.quiet) this.line(`${scopeLabel(e)}${terminalSafe(e.message)}`);
        return;
      case 'debug':
        if (this.verbose) this.line(ansis.dim(`${scopeLabel(e)}${terminalSafe(e.message)}`));
        return;
    }
  }

  private progress(e: ProgressEvent): void {
    const text = progressText(e);
    const complete = e.total !== undefined && e.done === e.total && (!e.also || e.also.total === e.also.done);
    if (e.also) this.overall = text;
    if (this.tty) {
      const live = e.also || this.overall === undefined ? text : `${this.overall} · ${text}`;
      this.stream.write(`\r\x1b[2K${ansis.dim(live)}`);
      this.liveLine = true;
    } else if (e.also) {
      if (complete || this.now() - this.overallPrintedAt >= this.intervalMs) {
        this.overallPrintedAt = this.now();
        this.line(text);
      }
    } else if (e.unit === 's' && e.total !== undefined) {
      // A long wait counted in seconds (the guard's soak): a plain line for each minute of it, and at its end.
      const key = `${scopeLabel(e)}${e.phase}`;
      const last = this.secondsPrinted.get(key);
      if (complete || last === undefined || e.done - last >= 60) {
        this.secondsPrinted.set(key, e.done);
        this.line(text);
      }
    } else if (complete && this.overall === undefined) {
      this.line(text);
    }
  }

  /** Ends a live progress line so the next output starts clean. */
  flush(): void {
    if (this.liveLine) {
      this.stream.write('\r\x1b[2K');
      this.liveLine = false;
    }
  }

  private line(text: string): void {
    this.flush();
    this.stream.write(`${text}\n`);
  }
}
