import type { Instance, Reason } from '../schemas/assessment.js';
import type { HeldInstance, PlanEntry } from '../schemas/plan.js';
import type { Policy } from '../schemas/policy.js';
import { inKeyOrder } from '../hash.js';
import { instanceTarget } from './targets.js';

/** An instance that may enter a wave, with what the wave builder sorts and caps on. */
export interface Candidate {
  instance: Instance;
  /** Group key (see `groupOf`). */
  group: string;
  /** Position of the environment in `waves.order`; `waves.order.length` when unmatched or untagged. */
  envRank: number;
  /** `accountId/region`: waves spread over these. */
  bucket: string;
  /** The environment as the policy spells it, or the tag value when unmatched. */
  environment: string | undefined;
  owner: string | undefined;
  /**
   * The instance's position in location order (account, region, instance id: `byLocation`): sorting candidates by it
   * gives that order with one number comparison instead of three string comparisons.
   */
  location: number;
}

/** Group key for canaries and caps: `asg:<account>/<region>/<name>`, `app:<value>`, or `ungrouped`. */
export function groupOf(instance: Instance, policy: Policy): string {
  for (const by of policy.groupBy) {
    if (by === 'autoScalingGroup' && instance.autoScalingGroup !== undefined && instance.autoScalingGroup !== '') {
      return `asg:${instance.accountId}/${instance.region}/${instance.autoScalingGroup}`;
    }
    if (by === 'application') {
      const app = instance.tags[policy.tags.application];
      if (app !== undefined && app !== '') return `app:${app}`;
    }
  }
  return 'ungrouped';
}

/** Looks an environment tag value up in `waves.order`, case-insensitively. */
export function environmentIndex(policy: Policy): (value: string | undefined) => number {
  const index = new Map<string, number>();
  policy.waves.order.forEach((env, i) => {
    const key = env.toLowerCase();
    if (!index.has(key)) index.set(key, i);
  });
  return (value) =>
    value === undefined ? policy.waves.order.length : (index.get(value.toLowerCase()) ?? policy.waves.order.length);
}

/**
 * Largest number of members of `group` in one wave: `maxGroupShare` of the group's size, rounded down, but at least one
 * (a group with one member still fits somewhere). The size counts every instance of the group in the assessment, held
 * and enforced ones too, because the blast radius is a share of what is running.
 */
export function groupCap(groupSize: number, policy: Policy): number {
  return Math.max(1, Math.floor(policy.waves.maxGroupShare * groupSize));
}

/** Orders by account, region, instance id: the order entries have within a wave and held instances have in the plan. */
export function byLocation(a: Instance, b: Instance): number {
  return cmp(a.accountId, b.accountId) || cmp(a.region, b.region) || cmp(a.instanceId, b.instanceId);
}

/** Plain code-unit comparison: the same order on every machine and locale. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/*
 * Wave entries and held instances are built with their keys in canonical (UTF-16) order, so that the plan's content
 * hash can write them with `JSON.stringify` (core's `contentHash`, fast path): 100,000 entries hash several times
 * faster. A key out of order costs only that speed, never a different hash.
 */

/**
 * The first keys (in order, up to `name`) that plan entries and held instances share: where the instance is and its
 * group (absent fields left out). The caller adds the rest in order; `owner` and `region` come later.
 */
function located(c: Candidate): Record<string, unknown> {
  const i = c.instance;
  const out: Record<string, unknown> = { accountId: i.accountId };
  if (c.environment !== undefined) out.environment = c.environment;
  out.group = c.group;
  out.instanceId = i.instanceId;
  if (i.name !== undefined) out.name = i.name;
  return out;
}

export function toEntry(c: Candidate, policy: Policy, extraNotes: string[] = []): PlanEntry {
  const { target, notes } = instanceTarget(c.instance, policy);
  const allowance = rejectedAllowancePerHour(c.instance);
  return entry(
    c,
    [
      ...extraNotes,
      ...notes,
      ...(allowance === undefined
        ? []
        : [
            `its IMDSv1 callers fall back to IMDSv2: the guard allows ${allowance} rejected call(s) an hour (1.5 times the measured rate)`,
          ]),
    ],
    target,
    allowance,
  );
}

/** A plan entry with its keys in canonical order. */
function entry(c: Candidate, notes: string[], target: PlanEntry['target'], allowance?: number): PlanEntry {
  const i = c.instance;
  const out = located(c);
  out.notes = notes;
  if (c.owner !== undefined) out.owner = c.owner;
  out.planned = inKeyOrder({ ...i.metadataOptions });
  out.region = i.region;
  if (allowance !== undefined) out.rejectedAllowancePerHour = allowance;
  out.target = inKeyOrder(target);
  return out as PlanEntry;
}

/**
 * The guard's allowance for an instance whose IMDSv1 calls all come from callers that fall back to IMDSv2
 * (readiness `imdsv1-calls-fall-back`): after enforcing, their first attempts are rejected and counted. 1.5 times the
 * measured MetadataNoToken rate, rounded up; undefined for every other instance (any rejected call counts).
 */
export function rejectedAllowancePerHour(instance: Instance): number | undefined {
  if (!instance.readiness.reasons.some((r) => r.code === 'imdsv1-calls-fall-back')) return undefined;
  const m = instance.metrics.noToken;
  const hours = (m.observedSeconds ?? m.daysWithData * 86_400) / 3600;
  if (m.status !== 'observed' || hours <= 0) return undefined;
  return Math.ceil((1.5 * (m.total ?? 0)) / hours);
}

/** An entry of the hop-limit wave: hop limit 2, tokens left as they are (optional), endpoint enabled. */
export function toHopLimitEntry(c: Candidate): PlanEntry {
  const o = c.instance.metadataOptions;
  return entry(
    c,
    [
      `hop limit ${o.httpPutResponseHopLimit} -> ${Math.max(2, o.httpPutResponseHopLimit)} with tokens still ${o.httpTokens}: its containers' IMDSv2 token then arrives; assess again to see the IMDSv1 calls stop`,
    ],
    {
      httpTokens: o.httpTokens,
      httpPutResponseHopLimit: Math.max(2, o.httpPutResponseHopLimit),
      httpEndpoint: 'enabled',
    },
  );
}

export function toHeld(c: Candidate, status: HeldInstance['status'], reasons: Reason[]): HeldInstance {
  const none: Reason = {
    code: 'no-reason-recorded',
    severity: 'info',
    message: `Readiness ${status}; the assessment gave no reason.`,
  };
  const out = located(c);
  if (c.owner !== undefined) out.owner = c.owner;
  out.reasons = (reasons.length > 0 ? reasons : [none]).map((r) => inKeyOrder(r));
  out.region = c.instance.region;
  out.status = status;
  return out as HeldInstance;
}
