// The Linux probe's cost on a host: CPU time and peak memory of the whole probe process tree for a trace window while a
// busy caller makes IMDSv1 requests at a fixed rate inside a test network namespace (the fake IMDS answers there).
// Needs root, bpftrace, iproute2 and python3. The same probe script runs with bpftrace and without it (the bench
// removes the bpftrace lookup from the script, so the probe falls back to /proc sampling as on a host without it).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { load } from './lib.mjs';

const { linuxProbeScript, parseProbeOutput } = await load('probe');
const { ImdsNamespace } = await import('../../packages/probe/dist/testing/index.js');

// getrusage(RUSAGE_CHILDREN) covers the whole probe tree (sh, bpftrace, awk, find...): total CPU, and the largest
// resident set any one of them reached. Every 0.5 s a thread also sums the CPU of the tree's live processes
// (/proc/<pid>/stat), which gives the tracing rate once start-up is over without counting it.
const wrapper = `import os, resource, subprocess, sys, threading, time
TICKS = os.sysconf('SC_CLK_TCK')
def tree_cpu(root):
    kids = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                st = open('/proc/%s/stat' % d).read()
                f = st[st.rindex(')') + 2:].split()
                kids.setdefault(int(f[1]), []).append((int(d), int(f[11]) + int(f[12])))
            except Exception:
                pass
    total, stack = 0, [root]
    while stack:
        for c, cpu in kids.get(stack.pop(), []):
            total += cpu
            stack.append(c)
    return total / TICKS
t = time.monotonic()
p = subprocess.Popen(['/bin/sh', sys.argv[1]], stdout=subprocess.PIPE)
samples = []
def sample():
    while p.poll() is None:
        samples.append((time.monotonic() - t, tree_cpu(p.pid)))
        time.sleep(0.5)
threading.Thread(target=sample, daemon=True).start()
out = p.stdout.read()
p.wait()
wall = time.monotonic() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write('SAMPLES %s\\n' % ' '.join('%.2f:%.2f' % s for s in samples))
sys.stderr.write('%f %f %d %f\\n' % (u.ru_utime, u.ru_stime, u.ru_maxrss, wall))
sys.stdout.write(out.decode())
`;

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One probe run of `windowSeconds` with the caller at `rate` requests a second. */
export async function probeRun({ windowSeconds, rate, bpftrace }) {
  const ns = await ImdsNamespace.create({ prefix: 'imdsv2bench' });
  try {
    const caller = path.join(ns.dir, 'caller.py');
    writeFileSync(
      caller,
      `import time, urllib.request
period = 1.0 / ${rate}
nxt = time.monotonic()
while True:
    urllib.request.urlopen('http://169.254.169.254/latest/meta-data/instance-id').read()
    nxt += period
    time.sleep(max(0, nxt - time.monotonic()))
`,
    );
    ns.spawn(['python3', caller]);
    let script = linuxProbeScript({ windowSeconds, root: ns.dir });
    if (!bpftrace) {
      const lookup = 'BT=$(command -v bpftrace 2>/dev/null)';
      if (!script.includes(lookup)) throw new Error('the probe script no longer looks bpftrace up as expected');
      script = script.replace(lookup, 'BT=');
    }
    const scriptPath = path.join(ns.dir, 'probe.sh');
    writeFileSync(scriptPath, script);
    const r = await run('python3', ['-c', wrapper, scriptPath]);
    const [utime, stime, maxrssKb, wall] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    const samples = (r.stderr.split('\n').find((l) => l.startsWith('SAMPLES ')) ?? '')
      .split(' ')
      .slice(1)
      .map((x) => x.split(':').map(Number));
    // Live-tree CPU rate over the second half of the window: bpftrace has compiled and attached by then.
    const from = samples.find(([at]) => at >= windowSeconds / 2);
    const to = samples.findLast(([at]) => at <= windowSeconds);
    const liveRate = from && to && to[0] > from[0] ? (to[1] - from[1]) / (to[0] - from[0]) : null;
    const report = parseProbeOutput(r.stdout);
    const seen = report.v1Callers.find((c) => (c.argv ?? '').includes('caller.py'));
    return {
      windowSeconds,
      rate,
      tracer: report.tracer,
      status: report.status,
      traced: seen?.requests ?? 0,
      served: ns.log().filter((e) => e.kind === 'v1').length,
      wallSeconds: wall,
      cpuSeconds: utime + stime,
      maxRssMiB: maxrssKb / 1024,
      liveRate,
    };
  } finally {
    ns.close();
  }
}

/**
 * Two runs (a short and a long window) per tracer: the long run's CPU over its window is the whole-run view; the
 * difference between the two over the difference of windows is the steady-state cost of tracing, without start-up and
 * inventory.
 */
export async function benchProbe({ windowSeconds, rate, bpftrace }) {
  const short = await probeRun({ windowSeconds: Math.max(5, Math.round(windowSeconds / 3)), rate, bpftrace });
  const long = await probeRun({ windowSeconds, rate, bpftrace });
  const steady = Math.max(0, long.cpuSeconds - short.cpuSeconds) / (long.windowSeconds - short.windowSeconds);
  return {
    ...long,
    // bpftrace runs as one long-lived process: its live CPU rate is the steady cost. The /proc sampler forks short-lived
    // processes every second that a live sum misses: for it, the difference between the two windows.
    steadyShare: bpftrace && long.liveRate !== null ? long.liveRate : steady,
    differenceShare: steady,
    shortCpuSeconds: short.cpuSeconds,
    shortWindowSeconds: short.windowSeconds,
    wholeRunShare: long.cpuSeconds / long.windowSeconds,
  };
}

/**
 * The probe's size in the SendCommand request, beside SSM's limit: the Parameters (`commands` and `executionTimeout`)
 * of each document as the fleet probe sends them, in UTF-8 bytes of their JSON, for a trace window of `windowSeconds`.
 * The readable Linux script is measured too, as it would weigh if it were sent as it is.
 */
export async function probeRequestSize({ windowSeconds }) {
  const probe = await load('probe');
  const params = (script) => ({ commands: [script], executionTimeout: [String(windowSeconds + 180)] });
  const linux = probe.linuxProbeScript({ windowSeconds });
  const rows = [
    ['AWS-RunShellScript (sent: gzip + base64)', probe.compactLinuxProbe(linux)],
    ['AWS-RunShellScript (readable script, not sent)', linux],
    ['AWS-RunPowerShellScript', probe.windowsProbeScript({ windowSeconds })],
  ];
  return {
    limit: probe.SEND_COMMAND_PARAMETERS_MAX_BYTES,
    documentLimit: probe.SSM_DOCUMENT_MAX_BYTES,
    rows: rows.map(([document, script]) => ({
      document,
      scriptChars: script.length,
      requestBytes: probe.sendCommandParametersBytes(params(script)),
    })),
  };
}
