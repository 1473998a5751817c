// Where the on-host probe's fixed cost goes: the CPU bpftrace spends before tracing starts (parsing the program,
// resolving kernel types, compiling with LLVM, loading and attaching), measured on the probe's own program with a 1 s
// window beside an empty program; and, when `perf` is installed, the share of each library in that time. Needs root
// and bpftrace (`bash scripts/install-system-deps.sh`).
//
//   node scripts/bench/probe-startup.mjs [--runs 3]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { root } from './lib.mjs';

// The CPU of a command and its children (getrusage RUSAGE_CHILDREN), and its wall time.
const rusage = `import resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stdout.write('%f %f %f %d\\n' % (u.ru_utime, u.ru_stime, time.monotonic() - t, p.returncode))
`;

function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function cpuOf(args, env) {
  const r = await run('python3', ['-c', rusage, ...args], env);
  const [user, sys, wall, code] = r.stdout.trim().split(' ').map(Number);
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}: ${r.stderr.slice(-500)}`);
  return { cpuSeconds: user + sys, wallSeconds: wall };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The probe's bpftrace program as the probe runs it, with a 1 s window. */
export function probeProgram() {
  return readFileSync(path.join(root, 'packages/probe/assets/linux-probe.bt'), 'utf8').replace('@@WINDOW@@', '1');
}

/**
 * bpftrace's start-up CPU (median of `runs`) for the probe's program and for an empty one, and with `perf` the share of
 * each library (DSO) in the probe program's run.
 */
export async function bpftraceStartup({ runs = 3 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-bt-'));
  const env = { BPFTRACE_STRLEN: '200' };
  try {
    const probe = path.join(dir, 'probe.bt');
    const empty = path.join(dir, 'empty.bt');
    writeFileSync(probe, probeProgram());
    writeFileSync(empty, 'interval:s:1 { exit(); }\n');
    const measure = async (file) => {
      const rs = [];
      for (let i = 0; i < runs; i++) rs.push(await cpuOf(['bpftrace', '-q', file], env));
      return { cpuSeconds: median(rs.map((r) => r.cpuSeconds)), wallSeconds: median(rs.map((r) => r.wallSeconds)) };
    };
    const program = await measure(probe);
    const baseline = await measure(empty);
    let byLibrary = null;
    const perf = await run('sh', ['-c', 'command -v perf']);
    if (perf.code === 0) {
      const data = path.join(dir, 'perf.data');
      await run('perf', ['record', '-q', '-F', '999', '-o', data, '--', 'bpftrace', '-q', probe], env);
      const report = await run('perf', [
        'report',
        '-i',
        data,
        '--no-children',
        '--sort',
        'dso',
        '-g',
        'none',
        '--stdio',
      ]);
      byLibrary = report.stdout
        .split('\n')
        .map((l) => /^\s*([\d.]+)%\s+(\S+)/.exec(l))
        .filter(Boolean)
        .map((m) => ({ library: m[2], share: Number(m[1]) / 100 }))
        .slice(0, 8);
    }
    return { program, baseline, byLibrary };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  if (process.getuid?.() !== 0) {
    console.error('needs root (bpftrace)');
    process.exit(2);
  }
  const r = await bpftraceStartup({ runs: Number(values.runs) });
  console.log(`bpftrace, the probe's program (1 s window): ${r.program.cpuSeconds.toFixed(2)} s CPU`);
  console.log(`bpftrace, an empty program: ${r.baseline.cpuSeconds.toFixed(2)} s CPU`);
  for (const l of r.byLibrary ?? []) console.log(`  ${(l.share * 100).toFixed(1)}% ${l.library}`);
}
