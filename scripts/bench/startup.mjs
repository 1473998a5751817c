#!/usr/bin/env node
// CLI start-up: `imdsv2 --version` and `imdsv2 --help` (target: under 0.3 s each), a command's --help, and the time a
// command takes to reach its first check with and without the AWS SDK. Each case runs `--runs` times (default 20) as
// a child process after one warm-up run; the figures are wall time (median and minimum) and the child's own CPU time
// (median), which a busy machine disturbs less than wall time. Part of `pnpm bench` (`--only startup`), or alone after
// `pnpm build`:
//
//   node scripts/bench/startup.mjs [--runs 20]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fmt, loadAverage, markdownTable, runCli, verdict } from './lib.mjs';

/** The target of `--version` and `--help` (issue: "a CLI that starts fast"). */
export const STARTUP_TARGET_MS = 300;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The start-up cases, each run `runs` times. Returns one row per case: wall median and minimum, CPU median (ms), and
 * whether the case has the 0.3 s target.
 */
export async function benchStartup({ runs = 20 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-startup-'));
  const missing = path.join(dir, 'missing.json');
  const cases = [
    { name: 'imdsv2 --version', args: ['--version'], target: true },
    { name: 'imdsv2 --help', args: ['--help'], target: true },
    { name: 'imdsv2 assess --help', args: ['assess', '--help'] },
    // Start-up to a command's first check: plan loads core and its workflow, not the AWS SDK.
    { name: 'imdsv2 plan (missing file, exit 2)', args: ['plan', '--assessment', missing], fails: true },
    // status loads the engine with the AWS SDK clients: the start-up of a command that talks to AWS.
    { name: 'imdsv2 status (missing file, exit 2; loads the SDK)', args: ['status', '--plan', missing], fails: true },
  ];
  try {
    const rows = [];
    for (const c of cases) {
      await runCli(c.args, { allowFailure: c.fails, cwd: dir });
      const wall = [];
      const cpu = [];
      for (let i = 0; i < runs; i++) {
        const r = await runCli(c.args, { allowFailure: c.fails, cwd: dir });
        if (c.fails && r.code !== 2) throw new Error(`${c.name}: expected exit 2, got ${r.code}\n${r.stderr}`);
        wall.push(r.wallMs);
        cpu.push(r.cpuMs);
      }
      rows.push({
        name: c.name,
        runs,
        wallMedianMs: median(wall),
        wallMinMs: Math.min(...wall),
        cpuMedianMs: median(cpu),
        target: c.target === true,
      });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows as a Markdown section. */
export function startupSection(rows) {
  return (
    `### CLI start-up (${rows[0]?.runs ?? 0} runs each, load average ${loadAverage()})\n\n` +
    markdownTable(
      ['command', 'wall median', 'wall min', 'CPU median', `target (< ${fmt.s(STARTUP_TARGET_MS)})`],
      rows.map((r) => [
        `\`${r.name}\``,
        fmt.s(r.wallMedianMs),
        fmt.s(r.wallMinMs),
        fmt.s(r.cpuMedianMs),
        r.target ? verdict(r.wallMedianMs < STARTUP_TARGET_MS) : '',
      ]),
    )
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
  console.log(startupSection(await benchStartup({ runs: Number(values.runs) })));
}
