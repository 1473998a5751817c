#!/usr/bin/env node
// Measures the Linux probe's cost: CPU time and peak memory for a trace window while a caller makes IMDSv1 requests
// at a fixed rate inside a test network namespace. Needs root, bpftrace, iproute2, python3 and a build (pnpm build).
// Usage: node scripts/bench-probe.mjs [--window 30] [--rate 100]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { linuxProbeScript, parseProbeOutput } from '../packages/probe/dist/index.js';
import { ImdsNamespace } from '../packages/probe/dist/testing/index.js';

const { values } = parseArgs({
  options: { window: { type: 'string', default: '30' }, rate: { type: 'string', default: '100' } },
});
const windowSeconds = Number(values.window);
const rate = Number(values.rate);

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
  const scriptPath = path.join(ns.dir, 'probe.sh');
  writeFileSync(scriptPath, linuxProbeScript({ windowSeconds, root: ns.dir }));
  // getrusage(RUSAGE_CHILDREN) covers the whole probe process tree (bpftrace, awk, find...): total CPU, and the largest
  // resident set any one of them reached.
  const wrapper = `import resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(['/bin/sh', sys.argv[1]], stdout=subprocess.PIPE)
wall = time.monotonic() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write('%f %f %d %f\\n' % (u.ru_utime, u.ru_stime, u.ru_maxrss, wall))
sys.stdout.write(p.stdout.decode())
`;
  const r = spawnSync('python3', ['-c', wrapper, scriptPath], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const [utime, stime, maxrssKb, wall] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  const report = parseProbeOutput(r.stdout);
  const caller1 = report.v1Callers.find((c) => (c.argv ?? '').includes('caller.py'));
  const served = ns.log().filter((e) => e.kind === 'v1').length;
  const cpu = utime + stime;
  console.log(`window ${windowSeconds}s, caller rate ${rate}/s, fake IMDS served ${served} IMDSv1 requests in total`);
  console.log(
    `probe traced ${caller1?.requests ?? 0} IMDSv1 requests from the caller (tracer ${report.tracer}, status ${report.status})`,
  );
  console.log(
    `probe wall ${wall.toFixed(1)}s, CPU ${cpu.toFixed(2)}s (user ${utime.toFixed(2)}s, sys ${stime.toFixed(2)}s)`,
  );
  console.log(
    `CPU over the window: ${((cpu / windowSeconds) * 100).toFixed(1)}% of one core (includes bpftrace start-up and inventory)`,
  );
  console.log(`peak memory (largest process of the probe): ${(maxrssKb / 1024).toFixed(0)} MiB`);
} finally {
  ns.close();
}
