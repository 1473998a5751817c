import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseProbeOutput, renderProbeOutput } from '@imdsv2-cutover/probe';
import { ImdsNamespace, type ImdsLogEntry } from '@imdsv2-cutover/probe/testing';
import type { SimClock } from '../clock.js';
import type { CommandRunContext, CommandRunResult } from '../context.js';
import type { SimCaller, SimInstance } from '../fleet.js';
import { callerMetricSource, type ImdsMetricName, type MetricSource, type MetricWindow } from '../metrics.js';
import { probeScriptParameters } from '../probe-runner.js';

/** How a live caller's runs went: each run of its command is one call attempt. */
export interface LiveCallerStats {
  comm: string;
  argv: string;
  runs: number;
  failures: number;
  lastExitCode: number | null;
}

interface RunningCaller {
  caller: SimCaller;
  child: ChildProcess;
  stats: LiveCallerStats;
}

/** The effective IMDS settings at simulated time `t`, from the instance's settings history. */
function settingsAt(
  inst: SimInstance,
  t: number,
): { httpTokens: 'optional' | 'required'; httpEndpoint: 'enabled' | 'disabled' } {
  let seg = inst.history[0]!;
  for (const s of inst.history) if (s.at <= t) seg = s;
  return { httpTokens: seg.httpTokens, httpEndpoint: seg.httpEndpoint };
}

/**
 * One live instance: a network namespace whose 169.254.169.254:80 is a fake IMDS that follows the simulated instance's
 * metadata options (checked every 200 ms against the simulated clock, so a ModifyInstanceMetadataOptions shows once it
 * is `applied`), the instance's callers running for real inside it, and SSM commands run there with `/bin/sh`.
 */
export class LiveInstance {
  readonly instance: SimInstance;
  readonly ns: ImdsNamespace;
  /** Simulated time the live instance started: metrics before it come from the scenario's callers. */
  readonly startedAtMs: number;
  private readonly clock: SimClock;
  private readonly callers: RunningCaller[] = [];
  private readonly timer: NodeJS.Timeout;
  private mode: string;
  private closed = false;

  private constructor(instance: SimInstance, ns: ImdsNamespace, clock: SimClock) {
    this.instance = instance;
    this.ns = ns;
    this.clock = clock;
    this.startedAtMs = clock.nowMs();
    this.mode = JSON.stringify(settingsAt(instance, this.startedAtMs));
    this.timer = setInterval(() => this.followSettings(), 200);
    this.timer.unref();
  }

  static async start(instance: SimInstance, clock: SimClock): Promise<LiveInstance> {
    const settings = settingsAt(instance, clock.nowMs());
    const ns = await ImdsNamespace.create({ prefix: 'imdsv2live', ...settings });
    const live = new LiveInstance(instance, ns, clock);
    try {
      for (const c of instance.callers) live.startCaller(c);
    } catch (e) {
      live.close();
      throw e;
    }
    return live;
  }

  private followSettings(): void {
    if (this.closed) return;
    const s = settingsAt(this.instance, this.clock.nowMs());
    const key = JSON.stringify(s);
    if (key !== this.mode) {
      this.mode = key;
      this.ns.setMode(s);
    }
  }

  /**
   * Runs the caller's `argv` in a loop inside the namespace, `callsPerHour` times an hour (real time), and counts the
   * exit status of each run: a caller whose IMDSv1 call is refused shows up as failures.
   */
  private startCaller(c: SimCaller): void {
    if (!c.argv) throw new RangeError(`live caller ${c.comm} on ${this.instance.id} needs an argv to run`);
    const interval = c.callsPerHour > 0 ? Math.max(0.2, 3600 / c.callsPerHour) : 3600;
    const loop = `while :; do ${c.argv} >/dev/null 2>&1; echo "rc=$?"; sleep ${interval.toFixed(3)}; done`;
    const child = this.ns.spawn(['sh', '-c', loop], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    const stats: LiveCallerStats = { comm: c.comm, argv: c.argv, runs: 0, failures: 0, lastExitCode: null };
    let rest = '';
    child.stdout?.on('data', (b: Buffer) => {
      const lines = (rest + b.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const m = /^rc=(\d+)$/.exec(l);
        if (!m) continue;
        stats.runs += 1;
        stats.lastExitCode = Number(m[1]);
        if (stats.lastExitCode !== 0) stats.failures += 1;
      }
    });
    child.stderr?.resume();
    this.callers.push({ caller: c, child, stats });
  }

  /** How each caller's runs went so far. */
  callerStats(): LiveCallerStats[] {
    return this.callers.map((c) => ({ ...c.stats }));
  }

  /** What the fake IMDS answered. */
  imdsLog(): ImdsLogEntry[] {
    return this.ns.log();
  }

  /** Pids inside the namespace now. */
  private pids(): Set<number> {
    const out = spawnSync('ip', ['netns', 'pids', this.ns.name], { encoding: 'utf8' }).stdout ?? '';
    return new Set(
      out
        .split(/\s+/)
        .filter((x) => /^\d+$/.test(x))
        .map(Number),
    );
  }

  /**
   * Runs an SSM command here for real: the commands as one `/bin/sh` script inside the namespace, killed at the
   * execution timeout. The probe's tracer sees the whole machine (every namespace shares the kernel), so its report
   * is cut down to the processes of this namespace and stamped with this instance's id: what the probe would print
   * on a host of its own.
   */
  runCommand(ctx: CommandRunContext): Promise<CommandRunResult> {
    const script = path.join(this.ns.dir, `command-${Date.now()}.sh`);
    writeFileSync(script, `${ctx.commands.join('\n')}\n`, { mode: 0o700 });
    const mine = new Set<number>(this.callers.map((c) => c.child.pid ?? -1));
    const params = probeScriptParameters(ctx.commands);
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', this.ns.name, '/bin/sh', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const sample = setInterval(() => {
        for (const p of this.pids()) mine.add(p);
      }, 500);
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, ctx.executionTimeoutSeconds * 1000);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('close', (code) => {
        clearTimeout(timer);
        clearInterval(sample);
        if (timedOut) {
          resolve({ status: 'TimedOut' });
          return;
        }
        for (const p of this.pids()) mine.add(p);
        let stdout = Buffer.concat(out).toString('utf8');
        if (params) stdout = this.ownProcessesOnly(stdout, mine, params.maxOutputChars);
        resolve({ stdout, stderr: Buffer.concat(err).toString('utf8'), exitCode: code ?? 1 });
      });
    });
  }

  private ownProcessesOnly(stdout: string, pids: Set<number>, maxOutputChars: number): string {
    const report = parseProbeOutput(stdout, { platform: 'linux' });
    if (report.status !== 'ok') return stdout;
    const ours = (pid: number, parents: { pid: number }[]) => pids.has(pid) || parents.some((p) => pids.has(p.pid));
    report.v1Callers = report.v1Callers.filter((c) => ours(c.pid, c.parents));
    report.v2Callers = report.v2Callers.filter((c) => pids.has(c.pid));
    report.host.instanceId = this.instance.id;
    return renderProbeOutput(report, { maxOutputChars });
  }

  /**
   * The instance's metric source: the scenario's callers before the live instance started (so it has a history), and
   * what its fake IMDS counted since: IMDSv1 requests answered (MetadataNoToken) and refused with 401
   * (MetadataNoTokenRejected). Each request's real time maps to the simulated time it was then (through any jump or
   * speed change of the clock since), so advancing the clock ages the requests as it ages everything else.
   */
  metricSource(): MetricSource {
    return {
      sums: (inst: SimInstance, metric: ImdsMetricName, w: MetricWindow): Float64Array => {
        const out = callerMetricSource.sums(inst, metric, w);
        const firstLive = Math.floor((this.startedAtMs - w.startMs) / w.periodMs);
        for (let k = Math.max(0, firstLive); k < w.buckets; k++) {
          const a = w.startMs + k * w.periodMs;
          if (a > w.nowMs) break;
          // The live part of the bucket counts only what the fake IMDS saw; the model's share before the start stays.
          const before = k === firstLive && a < this.startedAtMs ? out[k]! : 0;
          out[k] = Number.isNaN(before) ? 0 : before;
        }
        const want = metric === 'MetadataNoToken' ? 200 : 401;
        for (const e of this.ns.log()) {
          if (e.kind !== 'v1' || e.status !== want) continue;
          const t = this.clock.simMsAt(e.t * 1000);
          const k = Math.floor((t - w.startMs) / w.periodMs);
          if (k >= 0 && k < w.buckets && t <= w.nowMs) out[k] = (Number.isNaN(out[k]!) ? 0 : out[k]!) + 1;
        }
        return out;
      },
    };
  }

  /** Stops the callers and deletes the namespace. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.ns.close();
  }
}
