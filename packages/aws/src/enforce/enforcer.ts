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
} from '@imdsv2-cutover/core';
import { CutoverError, replayJournal, silentReporter, targetKey } from '@imdsv2-cutover/core';
import { existsSync } from 'node:fs';
import pLimit from 'p-limit';
import { JournalWriter, readJournal } from '../journal/journal.js';
import {
  MODIFY_BUCKET,
  RegionalLimiter,
  byPair,
  chunk,
  describeLive,
  DESCRIBE_BATCH,
  isGone,
  isGoneError,
  modifyMetadata,
  sameSettings,
  settingsText,
} from './aws-ops.js';
import { metricSeries, uncoveredInstances, type WatchedInstance } from './guard.js';
import { runLockIn, type LockInResult } from './lockin.js';
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
import { awsErrorInfo } from '../errors.js';
import { ServiceClock } from '../service-clock.js';
import type { EngineDeps, LiveInstance, OnDrift } from './types.js';
import { defaultSleep } from './types.js';
import { waitApplied } from './wait-applied.js';

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
  /** After the lock-in steps, launch a canary from each changed template and check its tokens (lock-in's `proveLaunch`). */
  proveLaunch?: boolean;
  /**
   * Asked before the lock-in steps run (not on a dry run) with the number of steps; resolve false to stop
   * (NOT_CONFIRMED). Absent: confirmed.
   */
  confirmLockIn?: (steps: number) => Promise<boolean>;
  /** Token bucket for ModifyInstanceMetadataOptions per account and region. */
  modifyBucket?: { capacity: number; refillPerSecond: number };
}

export interface PreflightSummary {
  wave: number;
  waveName: string;
  planHash: string;
  assessmentAgeDays: number;
  instances: number;
  toApply: number;
  alreadyDone: number;
  /** Intents of a previous run without results, to be resolved from live state. */
  toRecover: number;
  drift: DriftItem[];
  onDrift: OnDrift;
  gone: string[];
  permissions: PermissionCheck[];
  serviceTime: string;
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
  verified: string[];
  notVerified: string[];
  guard: GuardSummary | null;
  lockIn: LockInResult | null;
}

type Decision =
  | { kind: 'done' }
  | { kind: 'gone' }
  | { kind: 'recover' }
  | { kind: 'apply'; adopt: boolean }
  | { kind: 'skip'; reason: string };

const APPLY_PHASES = new Set(['applied', 'verified']);

/** What to do with one plan entry, given the journal and live state. */
function decide(
  entry: PlanEntry,
  st: TargetState | undefined,
  live: LiveInstance | undefined,
  onDrift: OnDrift,
): Decision {
  if (st && APPLY_PHASES.has(st.phase)) return { kind: 'done' };
  if (isGone(live)) return { kind: 'gone' };
  const settings = live!.settings;
  const intent = st?.phase === 'intent-pending' ? st.openIntent : null;
  if (intent && intent.action === 'apply') {
    if (sameSettings(settings, intent.desired as MetadataSettings)) return { kind: 'recover' };
    if (sameSettings(settings, intent.previous as MetadataSettings)) return { kind: 'apply', adopt: false };
  } else if (sameSettings(settings, plannedSettings(entry))) {
    return { kind: 'apply', adopt: false };
  }
  const reason = `drift: planned ${settingsText(plannedSettings(entry))}, live ${settingsText(settings)}`;
  if (onDrift === 'adopt') return { kind: 'apply', adopt: true };
  return { kind: 'skip', reason };
}

async function readState(file: string): Promise<JournalState> {
  if (!existsSync(file)) return replayJournal([]);
  return replayJournal((await readJournal(file)).records);
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

  const initial = await readState(o.journalFile);
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
  }
  const w = wave;
  const scope = { wave: w.index };
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
  const untouched = w.instances.filter((e) => {
    const st = initial.targets.get(targetKey(instanceTarget(e)));
    return !st || !['applied', 'verified', 'intent-pending'].includes(st.phase);
  });
  const drift = findDrift(untouched, live);
  for (const d of drift) {
    emit({
      type: 'warning',
      code: 'DRIFT',
      message: `${driftMessage(d)}; --on-drift ${onDrift}`,
      scope: { ...scope, instanceId: d.instanceId },
    });
  }
  assertDriftPolicy(drift, onDrift);
  const decisions = w.instances.map((e) =>
    decide(e, initial.targets.get(targetKey(instanceTarget(e))), live.get(e.instanceId), onDrift),
  );
  const present = w.instances.filter((e) => !isGone(live.get(e.instanceId)));
  const limiter = new RegionalLimiter(o.modifyBucket ?? MODIFY_BUCKET, sleep);
  const permissions = await checkPermissions(o.clients, present, limiter);
  const preflight: PreflightSummary = {
    wave: w.index,
    waveName: w.name,
    planHash: o.plan.contentHash,
    assessmentAgeDays: Math.round((ageSeconds / 86_400) * 10) / 10,
    instances: w.instances.length,
    toApply: decisions.filter((d) => d.kind === 'apply').length,
    alreadyDone: decisions.filter((d) => d.kind === 'done').length,
    toRecover: decisions.filter((d) => d.kind === 'recover').length,
    drift,
    onDrift,
    gone: w.instances.filter((e) => isGone(live.get(e.instanceId))).map((e) => e.instanceId),
    permissions,
    serviceTime: new Date(clock.now()).toISOString(),
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
  const result: EnforceResult = { ...emptyResult(w.index, 'completed', ''), preflight };
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
  let done = 0;
  await Promise.all(
    [...byPair(w.instances).values()].map(async (entries) => {
      const ec2 = o.clients.ec2(entries[0]!.accountId, entries[0]!.region);
      for (const batch of chunk(entries, DESCRIBE_BATCH)) {
        // Fresh live settings per batch: the intent records what the instance holds just before the change.
        const live = await describeLive(
          ec2,
          batch.map((e) => e.instanceId),
        );
        await Promise.all(
          batch.map((e) =>
            limit(async () => {
              const target = instanceTarget(e);
              const st = state0.targets.get(targetKey(target));
              const l = live.get(e.instanceId);
              const d = decide(e, st, l, onDrift);
              const desired = e.target;
              // Terminated since the plan (or during the call): recorded, not an error.
              const recordGone = async () => {
                await journal.append({ type: 'result', wave: waveId, action: 'apply', target, outcome: 'terminated' });
                result.terminated.push(e.instanceId);
              };
              switch (d.kind) {
                case 'done':
                  result.alreadyDone.push(e.instanceId);
                  if (st?.phase === 'applied')
                    toWait.push({ ...e, desired: (st.desired as MetadataSettings) ?? desired });
                  break;
                case 'gone':
                  await recordGone();
                  break;
                case 'recover':
                  await journal.append({
                    type: 'result',
                    wave: waveId,
                    action: 'apply',
                    target,
                    outcome: 'ok',
                    note: 'recovered after an interruption: the instance already had the desired settings',
                  });
                  result.recovered.push(e.instanceId);
                  toWait.push({ ...e, desired: st!.openIntent!.desired as MetadataSettings });
                  break;
                case 'skip':
                  await journal.append({
                    type: 'result',
                    wave: waveId,
                    action: 'apply',
                    target,
                    outcome: 'skipped',
                    error: { code: 'DRIFT', message: d.reason },
                  });
                  result.skipped.push({ instanceId: e.instanceId, reason: d.reason });
                  break;
                case 'apply': {
                  await journal.append({
                    type: 'intent',
                    wave: waveId,
                    action: 'apply',
                    target,
                    previous: l!.settings ?? plannedSettings(e),
                    desired,
                  });
                  await limiter.take(e.accountId, e.region);
                  try {
                    await modifyMetadata(ec2, e.instanceId, desired);
                    await journal.append({
                      type: 'result',
                      wave: waveId,
                      action: 'apply',
                      target,
                      outcome: 'ok',
                      note: d.adopt ? 'drift adopted: previous settings are the live ones' : undefined,
                    });
                    result.applied.push(e.instanceId);
                    toWait.push({ ...e, desired });
                  } catch (err) {
                    if (isGoneError(err)) {
                      await recordGone();
                    } else {
                      const error = awsErrorInfo(err);
                      await journal.append({
                        type: 'result',
                        wave: waveId,
                        action: 'apply',
                        target,
                        outcome: 'failed',
                        error,
                      });
                      result.failed.push({ instanceId: e.instanceId, ...error });
                      emit({
                        type: 'warning',
                        code: 'APPLY_FAILED',
                        message: `${e.instanceId}: ${error.code}: ${error.message}`,
                        scope: { ...scope, instanceId: e.instanceId },
                      });
                    }
                  }
                  break;
                }
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

  if (toWait.length > 0) {
    emit({
      type: 'phase',
      phase: 'verify',
      message: `waiting for EC2 to report ${toWait.length} change(s) applied`,
      scope,
    });
    const waited = await waitApplied(o.clients, toWait, {
      timeoutMs: applyTimeoutMs,
      sleep,
      now: o.now,
      onRound: (n, total) => emit({ type: 'progress', phase: 'verify', done: n, total, unit: 'instances', scope }),
    });
    const byId = new Map(toWait.map((t) => [t.instanceId, t]));
    for (const id of waited.applied) {
      await journal.append({ type: 'verified', wave: waveId, target: instanceTarget(byId.get(id)!), state: 'applied' });
      result.verified.push(id);
    }
    for (const id of waited.gone) {
      await journal.append({
        type: 'verified',
        wave: waveId,
        target: instanceTarget(byId.get(id)!),
        state: 'terminated',
      });
      result.terminated.push(id);
    }
    result.notVerified.push(...waited.timedOut, ...waited.notRunning);
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

  result.guard = await soak(o, w, journal, clock, { reporter, sleep });
  if (result.guard?.tripped) {
    await haltWave(o, w, journal, result.guard, {
      reporter,
      sleep,
      limiter,
      concurrency: o.concurrency ?? 20,
      applyTimeoutMs,
    });
  }

  const unverified = result.guard && !result.guard.verified ? result.guard.unverified : [];
  const failedNote =
    result.failed.length > 0
      ? `${result.failed.length} change(s) failed`
      : unverified.length > 0
        ? `the guard could not verify the soak: no CloudWatch data covering it for ${unverified.length} instance(s)`
        : undefined;
  await journal.append({
    type: 'wave-end',
    wave: waveId,
    outcome: result.failed.length > 0 || unverified.length > 0 ? 'failed' : 'completed',
    message: failedNote,
  });
  result.outcome = 'completed';
  result.message =
    `wave ${w.index} (${w.name}): ${result.applied.length} applied, ${result.recovered.length} recovered, ` +
    `${result.alreadyDone.length} already done, ${result.skipped.length} skipped, ${result.terminated.length} terminated, ` +
    `${result.failed.length} failed` +
    (result.guard
      ? `; soaked ${result.guard.soakSeconds} s with no rejected IMDSv1 calls above ${result.guard.threshold}`
      : '');
  if (unverified.length > 0 && result.failed.length === 0) {
    throw new CutoverError(
      'GUARD_UNVERIFIED',
      `wave ${w.index} (${w.name}): the soak ended with no rejected IMDSv1 call seen, but CloudWatch data covering it never arrived for ${unverified.length} instance(s) (${unverified.slice(0, 5).join(', ')}${unverified.length > 5 ? ', ...' : ''}): the wave is not verified, and --next will not move past it`,
      {
        suggestions: [
          `Run \`imdsv2 enforce --wave ${w.index}\` again later: nothing is changed again, and the guard checks the same soak once the data is in.`,
          'Check that the instances publish CloudWatch metrics (a running instance does) and that cloudwatch:GetMetricData is allowed.',
        ],
        details: { result },
      },
    );
  }
  if (result.failed.length > 0) {
    throw new CutoverError(
      'INCOMPLETE',
      `${result.message}. Re-run \`imdsv2 enforce --wave ${w.index}\` to retry the failed ones.`,
      {
        details: { result },
      },
    );
  }
  return result;
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

/** The start of a wave's soak: the last change made to any of its instances (so a re-run never cuts the soak short). */
function soakStart(w: Wave, state: JournalState, fallbackMs: number): number {
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
  const run = state.waves.get(String(w.index));
  const windowStart = soakStart(w, state, run?.firstApplyAt ? Date.parse(run.firstApplyAt) : clock.now());
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
  const rb: RollbackOutcome = await rollbackInstances(targets, {
    journal,
    clients: o.clients,
    limiter: ctx.limiter,
    concurrency: ctx.concurrency,
    reporter: ctx.reporter,
    sleep: ctx.sleep,
    now: o.now,
    applyTimeoutMs: ctx.applyTimeoutMs,
  });
  const broke = offenders.map((r) => `${r.instanceId} (${r.calls} rejected IMDSv1 call${r.calls === 1 ? '' : 's'})`);
  const message = `guard tripped: MetadataNoTokenRejected above ${guard.threshold} on ${broke.join(', ')}`;
  await journal.append({ type: 'wave-end', wave: w.index, outcome: 'rolled-back', message });
  throw new CutoverError(
    'GUARD_HALTED',
    `wave ${w.index} (${w.name}) halted: ${message}. Rolled back ${rb.rolledBack.length} instance(s) (scope: ${w.guard.rollback})` +
      (rb.failed.length > 0
        ? `; ${rb.failed.length} rollback(s) FAILED: ${rb.failed.map((f) => f.instanceId).join(', ')}`
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
