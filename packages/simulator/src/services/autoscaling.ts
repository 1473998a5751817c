import type { AwsStructure } from '@imdsv2-cutover/core';
import {
  type LaunchSource,
  advanceAutoScaling,
  groupMembers,
  reconcile,
  refreshProgress,
  setGroupSource,
  startInstanceRefresh,
} from '../auto-scaling.js';
import type { Call, QueryService } from '../context.js';
import {
  type LaunchTemplateRef,
  type RegionState,
  type SimAutoScalingGroup,
  type SimMixedInstancesPolicy,
  launchConfiguration,
  resolveLaunchTemplateVersion,
} from '../fleet.js';
import { resolveImage } from '../launch.js';
import type { LaunchTemplateData } from '../launch-template-data.js';
import { ServiceError, intInRange } from '../protocol/errors.js';
import { objectToXml, queryToObject } from '../protocol/json-query.js';
import type { QueryParams } from '../protocol/query.js';
import { el, isoTime, list } from '../protocol/xml.js';
import { decodeToken, encodeToken } from './paging.js';

/**
 * Auto Scaling (awsQuery 2011-01-01): groups on launch templates, launch configurations and mixed instances policies;
 * desired capacity, scaling activities and instance refreshes (the model is in ../auto-scaling.ts); launch
 * configurations. Before every call the account's groups are brought up to the simulated now.
 */

const validation = (message: string): ServiceError => new ServiceError('ValidationError', message);

function regionOf(call: Call): RegionState {
  const rs = call.sim.fleet.region(call.account, call.region)!;
  advanceAutoScaling(call.sim.fleet, rs, call.nowMs);
  return rs;
}

function findGroup(rs: RegionState, name: string): SimAutoScalingGroup {
  const g = rs.autoScalingGroups.find((x) => x.name === name);
  if (!g) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
  return g;
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * A LaunchTemplateSpecification as Auto Scaling checks it: exactly one of id and name (AWS answers "Valid requests must
 * contain either launchTemplateId or LaunchTemplateName" for both), an existing template and version, and an image the
 * account can use ("You must use a valid fully-formed launch template. ..." with EC2's reason).
 */
function templateRef(call: Call, rs: RegionState, spec: Obj | undefined): LaunchTemplateRef {
  const id = str(spec?.LaunchTemplateId);
  const name = str(spec?.LaunchTemplateName);
  if ((id === undefined) === (name === undefined))
    throw validation('Valid requests must contain either launchTemplateId or LaunchTemplateName');
  const lt = rs.launchTemplates.find((t) => (id !== undefined ? t.id === id : t.name === name));
  const invalid = (why: string) => validation(`You must use a valid fully-formed launch template. ${why}`);
  if (!lt)
    throw invalid(
      id !== undefined
        ? `The specified launch template, with template ID ${id}, does not exist.`
        : `The specified launch template, with template name ${name}, does not exist.`,
    );
  const version = str(spec?.Version) ?? '$Default';
  const v = resolveLaunchTemplateVersion(lt, version);
  if (!v) throw invalid(`The specified launch template version ${version} of ${lt.name} does not exist.`);
  if (v.imageId !== undefined) {
    try {
      resolveImage(call.sim.fleet, call.account, call.region, v.imageId);
    } catch (e) {
      if (e instanceof ServiceError) throw invalid(e.message);
      throw e;
    }
  }
  return { id: lt.id, name: lt.name, version };
}

/** A MixedInstancesPolicy from the request, its templates checked and resolved. */
function mixedPolicy(call: Call, rs: RegionState, m: Obj): SimMixedInstancesPolicy {
  const lt = asObj(m.LaunchTemplate);
  const overrides = Array.isArray(lt?.Overrides) ? lt.Overrides.map(asObj) : [];
  const dist = asObj(m.InstancesDistribution);
  return {
    launchTemplate: templateRef(call, rs, asObj(lt?.LaunchTemplateSpecification)),
    overrides: overrides.map((o) => ({
      instanceType: str(o?.InstanceType),
      weightedCapacity: str(o?.WeightedCapacity),
      launchTemplate: o?.LaunchTemplateSpecification
        ? templateRef(call, rs, asObj(o.LaunchTemplateSpecification))
        : undefined,
    })),
    instancesDistribution: dist as AwsStructure | undefined,
  };
}

const specXml = (r: LaunchTemplateRef): string =>
  `${el('LaunchTemplateId', r.id)}${el('LaunchTemplateName', r.name)}${el('Version', r.version)}`;

function mixedPolicyXml(m: SimMixedInstancesPolicy): string {
  return (
    `<LaunchTemplate><LaunchTemplateSpecification>${specXml(m.launchTemplate)}</LaunchTemplateSpecification>` +
    list(
      'Overrides',
      m.overrides,
      (o) =>
        `${el('InstanceType', o.instanceType)}${el('WeightedCapacity', o.weightedCapacity)}` +
        (o.launchTemplate
          ? `<LaunchTemplateSpecification>${specXml(o.launchTemplate)}</LaunchTemplateSpecification>`
          : ''),
      'member',
    ) +
    `</LaunchTemplate>` +
    (m.instancesDistribution
      ? `<InstancesDistribution>${objectToXml(m.instancesDistribution)}</InstancesDistribution>`
      : '')
  );
}

function groupXml(rs: RegionState, g: SimAutoScalingGroup): string {
  const inGroup = groupMembers(rs, g);
  return (
    `${el('AutoScalingGroupName', g.name)}${el('AutoScalingGroupARN', g.arn)}` +
    el('LaunchConfigurationName', g.launchConfigurationName) +
    (g.launchTemplate ? `<LaunchTemplate>${specXml(g.launchTemplate)}</LaunchTemplate>` : '') +
    (g.mixedInstancesPolicy
      ? `<MixedInstancesPolicy>${mixedPolicyXml(g.mixedInstancesPolicy)}</MixedInstancesPolicy>`
      : '') +
    `${el('MinSize', g.minSize)}${el('MaxSize', g.maxSize)}${el('DesiredCapacity', g.desiredCapacity)}<DefaultCooldown>300</DefaultCooldown>` +
    list('AvailabilityZones', g.availabilityZones, (z) => z, 'member') +
    `<HealthCheckType>EC2</HealthCheckType>${el('HealthCheckGracePeriod', g.healthCheckGracePeriod)}${el('DefaultInstanceWarmup', g.defaultInstanceWarmup)}` +
    `<CreatedTime>${isoTime(g.createdMs)}</CreatedTime>` +
    list(
      'Tags',
      Object.entries(g.tags),
      ([k, v]) =>
        `${el('ResourceId', g.name)}<ResourceType>auto-scaling-group</ResourceType>${el('Key', k)}${el('Value', v)}<PropagateAtLaunch>false</PropagateAtLaunch>`,
      'member',
    ) +
    list(
      'Instances',
      inGroup,
      (i) =>
        `${el('InstanceId', i.id)}${el('InstanceType', i.instanceType)}${el('AvailabilityZone', i.availabilityZone)}${el('LifecycleState', i.running ? 'InService' : 'Standby')}<HealthStatus>Healthy</HealthStatus>` +
        el('LaunchConfigurationName', i.launchConfigurationName) +
        (i.launchTemplate
          ? `<LaunchTemplate>${el('LaunchTemplateId', i.launchTemplate.id)}${el('LaunchTemplateName', i.launchTemplate.name)}${el('Version', i.tags['aws:ec2launchtemplate:version'])}</LaunchTemplate>`
          : '') +
        '<ProtectedFromScaleIn>false</ProtectedFromScaleIn>',
      'member',
    )
  );
}

/** Capacity limits: 0..100,000 (the simulator's bound; AWS's quotas are per account). */
const capacity = (name: string, raw: string | undefined) => intInRange(name, raw, 0, 100_000, 'ValidationError');

const causeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function paged<T>(items: T[], p: QueryParams, op: string, def: number): { page: T[]; next: string } {
  const max = intInRange('MaxRecords', p.get('MaxRecords'), 1, 100, 'ValidationError') ?? def;
  const start = decodeToken(p.get('NextToken'), op, 'InvalidNextToken');
  return {
    page: items.slice(start, start + max),
    next: start + max < items.length ? el('NextToken', encodeToken(op, start + max)) : '',
  };
}

/**
 * UpdateAutoScalingGroup: at most one launch source (the API reference: with LaunchConfigurationName "you can't specify
 * LaunchTemplate or MixedInstancesPolicy", and the same for each), sizes with MinSize <= DesiredCapacity <= MaxSize
 * ("Desired capacity:N must be between the specified min size:N and max size:N"); the group then launches or
 * terminates to its desired capacity with a scaling activity per instance.
 */
function updateAutoScalingGroup(call: Call, p: QueryParams): string {
  const rs = regionOf(call);
  const g = findGroup(rs, p.require('AutoScalingGroupName'));
  const input = queryToObject(p.entries());
  const lcName = p.get('LaunchConfigurationName');
  const given = [lcName, input.LaunchTemplate, input.MixedInstancesPolicy].filter((x) => x !== undefined).length;
  if (given > 1)
    throw validation(
      'Specify only one of LaunchConfigurationName, LaunchTemplate or MixedInstancesPolicy: with one of them you cannot specify the others.',
    );
  let source: LaunchSource | undefined;
  if (lcName !== undefined) {
    if (!rs.launchConfigurations.some((c) => c.name === lcName))
      throw validation(`Launch configuration name not found - Launch configuration ${lcName} not found`);
    source = { kind: 'configuration', name: lcName };
  } else if (input.LaunchTemplate !== undefined) {
    source = { kind: 'template', ref: templateRef(call, rs, asObj(input.LaunchTemplate)) };
  } else if (input.MixedInstancesPolicy !== undefined) {
    source = { kind: 'mixed', policy: mixedPolicy(call, rs, asObj(input.MixedInstancesPolicy) ?? {}) };
  }
  const min = capacity('MinSize', p.get('MinSize')) ?? g.minSize;
  const max = capacity('MaxSize', p.get('MaxSize')) ?? g.maxSize;
  const desiredGiven = capacity('DesiredCapacity', p.get('DesiredCapacity'));
  if (min > max) throw validation(`MinSize ${min} must not be greater than MaxSize ${max}.`);
  const desired = desiredGiven ?? Math.min(Math.max(g.desiredCapacity, min), max);
  if (desired < min || desired > max)
    throw validation(`Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`);
  const grace = intInRange('HealthCheckGracePeriod', p.get('HealthCheckGracePeriod'), 0, 7200, 'ValidationError');
  const warmup = intInRange('DefaultInstanceWarmup', p.get('DefaultInstanceWarmup'), -1, 3600, 'ValidationError');
  if (source) setGroupSource(g, source);
  if (grace !== undefined) g.healthCheckGracePeriod = grace;
  if (warmup !== undefined) g.defaultInstanceWarmup = warmup < 0 ? undefined : warmup;
  const from = g.desiredCapacity;
  g.minSize = min;
  g.maxSize = max;
  g.desiredCapacity = desired;
  const cause =
    from === desired
      ? undefined
      : `At ${causeTime(call.nowMs)} a user request update of AutoScalingGroup constraints to min: ${min}, max: ${max}, desired: ${desired} changing the desired capacity from ${from} to ${desired}.`;
  if (cause || source) reconcile(call.sim.fleet, rs, g, call.nowMs, cause);
  return '';
}

/** SetDesiredCapacity: within MinSize and MaxSize ("New SetDesiredCapacity value N is above max value N ..."). */
function setDesiredCapacity(call: Call, p: QueryParams): string {
  const rs = regionOf(call);
  const g = findGroup(rs, p.require('AutoScalingGroupName'));
  const desired = capacity('DesiredCapacity', p.require('DesiredCapacity'))!;
  if (desired > g.maxSize)
    throw validation(
      `New SetDesiredCapacity value ${desired} is above max value ${g.maxSize} for the AutoScalingGroup.`,
    );
  if (desired < g.minSize)
    throw validation(
      `New SetDesiredCapacity value ${desired} is below min value ${g.minSize} for the AutoScalingGroup.`,
    );
  const from = g.desiredCapacity;
  g.desiredCapacity = desired;
  if (from !== desired)
    reconcile(
      call.sim.fleet,
      rs,
      g,
      call.nowMs,
      `At ${causeTime(call.nowMs)} a user request explicitly set group desired capacity changing the desired capacity from ${from} to ${desired}.`,
    );
  return '';
}

/**
 * CreateLaunchConfiguration: the members as given (awsQuery names are the API member names), with ImageId and
 * InstanceType required and the image checked. Launch configurations are immutable.
 */
function createLaunchConfiguration(call: Call, p: QueryParams): string {
  const rs = regionOf(call);
  const name = p.require('LaunchConfigurationName');
  const data = queryToObject(p.entries()) as LaunchTemplateData;
  delete data.LaunchConfigurationName;
  if (p.get('InstanceId') !== undefined)
    throw validation('The simulator does not create launch configurations from an instance (InstanceId).');
  const imageId = p.get('ImageId');
  if (imageId === undefined) throw validation('ImageId is required when InstanceId is not specified.');
  if (p.get('InstanceType') === undefined)
    throw validation('InstanceType is required when InstanceId is not specified.');
  const mo = asObj(data.MetadataOptions);
  if (mo) {
    const tokens = str(mo.HttpTokens);
    if (tokens !== undefined && tokens !== 'optional' && tokens !== 'required')
      throw validation(
        `1 validation error detected: Value '${tokens}' at 'metadataOptions.httpTokens' failed to satisfy constraint: Member must satisfy enum value set: [optional, required]`,
      );
    intInRange('HttpPutResponseHopLimit', str(mo.HttpPutResponseHopLimit), 1, 64, 'ValidationError');
    const endpoint = str(mo.HttpEndpoint);
    if (endpoint !== undefined && endpoint !== 'enabled' && endpoint !== 'disabled')
      throw validation(
        `1 validation error detected: Value '${endpoint}' at 'metadataOptions.httpEndpoint' failed to satisfy constraint: Member must satisfy enum value set: [disabled, enabled]`,
      );
  }
  try {
    resolveImage(call.sim.fleet, call.account, call.region, imageId);
  } catch (e) {
    if (e instanceof ServiceError) throw validation(`AMI ${imageId} is invalid: ${e.message}`);
    throw e;
  }
  if (rs.launchConfigurations.some((c) => c.name === name))
    throw new ServiceError(
      'AlreadyExists',
      `Launch Configuration by this name already exists - A launch configuration already exists with the name ${name}`,
    );
  rs.launchConfigurations.push(
    launchConfiguration(name, call.account, call.region, call.nowMs, data, call.sim.fleet.scenario.seed),
  );
  return '';
}

/** DescribeLaunchConfigurations: by name (unknown names left out) or all, 50 a page by default (MaxRecords <= 100). */
function describeLaunchConfigurations(call: Call, p: QueryParams): string {
  const rs = regionOf(call);
  const names = p.members('LaunchConfigurationNames');
  const items =
    names.length > 0 ? rs.launchConfigurations.filter((c) => names.includes(c.name)) : rs.launchConfigurations;
  const { page, next } = paged(items, p, 'DescribeLaunchConfigurations', 50);
  call.items = page.length;
  return (
    list(
      'LaunchConfigurations',
      page,
      (c) =>
        `${el('LaunchConfigurationName', c.name)}${el('LaunchConfigurationARN', c.arn)}<CreatedTime>${isoTime(c.createdMs)}</CreatedTime>` +
        objectToXml({
          // What DescribeLaunchConfigurations shows for members the configuration was created without.
          SecurityGroups: [],
          BlockDeviceMappings: [],
          InstanceMonitoring: { Enabled: true },
          EbsOptimized: false,
          ...c.data,
        }),
      'member',
    ) + next
  );
}

function activityXml(rs: RegionState, a: SimAutoScalingGroup['activities'][number]): string {
  const g = rs.autoScalingGroups.find((x) => x.name === a.group);
  return (
    `${el('ActivityId', a.id)}${el('AutoScalingGroupName', a.group)}${el('Description', a.description)}${el('Cause', a.cause)}` +
    `<StartTime>${isoTime(a.startMs)}</StartTime><EndTime>${isoTime(a.endMs)}</EndTime>${el('StatusCode', a.statusCode)}${el('StatusMessage', a.statusMessage)}` +
    `<Progress>100</Progress>${el('Details', a.details)}${el('AutoScalingGroupARN', g?.arn)}`
  );
}

/** Activities are kept six weeks (DescribeScalingActivities); newest first. */
const ACTIVITY_RETENTION_MS = 42 * 86_400_000;

function describeScalingActivities(call: Call, p: QueryParams): string {
  const rs = regionOf(call);
  const name = p.get('AutoScalingGroupName');
  const groups = name !== undefined ? rs.autoScalingGroups.filter((g) => g.name === name) : rs.autoScalingGroups;
  const ids = p.members('ActivityIds');
  const all = groups
    .flatMap((g) => g.activities)
    .filter((a) => a.startMs >= call.nowMs - ACTIVITY_RETENTION_MS && (ids.length === 0 || ids.includes(a.id)))
    .map((a, k) => ({ a, k }))
    .sort((x, y) => y.a.startMs - x.a.startMs || y.k - x.k)
    .map((x) => x.a);
  const { page, next } = paged(all, p, 'DescribeScalingActivities', 100);
  return list('Activities', page, (a) => activityXml(rs, a), 'member') + next;
}

/**
 * StartInstanceRefresh (Rolling): replaces the group's instances in batches on the simulated clock; MinHealthyPercentage
 * (default 90) and MaxHealthyPercentage (default 100, 100..200, at most 100 above the minimum) set the batch size and
 * whether replacements launch before the old instances end. With a DesiredConfiguration the group takes it on success.
 */
function startRefresh(call: Call, p: QueryParams): string {
  const rs = regionOf(call);
  const g = findGroup(rs, p.require('AutoScalingGroupName'));
  const input = queryToObject(p.entries());
  const strategy = p.get('Strategy') ?? 'Rolling';
  if (strategy !== 'Rolling') throw validation(`The simulator models only the Rolling strategy, not ${strategy}.`);
  const dc = asObj(input.DesiredConfiguration);
  let desired: LaunchSource | undefined;
  if (dc) {
    if (dc.LaunchTemplate !== undefined)
      desired = { kind: 'template', ref: templateRef(call, rs, asObj(dc.LaunchTemplate)) };
    else if (dc.MixedInstancesPolicy !== undefined)
      desired = { kind: 'mixed', policy: mixedPolicy(call, rs, asObj(dc.MixedInstancesPolicy) ?? {}) };
    else
      throw validation(
        'If you specify a desired configuration, you must specify either a LaunchTemplate or a MixedInstancesPolicy.',
      );
  }
  const prefs = asObj(input.Preferences) ?? {};
  const minHealthy = intInRange('MinHealthyPercentage', str(prefs.MinHealthyPercentage), 0, 100, 'ValidationError');
  const maxHealthy = intInRange('MaxHealthyPercentage', str(prefs.MaxHealthyPercentage), 100, 200, 'ValidationError');
  if (maxHealthy !== undefined && minHealthy === undefined)
    throw validation('If you specify MaxHealthyPercentage, you must also specify MinHealthyPercentage.');
  if (maxHealthy !== undefined && minHealthy !== undefined && maxHealthy - minHealthy > 100)
    throw validation(
      'The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.',
    );
  const warmup = intInRange('InstanceWarmup', str(prefs.InstanceWarmup), 0, 86_400, 'ValidationError');
  const min = minHealthy ?? 90;
  const max = maxHealthy ?? 100;
  const skipMatching = str(prefs.SkipMatching) === 'true';
  const r = startInstanceRefresh(call.sim.fleet, rs, g, call.nowMs, {
    desired,
    desiredConfiguration: dc as AwsStructure | undefined,
    minHealthy: min,
    maxHealthy: max,
    warmupSeconds: warmup,
    skipMatching,
    preferences: {
      ...(prefs as AwsStructure),
      MinHealthyPercentage: min,
      MaxHealthyPercentage: max,
      ...(warmup !== undefined ? { InstanceWarmup: warmup } : {}),
      SkipMatching: skipMatching,
      AutoRollback: str(prefs.AutoRollback) === 'true',
      ScaleInProtectedInstances: str(prefs.ScaleInProtectedInstances) ?? 'Ignore',
      StandbyInstances: str(prefs.StandbyInstances) ?? 'Ignore',
    },
  });
  return el('InstanceRefreshId', r.id);
}

/** DescribeInstanceRefreshes: the group's refreshes, newest first, 50 a page by default. */
function describeInstanceRefreshes(call: Call, p: QueryParams): string {
  const rs = regionOf(call);
  const g = findGroup(rs, p.require('AutoScalingGroupName'));
  const ids = p.members('InstanceRefreshIds');
  const items = [...g.refreshes].reverse().filter((r) => ids.length === 0 || ids.includes(r.id));
  const { page, next } = paged(items, p, 'DescribeInstanceRefreshes', 50);
  return (
    list(
      'InstanceRefreshes',
      page,
      (r) => {
        const progress = refreshProgress(r, call.nowMs);
        return (
          `${el('InstanceRefreshId', r.id)}${el('AutoScalingGroupName', r.group)}${el('Status', r.status)}${el('StatusReason', r.statusReason)}` +
          `<StartTime>${isoTime(r.startMs)}</StartTime>${r.endMs !== undefined ? `<EndTime>${isoTime(r.endMs)}</EndTime>` : ''}` +
          `${el('PercentageComplete', progress.percentage)}${el('InstancesToUpdate', progress.toUpdate)}` +
          `<Preferences>${objectToXml(r.preferences)}</Preferences>` +
          (r.desiredConfiguration
            ? `<DesiredConfiguration>${objectToXml(r.desiredConfiguration)}</DesiredConfiguration>`
            : '') +
          '<Strategy>Rolling</Strategy>'
        );
      },
      'member',
    ) + next
  );
}

export const autoScalingService: QueryService = {
  kind: 'query',
  name: 'autoscaling',
  xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
  ec2: false,
  handlers: {
    DescribeAutoScalingGroups(call, p) {
      const rs = regionOf(call);
      const names = p.members('AutoScalingGroupNames');
      const groups =
        names.length > 0 ? rs.autoScalingGroups.filter((g) => names.includes(g.name)) : rs.autoScalingGroups;
      const { page, next } = paged(groups, p, 'DescribeAutoScalingGroups', 50);
      call.items = page.length;
      return list('AutoScalingGroups', page, (g) => groupXml(rs, g), 'member') + next;
    },
    UpdateAutoScalingGroup: updateAutoScalingGroup,
    SetDesiredCapacity: setDesiredCapacity,
    CreateLaunchConfiguration: createLaunchConfiguration,
    DescribeLaunchConfigurations: describeLaunchConfigurations,
    DescribeScalingActivities: describeScalingActivities,
    StartInstanceRefresh: startRefresh,
    DescribeInstanceRefreshes: describeInstanceRefreshes,
  },
  category: (op) => (op.startsWith('Describe') ? 'autoscaling.describe' : 'autoscaling.mutate'),
};
