// Plan and report at fleet scale: `imdsv2 plan` and `imdsv2 report` on a generated assessment, each a measured child
// process (the time includes reading and validating the assessment, and the CLI's start-up, measured apart).
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load, runCli, runNode } from './lib.mjs';

const { generateFleet } = await load('test-utils');

/** Wall and CPU time of the CLI doing nothing (oclif start-up), to tell it apart from the work. */
export async function cliStartup() {
  const run = await runCli(['--version']);
  return { wallMs: run.wallMs, cpuMs: run.cpuMs, maxRssMiB: run.maxRssMiB };
}

export async function benchPlanReport(count) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-plan-'));
  try {
    const assessment = path.join(dir, 'assessment.json');
    writeFileSync(assessment, JSON.stringify(generateFleet({ count, seed: 7 })));
    // The yardstick: a bare Node process that reads and parses the same file, and nothing else.
    const bare = await runNode([
      '-e',
      "JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'))",
      assessment,
    ]);
    const planFile = path.join(dir, 'plan.json');
    const plan = await runCli([
      'plan',
      '--assessment',
      assessment,
      '--out',
      planFile,
      '--start-date',
      '2026-12-01',
      '--json',
    ]);
    const out = path.join(dir, 'report');
    const report = await runCli(['report', '--assessment', assessment, '--plan', planFile, '--out', out, '--json']);
    const sizes = Object.fromEntries(readdirSync(out).map((f) => [f, statSync(path.join(out, f)).size]));
    return {
      count,
      assessmentBytes: statSync(assessment).size,
      bareParse: { wallMs: bare.wallMs, cpuMs: bare.cpuMs, maxRssMiB: bare.maxRssMiB },
      plan: { wallMs: plan.wallMs, cpuMs: plan.cpuMs, maxRssMiB: plan.maxRssMiB, bytes: statSync(planFile).size },
      report: { wallMs: report.wallMs, cpuMs: report.cpuMs, maxRssMiB: report.maxRssMiB, sizes },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
