import { partitionOfRegion } from '@imdsv2-cutover/core';
import type { QueryService } from '../context.js';
import { intInRange, ServiceError } from '../protocol/errors.js';
import { el, isoTime, list } from '../protocol/xml.js';
import { decodeToken, encodeToken } from './paging.js';

/** Auto Scaling (awsQuery 2011-01-01): the groups and the launch template version they launch with. */
export const autoScalingService: QueryService = {
  kind: 'query',
  name: 'autoscaling',
  xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
  ec2: false,
  handlers: {
    DescribeAutoScalingGroups(call, p) {
      const rs = call.sim.fleet.region(call.account, call.region)!;
      const names = p.members('AutoScalingGroupNames');
      const max = intInRange('MaxRecords', p.get('MaxRecords'), 1, 100, 'ValidationError') ?? 50;
      const groups =
        names.length > 0 ? rs.autoScalingGroups.filter((g) => names.includes(g.name)) : rs.autoScalingGroups;
      const start = decodeToken(p.get('NextToken'), 'DescribeAutoScalingGroups', 'InvalidNextToken');
      const page = groups.slice(start, start + max);
      const members = rs.instances.filter((i) => i.autoScalingGroup !== undefined);
      return (
        list(
          'AutoScalingGroups',
          page,
          (g) => {
            const inGroup = members.filter((i) => i.autoScalingGroup === g.name);
            return (
              `${el('AutoScalingGroupName', g.name)}${el('AutoScalingGroupARN', `arn:${partitionOfRegion(g.region) ?? 'aws'}:autoscaling:${g.region}:${g.account}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${g.name}`)}` +
              `<LaunchTemplate>${el('LaunchTemplateId', g.launchTemplate.id)}${el('LaunchTemplateName', g.launchTemplate.name)}${el('Version', g.launchTemplate.version)}</LaunchTemplate>` +
              `${el('MinSize', g.minSize)}${el('MaxSize', g.maxSize)}${el('DesiredCapacity', inGroup.filter((i) => i.running).length)}<DefaultCooldown>300</DefaultCooldown>` +
              list('AvailabilityZones', [...new Set(inGroup.map((i) => i.availabilityZone))], (z) => z, 'member') +
              `<HealthCheckType>EC2</HealthCheckType><CreatedTime>${isoTime(g.createdMs)}</CreatedTime>` +
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
                  `<LaunchTemplate>${el('LaunchTemplateId', i.launchTemplate?.id)}${el('LaunchTemplateName', i.launchTemplate?.name)}${el('Version', i.tags['aws:ec2launchtemplate:version'])}</LaunchTemplate><ProtectedFromScaleIn>false</ProtectedFromScaleIn>`,
                'member',
              )
            );
          },
          'member',
        ) + (start + max < groups.length ? el('NextToken', encodeToken('DescribeAutoScalingGroups', start + max)) : '')
      );
    },
    UpdateAutoScalingGroup(call, p) {
      const rs = call.sim.fleet.region(call.account, call.region)!;
      const name = p.require('AutoScalingGroupName');
      const g = rs.autoScalingGroups.find((x) => x.name === name);
      if (!g)
        throw new ServiceError(
          'ValidationError',
          `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`,
        );
      const ltId = p.get('LaunchTemplate.LaunchTemplateId');
      const ltName = p.get('LaunchTemplate.LaunchTemplateName');
      if (ltId !== undefined || ltName !== undefined) {
        const lt = rs.launchTemplates.find((t) => (ltId !== undefined ? t.id === ltId : t.name === ltName));
        if (!lt) throw new ServiceError('ValidationError', `The launch template ${ltId ?? ltName} does not exist.`);
        const version = p.get('LaunchTemplate.Version') ?? '$Default';
        if (
          !['$Default', '$Latest'].includes(version) &&
          !lt.versions.some((v) => String(v.versionNumber) === version)
        ) {
          throw new ServiceError(
            'ValidationError',
            `The launch template version ${version} of ${lt.name} does not exist.`,
          );
        }
        g.launchTemplate = { id: lt.id, name: lt.name, version };
      }
      const min = intInRange('MinSize', p.get('MinSize'), 0, 100_000, 'ValidationError');
      const max = intInRange('MaxSize', p.get('MaxSize'), 0, 100_000, 'ValidationError');
      if (min !== undefined) g.minSize = min;
      if (max !== undefined) g.maxSize = max;
      return '';
    },
  },
  category: (op) => (op.startsWith('Describe') ? 'autoscaling.describe' : 'autoscaling.mutate'),
};
