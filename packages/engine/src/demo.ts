import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { EnforceResult, GuardSummary, RollbackOutcome } from '@imdsv2-cutover/aws';
import type { AssessmentSummary, PlanSummary, Reporter } from '@imdsv2-cutover/core';
import { CutoverError, isCutoverError } from '@imdsv2-cutover/core';
import type { ReportFormat } from '@imdsv2-cutover/report';
import { runAssessment } from './assess.js';
import type { ConnectionConfig } from './connection.js';
import { runEnforcement } from './enforce.js';
import { writeTextAtomic } from './files.js';
import { runPlan } from './plan.js';
import { runReport } from './report.js';

export const DEMO_STAGES = ['assess', 'plan', 'report', 'enforce'] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

/** Simulated seconds per real second while the hosts run the probe (a 60-second trace window in 0.1 s). */
const PROBE_CLOCK_SPEED = 600;
/** The role the demo assumes in the other account (the simulator grants any role but those it denies). */
const DEMO_ROLE = 'OrganizationAccountAccessRole';

/**
 * The rollout policy of the demo: the defaults, but a canary soak of 24 simulated hours (seconds at the accelerated
 * clock) and a guard that rolls back only the instance that broke, so the output names it.
 */
export const DEMO_POLICY_YAML = `# The demo's rollout policy (reference: docs/policy.md). Everything not set here is at its default.
schema: { name: imdsv2-cutover/policy, version: 1 }
canary:
  # One member of every group, dev first: the canary wave exercises every application early.
  preferEnvironments: [dev]
  soak: 24h
waves:
  soak: 24h
guard:
  # Any rejected IMDSv1 call trips the guard; only the instances that broke are rolled back.
  maxRejectedCalls: 0
  rollback: instance
`;

export interface DemoOptions {
  outDir: string;
  /** Stop after this stage (default: run the canary wave too). */
  stopAfter?: DemoStage;
  /** Simulated seconds per real second during the soak. */
  clockSpeed: number;
  reporter: Reporter;
  toolVersion: string;
  /** Local time between guard polls. Default 250 ms. */
  guardIntervalMs?: number;
}

export interface DemoEnforcement {
  wave: number;
  waveName: string;
  outcome: 'completed' | 'rolled-back';
  /** Instances whose rejected IMDSv1 calls tripped the guard. */
  caught: { instanceId: string; calls: number }[];
  rolledBack: string[];
  /** Instances that kept HttpTokens=required. */
  kept: string[];
  guard: GuardSummary | null;
  message: string;
}

export interface DemoResult {
  outDir: string;
  /** `new`: a new folder; `fresh-run`: an earlier demo run's files were replaced. */
  run: 'new' | 'fresh-run';
  scenario: string;
  clockSpeed: number;
  stoppedAfter: DemoStage;
  fleet: AssessmentSummary['totals'];
  accounts: number;
  regions: number;
  /** The largest blocker groups of the report: what makes the IMDSv1 calls and on how many instances. */
  topBlockers: { culprit: string; detail: string; identified: boolean; instances: number; owners: string[] }[];
  plan: PlanSummary | null;
  enforcement: DemoEnforcement | null;
  files: {
    assessment: string;
    policy?: string;
    plan?: string;
    journal?: string;
    report: Partial<Record<ReportFormat, string>>;
  };
  seconds: number;
  /** What to try next. */
  next: string;
}

/** Marks a folder the demo wrote, so that a re-run may replace the previous run's files there and nowhere else. */
const DEMO_MARKER = '.imdsv2-demo';
/**
 * The files a demo run writes (a re-run replaces them), beside the journal's own: the journal's seal, lock, space
 * reserve and lock claims all start with its name, and go with it (a seal left behind would call the new run's empty
 * journal a truncated one).
 */
const DEMO_FILES = [
  'assessment.json',
  'policy.yaml',
  'plan.json',
  'journal.jsonl',
  'report.html',
  'report.md',
  'instances.csv',
];

/**
 * Prepares the demo's folder. The simulated fleet is new at every run, so a previous run's journal belongs to a plan
 * that no longer exists: a re-run starts fresh, replacing the files of the previous run in a folder the demo marked.
 * A folder with other files and no marker is refused (BAD_USAGE), so the demo never deletes files it did not write.
 */
async function prepareOutDir(outDir: string, reporter: Reporter): Promise<'new' | 'fresh-run'> {
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') names = [];
    else throw e;
  }
  const mine = names.includes(DEMO_MARKER);
  if (names.length > 0 && !mine) {
    throw new CutoverError('BAD_USAGE', `${outDir} already holds files that the demo did not write`, {
      suggestions: ['Pick an empty or new folder for the demo: imdsv2 demo --out ./imdsv2-demo-2'],
    });
  }
  await writeTextAtomic(
    path.join(outDir, DEMO_MARKER),
    'Written by `imdsv2 demo`: a re-run replaces the demo files here.\n',
  );
  if (!mine) return 'new';
  const journalFiles = names.filter((n) => n.startsWith('journal.jsonl.'));
  await Promise.all([...DEMO_FILES, ...journalFiles].map((f) => rm(path.join(outDir, f), { force: true })));
  reporter.emit({
    type: 'info',
    message: `${outDir} holds an earlier demo run: starting a fresh run (its simulated fleet is gone), replacing its files`,
  });
  return 'fresh-run';
}

/**
 * The whole flow on the bundled demo fleet, through the very workflows the commands call (`runAssessment`, `runPlan`,
 * `runReport`, `runEnforcement`): the simulator starts in-process on a free loopback port and the connection points
 * at it. `assess` covers the organization and all regions through a role at real-time speed so the assessment sees
 * the scenario's "now"; the probe of the suspects runs with the simulated clock fast; the canary wave runs with the
 * clock accelerated so a 24-hour soak passes in seconds. The demo fleet hides a month-end IMDSv1 job on a canary that
 * the 14-day metrics window missed: the guard catches it and rolls the instance back. That is the demo's point, so a
 * guard halt is a result here, not an error. The report is written again with the journal. Re-runnable in the same
 * folder: each run starts fresh.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const stopAfter = o.stopAfter ?? 'enforce';
  const reporter = o.reporter;
  const run = await prepareOutDir(o.outDir, reporter);
  const { startSimulator } = await import('@imdsv2-cutover/simulator');
  const sim = await startSimulator({ scenario: 'demo', port: 0, host: '127.0.0.1', clock: { speed: 1 } });
  const connection: ConnectionConfig = {
    region: 'us-east-1',
    endpointUrl: sim.url,
    credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'simulated' },
    roleName: DEMO_ROLE,
    env: {},
  };
  const out = (name: string) => path.join(o.outDir, name);
  try {
    reporter.emit({
      type: 'phase',
      phase: 'demo',
      message: `Simulated fleet "${sim.scenario.name}" (${sim.fleet.instanceCount} instances) on ${sim.url}`,
    });
    const { result: assessed } = await runAssessment({
      connection,
      organization: true,
      allRegions: true,
      lookback: '14d',
      minObservation: '7d',
      concurrency: 8,
      probe: 'suspects',
      probeConcurrency: '50',
      probeMaxErrors: '100%',
      probeWindow: '60s',
      outDir: o.outDir,
      report: true,
      reporter,
      toolVersion: o.toolVersion,
      // Each host traces IMDS calls for a window of simulated time: run the clock fast meanwhile.
      onProbe: { start: () => sim.clock.setSpeed(PROBE_CLOCK_SPEED), end: () => sim.clock.setSpeed(1) },
      probePoll: { initialMs: 250, maxMs: 1000 },
      simulator: { scenario: sim.scenario.name },
    });
    const summary = assessed.summary;
    const result: DemoResult = {
      outDir: o.outDir,
      run,
      scenario: sim.scenario.name,
      clockSpeed: o.clockSpeed,
      stoppedAfter: stopAfter,
      fleet: summary.totals,
      accounts: new Set(summary.scopes.map((x) => x.accountId)).size,
      regions: new Set(summary.scopes.map((x) => x.region)).size,
      topBlockers: [],
      plan: null,
      enforcement: null,
      files: { assessment: assessed.assessmentPath, report: assessed.reportFiles },
      seconds: 0,
      next: 'docs/getting-started.md: run the same flow against your own account, read-only first (imdsv2 assess).',
    };
    const report = async (withPlan: boolean, journalFile?: string) => {
      const written = await runReport({
        assessmentFile: out('assessment.json'),
        ...(withPlan ? { planFile: out('plan.json') } : {}),
        ...(journalFile ? { journalFile } : {}),
        outDir: o.outDir,
        reporter,
        toolVersion: o.toolVersion,
      });
      result.files.report = written.files;
      result.topBlockers = written.model.blockers.slice(0, 5).map((b) => ({
        culprit: b.culprit,
        detail: b.detail,
        identified: b.kind !== 'unidentified',
        instances: b.instanceCount,
        owners: b.owners,
      }));
    };
    const finish = (stage: DemoStage) => {
      result.stoppedAfter = stage;
      result.seconds = Math.round((Date.now() - started) / 100) / 10;
      return result;
    };
    await report(false);
    if (stopAfter === 'assess') return finish('assess');

    await writeTextAtomic(out('policy.yaml'), DEMO_POLICY_YAML);
    const planned = await runPlan({
      assessmentFile: out('assessment.json'),
      policyFile: out('policy.yaml'),
      out: out('plan.json'),
      reporter,
      toolVersion: o.toolVersion,
    });
    if (planned.action !== 'plan') throw new Error('the demo plan was not written');
    result.files.policy = out('policy.yaml');
    result.files.plan = out('plan.json');
    result.plan = planned.summary;
    if (stopAfter === 'plan') return finish('plan');

    await report(true);
    if (stopAfter === 'report') return finish('report');

    const canary = planned.plan.waves[0];
    if (!canary) throw new Error('the demo plan has no canary wave');
    const journalFile = out('journal.jsonl');
    result.files.journal = journalFile;
    // From here simulated time runs fast: the canary's 24-hour soak passes in seconds of real time.
    sim.clock.setSpeed(o.clockSpeed);
    reporter.emit({
      type: 'phase',
      phase: 'demo',
      message: `Simulated clock at ${o.clockSpeed}x: a ${canary.soakSeconds / 3600}-hour soak takes about ${Math.ceil(canary.soakSeconds / o.clockSpeed)} s`,
    });
    let enforced: EnforceResult | null = null;
    let halted: { message: string; guard: GuardSummary; rollback: RollbackOutcome } | null = null;
    try {
      enforced = await runEnforcement({
        connection,
        planFile: out('plan.json'),
        wave: canary.index,
        journalFile,
        onDrift: 'fail',
        guardInterval: `${o.guardIntervalMs ?? 250}ms`,
        reporter,
        toolVersion: o.toolVersion,
      });
    } catch (e) {
      if (!isCutoverError(e) || e.code !== 'GUARD_HALTED') throw e;
      const details = e.details as { guard: GuardSummary; rollback: RollbackOutcome };
      halted = { message: e.message, guard: details.guard, rollback: details.rollback };
    }
    const ids = canary.instances.map((i) => i.instanceId);
    const rolledBack = halted ? [...halted.rollback.rolledBack, ...halted.rollback.alreadyThere] : [];
    result.enforcement = {
      wave: canary.index,
      waveName: canary.name,
      outcome: halted ? 'rolled-back' : 'completed',
      caught: halted ? halted.guard.rejected.filter((r) => halted.guard.offenders.includes(r.instanceId)) : [],
      rolledBack,
      kept: ids.filter((id) => !rolledBack.includes(id)),
      guard: halted ? halted.guard : (enforced?.guard ?? null),
      message: halted ? halted.message : (enforced?.message ?? ''),
    };
    await report(true, journalFile);
    return finish('enforce');
  } finally {
    await sim.stop();
  }
}
