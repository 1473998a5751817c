// Plan and report at fleet scale: `imdsv2 plan` and `imdsv2 report` on a generated assessment, each a measured child
// process (the time includes reading and validating the assessment, and the CLI's start-up, measured apart).
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load, runCli } from './lib.mjs';

const { generateFleet } = await load('test-utils');

/**
 * Wall and CPU time of a command's start-up (oclif, then the modules it loads, up to its first check: a missing input
 * file), to tell it apart from the work. `status` loads the engine with the AWS SDK clients, as `assess` does; `plan`
 * loads core and its workflow only (scripts/bench/startup.mjs has the breakdown).
 */
export async function cliStartup(command = 'status') {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-startup-'));
  try {
    const missing = path.join(dir, 'missing.json');
    const args = command === 'plan' ? ['plan', '--assessment', missing] : ['status', '--plan', missing];
    const run = await runCli(args, { allowFailure: true, cwd: dir });
    return { wallMs: run.wallMs, cpuMs: run.cpuMs, maxRssMiB: run.maxRssMiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPlanReport(count) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-plan-'));
  try {
    const assessment = path.join(dir, 'assessment.json');
    writeFileSync(assessment, JSON.stringify(generateFleet({ count, seed: 7 })));
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
      plan: { wallMs: plan.wallMs, cpuMs: plan.cpuMs, maxRssMiB: plan.maxRssMiB, bytes: statSync(planFile).size },
      report: { wallMs: report.wallMs, cpuMs: report.cpuMs, maxRssMiB: report.maxRssMiB, sizes },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
