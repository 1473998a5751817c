import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { CutoverError, silentReporter, type ProbeReport, type Reporter } from '@imdsv2-cutover/core';
import { parseProbeOutput } from './format.js';
import { linuxInventoryScript, linuxProbeScript, type ProbeScriptOptions } from './scripts.js';

export interface LocalProbeOptions extends Omit<ProbeScriptOptions, 'windowSeconds'> {
  windowSeconds: number;
  reporter?: Reporter;
  /** Extra seconds allowed beyond the window for inventory and start-up before the script is killed (default 120). */
  graceSeconds?: number;
}

export interface LocalInventoryOptions {
  /** The file tree to read as if it were `/`; relative paths are resolved against the working directory. */
  root: string;
  /** Extra vendor agents (parsed JSON shaped like core's known-agents.json). */
  extraAgents?: unknown;
  maxOutputChars?: number;
  reporter?: Reporter;
  /** Seconds before the script is killed (default 240: the file search and the jar and Go readers are bounded). */
  limitSeconds?: number;
}

function requireLinux(): void {
  if (process.platform !== 'linux') {
    throw new CutoverError('BAD_USAGE', `probe local runs the Linux probe; this machine is ${process.platform}`);
  }
}

/**
 * Runs a probe script with /bin/sh (script on stdin) in its own process group, kills the group after `limitMs`, and
 * parses what it printed. The script's stderr goes to the reporter as debug events, the parser's problems as warnings.
 */
async function runScript(script: string, limitMs: number, reporter: Reporter): Promise<ProbeReport> {
  const { stdout, timedOut } = await new Promise<{ stdout: string; timedOut: boolean }>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-s'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The script's own children (bpftrace, find) are in its process group.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    }, limitMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      for (const l of b.toString('utf8').split('\n'))
        if (l.trim() !== '') reporter.emit({ type: 'debug', message: `probe: ${l}` });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CutoverError('PROBE_FAILED', `could not start /bin/sh for the probe: ${e.message}`, { cause: e }));
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
  });
  const report = parseProbeOutput(stdout, { platform: 'linux' });
  if (timedOut) report.problems.push(`the probe was stopped after ${Math.round(limitMs / 1000)}s`);
  for (const p of report.problems) reporter.emit({ type: 'warning', code: 'PROBE_OUTPUT', message: p });
  return report;
}

/**
 * Runs the Linux probe on this machine with /bin/sh (script on stdin), bounded in time, and parses what it printed.
 * The script's stderr is passed to the reporter as debug events.
 */
export async function runLocalProbe(opts: LocalProbeOptions): Promise<ProbeReport> {
  const reporter = opts.reporter ?? silentReporter;
  requireLinux();
  const script = linuxProbeScript(opts);
  reporter.emit({ type: 'phase', phase: 'probe', message: `probing this host for ${opts.windowSeconds}s` });
  return runScript(script, (opts.windowSeconds + (opts.graceSeconds ?? 120)) * 1000, reporter);
}

/**
 * The offline inventory of a file tree (`imdsv2 probe local --root DIR`): the probe's static inventory and its reading
 * of the packet analyzer's log, with DIR taken as `/`, and nothing traced. For a mounted AMI snapshot, an unpacked
 * container image, or a rebuilt case. Same report format as the probe (tracer `none`, window 0 s).
 *
 * Errors: BAD_INPUT (exit 2) when `root` does not exist or is not a directory; BAD_USAGE when its absolute path holds
 * characters other than letters, digits and `. _ - /`.
 */
export async function runLocalInventory(opts: LocalInventoryOptions): Promise<ProbeReport> {
  const reporter = opts.reporter ?? silentReporter;
  requireLinux();
  const root = path.resolve(opts.root);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) {
    throw new CutoverError('BAD_INPUT', `--root ${JSON.stringify(opts.root)} is not a directory`, {
      suggestions: [
        'Give the directory to read as if it were / (a mounted AMI snapshot or an unpacked container image), e.g. --root /mnt/snapshot',
      ],
    });
  }
  const script = linuxInventoryScript({ root, extraAgents: opts.extraAgents, maxOutputChars: opts.maxOutputChars });
  reporter.emit({ type: 'phase', phase: 'probe', message: `reading the file tree under ${root} (nothing is traced)` });
  return runScript(script, (opts.limitSeconds ?? 240) * 1000, reporter);
}
