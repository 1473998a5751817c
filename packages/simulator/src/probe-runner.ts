import {
  classifyVersion,
  minimumVersions,
  type ImdsCaller,
  type InstalledPackage,
  type ProbeReport,
  type ScenarioPackage,
} from '@imdsv2-cutover/core';
import { FORMAT_VERSION, PROBE_VERSION, renderProbeOutput } from '@imdsv2-cutover/probe';
import type { SimClock } from './clock.js';
import type { CommandRunContext, CommandRunner, CommandRunResult } from './context.js';
import { effectiveImds, type SimCaller, type SimInstance } from './fleet.js';
import { callsIn } from './metrics.js';
import { hash32 } from './random.js';
import { cronFires } from './schedule.js';

/**
 * Simulated hosts answering the on-host probe. A command that is the probe script (it carries the probe's format magic)
 * gets the output the instance's scenario callers and packages imply, rendered by the probe's own renderer, so the
 * tool parses exactly what a real host would print. Anything else gets the fallback runner's answer.
 */

export interface ProbeRunnerOptions {
  clock: SimClock;
  /** Simulated ms a probe run takes (default 2,000: demos and tests must not wait out the trace window). */
  durationMs?: number;
  /** What answers commands that are not the probe, and instances the probe runner leaves to someone else. */
  fallback: CommandRunner;
}

/** The trace window and output budget baked into a probe script; undefined when the commands are not the probe. */
export function probeScriptParameters(
  commands: string[],
): { windowSeconds: number; maxOutputChars: number } | undefined {
  const text = commands.join('\n');
  if (!text.includes('IMDSV2PROBE')) return undefined;
  const window = /^(?:WINDOW='|\$Window = )(\d+)/m.exec(text);
  const maxOut = /^(?:MAXOUT='|\$MaxOut = )(\d+)/m.exec(text);
  if (!window) return undefined;
  return { windowSeconds: Number(window[1]), maxOutputChars: maxOut ? Number(maxOut[1]) : 24_000 };
}

/** A command runner that answers the probe for modelled instances. */
export function probeCommandRunner(opts: ProbeRunnerOptions): CommandRunner {
  return (ctx: CommandRunContext): CommandRunResult | Promise<CommandRunResult> => {
    const params = probeScriptParameters(ctx.commands);
    if (!params) return opts.fallback(ctx);
    const nowMs = opts.clock.nowMs();
    const report = simulatedProbeReport(ctx.instance, nowMs, params.windowSeconds);
    return {
      stdout: renderProbeOutput(report, { maxOutputChars: params.maxOutputChars }),
      stderr: '',
      exitCode: 0,
      durationMs: opts.durationMs ?? 2000,
    };
  };
}

/** Calls `c` makes in [a, b) of simulated time, as the metrics count them. */
function callsInWindow(inst: SimInstance, c: SimCaller, a: number, b: number): number {
  return callsIn(inst, c, c.cron ? cronFires(c.cron, a, b) : null, a, b);
}

function classify(p: ScenarioPackage): InstalledPackage {
  const entries = minimumVersions();
  const entry =
    entries.find((e) => e.id === p.name || e.name === p.name) ??
    entries.find((e) => e.ecosystem === p.ecosystem && p.name.startsWith(e.name));
  const base = {
    ecosystem: p.ecosystem,
    name: p.name,
    ...(p.version !== undefined ? { version: p.version } : {}),
    ...(p.path !== undefined ? { path: p.path } : {}),
  };
  if (!entry) return { ...base, status: 'unknown' };
  const c = classifyVersion(entry, p.version);
  return {
    ...base,
    status: c.status,
    ...(c.minimumVersion !== undefined ? { minimumVersion: c.minimumVersion } : {}),
    ...(c.advice !== undefined ? { advice: c.advice } : {}),
  };
}

/**
 * The report a real probe would produce on a modelled instance over the `windowSeconds` before `nowMs`: v1 callers
 * with the requests they made in the window (a scheduled job that did not run in it is not seen, as on a real host),
 * v2 callers, installed packages classified with the knowledge base, and containers on container hosts.
 */
export function simulatedProbeReport(inst: SimInstance, nowMs: number, windowSeconds: number): ProbeReport {
  const start = nowMs - windowSeconds * 1000;
  const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();
  const v1Callers: ImdsCaller[] = [];
  const v2Callers: ProbeReport['v2Callers'] = [];
  const windowsHost = inst.platform === 'windows';
  let tokenRequests = 0;
  inst.callers.forEach((c, k) => {
    const requests = callsInWindow(inst, c, start, nowMs);
    if (requests === 0) return;
    const pid = 1000 + (hash32(`${inst.id}/${k}`) % 60_000);
    if (effectiveImds(c, inst.options.httpPutResponseHopLimit) === 'v2') {
      tokenRequests += 1;
      v2Callers.push({ pid, comm: c.comm, ...(c.exe ? { exe: c.exe } : {}), requests });
      return;
    }
    v1Callers.push({
      pid,
      comm: c.comm,
      ...(c.exe ? { exe: c.exe } : {}),
      ...(c.argv ? { argv: c.argv } : {}),
      user: c.user,
      ...(windowsHost ? {} : { uid: c.user === 'root' ? 0 : 1000 + (hash32(c.user) % 1000) }),
      parents: [{ pid: 1, comm: windowsHost ? 'services.exe' : 'systemd' }],
      ...(c.container
        ? { container: { id: hash32(`${inst.id}/${c.comm}`).toString(16).padStart(12, '0'), runtime: 'containerd' } }
        : {}),
      requests,
      paths: ['/latest/meta-data/iam/security-credentials/'],
      firstSeen: iso(start + 1000),
      lastSeen: iso(nowMs - 1000),
      evidence: windowsHost ? 'connection-seen' : 'confirmed',
    });
  });
  v1Callers.sort((a, b) => b.requests - a.requests);
  const packages = [
    classify({ ecosystem: 'agent', name: 'amazon-ssm-agent', version: inst.ssm.agentVersion }),
    ...inst.packages.map(classify),
  ];
  return {
    schema: { name: 'imdsv2-cutover/probe-report', version: 1 },
    formatVersion: FORMAT_VERSION,
    probeVersion: PROBE_VERSION,
    status: 'ok',
    problems: [],
    host: {
      hostname: `ip-${inst.privateIp.replace(/\./g, '-')}`,
      instanceId: inst.id,
      os: windowsHost ? 'Microsoft Windows Server 2019 Datacenter' : 'Amazon Linux 2023',
      ...(windowsHost ? {} : { kernel: '6.1.0-sim' }),
      platform: inst.platform,
    },
    tracer: windowsHost ? 'netstat-sampling' : 'bpftrace',
    windowSeconds,
    startedAt: iso(start),
    endedAt: iso(nowMs),
    v1Callers,
    v2Callers,
    tokenRequests,
    undecidedRequests: 0,
    packages,
    containers: inst.containerHost
      ? { detected: true, runtimes: ['containerd', 'kubelet'] }
      : { detected: false, runtimes: [] },
    notes: [],
  };
}
