import type { EngineEvent, Reporter } from '@imdsv2-cutover/core';
import { terminalSafe } from '@imdsv2-cutover/core';
import ansis from 'ansis';

export interface CliReporterOptions {
  /** Where progress goes: stderr, so that stdout carries only results. */
  stream?: NodeJS.WriteStream;
  verbose?: boolean;
  quiet?: boolean;
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
 * Turns engine events into terminal output on stderr. On a TTY, progress rewrites one line in place; elsewhere (CI,
 * pipes, files) each phase and warning is one plain line and progress is printed only at its end, so logs stay short.
 * Colour follows ansis' detection, which honours NO_COLOR and non-TTY streams.
 */
export class CliReporter implements Reporter {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly verbose: boolean;
  private readonly quiet: boolean;
  private liveLine = false;

  constructor(options: CliReporterOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && process.env.TERM !== 'dumb';
    this.verbose = options.verbose ?? false;
    this.quiet = options.quiet ?? false;
  }

  emit(e: EngineEvent): void {
    switch (e.type) {
      case 'progress': {
        if (this.quiet) return;
        const total = e.total === undefined ? '' : `/${e.total}`;
        const text = `${scopeLabel(e)}${e.phase}: ${e.done}${total}${e.unit ? ` ${e.unit}` : ''}`;
        if (this.tty) {
          this.stream.write(`\r\x1b[2K${ansis.dim(text)}`);
          this.liveLine = true;
        } else if (e.total !== undefined && e.done === e.total) {
          this.line(text);
        }
        return;
      }
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
