import { randomUUID } from 'node:crypto';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { JournalTarget, Plan, Reporter } from '@imdsv2-cutover/core';
import { lockInTarget } from '@imdsv2-cutover/core';
import type { JournalWriter } from '../journal/journal.js';
import { awsErrorInfo } from '../errors.js';
import type { LockInStepResult } from './lockin.js';
import { CANARY_TAG, type LockInClients, lockInClients, readLockIn, restoreLockIn } from './lockin-resources.js';
import type { ClientsFor } from './types.js';
import { defaultSleep } from './types.js';

type CanaryTarget = Extract<JournalTarget, { kind: 'canary' }>;

/** What one canary launch showed about a template lock-in changed. */
export interface LaunchProof {
  accountId: string;
  region: string;
  launchTemplateId: string;
  /** The groups that launch from the template (the plan's `affects`). */
  groups: string[];
  /** The value of the canary's `imdsv2-cutover:canary` tag: its journal target. */
  canaryId: string;
  instanceId: string | null;
  /** MetadataOptions.HttpTokens of the running canary (DescribeInstances); null when it never ran. */
  httpTokens: string | null;
  /** proven: it came up with tokens required. not-proven: it came up without, or did not come up (`message`). */
  outcome: 'proven' | 'not-proven';
  message: string;
  /** The canary was terminated (or never launched). False: `imdsv2 rollback --wave lockin` terminates it. */
  cleanedUp: boolean;
}

export interface ProveOptions {
  plan: Plan;
  /** The lock-in wave's step results: templates of steps at their target are proven. */
  steps: readonly LockInStepResult[];
  clients: ClientsFor;
  journal: JournalWriter;
  reporter: Reporter;
  /** How long a canary may take to be `running` (local ms). */
  timeoutMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Seconds between DescribeInstances polls while a canary starts. */
const POLL_MS = 5_000;
const AT_TARGET = new Set<LockInStepResult['outcome']>(['applied', 'recovered', 'already-done']);

/**
 * Proves lock-in by launching: for each launch template the wave changed (a template step, or the template a launch
 * configuration became), one canary with RunInstances from the template's `$Default` version (MinCount = MaxCount = 1,
 * tagged `imdsv2-cutover:canary`), and the instance type a group would launch it with when the template names none (a
 * mixed instances override's). It waits until the canary is `running`, reads MetadataOptions.HttpTokens with
 * DescribeInstances, and terminates it. Each canary is journaled as a created resource (intent before RunInstances,
 * the instance id in the result, intent and result around TerminateInstances), so a crash leaves a record of what to
 * terminate: the next proving run, `imdsv2 rollback --wave lockin` and `imdsv2 status` find it by its tag. Canaries
 * left by an earlier run are terminated first.
 *
 * A canary runs the template's user data and image like any launch from it would: `--prove-launch` is opt-in.
 */
export async function proveLaunches(o: ProveOptions): Promise<LaunchProof[]> {
  const sleep = o.sleep ?? defaultSleep;
  const now = o.now ?? Date.now;
  await endLeftovers(o);
  const templates = await changedTemplates(o);
  const proofs: LaunchProof[] = [];
  for (const t of templates) {
    o.reporter.emit({
      type: 'phase',
      phase: 'prove-launch',
      message: `launching a canary from launch template ${t.launchTemplateId}`,
      scope: { account: t.accountId, region: t.region, wave: 'lockin' },
    });
    proofs.push(await proveOne(o, t, sleep, now));
  }
  return proofs;
}

interface ChangedTemplate {
  accountId: string;
  region: string;
  launchTemplateId: string;
  groups: string[];
}

/** The templates the wave's steps left at their target, each once. */
async function changedTemplates(o: ProveOptions): Promise<ChangedTemplate[]> {
  const byKey = new Map<string, ChangedTemplate>();
  for (const r of o.steps) {
    if (!AT_TARGET.has(r.outcome)) continue;
    const step = o.plan.lockIn.find((s) => s.id === r.id);
    if (!step) continue;
    let id: string | null = null;
    if (step.kind === 'launch-template-version') id = step.resourceId ?? null;
    else if (step.kind === 'launch-configuration-migration') {
      const live = await readLockIn(lockInClients(o.clients, step.accountId, step.region), lockInTarget(step));
      id = typeof live.launchTemplateId === 'string' ? live.launchTemplateId : null;
    }
    if (id === null) continue;
    const key = `${step.accountId}/${step.region}/${id}`;
    const t = byKey.get(key) ?? { accountId: step.accountId, region: step.region, launchTemplateId: id, groups: [] };
    for (const g of step.affects) if (!t.groups.includes(g)) t.groups.push(g);
    byKey.set(key, t);
  }
  return [...byKey.values()];
}

/**
 * The instance type to launch with when the template's default version names none: what the group would launch, the
 * first override of its mixed instances policy with an instance type for this template (an override without a
 * template of its own uses the policy's). Undefined: RunInstances decides.
 */
async function instanceTypeFor(c: LockInClients, t: ChangedTemplate): Promise<string | undefined> {
  const v = await c.ec2.send(
    new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: t.launchTemplateId, Versions: ['$Default'] }),
  );
  if (v.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.InstanceType) return undefined;
  if (t.groups.length === 0) return undefined;
  const r = await c.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: t.groups }));
  for (const g of r.AutoScalingGroups ?? []) {
    const lt = g.MixedInstancesPolicy?.LaunchTemplate;
    if (!lt) continue;
    const policyId = lt.LaunchTemplateSpecification?.LaunchTemplateId;
    for (const ov of lt.Overrides ?? []) {
      const id = ov.LaunchTemplateSpecification?.LaunchTemplateId ?? policyId;
      if (id === t.launchTemplateId && ov.InstanceType) return ov.InstanceType;
    }
  }
  return undefined;
}

async function proveOne(
  o: ProveOptions,
  t: ChangedTemplate,
  sleep: (ms: number) => Promise<void>,
  now: () => number,
): Promise<LaunchProof> {
  const c = lockInClients(o.clients, t.accountId, t.region);
  const canaryId = `imdsv2-canary-${randomUUID()}`;
  const target: CanaryTarget = {
    kind: 'canary',
    canaryId,
    launchTemplateId: t.launchTemplateId,
    accountId: t.accountId,
    region: t.region,
  };
  const proof: LaunchProof = {
    accountId: t.accountId,
    region: t.region,
    launchTemplateId: t.launchTemplateId,
    groups: t.groups,
    canaryId,
    instanceId: null,
    httpTokens: null,
    outcome: 'not-proven',
    message: '',
    cleanedUp: true,
  };
  const j = o.journal;
  const wave = 'lockin' as const;
  let instanceType: string | undefined;
  try {
    instanceType = await instanceTypeFor(c, t);
  } catch (e) {
    const error = awsErrorInfo(e);
    proof.message = `launch template ${t.launchTemplateId} not proven: ${error.code}: ${error.message}`;
    return proof;
  }
  await j.append({
    type: 'intent',
    wave,
    action: 'apply',
    target,
    previous: { liveCanaries: 0 },
    desired: { launchTemplateVersion: '$Default', ...(instanceType ? { instanceType } : {}) },
  });
  try {
    const r = await c.ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: { LaunchTemplateId: t.launchTemplateId, Version: '$Default' },
        MinCount: 1,
        MaxCount: 1,
        ...(instanceType ? { InstanceType: instanceType as 'm1.small' } : {}),
        ClientToken: canaryId,
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: CANARY_TAG, Value: canaryId },
              { Key: 'Name', Value: `imdsv2-cutover lock-in canary (${t.launchTemplateId})` },
            ],
          },
        ],
      }),
    );
    proof.instanceId = r.Instances?.[0]?.InstanceId ?? null;
    await j.append({
      type: 'result',
      wave,
      action: 'apply',
      target,
      outcome: 'ok',
      detail: { instanceId: proof.instanceId },
    });
  } catch (e) {
    const error = awsErrorInfo(e);
    await j.append({ type: 'result', wave, action: 'apply', target, outcome: 'failed', error });
    proof.message = `launch template ${t.launchTemplateId} not proven: RunInstances failed: ${error.code}: ${error.message}`;
    // An answer lost after EC2 launched would leave a canary: terminate whatever carries the tag.
    proof.cleanedUp = await endCanary(o.journal, c, target, { liveCanaries: 0 }, 'after a failed launch');
    return proof;
  }
  try {
    const state = await waitRunning(c, proof.instanceId, o.timeoutMs, sleep, now);
    proof.httpTokens = state.httpTokens;
    if (state.state !== 'running') {
      proof.message = `launch template ${t.launchTemplateId} not proven: canary ${proof.instanceId} is ${state.state}, not running, after ${Math.round(o.timeoutMs / 1000)} s`;
    } else if (state.httpTokens === 'required') {
      proof.outcome = 'proven';
      proof.message = `launch template ${t.launchTemplateId}: canary ${proof.instanceId} came up with HttpTokens=required`;
    } else {
      proof.message = `launch template ${t.launchTemplateId} NOT proven: canary ${proof.instanceId} came up with HttpTokens=${state.httpTokens ?? 'unknown'}: new launches from it still allow IMDSv1`;
    }
  } catch (e) {
    const error = awsErrorInfo(e);
    proof.message = `launch template ${t.launchTemplateId} not proven: DescribeInstances failed: ${error.code}: ${error.message}`;
  }
  proof.cleanedUp = await endCanary(
    o.journal,
    c,
    target,
    { liveCanaries: 1, httpTokens: proof.httpTokens },
    proof.outcome === 'proven' ? 'proven' : 'not proven',
  );
  if (!proof.cleanedUp) proof.message += `; the canary was NOT terminated: run \`imdsv2 rollback --wave lockin\``;
  o.reporter.emit({
    type: proof.outcome === 'proven' ? 'info' : 'warning',
    ...(proof.outcome === 'proven' ? {} : { code: 'LAUNCH_NOT_PROVEN' }),
    message: proof.message,
    scope: { account: t.accountId, region: t.region, wave: 'lockin' },
  } as Parameters<Reporter['emit']>[0]);
  return proof;
}

/** Polls DescribeInstances until the instance leaves `pending` or the time is up. */
async function waitRunning(
  c: LockInClients,
  instanceId: string | null,
  timeoutMs: number,
  sleep: (ms: number) => Promise<void>,
  now: () => number,
): Promise<{ state: string; httpTokens: string | null }> {
  if (instanceId === null) return { state: 'unknown', httpTokens: null };
  const until = now() + timeoutMs;
  for (;;) {
    const r = await c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const i = r.Reservations?.[0]?.Instances?.[0];
    const state = i?.State?.Name ?? 'unknown';
    if (state !== 'pending' || now() >= until) return { state, httpTokens: i?.MetadataOptions?.HttpTokens ?? null };
    await sleep(POLL_MS);
  }
}

/**
 * Terminates the canary's instances (found by tag), journaled as its rollback: intent with what runs now, the call,
 * the result. Returns false when that failed (a warning says so; the journal keeps the canary to terminate).
 */
async function endCanary(
  journal: JournalWriter,
  c: LockInClients,
  target: CanaryTarget,
  previous: Record<string, string | number | null>,
  why: string,
): Promise<boolean> {
  const wave = 'lockin' as const;
  try {
    const live = await readLockIn(c, target);
    if (live.liveCanaries === 0) {
      await journal.append({
        type: 'result',
        wave,
        action: 'rollback',
        target,
        outcome: 'skipped',
        note: `${why}: nothing runs`,
      });
      return true;
    }
    await journal.append({
      type: 'intent',
      wave,
      action: 'rollback',
      target,
      previous: { ...previous, ...live },
      desired: { liveCanaries: 0 },
    });
    const note = await restoreLockIn(c, target, {});
    await journal.append({
      type: 'result',
      wave,
      action: 'rollback',
      target,
      outcome: 'ok',
      note: `${why}: ${note ?? ''}`,
    });
    return true;
  } catch (e) {
    const error = awsErrorInfo(e);
    await journal.append({ type: 'result', wave, action: 'rollback', target, outcome: 'failed', error });
    return false;
  }
}

/** Canaries an earlier run left (a crash, a failed termination): terminated before new ones are launched. */
async function endLeftovers(o: ProveOptions): Promise<void> {
  const open = new Set(['intent-pending', 'applied', 'verified', 'rollback-pending', 'rollback-failed']);
  for (const s of o.journal.state().targets.values()) {
    if (s.target.kind !== 'canary' || !open.has(s.phase)) continue;
    const t = s.target;
    await endCanary(o.journal, lockInClients(o.clients, t.accountId, t.region), t, {}, 'left by an earlier run');
  }
}
