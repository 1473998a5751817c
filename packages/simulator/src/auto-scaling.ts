import type { AwsStructure } from '@imdsv2-cutover/core';
import {
  type Fleet,
  type LaunchTemplateRef,
  type RegionState,
  type SimAutoScalingGroup,
  type SimInstance,
  type SimMixedInstancesPolicy,
  launchConfigurationView,
  resolveLaunchTemplateVersion,
  uuidFrom,
} from './fleet.js';
import { type LaunchInput, resolveLaunch } from './launch.js';
import { instanceTags } from './launch-template-data.js';
import { ServiceError } from './protocol/errors.js';

/**
 * The Auto Scaling group model: desired capacity, launches and terminations with their scaling activities, and instance
 * refreshes on the simulated clock. Every launch goes through EC2's launch model (`resolveLaunch`), so a group whose
 * launch template allows IMDSv1 fails to launch while the account enforces IMDSv2, and shows it as AWS does: a failed
 * scaling activity with EC2's message (Amazon EC2 Auto Scaling UG, "Troubleshoot issues": "Retrieve an error message
 * from scaling activities").
 */

/** One scaling activity (DescribeScalingActivities). Times are simulated epoch ms. */
export interface ScalingActivity {
  id: string;
  group: string;
  description: string;
  cause: string;
  startMs: number;
  endMs: number;
  statusCode: 'Successful' | 'Failed';
  statusMessage?: string;
  /** JSON text, e.g. `{"Availability Zone":"us-east-1a"}`. */
  details: string;
}

/** An instance refresh (DescribeInstanceRefreshes) and where it stands. */
export interface InstanceRefresh {
  id: string;
  group: string;
  status: 'InProgress' | 'Successful' | 'Failed';
  statusReason?: string;
  startMs: number;
  endMs?: number;
  /** As the request gave them (echoed with the defaults filled in). */
  preferences: AwsStructure;
  desiredConfiguration?: AwsStructure;
  /** What replacements launch from: the desired configuration, else the group's source at the start. */
  source: LaunchSource;
  /** Instances still to replace, in order. */
  queue: string[];
  total: number;
  /** Replacements made (including the latest batch, still warming up until `nextAtMs`). */
  replaced: number;
  lastBatch: number;
  batchSize: number;
  /** MaxHealthyPercentage above 100: launch the batch's replacements before terminating it. */
  launchFirst: boolean;
  warmupMs: number;
  nextAtMs: number;
}

/** Where a group launches from. */
export type LaunchSource =
  | { kind: 'template'; ref: LaunchTemplateRef }
  | { kind: 'configuration'; name: string }
  | { kind: 'mixed'; policy: SimMixedInstancesPolicy };

/** Simulated ms between attempts to reach the desired capacity after a failed launch (AWS documents no interval). */
export const LAUNCH_RETRY_MS = 300_000;

/** The group's current launch source. */
export function groupSource(g: SimAutoScalingGroup): LaunchSource {
  if (g.mixedInstancesPolicy) return { kind: 'mixed', policy: g.mixedInstancesPolicy };
  if (g.launchConfigurationName !== undefined) return { kind: 'configuration', name: g.launchConfigurationName };
  return { kind: 'template', ref: g.launchTemplate! };
}

/** Makes `source` the group's launch source (the other two are cleared, as UpdateAutoScalingGroup does). */
export function setGroupSource(g: SimAutoScalingGroup, source: LaunchSource): void {
  g.launchTemplate = source.kind === 'template' ? source.ref : undefined;
  g.launchConfigurationName = source.kind === 'configuration' ? source.name : undefined;
  g.mixedInstancesPolicy = source.kind === 'mixed' ? source.policy : undefined;
}

/** The group's instances that are not terminated. */
export function groupMembers(rs: RegionState, g: SimAutoScalingGroup): SimInstance[] {
  return rs.instances.filter((i) => i.autoScalingGroup === g.name && !i.terminated);
}

const inService = (rs: RegionState, g: SimAutoScalingGroup): SimInstance[] =>
  groupMembers(rs, g).filter((i) => i.running);

/** ISO time as Auto Scaling writes it in causes: seconds, `Z`. */
const causeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function record(
  fleet: Fleet,
  g: SimAutoScalingGroup,
  a: Omit<ScalingActivity, 'id' | 'group' | 'endMs'> & { endMs?: number },
): void {
  g.activities.push({
    ...a,
    id: uuidFrom(`activity/${g.arn}/${g.activities.length}`, fleet.scenario.seed),
    group: g.name,
    endMs: a.endMs ?? a.startMs,
  });
}

/**
 * The launch input for one instance from a source. A mixed instances policy launches its first override (the
 * `prioritized` On-Demand strategy with capacity always available), with that override's launch template when it names
 * one.
 */
function launchInputFor(rs: RegionState, source: LaunchSource): LaunchInput & { ref?: LaunchTemplateRef } {
  if (source.kind === 'configuration') {
    const lc = rs.launchConfigurations.find((c) => c.name === source.name);
    if (!lc)
      throw new ServiceError('ValidationError', `Launch configuration name not found - ${source.name} does not exist`);
    return { launchConfiguration: launchConfigurationView(lc) };
  }
  const first = source.kind === 'mixed' ? source.policy.overrides[0] : undefined;
  const ref = source.kind === 'template' ? source.ref : (first?.launchTemplate ?? source.policy.launchTemplate);
  const lt = rs.launchTemplates.find((t) => t.id === ref.id);
  const version = lt ? resolveLaunchTemplateVersion(lt, ref.version) : undefined;
  if (!lt || !version)
    throw new ServiceError(
      'InvalidLaunchTemplateId.VersionNotFound',
      `The specified launch template version ${ref.version} of ${ref.name} does not exist.`,
    );
  return { template: { lt, version }, instanceType: first?.instanceType, ref };
}

/** Launches one instance into the group from `source`, in its least-used Availability Zone. Throws EC2's error. */
function launchOne(
  fleet: Fleet,
  rs: RegionState,
  g: SimAutoScalingGroup,
  source: LaunchSource,
  nowMs: number,
): SimInstance {
  const input = launchInputFor(rs, source);
  const resolved = resolveLaunch(fleet, rs, input);
  const members = groupMembers(rs, g);
  const zone = [...g.availabilityZones].sort(
    (a, b) =>
      members.filter((i) => i.availabilityZone === a).length - members.filter((i) => i.availabilityZone === b).length,
  )[0];
  const ref = input.ref;
  return fleet.launchInstances(rs, resolved, 1, nowMs, {
    tags: instanceTags(input.template?.version.data),
    workload: g.workload,
    autoScalingGroup: g.name,
    launchTemplate: ref && input.template ? { ...ref, versionNumber: input.template.version.versionNumber } : undefined,
    launchConfigurationName: source.kind === 'configuration' ? source.name : undefined,
    availabilityZones: zone ? [zone] : undefined,
  })[0]!;
}

/** Launches one instance and records its activity; throws EC2's error (not recorded) when the launch is refused. */
function launchRecorded(
  fleet: Fleet,
  rs: RegionState,
  g: SimAutoScalingGroup,
  source: LaunchSource,
  at: number,
  cause: string,
): SimInstance {
  const inst = launchOne(fleet, rs, g, source, at);
  record(fleet, g, {
    description: `Launching a new EC2 instance: ${inst.id}`,
    cause,
    startMs: at,
    statusCode: 'Successful',
    details: JSON.stringify({ 'Availability Zone': inst.availabilityZone }),
  });
  return inst;
}

/** Terminates an instance of the group and records its activity; `cause` is why (the termination line is added). */
function terminateRecorded(fleet: Fleet, g: SimAutoScalingGroup, inst: SimInstance, at: number, cause: string): void {
  fleet.terminate(inst, at);
  record(fleet, g, {
    description: `Terminating EC2 instance: ${inst.id}`,
    cause: `${cause}  At ${causeTime(at)} instance ${inst.id} was selected for termination.`,
    startMs: at,
    statusCode: 'Successful',
    details: JSON.stringify({ 'Availability Zone': inst.availabilityZone }),
  });
}

/** Records a launch that EC2 refused, as Auto Scaling shows it; returns EC2's message. */
function recordFailedLaunch(fleet: Fleet, g: SimAutoScalingGroup, e: unknown, nowMs: number, cause: string): string {
  if (!(e instanceof ServiceError)) throw e;
  const status = `${e.message} Launching EC2 instance failed.`;
  record(fleet, g, {
    description: `Launching a new EC2 instance.  Status Reason: ${status}`,
    cause,
    startMs: nowMs,
    statusCode: 'Failed',
    // Activity.StatusMessage is at most 255 characters (botocore Auto Scaling model, XmlStringMaxLen255); the
    // Description carries the whole message.
    statusMessage: status.length > 255 ? status.slice(0, 255) : status,
    details: JSON.stringify({ 'Availability Zone': g.availabilityZones[0] }),
  });
  g.retryAtMs = nowMs + LAUNCH_RETRY_MS;
  return e.message;
}

/**
 * Launches or terminates instances until the group's InService count is its desired capacity. `userCause` is the
 * request that changed it (it starts the activity's Cause, as AWS writes it). A launch EC2 refuses ends the attempt with
 * a failed activity; the group retries after `LAUNCH_RETRY_MS` (see `advanceAutoScaling`).
 */
export function reconcile(
  fleet: Fleet,
  rs: RegionState,
  g: SimAutoScalingGroup,
  nowMs: number,
  userCause?: string,
): void {
  const prefix = userCause ? `${userCause}  ` : '';
  let current = inService(rs, g).length;
  const from = current;
  g.retryAtMs = undefined;
  while (current < g.desiredCapacity) {
    const cause = `${prefix}At ${causeTime(nowMs)} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${from} to ${g.desiredCapacity}.`;
    try {
      launchRecorded(fleet, rs, g, groupSource(g), nowMs, cause);
      current++;
    } catch (e) {
      recordFailedLaunch(fleet, g, e, nowMs, cause);
      return;
    }
  }
  if (current > g.desiredCapacity) {
    const cause = `${prefix}At ${causeTime(nowMs)} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${from} to ${g.desiredCapacity}.`;
    for (const inst of terminationOrder(rs, g).slice(0, current - g.desiredCapacity))
      terminateRecorded(fleet, g, inst, nowMs, cause);
  }
}

/**
 * InService instances in the order the default termination policy picks them: the Availability Zone with the most
 * instances first, then instances launched from another source than the group's current one (the "oldest" launch
 * template or configuration), then in launch order (AWS then picks the instance closest to the next billing hour, and
 * at random: not modelled).
 */
function terminationOrder(rs: RegionState, g: SimAutoScalingGroup): SimInstance[] {
  const pool = inService(rs, g);
  const out: SimInstance[] = [];
  const current = groupSource(g);
  const outdated = (i: SimInstance) => (matchesSource(rs, i, current) ? 1 : 0);
  while (pool.length > 0) {
    const counts = new Map<string, number>();
    for (const i of pool) counts.set(i.availabilityZone, (counts.get(i.availabilityZone) ?? 0) + 1);
    const zone = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const pick = pool
      .filter((i) => i.availabilityZone === zone)
      .sort((a, b) => outdated(a) - outdated(b) || a.launchTimeMs - b.launchTimeMs)[0]!;
    out.push(pick);
    pool.splice(pool.indexOf(pick), 1);
  }
  return out;
}

/** True when the instance was launched from this source (template id and resolved version, or configuration name). */
export function matchesSource(rs: RegionState, inst: SimInstance, source: LaunchSource): boolean {
  if (source.kind === 'configuration') return inst.launchConfigurationName === source.name;
  const refs =
    source.kind === 'template'
      ? [source.ref]
      : [
          source.policy.launchTemplate,
          ...source.policy.overrides.flatMap((o) => (o.launchTemplate ? [o.launchTemplate] : [])),
        ];
  const types =
    source.kind === 'mixed' ? source.policy.overrides.flatMap((o) => (o.instanceType ? [o.instanceType] : [])) : [];
  if (types.length > 0 && !types.includes(inst.instanceType)) return false;
  return refs.some((ref) => {
    if (inst.launchTemplate?.id !== ref.id) return false;
    const lt = rs.launchTemplates.find((t) => t.id === ref.id);
    const v = lt ? resolveLaunchTemplateVersion(lt, ref.version) : undefined;
    return v !== undefined && inst.tags['aws:ec2launchtemplate:version'] === String(v.versionNumber);
  });
}

/** Starts an instance refresh (Rolling) and runs its first batch at `nowMs`. */
export function startInstanceRefresh(
  fleet: Fleet,
  rs: RegionState,
  g: SimAutoScalingGroup,
  nowMs: number,
  opts: {
    desired?: LaunchSource;
    desiredConfiguration?: AwsStructure;
    minHealthy: number;
    maxHealthy: number;
    warmupSeconds?: number;
    skipMatching: boolean;
    preferences: AwsStructure;
  },
): InstanceRefresh {
  if (g.refreshes.some((r) => r.status === 'InProgress'))
    throw new ServiceError(
      'InstanceRefreshInProgress',
      'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.',
    );
  const source = opts.desired ?? groupSource(g);
  const members = inService(rs, g);
  const queue = members.filter((i) => !(opts.skipMatching && matchesSource(rs, i, source))).map((i) => i.id);
  const d = Math.max(g.desiredCapacity, 1);
  const launchFirst = opts.maxHealthy > 100;
  const batchSize = Math.max(1, Math.floor((d * ((launchFirst ? opts.maxHealthy : 100) - opts.minHealthy)) / 100));
  const warmup = opts.warmupSeconds ?? g.defaultInstanceWarmup ?? g.healthCheckGracePeriod;
  const r: InstanceRefresh = {
    id: uuidFrom(`refresh/${g.arn}/${g.refreshes.length}`, fleet.scenario.seed),
    group: g.name,
    status: 'InProgress',
    startMs: nowMs,
    preferences: opts.preferences,
    desiredConfiguration: opts.desiredConfiguration,
    source,
    queue,
    total: queue.length,
    replaced: 0,
    lastBatch: 0,
    batchSize,
    launchFirst,
    warmupMs: warmup * 1000,
    nextAtMs: nowMs,
  };
  g.refreshes.push(r);
  stepRefresh(fleet, rs, g, r, nowMs);
  return r;
}

/** Runs the refresh's batches that are due by `nowMs`; finishes it when nothing is left and the last batch warmed up. */
function stepRefresh(fleet: Fleet, rs: RegionState, g: SimAutoScalingGroup, r: InstanceRefresh, nowMs: number): void {
  while (r.status === 'InProgress' && r.nextAtMs <= nowMs) {
    const at = r.nextAtMs;
    if (r.queue.length === 0) {
      r.status = 'Successful';
      r.endMs = at;
      r.lastBatch = 0;
      if (r.desiredConfiguration) setGroupSource(g, r.source);
      return;
    }
    const batch = r.queue
      .splice(0, r.batchSize)
      .map((id) => fleet.instance(id))
      .filter((i): i is SimInstance => i !== undefined && !i.terminated && i.running);
    const terminate = (): void => {
      const cause = `At ${causeTime(at)} an instance was taken out of service in response to an instance refresh.`;
      for (const inst of batch) terminateRecorded(fleet, g, inst, at, cause);
    };
    if (!r.launchFirst) terminate();
    for (let k = 0; k < batch.length; k++) {
      const cause = `At ${causeTime(at)} an instance was launched in response to an instance refresh.`;
      try {
        launchRecorded(fleet, rs, g, r.source, at, cause);
      } catch (e) {
        r.status = 'Failed';
        r.statusReason = recordFailedLaunch(fleet, g, e, at, cause);
        r.endMs = at;
        r.replaced += k;
        r.lastBatch = 0;
        return;
      }
    }
    if (r.launchFirst) terminate();
    r.replaced += batch.length;
    r.lastBatch = batch.length;
    r.nextAtMs = at + r.warmupMs;
  }
}

/** The refresh's progress at `nowMs`: a batch counts once its warm-up has passed. */
export function refreshProgress(r: InstanceRefresh, nowMs: number): { percentage: number; toUpdate: number } {
  const warming = r.status === 'InProgress' && nowMs < r.nextAtMs ? r.lastBatch : 0;
  const done = r.replaced - warming;
  if (r.total === 0) return { percentage: r.status === 'Successful' ? 100 : 0, toUpdate: 0 };
  return { percentage: Math.floor((100 * done) / r.total), toUpdate: r.total - done };
}

/**
 * Brings every group of the account and region up to `nowMs`: due instance-refresh batches run, and a group below its
 * desired capacity after a failed launch tries again once `retryAtMs` has passed. Called before every Auto Scaling call
 * and every DescribeInstances, so what they show follows the simulated clock.
 */
export function advanceAutoScaling(fleet: Fleet, rs: RegionState, nowMs: number): void {
  for (const g of rs.autoScalingGroups) {
    for (const r of g.refreshes) if (r.status === 'InProgress') stepRefresh(fleet, rs, g, r, nowMs);
    if (g.retryAtMs !== undefined && g.retryAtMs <= nowMs) reconcile(fleet, rs, g, nowMs);
  }
}
