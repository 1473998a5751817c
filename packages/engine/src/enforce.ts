import type {
  EnforceResult,
  JournalFs,
  OnDrift,
  PreflightSummary,
  RollbackResult,
  RollbackScope,
  StatusResult,
} from '@imdsv2-cutover/aws';
import { awsFailure, enforce, readJournal, rollback, status } from '@imdsv2-cutover/aws';
import type { Reporter } from '@imdsv2-cutover/core';
import { CutoverError, parseDuration, planKind } from '@imdsv2-cutover/core';
import path from 'node:path';
import type { ConnectionConfig } from './connection.js';
import { clientsForAccounts, connect } from './connection.js';
import { readJsonDocument } from './files.js';

/** The journal next to the plan when none is named: plan.json -> plan.journal.jsonl. */
export function defaultJournal(planFile: string, journal: string | undefined): string {
  if (journal !== undefined) return journal;
  const parsed = path.parse(planFile);
  return path.join(parsed.dir, `${parsed.name}.journal.jsonl`);
}

function seconds(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, flag);
}

/** `--modify-bucket BURST/REFILL` (tests and benchmarks). */
function bucket(value: string | undefined): { capacity: number; refillPerSecond: number } | undefined {
  if (value === undefined) return undefined;
  const parts = value.split('/').map(Number);
  if (parts.length !== 2 || !parts.every((n) => Number.isFinite(n) && n > 0)) {
    throw new CutoverError('BAD_USAGE', `--modify-bucket ${JSON.stringify(value)}: expected BURST/REFILL, e.g. 100/5`);
  }
  return { capacity: parts[0]!, refillPerSecond: parts[1]! };
}

/** `--wave N`, `--wave lockin` or `--next`. */
export function parseWave(wave: string | undefined, next: boolean): number | 'next' | 'lockin' {
  if (wave === undefined && !next) {
    throw new CutoverError('BAD_USAGE', 'say which wave to run: --wave N, --wave lockin or --next');
  }
  if (wave === undefined) return 'next';
  if (wave === 'lockin') return 'lockin';
  if (/^\d+$/.test(wave)) return Number(wave);
  throw new CutoverError('BAD_USAGE', `--wave ${JSON.stringify(wave)}: expected a wave index or "lockin"`);
}

/** What `imdsv2 enforce` is asked to do; durations in the tool's grammar (`10m`, `24h`). */
export interface EnforcementRequest {
  connection: ConnectionConfig;
  planFile: string;
  wave: number | 'next' | 'lockin';
  journalFile?: string;
  dryRun?: boolean;
  onDrift?: OnDrift;
  maxAge?: string;
  forceStale?: boolean;
  soak?: string;
  concurrency?: number;
  guardInterval?: string;
  guardPeriodSeconds?: number;
  /** How long after the soak to wait for CloudWatch data covering it (duration, default 30m). */
  guardDataTimeout?: string;
  applyTimeout?: string;
  confirmIrreversible?: boolean;
  /** Enable HttpTokensEnforced in the lock-in wave where the plan asks for it. */
  confirmTokensEnforced?: boolean;
  /** Let the guard's rollback lift HttpTokensEnforced (journaled) where it is enabled. */
  liftTokensEnforced?: boolean;
  /** With the lock-in wave: launch a canary from each changed template and check it comes up with tokens required. */
  proveLaunch?: boolean;
  modifyBucket?: string;
  /** Asked once the preflight passed, before any change; absent means confirmed (`--yes`). */
  confirm?: (summary: PreflightSummary) => Promise<boolean>;
  /** Asked before the lock-in steps; absent means confirmed. */
  confirmLockIn?: (steps: number) => Promise<boolean>;
  /** The journal's file layer (tests put the journal on a disk that fills up or fails). Default: the real one. */
  journalFs?: JournalFs;
  /** Run `--wave N` although an earlier wave has not completed clean (`--out-of-order`). */
  outOfOrder?: boolean;
  /** Aborted on Ctrl-C: the wave stops sending changes and ends with INTERRUPTED (exit 130), resumable. */
  signal?: AbortSignal;
  reporter: Reporter;
  toolVersion: string;
}

/**
 * `imdsv2 enforce`: reads and verifies the plan, builds the clients from the connection (the region rule falls back to
 * the plan's first region), and runs one wave or the lock-in steps with the aws package's `enforce` (preflight,
 * write-ahead journal, apply, wait, soak with the guard, automatic rollback). Errors keep their codes: GUARD_HALTED
 * (exit 4), DRIFT/STALE_INPUT/BAD_INPUT (exit 2); an AWS error names the account, region and operation.
 */
export async function runEnforcement(r: EnforcementRequest): Promise<EnforceResult> {
  if (r.proveLaunch && r.wave !== 'lockin')
    throw new CutoverError(
      'BAD_USAGE',
      `--prove-launch goes with --wave lockin, not ${r.wave === 'next' ? '--next' : `--wave ${r.wave}`}`,
      {
        suggestions: ['Run `imdsv2 enforce --plan PLAN --wave lockin --yes --prove-launch` after the instance waves.'],
      },
    );
  const plan = await readJsonDocument(planKind, r.planFile);
  const options = {
    maxAgeSeconds: seconds(r.maxAge, '--max-age'),
    soakSeconds: seconds(r.soak, '--soak'),
    guardIntervalMs: (seconds(r.guardInterval, '--guard-interval') ?? 60) * 1000,
    applyTimeoutMs: (seconds(r.applyTimeout, '--apply-timeout') ?? 600) * 1000,
    guardDataTimeoutSeconds: seconds(r.guardDataTimeout, '--guard-data-timeout'),
    modifyBucket: bucket(r.modifyBucket),
  };
  const factory = await connect(r.connection, { inputRegions: planRegions(plan), toolVersion: r.toolVersion });
  try {
    return await enforce({
      plan,
      planFile: r.planFile,
      wave: r.wave,
      journalFile: defaultJournal(r.planFile, r.journalFile),
      tool: { name: 'imdsv2-cutover', version: r.toolVersion },
      clients: await clientsForAccounts(factory, r.connection),
      reporter: r.reporter,
      dryRun: r.dryRun ?? false,
      onDrift: r.onDrift ?? 'skip',
      forceStale: r.forceStale ?? false,
      ...(r.concurrency === undefined ? {} : { concurrency: r.concurrency }),
      ...(r.guardPeriodSeconds === undefined ? {} : { guardPeriodSeconds: r.guardPeriodSeconds }),
      confirmIrreversible: r.confirmIrreversible ?? false,
      confirmTokensEnforced: r.confirmTokensEnforced ?? false,
      liftTokensEnforced: r.liftTokensEnforced ?? false,
      proveLaunch: r.proveLaunch ?? false,
      ...options,
      ...(r.confirm ? { confirm: r.confirm } : {}),
      ...(r.confirmLockIn ? { confirmLockIn: r.confirmLockIn } : {}),
      ...(r.journalFs ? { journalFs: r.journalFs } : {}),
      outOfOrder: r.outOfOrder ?? false,
      ...(r.signal ? { signal: r.signal } : {}),
    });
  } catch (e) {
    throw awsFailure(e, {
      doing: `enforce ${r.wave === 'lockin' ? 'lock-in' : `wave ${r.wave}`}`,
      phase: r.wave === 'lockin' ? 'lockin' : 'enforce',
      callerAccount: factory.knownCallerAccount ?? soleAccount(planAccounts(plan)),
    });
  } finally {
    factory.destroy();
  }
}

/** Accounts a plan acts in. */
function planAccounts(plan: { waves: { instances: { accountId: string }[] }[]; lockIn: { accountId: string }[] }) {
  return [
    ...new Set([
      ...plan.waves.flatMap((w) => w.instances.map((e) => e.accountId)),
      ...plan.lockIn.map((s) => s.accountId),
    ]),
  ];
}

/**
 * The account an error of the base credentials' clients happened in, for its message: without a role every call uses
 * the base credentials, so when the plan (or journal) names one account the call went there.
 */
function soleAccount(accounts: readonly string[]): string | undefined {
  return accounts.length === 1 ? accounts[0] : undefined;
}

/** Regions a plan acts in, in plan order: the fallback of the region rule for plan-based commands. */
export function planRegions(plan: {
  waves: { instances: { region: string }[] }[];
  lockIn: { region: string }[];
}): string[] {
  return [
    ...new Set([...plan.waves.flatMap((w) => w.instances.map((e) => e.region)), ...plan.lockIn.map((s) => s.region)]),
  ];
}

/** What `imdsv2 rollback` is asked to do. */
export interface RollbackRequest {
  connection: ConnectionConfig;
  journalFile: string;
  scope: RollbackScope;
  /**
   * The plan the journal was written for (`--from-plan`): restore also the plan's instances the journal lost that
   * show the change, to the settings the plan recorded; a journal cut short is accepted (resealed as it is).
   */
  fromPlanFile?: string;
  concurrency?: number;
  modifyBucket?: string;
  /** Lift HttpTokensEnforced where it blocks the rollback (journaled), and enable it again at the end. */
  liftTokensEnforced?: boolean;
  /** With `liftTokensEnforced`: leave it lifted at the end. */
  keepTokensEnforcedLifted?: boolean;
  /** The journal's file layer (tests). Default: the real one. */
  journalFs?: JournalFs;
  reporter: Reporter;
  toolVersion: string;
}

/**
 * `imdsv2 rollback`: restores what the journal changed (aws package's `rollback`), journaled like enforcement. The
 * region rule falls back to the journal's first region (the plan's with `fromPlanFile`). A journal cut short is
 * refused (JOURNAL_TRUNCATED, exit 2) before any AWS call, unless `fromPlanFile` is given.
 */
export async function runRollback(r: RollbackRequest): Promise<RollbackResult> {
  const modifyBucket = bucket(r.modifyBucket);
  const plan = r.fromPlanFile === undefined ? undefined : await readJsonDocument(planKind, r.fromPlanFile);
  // The journal is checked (and its regions read) before connecting, so a damaged one is refused without AWS access.
  const targets = plan
    ? plan.waves.flatMap((w) => w.instances)
    : (await readJournal(r.journalFile, r.journalFs ? { fs: r.journalFs } : {})).records.flatMap((x) =>
        'target' in x ? [x.target] : [],
      );
  const regions = plan ? planRegions(plan) : [...new Set(targets.map((t) => t.region))];
  const accounts = [...new Set(targets.map((t) => t.accountId))];
  const inputRegions = () => Promise.resolve(regions);
  const factory = await connect(r.connection, { inputRegions, toolVersion: r.toolVersion });
  try {
    return await rollback({
      journalFile: r.journalFile,
      tool: { name: 'imdsv2-cutover', version: r.toolVersion },
      scope: r.scope,
      ...(plan ? { fromPlan: plan } : {}),
      ...(r.journalFs ? { journalFs: r.journalFs } : {}),
      clients: await clientsForAccounts(factory, r.connection),
      reporter: r.reporter,
      ...(r.concurrency === undefined ? {} : { concurrency: r.concurrency }),
      ...(modifyBucket ? { modifyBucket } : {}),
      liftTokensEnforced: r.liftTokensEnforced ?? false,
      keepTokensEnforcedLifted: r.keepTokensEnforcedLifted ?? false,
    });
  } catch (e) {
    throw awsFailure(e, {
      doing: 'rollback',
      phase: 'enforce',
      callerAccount: factory.knownCallerAccount ?? soleAccount(accounts),
    });
  } finally {
    factory.destroy();
  }
}

/** What `imdsv2 status` is asked to do. */
export interface StatusRequest {
  connection: ConnectionConfig;
  planFile: string;
  journalFile?: string;
  /** Also read the instances' current settings (needs AWS access). */
  live?: boolean;
  toolVersion: string;
}

/**
 * `imdsv2 status`: the journal summarised against the plan (core's `summarizeJournal`, as the report renders it), and
 * with `live` the instances' current settings. Without `live` it needs no AWS access and no region.
 */
export async function runStatus(r: StatusRequest): Promise<StatusResult> {
  const plan = await readJsonDocument(planKind, r.planFile);
  const journalFile = defaultJournal(r.planFile, r.journalFile);
  if (!r.live) return status({ plan, journalFile });
  const factory = await connect(r.connection, { inputRegions: planRegions(plan), toolVersion: r.toolVersion });
  try {
    return await status({ plan, journalFile, live: true, clients: await clientsForAccounts(factory, r.connection) });
  } catch (e) {
    throw awsFailure(e, {
      doing: 'status --live',
      phase: 'enforce',
      callerAccount: factory.knownCallerAccount ?? soleAccount(planAccounts(plan)),
    });
  } finally {
    factory.destroy();
  }
}
