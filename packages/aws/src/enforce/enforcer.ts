import type { EC2Client } from '@aws-sdk/client-ec2';
import type {
  EngineEvent,
  JournalState,
  MetadataSettings,
  Plan,
  PlanEntry,
  Reporter,
  TargetState,
  ToolInfo,
  Wave,
  WaveRun,
} from '@imdsv2-cutover/core';
import { CutoverError, assertJournalOfPlan, replayJournal, silentReporter, targetKey } from '@imdsv2-cutover/core';
import pLimit from 'p-limit';
import type { JournalFs } from '../journal/fs.js';
import { JOURNAL_BYTES_PER_TARGET, JournalWriter, readJournal } from '../journal/journal.js';
import {
  MODIFY_BUCKET,
  RegionalLimiter,
  byPair,
  callFailure,
  chunk,
  describeLive,
  DESCRIBE_BATCH,
  failureLines,
  isGone,
  isGoneError,
  modifyMetadata,
  readBack,
  sameSettings,
  settingsText,
  settleAll,
} from './aws-ops.js';
import { metricSeries, uncoveredInstances, type WatchedInstance } from './guard.js';
import { runLockIn, type LockInResult } from './lockin.js';
import {
  enforcementRefusal,
  findEnforcedRegions,
  liftEnforcement,
  pairsRollingBackToOptional,
  restoreEnforcement,
} from './tokens-enforced.js';
import type { DriftItem, PermissionCheck } from './preflight.js';
import {
  assertDriftPolicy,
  checkAssessmentAge,
  checkPermissions,
  describeEntries,
  driftMessage,
  findDrift,
  plannedSettings,
  verifyPlan,
} from './preflight.js';
import { rollbackInstances, type RollbackOutcome } from './rollback.js';
import { awsErrorCode } from '../errors.js';
import {
  UnrecordedLedger,
  isJournalFailure,
  journalStopError,
  recordAfterCall,
  reportUnrecorded,
} from './journal-failure.js';
import { ServiceClock } from '../service-clock.js';
import type { EngineDeps, LiveInstance, OnDrift } from './types.js';
import { defaultSleep } from './types.js';
import { waitApplied } from './wait-applied.js';
import { Interrupt, Interrupted, type InterruptedPhase } from './interrupt.js';

export interface EnforceOptions extends EngineDeps {
  plan: Plan;
  /** For messages. */
  planFile?: string;
  /** A wave index, the next unfinished wave, or the lock-in steps. */
  wave: number | 'next' | 'lockin';
  journalFile: string;
  tool: ToolInfo;
  /** Preflight only: nothing is changed and nothing is written to the journal. */
  dryRun?: boolean;
  onDrift?: OnDrift;
  /** Refuse an assessment older than this (seconds, service clock). Default 7 days. */
  maxAgeSeconds?: number;
  forceStale?: boolean;
  /** Overrides the wave's soak time. */
  soakSeconds?: number;
  /** Modify calls in flight at once (the token bucket sets the rate). Default 20. */
  concurrency?: number;
  /** Local time between guard polls. Default 60 s. */
  guardIntervalMs?: number;
  /**
   * Metric period of the guard's GetMetricData. Default 300 s: basic monitoring publishes every 5 minutes (detailed
   * monitoring's 1-minute data sums into it), so a datapoint's period tells how far the data reaches.
   */
  guardPeriodSeconds?: number;
  /**
   * How long after the soak's end to wait for CloudWatch data covering it (seconds, service clock). Default 1800: AWS
   * publishes no ingestion delay; 5 to 15 minutes are observed for 5-minute metrics. Past it the wave is not verified.
   */
  guardDataTimeoutSeconds?: number;
  /** How long to wait for `applied`. Default 10 minutes. */
  applyTimeoutMs?: number;
  /**
   * Asked once the preflight passed, before any change; resolve false to stop (NOT_CONFIRMED). Absent: confirmed
   * (the user passed --yes).
   */
  confirm?: (summary: PreflightSummary) => Promise<boolean>;
  /** Also set the AMI IMDS-support flag (irreversible) in the lock-in wave. */
  confirmIrreversible?: boolean;
  /** Enable HttpTokensEnforced in the lock-in wave where the plan asks for it (see LockInOptions). */
  confirmTokensEnforced?: boolean;
  /** After the lock-in steps, launch a canary from each changed template and check its tokens (lock-in's `proveLaunch`). */
  proveLaunch?: boolean;
  /**
   * Asked before the lock-in steps run (not on a dry run) with the number of steps; resolve false to stop
   * (NOT_CONFIRMED). Absent: confirmed.
   */
  confirmLockIn?: (steps: number) => Promise<boolean>;
  /** Token bucket for ModifyInstanceMetadataOptions per account and region. */
  modifyBucket?: { capacity: number; refillPerSecond: number };
  /**
   * Where HttpTokensEnforced is enabled, let the guard's rollback lift it (journaled) and enable it again afterwards
   * (`--lift-http-tokens-enforced`). Without it a wave whose rollback it would block is refused in preflight.
   */
  liftTokensEnforced?: boolean;
  /** The journal's file layer (tests put the journal on a disk that fills up or fails). Default: the real one. */
  journalFs?: JournalFs;
  /**
   * Run `wave: N` although an earlier wave has not completed clean (`--out-of-order`). Without it such a run is
   * refused (WAVE_ORDER, exit 2) before any AWS call: the canary wave exists to be proven first.
   */
  outOfOrder?: boolean;
  /**
   * Aborted when the user interrupts (Ctrl-C). No new change is sent; calls in flight finish and are recorded; the
   * wave is left open in the journal (no wave-end), so a re-run resumes it; INTERRUPTED (exit 130) names what was
   * applied, what was in flight and the command that resumes.
   */
  signal?: AbortSignal;
}

export interface PreflightSummary {
  wave: number;
  waveName: string;
  planHash: string;
  assessmentAgeDays: number;
  instances: number;
  toApply: number;
  alreadyDone: number;
  /** Intents of a previous run without results (or whose answer was lost), to be resolved from live state. */
  toRecover: number;
  /** Instances already at the plan's target with no intent in the journal: recorded as changed without record. */
  changedWithoutRecord: number;
  drift: DriftItem[];
  onDrift: OnDrift;
  gone: string[];
  permissions: PermissionCheck[];
  serviceTime: string;
  /** Account/Regions where HttpTokensEnforced is enabled: the guard's rollback lifts it there first. */
  tokensEnforced: string[];
  /** Set when this run resumes the wave's interrupted run: what the journal shows of it, in one sentence. */
  resuming: string | null;
}

export interface GuardSummary {
  soakSeconds: number;
  polls: number;
  windowStart: string;
  windowEnd: string;
  threshold: number;
  watched: number;
  /** Every watched instance with rejected IMDSv1 calls in the window. */
  rejected: { instanceId: string; calls: number }[];
  /** Those above their limit: the threshold, plus the allowance of instances whose callers fall back to IMDSv2. */
  offenders: string[];
  tripped: boolean;
  /** True when no instance tripped and CloudWatch data covering the whole soak arrived for every watched instance. */
  verified: boolean;
  /** Running instances whose data did not cover the soak by the data deadline. */
  unverified: string[];
}

export interface EnforceResult {
  wave: number | 'lockin' | null;
  outcome: 'completed' | 'dry-run' | 'nothing-to-do';
  message: string;
  preflight: PreflightSummary | null;
  applied: string[];
  recovered: string[];
  alreadyDone: string[];
  skipped: { instanceId: string; reason: string }[];
  terminated: string[];
  failed: { instanceId: string; code: string; message: string }[];
  /**
   * Instances found at the plan's target whose change the journal never recorded (a journal that failed under an
   * earlier version, a change made by hand): now recorded, with the settings the plan recorded as the previous ones,
   * so that rollback restores them; verified and guarded like the others.
   */
  changedWithoutRecord: { instanceId: string; previous: MetadataSettings }[];
  verified: string[];
  notVerified: string[];
  guard: GuardSummary | null;
  lockIn: LockInResult | null;
}

type Decision =
  | { kind: 'done' }
  | { kind: 'gone' }
  | { kind: 'recover' }
  | { kind: 'unrecorded' }
  | { kind: 'apply'; adopt: boolean }
  | { kind: 'skip'; reason: string };

const APPLY_PHASES = new Set(['applied', 'verified']);

/**
 * What to do with one plan entry, given the journal and live state. An intent without a result (a crash) and a failed
 * apply (whose answer may have been lost after EC2 made the change) are judged against that intent: live state at its
 * desired settings means done (`recover`), at its previous ones means apply again. An instance the journal never
 * changed but found at the plan's target is `unrecorded`: changed without a record, not drift.
 */
function decide(
  entry: PlanEntry,
  st: TargetState | undefined,
  live: LiveInstance | undefined,
  onDrift: OnDrift,
): Decision {
  if (st && APPLY_PHASES.has(st.phase)) return { kind: 'done' };
  if (isGone(live)) return { kind: 'gone' };
  const settings = live!.settings;
  const pending = st?.phase === 'intent-pending';
  const intent = pending || st?.phase === 'apply-failed' ? st.lastIntent : null;
  if (intent?.action === 'apply') {
    if (sameSettings(settings, intent.desired as MetadataSettings)) return { kind: 'recover' };
    if (sameSettings(settings, intent.previous as MetadataSettings)) return { kind: 'apply', adopt: false };
  }
  if (!pending && sameSettings(settings, plannedSettings(entry))) return { kind: 'apply', adopt: false };
  if ((!st || st.original === null) && sameSettings(settings, entry.target)) return { kind: 'unrecorded' };
  const reason = `drift: planned ${settingsText(plannedSettings(entry))}, live ${settingsText(settings)}`;
  if (onDrift === 'adopt') return { kind: 'apply', adopt: true };
  return { kind: 'skip', reason };
}

/** The journal's state before the run (empty when there is none): checked against its seal, so a cut one is refused. */
/** The journal's state; a journal of another plan is refused (BAD_INPUT), whatever the wave asked for. */
async function readState(file: string, fs: JournalFs | undefined, plan: Plan): Promise<JournalState> {
  const parsed = await readJournal(file, { allowMissing: true, ...(fs ? { fs } : {}) });
  assertJournalOfPlan(parsed, plan, file);
  return replayJournal(parsed.records);
}

/**
 * Refuses `--wave N` while an earlier wave has not completed clean (WAVE_ORDER, exit 2), naming each such wave and its
 * state, unless `outOfOrder`; a dry run only warns. The canary wave exists to prove the change before the fleet gets it.
 */
function assertEarlierWavesClean(
  plan: Plan,
  state: JournalState,
  w: Wave,
  o: { outOfOrder?: boolean; dryRun?: boolean; planFile?: string; journalFile: string },
  reporter: Reporter,
): void {
  const open = plan.waves
    .filter((x) => x.index < w.index)
    .sort((a, b) => a.index - b.index)
    .map((x) => ({ wave: x, run: state.waves.get(String(x.index)) }))
    .filter(({ run }) => run?.state !== 'completed');
  if (open.length === 0) return;
  const described = open.map(({ wave, run }) => `wave ${wave.index} (${wave.name}) is ${waveStateText(run)}`);
  const message = `${described.join('; ')}: wave ${w.index} (${w.name}) runs only after every earlier wave completed clean`;
  if (o.outOfOrder) {
    reporter.emit({ type: 'warning', code: 'WAVE_ORDER', message: `${message}; running it anyway (--out-of-order)` });
    return;
  }
  if (o.dryRun) {
    reporter.emit({ type: 'warning', code: 'WAVE_ORDER', message: `${message}; a real run is refused` });
    return;
  }
  const first = open[0]!.wave.index;
  throw new CutoverError('WAVE_ORDER', message, {
    suggestions: [
      `Run the earlier wave first: \`imdsv2 enforce --plan ${o.planFile ?? 'PLAN'} --wave ${first} --journal ${o.journalFile}\` (or --next).`,
      `\`imdsv2 status --plan ${o.planFile ?? 'PLAN'} --journal ${o.journalFile}\` shows every wave's state.`,
      `To run wave ${w.index} anyway, add --out-of-order.`,
    ],
  });
}

/** What a resumed run finds of the interrupted one, said once at its start. */
function resumeText(w: Wave, run: WaveRun, state: JournalState): string {
  let changed = 0;
  let pending = 0;
  for (const e of w.instances) {
    const phase = state.targets.get(targetKey(instanceTarget(e)))?.phase;
    if (phase !== undefined && APPLY_PHASES.has(phase)) changed++;
    if (phase === 'intent-pending') pending++;
  }
  const start = soakStart(w, state, Number.NaN);
  const soak = Number.isFinite(start) ? `; its soak keeps its start (${new Date(start).toISOString()})` : '';
  return (
    `resuming wave ${w.index} (${w.name}), interrupted after it started at ${run.startedAt}: the journal shows ` +
    `${changed} of ${w.instances.length} instance(s) changed and ${pending} change(s) sent or about to be sent without a recorded answer ` +
    `(read back from EC2 now)${soak}`
  );
}

/** A wave's state in words, for messages: "not started", "rolled back at ...", "interrupted (started ...)". */
function waveStateText(run: WaveRun | undefined): string {
  if (!run) return 'not started';
  const why = run.message ? `: ${run.message}` : '';
  switch (run.state) {
    case 'completed':
      return `completed at ${run.endedAt ?? '?'}`;
    case 'open':
      return `interrupted or still running (started ${run.startedAt})`;
    case 'rolled-back':
      return `rolled back at ${run.endedAt ?? '?'}${why}`;
    case 'halted':
      return `halted at ${run.endedAt ?? '?'}${why}`;
    case 'failed':
      return `not completed clean (ended ${run.endedAt ?? '?'}${why})`;
  }
}

/** Picks the wave `--next` means: the first in plan order that has not completed. A guard-halted wave stops it. */
export function selectNextWave(plan: Plan, state: JournalState): Wave | null {
  for (const w of [...plan.waves].sort((a, b) => a.index - b.index)) {
    const run = state.waves.get(String(w.index));
    if (run?.state === 'completed') continue;
    if (run?.state === 'rolled-back' || run?.state === 'halted') {
      throw new CutoverError(
        'BAD_USAGE',
        `wave ${w.index} (${w.name}) was rolled back at ${run.endedAt ?? '?'}${run.message ? `: ${run.message}` : ''}; --next will not move past it`,
        {
          suggestions: [`Fix what broke (see \`imdsv2 status\`), then run \`imdsv2 enforce --wave ${w.index}\` again.`],
        },
      );
    }
    return w;
  }
  return null;
}

function emptyResult(wave: EnforceResult['wave'], outcome: EnforceResult['outcome'], message: string): EnforceResult {
  return {
    wave,
    outcome,
    message,
    preflight: null,
    applied: [],
    recovered: [],
    alreadyDone: [],
    skipped: [],
    terminated: [],
    failed: [],
    changedWithoutRecord: [],
    verified: [],
    notVerified: [],
    guard: null,
    lockIn: null,
  };
}

function instanceTarget(e: { instanceId: string; accountId: string; region: string }) {
  return { kind: 'instance' as const, instanceId: e.instanceId, accountId: e.accountId, region: e.region };
}

/**
 * Executes one wave of an approved plan (design section 6): preflight (hash, assessment age, drift, DryRun permission),
 * confirmation, write-ahead journaled changes at EC2's Modify rate, batched wait for `applied`, then a soak on the
 * service's clock watching MetadataNoTokenRejected. When the guard trips, the offending instances (or the wave) are
 * rolled back to their recorded settings and GUARD_HALTED (exit 4) is thrown. Re-running after a crash resumes: open
 * intents are resolved from live state, finished instances are skipped, a soak continues on its original clock.
 */
export async function enforce(o: EnforceOptions): Promise<EnforceResult> {
  const reporter: Reporter = o.reporter ?? silentReporter;
  const emit = (e: EngineEvent) => reporter.emit(e);
  const sleep = o.sleep ?? defaultSleep;
  const onDrift = o.onDrift ?? 'skip';
  verifyPlan(o.plan, o.planFile);

  if (o.wave === 'lockin') {
    if (!o.dryRun && o.confirmLockIn && !(await o.confirmLockIn(o.plan.lockIn.length))) {
      throw new CutoverError('NOT_CONFIRMED', 'the lock-in wave was not confirmed; nothing was changed');
    }
    const lockIn = await runLockIn({ ...o, reporter });
    return { ...emptyResult('lockin', lockIn.dryRun ? 'dry-run' : 'completed', lockIn.message), lockIn };
  }

  const initial = await readState(o.journalFile, o.journalFs, o.plan);
  let wave: Wave | null;
  if (o.wave === 'next') {
    wave = selectNextWave(o.plan, initial);
    if (!wave) {
      const lockHint = o.plan.lockIn.length > 0 ? ' Run `--wave lockin` for the lock-in steps.' : '';
      return emptyResult(null, 'nothing-to-do', `every wave of the plan has completed.${lockHint}`);
    }
  } else {
    const n = o.wave;
    wave = o.plan.waves.find((w) => w.index === n) ?? null;
    if (!wave) {
      throw new CutoverError(
        'BAD_USAGE',
        `the plan has no wave ${n} (it has ${o.plan.waves.map((w) => w.index).join(', ') || 'none'})`,
        {
          suggestions: ['Pick a wave index from `imdsv2 status --plan plan.json --journal FILE`, or use --next.'],
        },
      );
    }
    assertEarlierWavesClean(o.plan, initial, wave, o, reporter);
  }
  const w = wave;
  const scope = { wave: w.index };
  const previousRun = initial.waves.get(String(w.index));
  const resuming = previousRun?.state === 'open' ? resumeText(w, previousRun, initial) : null;
  if (resuming) emit({ type: 'info', message: resuming, scope });
  emit({
    type: 'phase',
    phase: 'preflight',
    message: `preflight of wave ${w.index} (${w.name}, ${w.instances.length} instances)`,
    scope,
  });

  // Preflight: every AWS response also sets the service clock.
  const clock = new ServiceClock(o.now);
  for (const k of byPair(w.instances).values()) {
    clock.attach(o.clients.ec2(k[0]!.accountId, k[0]!.region));
    clock.attach(o.clients.cloudwatch(k[0]!.accountId, k[0]!.region));
  }
  const live = await describeEntries(o.clients, w.instances);
  const ageSeconds = checkAssessmentAge(o.plan, clock.now(), o.maxAgeSeconds ?? 7 * 86_400, o.forceStale ?? false);
  const decisions = w.instances.map((e) =>
    decide(e, initial.targets.get(targetKey(instanceTarget(e))), live.get(e.instanceId), onDrift),
  );
  // Drift is what decide() would skip (or adopt): resolved intents and unrecorded changes are not drift.
  const drift = findDrift(
    w.instances.filter((_, i) => decisions[i]!.kind === 'skip' || (decisions[i] as { adopt?: boolean }).adopt),
    live,
  );
  for (const d of drift) {
    emit({
      type: 'warning',
      code: 'DRIFT',
      message: `${driftMessage(d)}; --on-drift ${onDrift}`,
      scope: { ...scope, instanceId: d.instanceId },
    });
  }
  assertDriftPolicy(drift, onDrift);
  // A wave that completed and whose instances all still hold their target is not applied or soaked again.
  if (
    previousRun?.state === 'completed' &&
    decisions.every((d) => d.kind === 'done' || d.kind === 'gone' || (d.kind === 'skip' && onDrift === 'skip'))
  ) {
    return emptyResult(
      w.index,
      'nothing-to-do',
      `wave ${w.index} (${w.name}) completed at ${previousRun.endedAt ?? '?'} and its instances hold their target settings${drift.length > 0 ? ` (${drift.length} drifted, skipped)` : ''}: nothing to do; it is not soaked again`,
    );
  }
  const present = w.instances.filter((e) => !isGone(live.get(e.instanceId)));
  const limiter = new RegionalLimiter(o.modifyBucket ?? MODIFY_BUCKET, sleep);
  const permissions = await checkPermissions(o.clients, present, limiter);
  // The guard's rollback sets tokens back to optional: where HttpTokensEnforced is enabled EC2 would refuse it.
  const tokensEnforced = await findEnforcedRegions(
    o.clients,
    [...byPair(present.filter((e) => e.planned.httpTokens === 'optional' && e.target.httpTokens === 'required'))].map(
      ([, list]) => ({ accountId: list[0]!.accountId, region: list[0]!.region }),
    ),
  );
  if (
    tokensEnforced.length > 0 &&
    (!o.liftTokensEnforced || tokensEnforced.some((t) => t.managedBy === 'declarative-policy'))
  ) {
    throw enforcementRefusal(tokensEnforced, {
      doing: `wave ${w.index}`,
      rerun: 'the same `imdsv2 enforce` command with --lift-http-tokens-enforced',
      consequence: 'If the guard tripped it could not roll back, so the wave was not started. Nothing was changed.',
    });
  }
  const preflight: PreflightSummary = {
    wave: w.index,
    waveName: w.name,
    planHash: o.plan.contentHash,
    assessmentAgeDays: Math.round((ageSeconds / 86_400) * 10) / 10,
    instances: w.instances.length,
    toApply: decisions.filter((d) => d.kind === 'apply').length,
    alreadyDone: decisions.filter((d) => d.kind === 'done').length,
    toRecover: decisions.filter((d) => d.kind === 'recover').length,
    changedWithoutRecord: decisions.filter((d) => d.kind === 'unrecorded').length,
    drift,
    onDrift,
    gone: w.instances.filter((e) => isGone(live.get(e.instanceId))).map((e) => e.instanceId),
    permissions,
    tokensEnforced: tokensEnforced.map((t) => `${t.accountId} ${t.region}`),
    serviceTime: new Date(clock.now()).toISOString(),
    resuming,
  };
  if (o.dryRun) {
    return {
      ...emptyResult(
        w.index,
        'dry-run',
        `preflight passed; ${preflight.toApply} instance(s) would be changed; nothing was changed`,
      ),
      preflight,
    };
  }
  if (o.confirm && !(await o.confirm(preflight))) {
    throw new CutoverError('NOT_CONFIRMED', `enforcement of wave ${w.index} was not confirmed; nothing was changed`);
  }

  const journal = await JournalWriter.open({
    file: o.journalFile,
    planContentHash: o.plan.contentHash,
    tool: o.tool,
    now: () => clock.now(),
    reporter,
    ...(o.journalFs ? { fs: o.journalFs } : {}),
    expected: {
      bytes: 16 * 1024 + w.instances.length * JOURNAL_BYTES_PER_TARGET,
      what: `wave ${w.index}: ${w.instances.length} instance(s) × ${JOURNAL_BYTES_PER_TARGET / 1024} KiB`,
    },
  });
  try {
    return await runWave(o, w, journal, clock, preflight, { reporter, sleep, onDrift, limiter });
  } finally {
    await journal.close();
  }
}

async function runWave(
  o: EnforceOptions,
  w: Wave,
  journal: JournalWriter,
  clock: ServiceClock,
  preflight: PreflightSummary,
  ctx: { reporter: Reporter; sleep: (ms: number) => Promise<void>; onDrift: OnDrift; limiter: RegionalLimiter },
): Promise<EnforceResult> {
  const { reporter, sleep, onDrift, limiter } = ctx;
  const emit = (e: EngineEvent) => reporter.emit(e);
  const scope = { wave: w.index };
  const out: EnforceResult = { ...emptyResult(w.index, 'completed', ''), preflight };
  const limit = pLimit(o.concurrency ?? 20);
  const applyTimeoutMs = o.applyTimeoutMs ?? 600_000;
  const waveId = w.index;

  await journal.append({ type: 'wave-start', wave: waveId, dryRun: false });
  emit({
    type: 'phase',
    phase: 'apply',
    message: `applying wave ${w.index}: ${preflight.toApply + preflight.toRecover} to change or resolve`,
    scope,
  });

  const state0 = journal.state();
  const toWait: { instanceId: string; accountId: string; region: string; desired: MetadataSettings }[] = [];
  const ledger = new UnrecordedLedger();
  // Ctrl-C: no new change is sent; the calls in flight finish and are recorded (see `interrupted` below).
  const inFlight = new Set<string>();
  const interrupt = new Interrupt(o.signal, reporter, scope, inFlight);
  const stopped = () => journal.failure !== null || interrupt.requested;
  let done = 0;
  await settleAll(
    [...byPair(w.instances).values()].map(async (entries) => {
      const ec2 = o.clients.ec2(entries[0]!.accountId, entries[0]!.region);
      for (const batch of chunk(entries, DESCRIBE_BATCH)) {
        if (stopped()) return;
        // Fresh live settings per batch: the intent records what the instance holds just before the change.
        const live = await describeLive(
          ec2,
          batch.map((e) => e.instanceId),
        );
        await settleAll(
          batch.map((e) =>
            limit(async () => {
              // Once the journal fails no intent is written, so no further call is sent.
              if (stopped()) return;
              try {
                await applyOne(e, ec2, state0.targets.get(targetKey(instanceTarget(e))), live.get(e.instanceId));
              } finally {
                inFlight.delete(e.instanceId);
              }
              emit({
                type: 'progress',
                phase: 'apply',
                done: ++done,
                total: w.instances.length,
                unit: 'instances',
                scope,
              });
            }),
          ),
        );
      }
    }),
  );

  /** Decides, journals and (for `apply`) changes one instance; journal failures end it quietly (see `stopped`). */
  async function applyOne(e: PlanEntry, ec2: EC2Client, st: TargetState | undefined, l: LiveInstance | undefined) {
    const target = instanceTarget(e);
    const d = decide(e, st, l, onDrift);
    const desired = e.target;
    const result = (outcome: 'ok' | 'failed' | 'terminated' | 'skipped', extra: object = {}) =>
      journal.append({ type: 'result', wave: waveId, action: 'apply', target, outcome, ...extra });
    try {
      switch (d.kind) {
        case 'done':
          out.alreadyDone.push(e.instanceId);
          if (st?.phase === 'applied') toWait.push({ ...e, desired: (st.desired as MetadataSettings) ?? desired });
          return;
        case 'gone':
          await result('terminated');
          out.terminated.push(e.instanceId);
          return;
        case 'recover': {
          const intent = st!.lastIntent!;
          await result('ok', {
            note:
              st!.phase === 'apply-failed'
                ? 'the change was made though its call was recorded as failed (its answer was lost): the instance has the desired settings'
                : 'recovered after an interruption: the instance already had the desired settings',
          });
          out.recovered.push(e.instanceId);
          toWait.push({ ...e, desired: intent.desired as MetadataSettings });
          return;
        }
        case 'unrecorded': {
          // Record what is known: the previous settings are the ones the plan recorded.
          const previous = plannedSettings(e);
          await journal.append({ type: 'intent', wave: waveId, action: 'apply', target, previous, desired });
          await result('ok', {
            note: 'changed without record: found at the desired settings with no intent in the journal; previous settings taken from the plan',
          });
          out.changedWithoutRecord.push({ instanceId: e.instanceId, previous });
          toWait.push({ ...e, desired });
          emit({
            type: 'warning',
            code: 'CHANGED_WITHOUT_RECORD',
            message: `${e.instanceId} already holds the target settings but the journal never recorded the change; recorded now, with the plan's previous settings (${settingsText(previous)}) for rollback`,
            scope: { ...scope, instanceId: e.instanceId },
          });
          return;
        }
        case 'skip':
          await result('skipped', { error: { code: 'DRIFT', message: d.reason } });
          out.skipped.push({ instanceId: e.instanceId, reason: d.reason });
          return;
        case 'apply':
          break;
      }
      const previous = l!.settings ?? plannedSettings(e);
      await journal.append({ type: 'intent', wave: waveId, action: 'apply', target, previous, desired });
    } catch (err) {
      if (isJournalFailure(err)) return; // nothing was sent for this instance
      throw err;
    }
    await limiter.take(e.accountId, e.region);
    // The intent is on disk, but the journal failed meanwhile: stop here; a resume finds the intent and the live state.
    if (stopped()) return;
    const previous = l!.settings ?? plannedSettings(e);
    const change = { target: e, what: 'applied' as const, previous, now: desired };
    let failure: { code: string; message: string } | null = null;
    let lostAnswer: string | null = null;
    let unknown = false;
    inFlight.add(e.instanceId);
    try {
      await modifyMetadata(ec2, e.instanceId, desired, false, l?.settings);
    } catch (err) {
      // The answer may have been lost after EC2 made the change: read the instance before judging the call.
      const now = isGoneError(err) ? 'gone' : await readBack(ec2, e.instanceId);
      if (now === 'gone') {
        if (await recordAfterCall(() => result('terminated'), ledger, null)) out.terminated.push(e.instanceId);
        return;
      }
      if (sameSettings(now, desired)) lostAnswer = awsErrorCode(err);
      else {
        failure = callFailure(err, e.accountId);
        unknown = now === null;
        if (unknown)
          failure.message +=
            ' (the instance could not be read back: whether the change was made is unknown; a re-run resolves it)';
      }
    }
    if (failure) {
      // Whether an unknown outcome changed the instance cannot be told: if its result cannot be recorded either, it is
      // listed with the others (restoring settings it may still hold is harmless).
      if (await recordAfterCall(() => result('failed', { error: failure }), ledger, unknown ? change : null)) {
        out.failed.push({ instanceId: e.instanceId, ...failure });
        emit({
          type: 'warning',
          code: 'APPLY_FAILED',
          message: `${e.instanceId}: ${failure.message}`,
          scope: { ...scope, instanceId: e.instanceId },
        });
      }
      return;
    }
    const note = lostAnswer
      ? `the call's answer was lost (${lostAnswer}); DescribeInstances shows the change made`
      : d.adopt
        ? 'drift adopted: previous settings are the live ones'
        : undefined;
    if (await recordAfterCall(() => result('ok', { note }), ledger, change)) {
      out.applied.push(e.instanceId);
      toWait.push({ ...e, desired });
    }
  }

  let stopError: CutoverError | null = null;
  const stop = async (failure: CutoverError): Promise<never> => {
    if (stopError) throw stopError;
    await journal
      .append({
        type: 'wave-end',
        wave: waveId,
        outcome: 'failed',
        message: `the journal could not be written: ${failure.message}`,
      })
      .catch(() => undefined);
    reportUnrecorded(reporter, ledger);
    stopError = journalStopError({
      journalFile: o.journalFile,
      failure,
      doing: `enforce wave ${w.index}`,
      recorded: out.applied.length + out.changedWithoutRecord.length,
      ledger,
      resume: `imdsv2 enforce --plan ${o.planFile ?? 'PLAN'} --wave ${w.index} --journal ${o.journalFile}`,
    });
    throw stopError;
  };
  if (journal.failure) return stop(journal.failure);

  let phase: InterruptedPhase = 'apply';
  const interrupted = (): CutoverError => {
    const st = journal.state();
    let notSent = 0;
    for (const e of w.instances)
      if (st.targets.get(targetKey(instanceTarget(e)))?.phase === 'intent-pending') notSent++;
    const changed = [...out.applied, ...out.recovered, ...out.changedWithoutRecord.map((c) => c.instanceId)];
    const accounted =
      changed.length + out.alreadyDone.length + out.skipped.length + out.terminated.length + out.failed.length;
    const soakSeconds = o.soakSeconds ?? w.soakSeconds;
    return interrupt.error({
      phase,
      wave: { index: w.index, name: w.name, instances: w.instances.length },
      changed,
      before: out.alreadyDone.length,
      notSent,
      untouched: Math.max(0, w.instances.length - accounted - notSent),
      ...(phase === 'soak'
        ? {
            soak: {
              elapsedSeconds: Math.min(
                soakSeconds,
                Math.max(0, Math.round((clock.now() - soakStart(w, st, clock.now())) / 1000)),
              ),
              totalSeconds: soakSeconds,
            },
          }
        : {}),
      planFile: o.planFile,
      journalFile: o.journalFile,
      details: { result: out, inFlight: interrupt.inFlightAtRequest },
    });
  };
  if (interrupt.requested) throw interrupted();
  const waitSleep = interrupt.sleep(sleep);

  try {
    if (toWait.length > 0) {
      emit({
        type: 'phase',
        phase: 'verify',
        message: `waiting for EC2 to report ${toWait.length} change(s) applied`,
        scope,
      });
      phase = 'verify';
      const waited = await waitApplied(o.clients, toWait, {
        timeoutMs: applyTimeoutMs,
        sleep: waitSleep,
        now: o.now,
        onRound: (n, total) => emit({ type: 'progress', phase: 'verify', done: n, total, unit: 'instances', scope }),
      });
      const byId = new Map(toWait.map((t) => [t.instanceId, t]));
      for (const [state, found, list] of [
        ['applied', waited.applied, out.verified],
        ['terminated', waited.gone, out.terminated],
      ] as const) {
        for (const id of found) {
          await journal.append({ type: 'verified', wave: waveId, target: instanceTarget(byId.get(id)!), state });
          list.push(id);
        }
      }
      out.notVerified.push(...waited.timedOut, ...waited.notRunning);
      if (waited.notRunning.length > 0) {
        emit({
          type: 'warning',
          code: 'NOT_RUNNING',
          message: `${waited.notRunning.length} instance(s) are not running; EC2 applies their settings at next start`,
          scope,
        });
      }
      if (waited.timedOut.length > 0) {
        emit({
          type: 'warning',
          code: 'NOT_APPLIED',
          message: `${waited.timedOut.length} instance(s) did not report applied within ${applyTimeoutMs / 1000} s: ${waited.timedOut.slice(0, 5).join(', ')}`,
          scope,
        });
      }
    }

    // A journal that failed while recording the verification ends the run here: the soak and a guard's rollback
    // need a journal that takes intents. A re-run verifies and soaks again.
    if (journal.failure) return await stop(journal.failure);
    phase = 'soak';
    out.guard = await soak(o, w, journal, clock, { reporter, sleep: waitSleep });
    // From here on the guard's verdict and its rollback run to the end: a rollback is never left half done.
    if (journal.failure) return await stop(journal.failure);
    if (out.guard?.tripped) {
      await haltWave(o, w, journal, out.guard, {
        reporter,
        sleep,
        limiter,
        concurrency: o.concurrency ?? 20,
        applyTimeoutMs,
        ledger,
      });
    }

    // Every target must have a recorded outcome: an intent left open is a change nobody accounted for.
    const after = journal.state();
    for (const e of w.instances) {
      if (after.targets.get(targetKey(instanceTarget(e)))?.phase !== 'intent-pending') continue;
      out.failed.push({
        instanceId: e.instanceId,
        code: 'UNACCOUNTED',
        message: 'its change has an intent but no recorded outcome; a re-run resolves it from live state',
      });
    }
    const unverified = out.guard && !out.guard.verified ? out.guard.unverified : [];
    const failedNote =
      out.failed.length > 0
        ? `${out.failed.length} change(s) failed`
        : unverified.length > 0
          ? `the guard could not verify the soak: no CloudWatch data covering it for ${unverified.length} instance(s)`
          : undefined;
    await journal.append({
      type: 'wave-end',
      wave: waveId,
      outcome: out.failed.length > 0 || unverified.length > 0 ? 'failed' : 'completed',
      message: failedNote,
    });
    out.outcome = 'completed';
    out.message =
      `wave ${w.index} (${w.name}): ${out.applied.length} applied, ${out.recovered.length} recovered, ` +
      `${out.alreadyDone.length} already done, ${out.skipped.length} skipped, ${out.terminated.length} terminated, ` +
      `${out.failed.length} failed` +
      (out.changedWithoutRecord.length > 0
        ? `, ${out.changedWithoutRecord.length} changed without record (now recorded)`
        : '') +
      (out.guard
        ? `; soaked ${out.guard.soakSeconds} s with no rejected IMDSv1 calls above ${out.guard.threshold}`
        : '');
    if (unverified.length > 0 && out.failed.length === 0) {
      throw new CutoverError(
        'GUARD_UNVERIFIED',
        `wave ${w.index} (${w.name}): the soak ended with no rejected IMDSv1 call seen, but CloudWatch data covering it never arrived for ${unverified.length} instance(s) (${unverified.slice(0, 5).join(', ')}${unverified.length > 5 ? ', ...' : ''}): the wave is not verified, and --next will not move past it`,
        {
          suggestions: [
            `Run \`imdsv2 enforce --wave ${w.index}\` again later: nothing is changed again, and the guard checks the same soak once the data is in.`,
            'Check that the instances publish CloudWatch metrics (a running instance does) and that cloudwatch:GetMetricData is allowed.',
          ],
          details: { result: out },
        },
      );
    }
    if (out.failed.length > 0) {
      throw new CutoverError(
        'INCOMPLETE',
        `${out.message}:\n  ${failureLines(out.failed).join('\n  ')}\nRe-run \`imdsv2 enforce --wave ${w.index}\` to retry the failed ones.`,
        {
          details: { result: out },
        },
      );
    }
    return out;
  } catch (e) {
    // A record after the changes could not be written (verified, guard, rollback): end the same way.
    if (journal.failure) return stop(journal.failure);
    if (e instanceof Interrupted) throw interrupted();
    throw e;
  }
}

/** The instances the guard watches: this wave's applied ones and every earlier wave's. */
function watchedInstances(
  plan: Plan,
  w: Wave,
  state: JournalState,
): { watched: WatchedInstance[]; waveOf: Map<string, number> } {
  const watched: WatchedInstance[] = [];
  const waveOf = new Map<string, number>();
  for (const wave of plan.waves) {
    if (wave.index > w.index) continue;
    for (const e of wave.instances) {
      const st = state.targets.get(targetKey(instanceTarget(e)));
      if (st && APPLY_PHASES.has(st.phase)) {
        watched.push({ instanceId: e.instanceId, accountId: e.accountId, region: e.region });
        waveOf.set(e.instanceId, wave.index);
      }
    }
  }
  return { watched, waveOf };
}

/**
 * The start of a wave's soak: the last change made to any of its instances (so a re-run never cuts the soak short);
 * without one, the run's first apply intent, else now.
 */
function soakStart(w: Wave, state: JournalState, nowMs: number): number {
  const firstApplyAt = state.waves.get(String(w.index))?.firstApplyAt;
  const fallbackMs = firstApplyAt ? Date.parse(firstApplyAt) : nowMs;
  let last = Number.NEGATIVE_INFINITY;
  for (const e of w.instances) {
    const st = state.targets.get(targetKey(instanceTarget(e)));
    for (const ev of st?.events ?? []) {
      if (ev.action === 'apply' && ev.record === 'result' && ev.outcome === 'ok')
        last = Math.max(last, Date.parse(ev.at));
    }
  }
  return Number.isFinite(last) ? last : fallbackMs;
}

/** Rejected calls an instance may show over `elapsedMs` before it trips the guard. */
function limitOf(threshold: number, allowancePerHour: number | undefined, elapsedMs: number): number {
  return threshold + (allowancePerHour ?? 0) * Math.max(1, elapsedMs / 3_600_000);
}

async function soak(
  o: EnforceOptions,
  w: Wave,
  journal: JournalWriter,
  clock: ServiceClock,
  ctx: { reporter: Reporter; sleep: (ms: number) => Promise<void> },
): Promise<GuardSummary | null> {
  const soakSeconds = o.soakSeconds ?? w.soakSeconds;
  const state = journal.state();
  const { watched } = watchedInstances(o.plan, w, state);
  if (soakSeconds <= 0 || watched.length === 0) return null;
  const windowStart = soakStart(w, state, clock.now());
  const soakEnd = windowStart + soakSeconds * 1000;
  const dataDeadline = soakEnd + (o.guardDataTimeoutSeconds ?? 1800) * 1000;
  const threshold = w.guard.maxRejectedCalls;
  const period = o.guardPeriodSeconds ?? 300;
  const interval = o.guardIntervalMs ?? 60_000;
  const allowance = new Map(
    o.plan.waves.flatMap((x) => x.instances).map((e) => [e.instanceId, e.rejectedAllowancePerHour] as const),
  );
  const scope = { wave: w.index };
  ctx.reporter.emit({
    type: 'phase',
    phase: 'soak',
    message: `soaking ${soakSeconds} s (service clock) watching MetadataNoTokenRejected on ${watched.length} instance(s)`,
    scope,
  });
  let polls = 0;
  for (;;) {
    const now = clock.now();
    const until = Math.min(now, soakEnd);
    const series = await metricSeries(o.clients, watched, 'MetadataNoTokenRejected', windowStart, until, period);
    polls++;
    const rejected = [...series]
      .filter(([, v]) => v.sum > 0)
      .map(([instanceId, v]) => ({ instanceId, calls: v.sum }))
      .sort((a, b) => b.calls - a.calls);
    const offenders = rejected
      .filter((r) => r.calls > limitOf(threshold, allowance.get(r.instanceId), until - windowStart))
      .map((r) => r.instanceId);
    const tripped = offenders.length > 0;
    ctx.reporter.emit({
      type: 'progress',
      phase: 'soak',
      done: Math.min(soakSeconds, Math.floor((now - windowStart) / 1000)),
      total: soakSeconds,
      unit: 's',
      scope,
    });
    // Clean only when the data of every watched instance covers the whole soak: datapoints arrive minutes late, and
    // the last minutes of a soak are watched like the others. Past the data deadline it is a failure to verify.
    let unverified: string[] = [];
    let finished = tripped;
    if (!tripped && now >= soakEnd) {
      const missing = await uncoveredInstances(o.clients, watched, series, windowStart, soakEnd, period);
      unverified = missing.map((m) => m.instanceId);
      if (missing.length > 0 && now >= dataDeadline) {
        // Instances that stopped or were terminated during the soak publish nothing more: they cannot break.
        const live = await describeEntries(
          o.clients,
          o.plan.waves.flatMap((x) => x.instances).filter((e) => unverified.includes(e.instanceId)),
        );
        unverified = unverified.filter((id) => {
          const l = live.get(id);
          return !isGone(l) && l!.state === 'running';
        });
        finished = true;
      } else finished = missing.length === 0;
    }
    if (finished) {
      const summary: GuardSummary = {
        soakSeconds,
        polls,
        windowStart: new Date(windowStart).toISOString(),
        windowEnd: new Date(until).toISOString(),
        threshold,
        watched: watched.length,
        rejected,
        offenders,
        tripped,
        verified: !tripped && unverified.length === 0,
        unverified,
      };
      await journal.append({
        type: 'guard',
        wave: w.index,
        tripped,
        threshold,
        windowStart: summary.windowStart,
        windowEnd: summary.windowEnd,
        rejected,
      });
      return summary;
    }
    const wait = now < soakEnd ? Math.min(interval, soakEnd - now) : interval;
    await ctx.sleep(Math.max(1, wait));
  }
}

/** Guard tripped: roll back what broke (or the wave), journal it, and halt with exit 4. */
async function haltWave(
  o: EnforceOptions,
  w: Wave,
  journal: JournalWriter,
  guard: GuardSummary,
  ctx: {
    reporter: Reporter;
    sleep: (ms: number) => Promise<void>;
    limiter: RegionalLimiter;
    concurrency: number;
    applyTimeoutMs: number;
    ledger: UnrecordedLedger;
  },
): Promise<never> {
  const state = journal.state();
  const { waveOf } = watchedInstances(o.plan, w, state);
  const offenderIds = new Set(guard.offenders);
  const offenders = guard.rejected.filter((r) => offenderIds.has(r.instanceId));
  const keys = new Set<string>();
  for (const e of o.plan.waves.flatMap((x) => x.instances)) {
    const k = targetKey(instanceTarget(e));
    const inThisWave = waveOf.get(e.instanceId) === w.index;
    if (offenderIds.has(e.instanceId) || (w.guard.rollback === 'wave' && inThisWave)) keys.add(k);
  }
  const targets = [...keys].map((k) => state.targets.get(k)).filter((s): s is TargetState => !!s);
  const broke = offenders.map((r) => `${r.instanceId} (${r.calls} rejected IMDSv1 call${r.calls === 1 ? '' : 's'})`);
  const message = `guard tripped: MetadataNoTokenRejected above ${guard.threshold} on ${broke.join(', ')}`;
  // HttpTokensEnforced (enabled since the preflight, or allowed to be lifted): decide before touching any instance.
  const blocked = await findEnforcedRegions(o.clients, pairsRollingBackToOptional(targets));
  if (blocked.length > 0 && (!o.liftTokensEnforced || blocked.some((b) => b.managedBy === 'declarative-policy'))) {
    await journal.append({ type: 'wave-end', wave: w.index, outcome: 'halted', message });
    throw enforcementRefusal(blocked, {
      code: 'GUARD_HALTED',
      doing: `wave ${w.index} (${w.name}) halted: ${message}; its automatic rollback`,
      rerun: `imdsv2 rollback --journal ${o.journalFile} --wave ${w.index} --lift-http-tokens-enforced`,
      consequence: 'No instance was rolled back: the wave stays applied until you roll it back.',
    });
  }
  const lifts = await liftEnforcement(journal, o.clients, blocked, w.index, ctx.reporter);
  const rb: RollbackOutcome = await rollbackInstances(targets, {
    journal,
    clients: o.clients,
    limiter: ctx.limiter,
    concurrency: ctx.concurrency,
    reporter: ctx.reporter,
    sleep: ctx.sleep,
    now: o.now,
    applyTimeoutMs: ctx.applyTimeoutMs,
    ledger: ctx.ledger,
  });
  // The journal failed during the rollback: the run ends on that (the caller reports what was not recorded).
  if (journal.failure) throw journal.failure;
  const restored = await restoreEnforcement(journal, o.clients, lifts, w.index, ctx.reporter);
  await journal.append({ type: 'wave-end', wave: w.index, outcome: 'rolled-back', message });
  throw new CutoverError(
    'GUARD_HALTED',
    `wave ${w.index} (${w.name}) halted: ${message}. Rolled back ${rb.rolledBack.length} instance(s) (scope: ${w.guard.rollback})` +
      (rb.failed.length > 0
        ? `; ${rb.failed.length} rollback(s) FAILED: ${rb.failed.map((f) => f.instanceId).join(', ')}`
        : '') +
      (restored.restored.length > 0
        ? `; HttpTokensEnforced lifted for the rollback and enabled again in ${restored.restored.join(', ')}`
        : '') +
      (restored.failed.length > 0
        ? `; HttpTokensEnforced NOT enabled again in ${restored.failed.map((f) => f.where).join(', ')}`
        : ''),
    {
      suggestions: [
        'Find the process making IMDSv1 calls on those instances (`imdsv2 assess` with probing), upgrade it, then re-run this wave.',
        `See \`imdsv2 status --plan <plan> --journal ${o.journalFile}\`.`,
      ],
      details: { wave: w.index, guard, rollback: rb },
    },
  );
}
