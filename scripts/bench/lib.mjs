// Shared pieces of the benchmark suite: measuring a child process, the throttle-bound model, formatting.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliBin = path.join(root, 'packages/cli/bin/run.js');
const hook = pathToFileURL(path.join(root, 'scripts/bench/usage-hook.mjs')).href;

/** Imports a workspace package's build (run `pnpm build` first). */
export const load = (pkg) => import(pathToFileURL(path.join(root, 'packages', pkg, 'dist/index.js')).href);

/**
 * Runs `node args...` as a child process, asynchronously (so a simulator in this process keeps serving), and measures
 * it: wall time, and from inside the child at exit its CPU time and peak RSS. Rejects when the child fails.
 */
export async function runNode(args, { env = {}, cwd = root, allowFailure = false } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-usage-'));
  const usageFile = path.join(dir, 'usage.json');
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${hook}`.trim(),
      BENCH_USAGE_FILE: usageFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const wallMs = performance.now() - started;
  let usage;
  try {
    usage = JSON.parse(readFileSync(usageFile, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (code !== 0 && !allowFailure) {
    throw new Error(`node ${args.join(' ')} exited with ${code}:\n${stderr.slice(-4000)}`);
  }
  return {
    code,
    stdout,
    stderr,
    wallMs,
    cpuMs: (usage.userCpuUs + usage.systemCpuUs) / 1000,
    maxRssMiB: usage.maxRssKb / 1024,
  };
}

/** Runs the CLI (`imdsv2 ...`) as a measured child process. */
export const runCli = (args, opts) => runNode([cliBin, ...args], opts);

/**
 * Seconds a token bucket forces on `calls` calls made as fast as possible: the first `size` go on the burst, the rest
 * at the refill rate.
 */
export function bucketSeconds(calls, spec) {
  return Math.max(0, calls - spec.size) / spec.refillPerSecond;
}

export const loadAverage = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

export const fmt = {
  s: (ms) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`,
  mib: (m) => `${m.toFixed(0)} MiB`,
  x: (r) => `${r.toFixed(r < 10 ? 2 : 0)}x`,
  n: (n) => n.toLocaleString('en-US'),
};

/** A Markdown table from a header row and rows of cells. */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Target check mark for the tables. */
export const verdict = (ok) => (ok ? 'met' : '**missed**');
