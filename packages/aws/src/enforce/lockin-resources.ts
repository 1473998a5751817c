import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  GetInstanceMetadataDefaultsCommand,
  ModifyInstanceMetadataDefaultsCommand,
  ModifyLaunchTemplateCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { JournalTarget } from '@imdsv2-cutover/core';
import { CutoverError } from '@imdsv2-cutover/core';
import { LockInRefusal } from './launch-data.js';
import type { ClientsFor } from './types.js';

/**
 * The resources lock-in changes, as the journal knows them: what each holds now (`readLockIn`, recorded as `previous`),
 * how to put it back (`restoreLockIn`), and whether it is back (`lockInAtPrevious`). The lock-in wave, its rollback and
 * the canaries of `--prove-launch` share them.
 */

/** Fields of a lock-in resource as the journal records them. */
export type Fields = Record<string, string | number | boolean | null>;

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
export function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

/** The clients a lock-in resource needs: EC2 for templates, defaults, images and canaries, Auto Scaling for groups. */
export interface LockInClients {
  ec2: EC2Client;
  autoScaling: AutoScalingClient;
}

export function lockInClients(clients: ClientsFor, accountId: string, region: string): LockInClients {
  return { ec2: clients.ec2(accountId, region), autoScaling: clients.autoScaling(accountId, region) };
}

/** A group's launch source as readLockIn records it, in words. */
export function launchSource(live: Fields): string {
  if (live.launchConfigurationName) return `launch configuration ${String(live.launchConfigurationName)}`;
  if (live.mixedInstancesPolicy === true) return 'a mixed instances policy';
  if (live.launchTemplateId)
    return `launch template ${String(live.launchTemplateName ?? live.launchTemplateId)} (${String(live.launchTemplateVersion ?? '$Default')})`;
  return 'nothing readable';
}

/** The tag lock-in puts on a launch template it makes from a launch configuration; its value is the configuration. */
export const FROM_LAUNCH_CONFIGURATION_TAG = 'imdsv2-cutover:launch-configuration';
/** The tag of a lock-in canary instance; its value is the canary's id in the journal. */
export const CANARY_TAG = 'imdsv2-cutover:canary';
/** The states of an instance that still runs or may start again (a canary to terminate). */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

/** Instances tagged as the canary `canaryId` that are not terminated (nor terminating). */
export async function liveCanaries(ec2: EC2Client, canaryId: string): Promise<string[]> {
  const out: string[] = [];
  let NextToken: string | undefined;
  do {
    const r = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${CANARY_TAG}`, Values: [canaryId] },
          { Name: 'instance-state-name', Values: LIVE_STATES },
        ],
        NextToken,
      }),
    );
    for (const res of r.Reservations ?? [])
      for (const i of res.Instances ?? []) if (i.InstanceId) out.push(i.InstanceId);
    NextToken = r.NextToken;
  } while (NextToken);
  return out;
}

/**
 * The account's instance metadata defaults in the client's Region (GetInstanceMetadataDefaults `AccountLevel`): every
 * field (null when unset, i.e. no preference) and who manages them (`account`, or `declarative-policy` when an
 * organization's declarative policy does, in which case ModifyInstanceMetadataDefaults is refused).
 */
export async function readAccountDefaults(ec2: EC2Client): Promise<{ fields: Fields; managedBy: string | null }> {
  const r = await ec2.send(new GetInstanceMetadataDefaultsCommand({}));
  const a = r.AccountLevel;
  return {
    fields: {
      httpTokens: a?.HttpTokens ?? null,
      httpPutResponseHopLimit: a?.HttpPutResponseHopLimit ?? null,
      httpEndpoint: a?.HttpEndpoint ?? null,
      instanceMetadataTags: a?.InstanceMetadataTags ?? null,
      httpTokensEnforced: a?.HttpTokensEnforced ?? null,
    },
    managedBy: a?.ManagedBy ?? null,
  };
}

/**
 * Reads what a lock-in resource holds now: the fields the journal records as `previous`. A group: its launch source
 * exactly (DescribeAutoScalingGroups); a canary: how many instances with its tag still run.
 */
export async function readLockIn(c: LockInClients, target: JournalTarget): Promise<Fields> {
  switch (target.kind) {
    case 'launch-template': {
      const id = target.launchTemplateId;
      const lt = await c.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }));
      const dv = lt.LaunchTemplates?.[0]?.DefaultVersionNumber;
      if (dv === undefined) throw new CutoverError('AWS_ERROR', `launch template ${id} has no default version`);
      const v = await c.ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [String(dv)] }),
      );
      const m = v.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.MetadataOptions;
      return {
        defaultVersion: dv,
        httpTokens: m?.HttpTokens ?? null,
        httpPutResponseHopLimit: m?.HttpPutResponseHopLimit ?? null,
        httpEndpoint: m?.HttpEndpoint ?? null,
      };
    }
    case 'account-defaults':
      return (await readAccountDefaults(c.ec2)).fields;
    case 'image': {
      const r = await c.ec2.send(new DescribeImagesCommand({ ImageIds: [target.imageId] }));
      return { imdsSupport: r.Images?.[0]?.ImdsSupport ?? null };
    }
    case 'auto-scaling-group': {
      const name = target.autoScalingGroupName;
      const r = await c.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
      const g = r.AutoScalingGroups?.find((x) => x.AutoScalingGroupName === name);
      if (!g) throw new LockInRefusal('AutoScalingGroupNotFound', `Auto Scaling group ${name} does not exist`);
      return {
        launchConfigurationName: g.LaunchConfigurationName ?? null,
        launchTemplateId: g.LaunchTemplate?.LaunchTemplateId ?? null,
        launchTemplateName: g.LaunchTemplate?.LaunchTemplateName ?? null,
        launchTemplateVersion: g.LaunchTemplate?.Version ?? null,
        mixedInstancesPolicy: g.MixedInstancesPolicy !== undefined,
      };
    }
    case 'canary':
      return { liveCanaries: (await liveCanaries(c.ec2, target.canaryId)).length };
    case 'instance':
      throw new CutoverError('INTERNAL', 'readLockIn called for an instance');
  }
}

/**
 * Moves a group back to the launch configuration it had before lock-in, only when it still launches from the
 * template lock-in made (its tag names the configuration); a group moved elsewhere since is left alone (the rollback
 * fails with what it launches now and the command that would move it back). The template is kept: instances it
 * launched meanwhile still name it, a later lock-in reuses it, and another group may use it by now; deleting it is
 * the user's decision (the note gives the command).
 */
async function restoreLaunchConfiguration(
  c: LockInClients,
  target: Extract<JournalTarget, { kind: 'auto-scaling-group' }>,
  previous: Fields,
): Promise<string> {
  const group = target.autoScalingGroupName;
  const lcName = str(previous.launchConfigurationName);
  if (lcName === null)
    throw new LockInRefusal(
      'NoPreviousLaunchConfiguration',
      `the journal records no launch configuration for ${group}`,
    );
  const live = await readLockIn(c, target);
  const id = str(live.launchTemplateId);
  const ours =
    id !== null && !live.mixedInstancesPolicy
      ? (
          await c.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))
        ).LaunchTemplates?.[0]?.Tags?.some((t) => t.Key === FROM_LAUNCH_CONFIGURATION_TAG && t.Value === lcName) ===
        true
      : false;
  if (!ours)
    throw new LockInRefusal(
      'GroupChangedSinceLockIn',
      `${group} launches from ${launchSource(live)}, not from the template lock-in made from ${lcName}: left alone. To move it back anyway: aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${group} --launch-configuration-name ${lcName}`,
    );
  await c.autoScaling.send(
    new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, LaunchConfigurationName: lcName }),
  );
  return `back on launch configuration ${lcName}; launch template ${String(live.launchTemplateName ?? id)} (${id}) that lock-in made is kept (instances it launched still name it, and lock-in reuses it): delete it with \`aws ec2 delete-launch-template --launch-template-id ${id}\` once nothing uses it`;
}

/**
 * Restores a lock-in resource to its recorded previous state: the launch template's previous default version, the
 * account defaults' previous values (unset ones back to no-preference), a group's launch configuration
 * (`restoreLaunchConfiguration`), and a canary terminated. The AMI flag cannot be undone: refused. Returns what the
 * user should know about the restore, if anything.
 */
export async function restoreLockIn(
  c: LockInClients,
  target: JournalTarget,
  previous: Fields,
): Promise<string | undefined> {
  switch (target.kind) {
    case 'launch-template':
      await c.ec2.send(
        new ModifyLaunchTemplateCommand({
          LaunchTemplateId: target.launchTemplateId,
          DefaultVersion: String(previous.defaultVersion),
        }),
      );
      return undefined;
    case 'account-defaults':
      await c.ec2.send(
        new ModifyInstanceMetadataDefaultsCommand({
          HttpTokens: (str(previous.httpTokens) ?? 'no-preference') as 'optional',
          HttpPutResponseHopLimit: num(previous.httpPutResponseHopLimit) ?? -1,
          HttpEndpoint: (str(previous.httpEndpoint) ?? 'no-preference') as 'enabled',
          InstanceMetadataTags: (str(previous.instanceMetadataTags) ?? 'no-preference') as 'enabled',
          // Journals written before this field was recorded lack it: leave it as it is then.
          HttpTokensEnforced:
            'httpTokensEnforced' in previous
              ? ((str(previous.httpTokensEnforced) ?? 'no-preference') as 'enabled')
              : undefined,
        }),
      );
      return undefined;
    case 'auto-scaling-group':
      return restoreLaunchConfiguration(c, target, previous);
    case 'canary': {
      const ids = await liveCanaries(c.ec2, target.canaryId);
      if (ids.length > 0) await c.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
      return `terminated ${ids.join(', ')}`;
    }
    case 'image':
      throw new CutoverError(
        'BAD_USAGE',
        `the AMI IMDS-support flag on ${target.imageId} cannot be undone (EC2 offers no way back)`,
      );
    case 'instance':
      throw new CutoverError('INTERNAL', 'restoreLockIn called for an instance');
  }
}

/** True when a lock-in resource is back at (or still at) its previous state. */
export function lockInAtPrevious(target: JournalTarget, live: Fields, previous: Fields): boolean {
  if (target.kind === 'launch-template') return live.defaultVersion === previous.defaultVersion;
  return Object.entries(previous).every(([k, v]) => live[k] === v);
}
