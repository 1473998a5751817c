import { readFileSync } from 'node:fs';
import { CutoverError, knownAgents, minimumVersions, type KnownAgent } from '@imdsv2-cutover/core';
import { DEFAULT_MAX_OUTPUT_CHARS, encodeValue } from './format.js';

/** Version of the probe scripts, printed in their header line. */
export const PROBE_VERSION = '0.1.0';
/** Longest trace window a caller may ask for unless it sets its own maximum. */
export const DEFAULT_MAX_WINDOW_SECONDS = 900;

function asset(name: string): string {
  return readFileSync(new URL(`../assets/${name}`, import.meta.url), 'utf8');
}

export interface ProbeScriptOptions {
  /** Trace window in seconds (1 .. maxWindowSeconds). */
  windowSeconds: number;
  /** Upper bound the caller allows for the window (default 900 s). */
  maxWindowSeconds?: number;
  /** Output budget in characters (default 24,000: what SSM returns). */
  maxOutputChars?: number;
  /** Install bpftrace with the host's package manager when it is missing (Linux only). */
  installTracer?: boolean;
  /** Extra vendor agents (parsed JSON shaped like core's known-agents.json), merged with the built-in ones. */
  extraAgents?: unknown;
  /** Root of the static inventory (tests point it at a temporary tree); default `/`. */
  root?: string;
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new CutoverError('BAD_USAGE', `${name} must be a whole number from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

function checkRoot(root: string | undefined): string {
  const r = root ?? '/';
  if (!/^\/[A-Za-z0-9._/-]*$/.test(r) || r.includes('..')) {
    throw new CutoverError(
      'BAD_USAGE',
      `inventory root must be an absolute path of letters, digits, . _ - /, got ${JSON.stringify(r)}`,
    );
  }
  return r === '/' ? '/' : r.replace(/\/+$/, '');
}

/** Fills `@@NAME@@` placeholders; values are inserted literally (no `$&` surprises). */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@@([A-Z_]+)@@/g, (m, k: string) => values[k] ?? m);
}

function minVersionLines(): string {
  return minimumVersions()
    .map((e) =>
      [
        e.id,
        e.ecosystem,
        e.name,
        e.minimum ?? '',
        e.uncertainBelow ?? '',
        e.never ? '1' : '',
        (e.bad ?? []).join(' '),
        encodeValue(e.advice ?? ''),
      ].join('|'),
    )
    .join('\n');
}

function agentLines(agents: KnownAgent[]): string {
  return agents
    .map((a) =>
      [encodeValue(a.name), a.processes.join(' '), a.paths.join(' '), a.status, encodeValue(a.advice)].join('|'),
    )
    .join('\n');
}

/**
 * The Linux probe as one POSIX shell script, parameters baked in (validated, so nothing the caller passes can break out
 * of the script's quoting), ready for SSM AWS-RunShellScript or `sh -s`.
 */
export function linuxProbeScript(opts: ProbeScriptOptions): string {
  const maxWindow = checkInt('maxWindowSeconds', opts.maxWindowSeconds ?? DEFAULT_MAX_WINDOW_SECONDS, 1, 86_400);
  const window = checkInt('windowSeconds', opts.windowSeconds, 1, maxWindow);
  const maxOut = checkInt('maxOutputChars', opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS, 2000, 10_000_000);
  const agents = knownAgents(opts.extraAgents);
  const withProgram = asset('linux-probe.sh').replace('@@BPFTRACE_PROGRAM@@', () => asset('linux-probe.bt').trimEnd());
  return fill(withProgram, {
    PROBE_VERSION,
    WINDOW: String(window),
    MAXOUT: String(maxOut),
    INSTALL_TRACER: opts.installTracer ? '1' : '0',
    ROOT: checkRoot(opts.root),
    MINVERSIONS: minVersionLines(),
    AGENTS: agentLines(agents),
  });
}

/** The Windows probe (PowerShell) for SSM AWS-RunPowerShellScript; prints the same line format. */
export function windowsProbeScript(opts: Omit<ProbeScriptOptions, 'installTracer' | 'root'>): string {
  const maxWindow = checkInt('maxWindowSeconds', opts.maxWindowSeconds ?? DEFAULT_MAX_WINDOW_SECONDS, 1, 86_400);
  const window = checkInt('windowSeconds', opts.windowSeconds, 1, maxWindow);
  const maxOut = checkInt('maxOutputChars', opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS, 2000, 10_000_000);
  return fill(asset('windows-probe.ps1'), {
    PROBE_VERSION,
    WINDOW: String(window),
    MAXOUT: String(maxOut),
    MINVERSIONS: minVersionLines(),
  });
}
