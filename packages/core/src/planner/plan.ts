import { parseDate } from '../date.js';
import { CutoverError } from '../errors.js';
import { contentHash } from '../hash.js';
import type { Assessment, Reason } from '../schemas/assessment.js';
import type { ToolInfo } from '../schemas/common.js';
import type { HeldInstance, Plan, Wave } from '../schemas/plan.js';
import { durationSeconds, type Policy } from '../schemas/policy.js';
import {
  type Candidate,
  byLocation,
  cmp,
  environmentIndex,
  groupOf,
  toEntry,
  toHeld,
  toHopLimitEntry,
} from './candidates.js';
import { assessmentPartition } from '../regions/arn.js';
import { deriveLockIn, generateScp } from './lock-in.js';
import { chooseCanary, fillWaves } from './waves.js';

export interface PlanOptions {
  /** When the first wave may start (ISO 8601). Waves then carry `notBefore`. No clock is read: without it, no dates. */
  startDate?: string;
  /** The tool writing the plan (name and version). */
  tool?: ToolInfo;
  /**
   * sha256 of the assessment file's bytes, which binds the plan to that exact file (`assessment.sha256Of: file`).
   * Without it the plan records the sha256 of the assessment's canonical JSON content, which costs a pass over it.
   */
  assessmentFileSha256?: string;
}

const PLAN_SCHEMA = { name: 'imdsv2-cutover/plan', version: 1 } as const;

/**
 * What the SCP's RunInstances statement asks of every launch. AWS does not document whether `ec2:MetadataHttpTokens`
 * is filled from a launch template or the account default when the request carries no MetadataOptions, and users
 * report it missing then (so `StringNotEquals` denies): the advice is safe under both readings. See docs/planning.md.
 */
export const SCP_LAUNCH_NOTE =
  'SCP: RequireImdsV2OnLaunch denies any RunInstances whose ec2:MetadataHttpTokens is not "required". AWS does not document whether the key takes its value from a launch template or the account default when the request itself carries no MetadataOptions; assume it does not. Before attaching the SCP, make every launch path (scripts, pipelines, infrastructure as code, tools that launch from templates) pass MetadataOptions HttpTokens=required in the request, and try it in one account first.';

/**
 * Turns an assessment into a staged rollout plan under a rollout policy. Pure and deterministic: the same assessment,
 * policy and options give a byte-identical plan, whatever the order of instances in the assessment.
 *
 * Only `ready` instances enter waves (and `unknown` ones in last waves when the policy says `unknown: last-wave`);
 * every other instance is listed in `held` with its status and reasons. See docs/planning.md.
 */
export function plan(assessment: Assessment, policy: Policy, options: PlanOptions = {}): Plan {
  const body = planBody(assessment, policy, options);
  return { ...body, contentHash: contentHash(body) };
}

/** A plan's content without its `contentHash`. */
export type PlanBody = Omit<Plan, 'contentHash'>;

/**
 * `plan()` without the content hash: for a writer that hashes the canonical text as it writes it (the hash is the
 * sha256 of the canonical JSON of exactly this body), instead of making that text twice.
 */
export function planBody(assessment: Assessment, policy: Policy, options: PlanOptions = {}): PlanBody {
  const startMs = parseStartDate(options.startDate);
  // Refuses an assessment that mixes partitions before anything else; the SCP's ARNs are in this one.
  const partition = assessmentPartition(assessment);
  const scp = policy.lockIn.scp ? generateScp(policy, partition) : null;
  const envIndex = environmentIndex(policy);
  const order = policy.waves.order;
  const excludedIds = new Set(policy.exclude.instanceIds);
  const excludedAccounts = new Set(policy.exclude.accounts);

  const instances = [...assessment.instances].sort(byLocation);
  const seen = new Set<string>();
  const groupSizes = new Map<string, number>();
  const eligible: Candidate[] = [];
  const unknownLast: Candidate[] = [];
  const held: HeldInstance[] = [];
  const hopLimitFirst: Candidate[] = [];
  const policyHold = (c: Candidate, code: string, message: string) =>
    held.push(
      toHeld(c, c.instance.readiness.status, [{ code, severity: 'info', message }, ...c.instance.readiness.reasons]),
    );

  for (const [location, instance] of instances.entries()) {
    if (seen.has(instance.instanceId)) {
      throw new CutoverError('BAD_INPUT', `the assessment lists instance ${instance.instanceId} more than once`, {
        suggestions: ['Produce the assessment again with `imdsv2 assess`.'],
      });
    }
    seen.add(instance.instanceId);
    const envTag = instance.tags[policy.tags.environment];
    const envRank = envIndex(envTag);
    const c: Candidate = {
      instance,
      group: groupOf(instance, policy),
      envRank,
      bucket: `${instance.accountId}/${instance.region}`,
      environment: envRank < order.length ? order[envRank] : envTag,
      owner: instance.tags[policy.tags.owner],
      location,
    };
    groupSizes.set(c.group, (groupSizes.get(c.group) ?? 0) + 1);

    const status = instance.readiness.status;
    if (status !== 'ready' && status !== 'unknown') {
      const hopFirst =
        status === 'blocked' &&
        instance.metadataOptions.httpTokens === 'optional' &&
        instance.readiness.reasons.some((r) => r.code === 'hop-limit-blocks-containers') &&
        !exclusionReason(instance, policy, excludedIds, excludedAccounts);
      if (hopFirst) {
        hopLimitFirst.push(c);
        held.push(
          toHeld(c, status, [
            {
              code: 'hop-limit-wave',
              severity: 'info',
              message:
                'In the hop-limit wave: its IMDSv1 calls come from the hop limit, which the wave raises to 2 with tokens still optional. Assess again after it; once the calls have stopped, plan again and it joins a wave.',
            },
            ...instance.readiness.reasons,
          ]),
        );
        continue;
      }
      held.push(toHeld(c, status, instance.readiness.reasons));
      continue;
    }
    const exclusion = exclusionReason(instance, policy, excludedIds, excludedAccounts);
    if (exclusion) {
      held.push(toHeld(c, 'excluded', [exclusion, ...instance.readiness.reasons]));
      continue;
    }
    if (instance.state === 'shutting-down') {
      policyHold(c, 'terminating', 'The instance is shutting down.');
      continue;
    }
    if ((instance.state === 'stopped' || instance.state === 'stopping') && policy.stopped === 'hold') {
      policyHold(c, 'stopped-held', 'The instance is stopped and the policy says `stopped: hold`.');
      continue;
    }
    if (status === 'unknown') {
      if (policy.unknown === 'last-wave') unknownLast.push(c);
      else held.push(toHeld(c, status, instance.readiness.reasons));
      continue;
    }
    if (envRank === order.length && policy.waves.unmatched === 'hold') {
      policyHold(
        c,
        'environment-not-in-order',
        envTag === undefined
          ? `No ${policy.tags.environment} tag, and the policy says \`waves.unmatched: hold\`.`
          : `Environment "${envTag}" is not in waves.order, and the policy says \`waves.unmatched: hold\`.`,
      );
      continue;
    }
    eligible.push(c);
  }

  const notes: string[] = [];
  if (!assessment.complete) {
    const failed = assessment.regions
      .filter((r) => r.status !== 'ok')
      .map((r) => `${r.accountId}/${r.region} (${r.status})`);
    notes.push(
      `The assessment is incomplete: instances in ${failed.length > 0 ? failed.join(', ') : 'some accounts or regions'} may be missing from this plan.`,
    );
  }

  // Waves: canary, then one run of waves per environment in policy order, unmatched environments, unknown instances.
  const waveGroups: {
    kind: Wave['kind'];
    name: string;
    environment?: string;
    members: Candidate[];
    why?: Map<Candidate, string>;
  }[] = [];
  // First the hop-limit wave: raising the hop limit changes nothing for IMDSv1 and lets the measurement start again.
  if (hopLimitFirst.length > 0) {
    waveGroups.push({ kind: 'hop-limit', name: 'hop limit 2', members: hopLimitFirst });
    notes.push(
      `${hopLimitFirst.length} container host(s) make IMDSv1 calls only because their hop limit is 1: the hop-limit wave raises it to 2 with tokens still optional. Assess again after it and plan again.`,
    );
  }
  const canary = chooseCanary(eligible, groupSizes, policy);
  if (canary.picks.length > 0) {
    waveGroups.push({
      kind: 'canary',
      name: 'canary',
      members: canary.picks.map((p) => p.candidate),
      why: new Map(canary.picks.map((p) => [p.candidate, p.why])),
    });
    if (canary.picks.length > canary.requested && canary.requested > 0) {
      notes.push(
        `The canary wave has ${canary.picks.length} instances, more than the ${canary.requested} canary.count/percent asks: onePerGroup puts one member of each of ${canary.groups} groups in it.`,
      );
    } else if (canary.picks.length > policy.waves.maxInstances) {
      notes.push(
        `The canary wave has ${canary.picks.length} instances, more than waves.maxInstances (${policy.waves.maxInstances}): onePerGroup puts one member of each of ${canary.groups} groups in it.`,
      );
    }
  }
  const inCanary = new Set(canary.picks.map((p) => p.candidate));
  const byEnv: Candidate[][] = Array.from({ length: order.length + 1 }, () => []);
  for (const c of eligible) if (!inCanary.has(c)) byEnv[c.envRank]!.push(c);
  byEnv.forEach((members, rank) => {
    const waves = fillWaves(members, groupSizes, policy);
    const label = rank < order.length ? order[rank]! : 'other';
    waves.forEach((w, k) => {
      waveGroups.push({
        kind: 'rollout',
        name: waves.length === 1 ? label : `${label} ${k + 1}`,
        environment: rank < order.length ? order[rank] : undefined,
        members: w,
      });
    });
  });
  const unknownWaves = fillWaves(
    [...unknownLast].sort((a, b) => a.envRank - b.envRank || a.location - b.location),
    groupSizes,
    policy,
  );
  unknownWaves.forEach((w, k) => {
    waveGroups.push({ kind: 'unknown', name: unknownWaves.length === 1 ? 'unknown' : `unknown ${k + 1}`, members: w });
  });
  if (unknownLast.length > 0) {
    notes.push(
      `${unknownLast.length} instances whose readiness is unknown are in the last waves (policy \`unknown: last-wave\`): nothing shows they do not make IMDSv1 calls.`,
    );
  }

  const canarySoak = durationSeconds(policy.canary.soak);
  const waveSoak = durationSeconds(policy.waves.soak);
  const guard = { maxRejectedCalls: policy.guard.maxRejectedCalls, rollback: policy.guard.rollback };
  let offset = 0;
  const waves: Wave[] = waveGroups.map((g, index) => {
    // Nothing to watch after the hop-limit wave: tokens stay optional, so no call can be rejected.
    const soakSeconds = g.kind === 'hop-limit' ? 0 : g.kind === 'canary' ? canarySoak : waveSoak;
    const entries = [...g.members]
      .sort((a, b) => a.location - b.location)
      .map((c) => {
        const extra = g.why?.get(c);
        const notes = extra !== undefined ? [extra] : [];
        if (g.kind === 'unknown') notes.push('readiness unknown: in a last wave by policy `unknown: last-wave`');
        if (c.instance.state === 'stopped' || c.instance.state === 'stopping') {
          notes.push('stopped: the change applies at its next start (policy `stopped: include`)');
        }
        return g.kind === 'hop-limit' ? toHopLimitEntry(c) : toEntry(c, policy, notes);
      });
    const wave: Wave = {
      index,
      name: g.name,
      kind: g.kind,
      ...(g.environment !== undefined ? { environment: g.environment } : {}),
      soakSeconds,
      startOffsetSeconds: offset,
      ...(startMs !== undefined ? { notBefore: new Date(startMs + offset * 1000).toISOString() } : {}),
      guard,
      instances: entries,
    };
    offset += soakSeconds;
    return wave;
  });

  held.sort((a, b) => cmp(a.accountId, b.accountId) || cmp(a.region, b.region) || cmp(a.instanceId, b.instanceId));
  const lockIn = deriveLockIn(assessment, policy);
  const unmeasured = lockIn.steps.filter((s) => s.launchesSeen === 0);
  if (unmeasured.length > 0) {
    notes.push(
      `${unmeasured.length} lock-in step(s) change what new instances launch with although no launch from them was seen in the ${assessment.scope.lookbackDays}-day lookback (${unmeasured.map((s) => s.resourceId ?? s.id).join(', ')}): IMDSv1 calls made at boot were never measured. Prove them with \`imdsv2 enforce --wave lockin --prove-launch\`.`,
    );
  }
  const body: PlanBody = {
    schema: PLAN_SCHEMA,
    tool: options.tool ?? { name: 'imdsv2-cutover', version: 'unknown' },
    assessment: {
      id: assessment.id,
      createdAt: assessment.createdAt,
      ...(options.assessmentFileSha256 === undefined
        ? { sha256: contentHash(assessment) }
        : { sha256: options.assessmentFileSha256, sha256Of: 'file' as const }),
    },
    policy,
    policySha256: contentHash(policy),
    startDate: startMs !== undefined ? new Date(startMs).toISOString() : null,
    waves,
    held,
    lockIn: lockIn.steps,
    manualLockIn: lockIn.manual,
    scp,
    notes: scp ? [...notes, SCP_LAUNCH_NOTE] : notes,
  };
  return body;
}

function exclusionReason(
  instance: Assessment['instances'][number],
  policy: Policy,
  ids: ReadonlySet<string>,
  accounts: ReadonlySet<string>,
): Reason | undefined {
  const excluded = (message: string): Reason => ({ code: 'excluded-by-policy', severity: 'info', message });
  if (ids.has(instance.instanceId)) return excluded('Listed in the policy: exclude.instanceIds.');
  if (accounts.has(instance.accountId)) return excluded(`Account ${instance.accountId} is in exclude.accounts.`);
  for (const t of policy.exclude.tags) {
    const v = instance.tags[t.key];
    if (v === undefined) continue;
    if (t.values === undefined || t.values.includes(v)) {
      return excluded(
        t.values === undefined ? `Has tag ${t.key} (exclude.tags).` : `Tag ${t.key}=${v} is in exclude.tags.`,
      );
    }
  }
  return undefined;
}

function parseStartDate(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDate(value, 'start date', 'BAD_INPUT');
}

/**
 * Checks that a plan's content still matches its `contentHash` (nobody edited waves, targets or held instances after
 * the change board approved it). Throws HASH_MISMATCH (exit 2) naming the file.
 */
export function verifyPlanHash(p: Plan, file = 'plan'): void {
  const { contentHash: recorded, ...body } = p;
  const actual = contentHash(body);
  if (actual !== recorded) {
    throw new CutoverError(
      'HASH_MISMATCH',
      `${file}: the plan's content does not match its contentHash (recorded ${recorded}, content hashes to ${actual}): it was edited after it was made`,
      {
        suggestions: [
          'Make the plan again with `imdsv2 plan` and have the new plan approved; do not edit plan files by hand.',
        ],
      },
    );
  }
}
