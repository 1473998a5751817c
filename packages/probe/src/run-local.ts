import { spawn } from 'node:child_process';
import { CutoverError, silentReporter, type ProbeReport, type Reporter } from '@imdsv2-cutover/core';
import { parseProbeOutput } from './format.js';
import { linuxProbeScript, type ProbeScriptOptions } from './scripts.js';

export interface LocalProbeOptions extends Omit<ProbeScriptOptions, 'windowSeconds'> {
  windowSeconds: number;
  reporter?: Reporter;
  /** Extra seconds allowed beyond the window for inventory and start-up before the script is killed (default 120). */
  graceSeconds?: number;
}

/**
 * Runs the Linux probe on this machine with /bin/sh (script on stdin), bounded in time, and parses what it printed.
 * The script's stderr is passed to the reporter as debug events.
 */
export async function runLocalProbe(opts: LocalProbeOptions): Promise<ProbeReport> {
  const reporter = opts.reporter ?? silentReporter;
  if (process.platform !== 'linux') {
    throw new CutoverError('BAD_USAGE', `probe local runs the Linux probe; this machine is ${process.platform}`);
  }
  const script = linuxProbeScript(opts);
  const limitMs = (opts.windowSeconds + (opts.graceSeconds ?? 120)) * 1000;
  reporter.emit({ type: 'phase', phase: 'probe', message: `probing this host for ${opts.windowSeconds}s` });
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
