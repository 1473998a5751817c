import type { Assessment, Instance, ReadinessStatus } from '../schemas/assessment.js';
import type { ImdsCaller } from '../schemas/probe-report.js';
import { asgKey, byCodeUnit, instanceKey, launchTemplateKey, pairKey } from './keys.js';
import { sharePercent } from './trend.js';

/**
 * Compares two assessments of the same scope taken at different times (scheduled runs) and says what changed in
 * the direction of the cutover and against it. Pure: the same two inputs always give the same output, ordered
 * deterministically. The semantics are documented in docs/scheduling.md; in short:
 * - instances are matched by (accountId, region, instanceId);
 * - "newly X" means the instance is X now and was not X before (an instance that did not exist before counts,
 *   with `from: null`);
 * - a regression is something that makes IMDSv1 possible again where it was not: an instance back from `required`
 *   to `optional`, a launch template or ASG that now launches IMDSv1, a new account or region with IMDSv1 instances;
 * - instances that disappeared (terminated) are listed in `removed` and are never regressions.
 */

/** Where an instance is, and its Name tag (untrusted). */
export interface InstanceRef {
  accountId: string;
  region: string;
  instanceId: string;
  name?: string;
}

/** A readiness change of one instance; `from` is null when the instance is new. */
export interface StatusChange extends InstanceRef {
  from: ReadinessStatus | null;
  to: ReadinessStatus;
}

/** A process on a host that makes IMDSv1 calls now and did not in the old assessment. Strings are untrusted. */
export interface NewCaller extends InstanceRef {
  comm: string;
  exe?: string;
  argv?: string;
  requests: number;
}

/** An instance whose IMDSv1 call total went from 0, unknown or absent (`before: null`) to more than 0. */
export interface CallsStarted extends InstanceRef {
  before: number | null;
  after: number;
}

export type Regression =
  | ({ kind: 'instance-back-to-optional' } & InstanceRef)
  | {
      kind: 'launch-template-launches-imdsv1';
      accountId: string;
      region: string;
      launchTemplateId: string;
      name: string;
      /** True when the template did not exist in the old assessment. */
      isNew: boolean;
    }
  | { kind: 'asg-launches-imdsv1'; accountId: string; region: string; name: string; isNew: boolean }
  /** An account that is new in the new assessment and has instances with tokens optional. */
  | { kind: 'new-account-with-imdsv1'; accountId: string; instances: number }
  /** An (account, region) that is new (its account is not) and has instances with tokens optional. */
  | { kind: 'new-region-with-imdsv1'; accountId: string; region: string; instances: number };

/** The enforced share in percent (0-100, two decimals); null when no instance has the endpoint enabled. */
export interface EnforcedShare {
  before: number | null;
  after: number | null;
  /** after - before in percentage points; null when either side is null. */
  deltaPoints: number | null;
}

/** A failed or partial account or region of the new assessment (why it is incomplete). */
export interface IncompletePart {
  accountId: string;
  region?: string;
  status: 'failed' | 'partial';
  error?: { code: string; message: string };
}

export interface AssessmentSide {
  id: string;
  createdAt: string;
  complete: boolean;
  instances: number;
  counts: Record<ReadinessStatus, number>;
}

export interface AssessmentDiff {
  old: AssessmentSide;
  new: AssessmentSide;
  newlyEnforced: StatusChange[];
  newlyReady: StatusChange[];
  newlyBlocked: StatusChange[];
  newV1Callers: NewCaller[];
  callsStarted: CallsStarted[];
  regressions: Regression[];
  /** Instances in the new assessment only. */
  added: InstanceRef[];
  /** Instances in the old assessment only (terminated, or out of scope now). Never regressions. */
  removed: InstanceRef[];
  blocked: { before: number; after: number; delta: number };
  enforcedShare: EnforcedShare;
  /** Why the new assessment is incomplete (empty when it is complete). */
  incomplete: IncompletePart[];
  /** Things that make the comparison less meaningful, e.g. the files look swapped or the scope changed. */
  warnings: string[];
}

const STATUSES: readonly ReadinessStatus[] = ['enforced', 'ready', 'blocked', 'unknown', 'imds-disabled', 'excluded'];

const collator = byCodeUnit;

function ref(i: Instance): InstanceRef {
  return i.name === undefined
    ? { accountId: i.accountId, region: i.region, instanceId: i.instanceId }
    : { accountId: i.accountId, region: i.region, instanceId: i.instanceId, name: i.name };
}

function compareRefs(a: InstanceRef, b: InstanceRef): number {
  return collator(a.accountId, b.accountId) || collator(a.region, b.region) || collator(a.instanceId, b.instanceId);
}

/** The identity of a caller on one host: the same program with the same command line is the same caller. */
function callerKey(c: Pick<ImdsCaller, 'comm' | 'exe' | 'argv'>): string {
  return JSON.stringify([c.comm, c.exe ?? null, c.argv ?? null]);
}

function callersOf(i: Instance): ImdsCaller[] {
  return i.probe.report?.v1Callers ?? [];
}

/** An instance that can make IMDSv1 calls: tokens optional and the endpoint enabled. */
export function allowsImdsV1(i: Instance): boolean {
  return i.metadataOptions.httpTokens === 'optional' && i.metadataOptions.httpEndpoint === 'enabled';
}

function countStatuses(a: Assessment): Record<ReadinessStatus, number> {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<ReadinessStatus, number>;
  for (const i of a.instances) counts[i.readiness.status] += 1;
  return counts;
}

/** Enforced instances as a percentage of the instances whose metadata endpoint is not disabled. */
export function enforcedSharePercent(counts: Record<ReadinessStatus, number>): number | null {
  const eligible = STATUSES.reduce((n, s) => n + (s === 'imds-disabled' ? 0 : counts[s]), 0);
  return sharePercent(counts.enforced, eligible);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function side(a: Assessment): AssessmentSide {
  return {
    id: a.id,
    createdAt: a.createdAt,
    complete: a.complete,
    instances: a.instances.length,
    counts: countStatuses(a),
  };
}

function accountsOf(a: Assessment): Set<string> {
  return new Set([...a.accounts.map((x) => x.accountId), ...a.instances.map((i) => i.accountId)]);
}

function pairsOf(a: Assessment): Set<string> {
  return new Set([...a.regions.map(pairKey), ...a.instances.map(pairKey)]);
}

function newPlaceRegressions(oldA: Assessment, newA: Assessment): Regression[] {
  const oldAccounts = accountsOf(oldA);
  const oldPairs = pairsOf(oldA);
  const v1ByAccount = new Map<string, number>();
  const v1ByPair = new Map<string, number>();
  for (const i of newA.instances) {
    if (!allowsImdsV1(i)) continue;
    if (!oldAccounts.has(i.accountId)) {
      v1ByAccount.set(i.accountId, (v1ByAccount.get(i.accountId) ?? 0) + 1);
    } else if (!oldPairs.has(pairKey(i))) {
      const k = pairKey(i);
      v1ByPair.set(k, (v1ByPair.get(k) ?? 0) + 1);
    }
  }
  const out: Regression[] = [];
  for (const [accountId, instances] of [...v1ByAccount].sort(([a], [b]) => collator(a, b))) {
    out.push({ kind: 'new-account-with-imdsv1', accountId, instances });
  }
  for (const [k, instances] of [...v1ByPair].sort(([a], [b]) => collator(a, b))) {
    const [accountId, region] = k.split('/') as [string, string];
    out.push({ kind: 'new-region-with-imdsv1', accountId, region, instances });
  }
  return out;
}

/** Records of `now` that launch IMDSv1 and did not in `before` (absent from it, or not launching IMDSv1 there). */
function startedLaunchingV1<T extends { launchesImdsV1: boolean }>(
  before: readonly T[],
  now: readonly T[],
  key: (x: T) => string,
): { item: T; isNew: boolean }[] {
  const old = new Map(before.map((x) => [key(x), x]));
  return [...now]
    .sort((a, b) => byCodeUnit(key(a), key(b)))
    .filter((x) => x.launchesImdsV1 && !old.get(key(x))?.launchesImdsV1)
    .map((item) => ({ item, isNew: !old.has(key(item)) }));
}

function launchRegressions(oldA: Assessment, newA: Assessment): Regression[] {
  return [
    ...startedLaunchingV1(oldA.launchTemplates, newA.launchTemplates, launchTemplateKey).map(
      ({ item: t, isNew }): Regression => ({
        kind: 'launch-template-launches-imdsv1',
        accountId: t.accountId,
        region: t.region,
        launchTemplateId: t.launchTemplateId,
        name: t.name,
        isNew,
      }),
    ),
    ...startedLaunchingV1(oldA.autoScalingGroups, newA.autoScalingGroups, asgKey).map(
      ({ item: g, isNew }): Regression => ({
        kind: 'asg-launches-imdsv1',
        accountId: g.accountId,
        region: g.region,
        name: g.name,
        isNew,
      }),
    ),
  ];
}

function incompleteParts(a: Assessment): IncompletePart[] {
  const parts: IncompletePart[] = [];
  for (const acc of a.accounts) {
    if (acc.status === 'ok') continue;
    parts.push({ accountId: acc.accountId, status: acc.status, ...(acc.error ? { error: acc.error } : {}) });
  }
  for (const r of a.regions) {
    if (r.status === 'ok') continue;
    parts.push({
      accountId: r.accountId,
      region: r.region,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
    });
  }
  return parts.sort((x, y) => collator(x.accountId, y.accountId) || collator(x.region ?? '', y.region ?? ''));
}

function comparisonWarnings(oldA: Assessment, newA: Assessment): string[] {
  const warnings: string[] = [];
  if (Date.parse(newA.createdAt) < Date.parse(oldA.createdAt)) {
    warnings.push(
      `the new assessment (${newA.createdAt}) is older than the old one (${oldA.createdAt}): were the files given in the wrong order?`,
    );
  }
  if (oldA.id === newA.id) warnings.push(`both files are the same assessment (id ${newA.id})`);
  const scope = (a: Assessment) => JSON.stringify([[...a.scope.accounts].sort(), [...a.scope.regions].sort()]);
  if (scope(oldA) !== scope(newA)) {
    warnings.push('the accounts or regions in scope differ between the two assessments');
  }
  return warnings;
}

/** Compares `oldA` (the earlier run) with `newA` (the later run). */
export function diffAssessments(oldA: Assessment, newA: Assessment): AssessmentDiff {
  const before = new Map(oldA.instances.map((i) => [instanceKey(i), i]));
  const nowKeys = new Set<string>();
  const newlyEnforced: StatusChange[] = [];
  const newlyReady: StatusChange[] = [];
  const newlyBlocked: StatusChange[] = [];
  const newV1Callers: NewCaller[] = [];
  const callsStarted: CallsStarted[] = [];
  const backToOptional: Regression[] = [];
  const added: InstanceRef[] = [];

  const instances = [...newA.instances].sort(compareRefs);
  for (const i of instances) {
    const key = instanceKey(i);
    nowKeys.add(key);
    const prev = before.get(key);
    if (prev === undefined) added.push(ref(i));
    const from = prev?.readiness.status ?? null;
    const to = i.readiness.status;
    if (from !== to) {
      const change: StatusChange = { ...ref(i), from, to };
      if (to === 'enforced') newlyEnforced.push(change);
      else if (to === 'ready') newlyReady.push(change);
      else if (to === 'blocked') newlyBlocked.push(change);
    }
    if (prev?.metadataOptions.httpTokens === 'required' && i.metadataOptions.httpTokens === 'optional') {
      backToOptional.push({ kind: 'instance-back-to-optional', ...ref(i) });
    }
    const known = new Set((prev ? callersOf(prev) : []).map(callerKey));
    const callers = new Map(callersOf(i).map((c) => [callerKey(c), c]));
    for (const [k, c] of [...callers].sort(([a], [b]) => collator(a, b))) {
      if (known.has(k)) continue;
      newV1Callers.push({
        ...ref(i),
        comm: c.comm,
        ...(c.exe === undefined ? {} : { exe: c.exe }),
        ...(c.argv === undefined ? {} : { argv: c.argv }),
        requests: c.requests,
      });
    }
    const after = i.metrics.noToken.total;
    const was = prev?.metrics.noToken.total ?? null;
    if (after !== null && after > 0 && (was === null || was === 0)) {
      callsStarted.push({ ...ref(i), before: was, after });
    }
  }
  const removed = oldA.instances
    .filter((i) => !nowKeys.has(instanceKey(i)))
    .map(ref)
    .sort(compareRefs);

  const oldSide = side(oldA);
  const newSide = side(newA);
  const shareBefore = enforcedSharePercent(oldSide.counts);
  const shareAfter = enforcedSharePercent(newSide.counts);
  return {
    old: oldSide,
    new: newSide,
    newlyEnforced,
    newlyReady,
    newlyBlocked,
    newV1Callers,
    callsStarted,
    regressions: [...backToOptional, ...launchRegressions(oldA, newA), ...newPlaceRegressions(oldA, newA)],
    added,
    removed,
    blocked: {
      before: oldSide.counts.blocked,
      after: newSide.counts.blocked,
      delta: newSide.counts.blocked - oldSide.counts.blocked,
    },
    enforcedShare: {
      before: shareBefore,
      after: shareAfter,
      deltaPoints: shareBefore === null || shareAfter === null ? null : round2(shareAfter - shareBefore),
    },
    incomplete: incompleteParts(newA),
    warnings: comparisonWarnings(oldA, newA),
  };
}
