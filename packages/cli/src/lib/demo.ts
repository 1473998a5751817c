import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EnforceResult, GuardSummary, RollbackOutcome } from '@imdsv2-cutover/aws';
import { assess, createAwsClients, enforce, probeAssessment } from '@imdsv2-cutover/aws';
import type { AssessmentSummary, PlanSummary, Reporter } from '@imdsv2-cutover/core';
import {
  assessmentKind,
  isCutoverError,
  parseYamlDocument,
  plan,
  policyKind,
  summarizePlan,
  summarize,
  validateDocument,
} from '@imdsv2-cutover/core';
import type { ReportFormat } from '@imdsv2-cutover/report';
import { parseJournalText, summarizeJournal } from '@imdsv2-cutover/report';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { writeJsonAtomic, writeTextAtomic } from './files.js';
import { writeReportFiles } from './report-files.js';

export const DEMO_STAGES = ['assess', 'plan', 'report', 'enforce'] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

/** The bundled scenario's management account: its access key is the demo's base credentials. */
const DEMO_ACCOUNT = '111111111111';
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
}

/**
 * The whole flow on the bundled demo fleet, with the same engine functions the commands call: the simulator starts
 * in-process on a free loopback port; `assess` (organization, all regions, through a role) at real-time speed so the
 * assessment sees the scenario's "now"; `probeAssessment` of the suspects through SSM Run Command; `plan` with the demo
 * policy; the report; then the canary wave with `enforce`,
 * the simulated clock accelerated so a 24-hour soak passes in seconds. The demo fleet hides a month-end IMDSv1 job on a
 * canary that the 14-day metrics window missed: the guard catches it and rolls the instance back. That is the demo's
 * point, so a guard halt is a result here, not an error. The report is written again with the journal.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const stopAfter = o.stopAfter ?? 'enforce';
  const reporter = o.reporter;
  const sim = await startSimulator({ scenario: 'demo', port: 0, host: '127.0.0.1', clock: { speed: 1 } });
  const factory = createAwsClients({
    region: 'us-east-1',
    endpointUrl: sim.url,
    credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'simulated' },
    concurrency: 32,
    toolVersion: o.toolVersion,
  });
  const tool = { name: 'imdsv2-cutover', version: o.toolVersion };
  const out = (name: string) => path.join(o.outDir, name);
  try {
    reporter.emit({
      type: 'phase',
      phase: 'demo',
      message: `Simulated fleet "${sim.scenario.name}" (${sim.fleet.instanceCount} instances) on ${sim.url}`,
    });
    const measured = await assess({
      clients: factory,
      organization: true,
      roleName: DEMO_ROLE,
      allRegions: true,
      lookbackDays: 14,
      minObservationDays: 7,
      reporter,
      tool,
    });
    // The on-host probe of the suspects through SSM Run Command, as `assess --probe suspects` does. Each host traces
    // IMDS calls for a window of simulated time: run the clock fast meanwhile so that takes a moment, not a minute.
    sim.clock.setSpeed(PROBE_CLOCK_SPEED);
    const probed = await probeAssessment(measured, {
      clients: factory,
      selection: 'suspects',
      windowSeconds: 60,
      poll: { initialMs: 250, maxMs: 1000 },
      reporter,
      now: () => factory.serviceNow(),
    });
    sim.clock.setSpeed(1);
    const assessment = validateDocument(assessmentKind, probed.assessment, out('assessment.json'));
    await writeJsonAtomic(out('assessment.json'), assessment);
    const summary = summarize(assessment);
    const result: DemoResult = {
      outDir: o.outDir,
      scenario: sim.scenario.name,
      clockSpeed: o.clockSpeed,
      stoppedAfter: stopAfter,
      fleet: summary.totals,
      accounts: assessment.accounts.length,
      regions: assessment.scope.regions.length,
      topBlockers: [],
      plan: null,
      enforcement: null,
      files: { assessment: out('assessment.json'), report: {} },
      seconds: 0,
    };
    let thePlan: ReturnType<typeof plan> | null = null;
    const report = async (withPlan: boolean, journalFile?: string) => {
      const journal = journalFile
        ? summarizeJournal(parseJournalText(await readFile(journalFile, 'utf8'), journalFile).lines)
        : null;
      const written = await writeReportFiles(
        o.outDir,
        { assessment, plan: withPlan ? thePlan : null, journal },
        {
          toolVersion: o.toolVersion,
          planPath: withPlan ? out('plan.json') : null,
          journalPath: journalFile ?? null,
        },
      );
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
    // As `imdsv2 assess` does: the report of the assessment alone, then again with the plan and the journal.
    await report(false);
    if (stopAfter === 'assess') return finish('assess');

    await writeTextAtomic(out('policy.yaml'), DEMO_POLICY_YAML);
    const policy = parseYamlDocument(policyKind, DEMO_POLICY_YAML, out('policy.yaml'));
    reporter.emit({ type: 'phase', phase: 'plan', message: `Planning ${assessment.instances.length} instances` });
    thePlan = plan(assessment, policy, { tool });
    await writeJsonAtomic(out('plan.json'), thePlan);
    result.files.policy = out('policy.yaml');
    result.files.plan = out('plan.json');
    result.plan = summarizePlan(thePlan);
    if (stopAfter === 'plan') return finish('plan');

    await report(true);
    if (stopAfter === 'report') return finish('report');

    const canary = thePlan.waves[0];
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
      enforced = await enforce({
        plan: thePlan,
        planFile: out('plan.json'),
        wave: canary.index,
        journalFile,
        tool,
        clients: factory.clientsFor({ roleName: DEMO_ROLE, callerAccount: DEMO_ACCOUNT }),
        reporter,
        onDrift: 'fail',
        guardIntervalMs: o.guardIntervalMs ?? 250,
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
      caught: halted ? halted.guard.rejected.filter((r) => r.calls > halted.guard.threshold) : [],
      rolledBack,
      kept: ids.filter((id) => !rolledBack.includes(id)),
      guard: halted ? halted.guard : (enforced?.guard ?? null),
      message: halted ? halted.message : (enforced?.message ?? ''),
    };
    await report(true, journalFile);
    return finish('enforce');
  } finally {
    factory.destroy();
    await sim.stop();
  }
}
