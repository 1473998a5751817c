// Plan and report at fleet scale: `imdsv2 plan` and `imdsv2 report` on a generated assessment, each a measured child
// process (the time includes reading and validating the assessment, and the CLI's start-up, measured apart).
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load, runCli, runNode } from './lib.mjs';

const { generateFleet } = await load('test-utils');
const { writeJsonAtomic, digestFileOf } = await load('engine');
const { assessmentKind, validateDocument } = await load('core');

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
    // Written as `imdsv2 assess` writes it: validated, compact, with its digest file beside it.
    const fleet = validateDocument(assessmentKind, generateFleet({ count, seed: 7 }), assessment);
    await writeJsonAtomic(assessment, fleet, { digestFile: true, compact: true });
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
    // The same plan when the assessment has no digest file (copied without it, or edited): validated in full.
    renameSync(digestFileOf(assessment), `${digestFileOf(assessment)}.aside`);
    const planFull = await runCli([
      'plan',
      '--assessment',
      assessment,
      '--out',
      `${planFile}.full`,
      '--start-date',
      '2026-12-01',
      '--json',
    ]);
    renameSync(`${digestFileOf(assessment)}.aside`, digestFileOf(assessment));
    const out = path.join(dir, 'report');
    const report = await runCli(['report', '--assessment', assessment, '--plan', planFile, '--out', out, '--json']);
    const sizes = Object.fromEntries(readdirSync(out).map((f) => [f, statSync(path.join(out, f)).size]));
    return {
      count,
      assessmentBytes: statSync(assessment).size,
      bareParse: { wallMs: bare.wallMs, cpuMs: bare.cpuMs, maxRssMiB: bare.maxRssMiB },
      plan: { wallMs: plan.wallMs, cpuMs: plan.cpuMs, maxRssMiB: plan.maxRssMiB, bytes: statSync(planFile).size },
      planValidatedInFull: { wallMs: planFull.wallMs, cpuMs: planFull.cpuMs, maxRssMiB: planFull.maxRssMiB },
      report: { wallMs: report.wallMs, cpuMs: report.cpuMs, maxRssMiB: report.maxRssMiB, sizes },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
