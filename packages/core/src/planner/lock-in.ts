import type { Assessment, AutoScalingGroup, LaunchTemplate } from '../schemas/assessment.js';
import type { LockInStep, ManualLockIn } from '../schemas/plan.js';
import type { Policy } from '../schemas/policy.js';
import { arnPatternFor } from '../regions/arn.js';
import { cmp } from './candidates.js';
import { runsContainers, targetHopLimit } from './targets.js';

export interface LockIn {
  steps: LockInStep[];
  manual: ManualLockIn[];
}

const where = (x: { accountId: string; region: string }) => `${x.accountId}/${x.region}`;

/**
 * The steps that stop IMDSv1 from coming back once the fleet is converted: a new default version for every launch
 * template that still launches IMDSv1, the account defaults per region, and (only when the policy opts in, because it
 * cannot be undone) the AMI flag. Each step records the previous values rollback restores. What cannot be fixed in place
 * (launch configurations, pinned template versions, defaults managed by a declarative policy) is listed as manual work.
 */
export function deriveLockIn(assessment: Assessment, policy: Policy): LockIn {
  const steps: LockInStep[] = [];
  const manual: ManualLockIn[] = [];
  if (policy.lockIn.launchTemplates) templateSteps(assessment, policy, steps, manual);
  if (policy.lockIn.accountDefaults) accountDefaultSteps(assessment, policy, steps, manual);
  if (policy.lockIn.amiImdsSupport) amiSteps(assessment, steps);
  steps.sort((a, b) => cmp(a.id, b.id));
  manual.sort(
    (a, b) =>
      cmp(a.accountId, b.accountId) ||
      cmp(a.region, b.region) ||
      cmp(a.kind, b.kind) ||
      cmp(a.resourceId ?? '', b.resourceId ?? ''),
  );
  return { steps, manual };
}

function templateSteps(assessment: Assessment, policy: Policy, steps: LockInStep[], manual: ManualLockIn[]): void {
  const templates = new Map<string, LaunchTemplate>();
  for (const lt of assessment.launchTemplates) templates.set(`${where(lt)}/${lt.launchTemplateId}`, lt);
  const asgsByTemplate = new Map<string, AutoScalingGroup[]>();
  for (const asg of assessment.autoScalingGroups) {
    if (!asg.launchTemplate) continue;
    const key = `${where(asg)}/${asg.launchTemplate.launchTemplateId}`;
    const list = asgsByTemplate.get(key);
    if (list) list.push(asg);
    else asgsByTemplate.set(key, [asg]);
  }
  // Templates whose launches run containers: the new version gets the container hop limit.
  const containerTemplates = new Set<string>();
  const containerAsgs = new Set<string>();
  for (const i of assessment.instances) {
    if (!runsContainers(i)) continue;
    if (i.launchTemplate) containerTemplates.add(`${where(i)}/${i.launchTemplate.launchTemplateId}`);
    if (i.autoScalingGroup) containerAsgs.add(`${where(i)}/${i.autoScalingGroup}`);
  }

  for (const [key, lt] of templates) {
    if (!lt.launchesImdsV1) continue;
    const asgs = (asgsByTemplate.get(key) ?? []).sort((a, b) => cmp(a.name, b.name));
    const containers = containerTemplates.has(key) || asgs.some((a) => containerAsgs.has(`${where(a)}/${a.name}`));
    const currentHop = lt.effective.httpPutResponseHopLimit.value;
    const hop = targetHopLimit(currentHop, containers, policy);
    const notes: string[] = [];
    if (hop > currentHop)
      notes.push(`hop limit ${currentHop} -> ${hop}${containers ? ' (containers run on instances it launches)' : ''}`);
    // A new version is the template's latest, and (made) its default: groups on $Latest and $Default both launch it.
    // When the latest is not the default, it is copied from the version its groups launch today.
    const versionOf = (a: AutoScalingGroup) => a.launchTemplate?.version ?? '$Default';
    const onLatest = asgs.filter((a) => versionOf(a) === '$Latest');
    const onDefault = asgs.filter((a) => versionOf(a) === '$Default');
    const diverged = lt.latestVersion !== lt.defaultVersion;
    const source = diverged && onLatest.length > 0 && onDefault.length === 0 ? lt.latestVersion : lt.defaultVersion;
    if (diverged) {
      notes.push(
        `the latest version (${lt.latestVersion}) is not the default (${lt.defaultVersion}); the new version is copied from ${source === lt.latestVersion ? `the latest, which its groups on $Latest launch` : 'the default'}`,
      );
    }
    const fixed = [...onLatest, ...onDefault].map((a) => `${a.name} (${versionOf(a)})`);
    if (fixed.length > 0) notes.push(`fixed by the new version, which they launch from then on: ${fixed.join(', ')}`);
    if (diverged && source === lt.defaultVersion) {
      for (const a of onLatest) {
        manual.push({
          kind: 'asg-pinned-version',
          accountId: a.accountId,
          region: a.region,
          resourceId: a.name,
          reason: `uses $Latest of launch template ${lt.launchTemplateId}, whose latest version ${lt.latestVersion} differs from the default ${lt.defaultVersion}: after lock-in it launches the new version, copied from the default. Check that is what the group should launch`,
        });
      }
    }
    steps.push({
      id: `launch-template:${lt.accountId}:${lt.region}:${lt.launchTemplateId}`,
      kind: 'launch-template-version',
      accountId: lt.accountId,
      region: lt.region,
      resourceId: lt.launchTemplateId,
      description: `New version of launch template ${lt.name} (${lt.launchTemplateId}) copied from version ${source} with HttpTokens=required, made the default`,
      previous: {
        defaultVersion: lt.defaultVersion,
        httpTokens: lt.defaultVersionOptions.httpTokens ?? null,
        httpPutResponseHopLimit: lt.defaultVersionOptions.httpPutResponseHopLimit ?? null,
        httpEndpoint: lt.defaultVersionOptions.httpEndpoint ?? null,
      },
      target: {
        sourceVersion: source,
        httpTokens: 'required',
        httpPutResponseHopLimit: hop,
        httpEndpoint: 'enabled',
        setDefault: true,
      },
      irreversible: false,
      affects: asgs.map((a) => a.name),
      notes,
    });
  }

  for (const asg of assessment.autoScalingGroups) {
    if (!asg.launchesImdsV1) continue;
    if (asg.launchConfigurationName !== undefined) {
      manual.push({
        kind: 'asg-launch-configuration',
        accountId: asg.accountId,
        region: asg.region,
        resourceId: asg.name,
        reason: `uses launch configuration ${asg.launchConfigurationName}, which cannot be changed: migrate the group to a launch template with HttpTokens=required`,
      });
      continue;
    }
    const ref = asg.launchTemplate;
    if (!ref) continue;
    const lt = templates.get(`${where(asg)}/${ref.launchTemplateId}`);
    const version = ref.version ?? '$Default';
    const followsDefault = version === '$Default' || version === '$Latest';
    if (lt?.launchesImdsV1 && followsDefault) continue; // The template step fixes it.
    manual.push({
      kind: 'asg-pinned-version',
      accountId: asg.accountId,
      region: asg.region,
      resourceId: asg.name,
      reason: followsDefault
        ? `launches IMDSv1 through launch template ${ref.launchTemplateId} (${version}), which the assessment did not flag: check the template`
        : `pins version ${version} of launch template ${ref.launchTemplateId}, so the new version does not reach it: manual work. After lock-in, point the group at $Default (or $Latest), or pin the new version`,
    });
  }
}

function accountDefaultSteps(
  assessment: Assessment,
  policy: Policy,
  steps: LockInStep[],
  manual: ManualLockIn[],
): void {
  const enforced = policy.lockIn.httpTokensEnforced;
  for (const r of assessment.regions) {
    const d = r.accountDefaults;
    if (r.status === 'failed' || d === null) {
      manual.push({
        kind: 'account-defaults-unread',
        accountId: r.accountId,
        region: r.region,
        reason: 'the account defaults were not read in this region: assess it again, or set them by hand',
      });
      continue;
    }
    if (d.managedBy === 'declarative-policy') {
      manual.push({
        kind: 'account-defaults-managed',
        accountId: r.accountId,
        region: r.region,
        reason: `managed by a declarative policy${d.managedExceptionMessage ? ` (${d.managedExceptionMessage})` : ''}: change it in AWS Organizations`,
      });
      continue;
    }
    const needTokens = d.httpTokens !== 'required';
    const needEnforced = enforced && d.httpTokensEnforced !== 'enabled';
    if (!needTokens && !needEnforced) continue;
    const previous = {
      httpTokens: d.httpTokens,
      httpPutResponseHopLimit: d.httpPutResponseHopLimit,
      httpEndpoint: d.httpEndpoint,
      instanceMetadataTags: d.instanceMetadataTags,
      httpTokensEnforced: d.httpTokensEnforced,
    };
    if (needTokens) {
      steps.push({
        id: `account-defaults:${r.accountId}:${r.region}`,
        kind: 'account-defaults',
        accountId: r.accountId,
        region: r.region,
        description: `Account default HttpTokens=required in ${r.region}`,
        previous,
        target: { httpTokens: 'required' },
        irreversible: false,
        affects: [],
        notes: ['affects only instances launched from now on'],
      });
    }
    if (needEnforced) steps.push(enforcementStep(r.accountId, r.region, previous, manual));
  }
}

/**
 * The step that enables HttpTokensEnforced in one account and Region, with what it costs (EC2 User Guide, "Modify
 * instance metadata options for existing instances" and "Troubleshoot instance launch issues": with it enabled, setting
 * an instance's httpTokens to optional and launching an instance that resolves to IMDSv1 both fail with
 * UnsupportedOperation). The lock-in wave runs it last, after every wave soaked clean, and only when the user confirms
 * it (`--confirm-http-tokens-enforced`).
 */
function enforcementStep(
  accountId: string,
  region: string,
  previous: LockInStep['previous'],
  manual: readonly ManualLockIn[],
): LockInStep {
  const stillV1 = manual
    .filter((m) => m.accountId === accountId && m.region === region && m.kind.startsWith('asg-') && m.resourceId)
    .map((m) => m.resourceId!);
  return {
    id: `http-tokens-enforced:${accountId}:${region}`,
    kind: 'account-defaults',
    accountId,
    region,
    description: `Account default HttpTokensEnforced=enabled in ${region} (last, once every wave soaked clean)`,
    previous,
    target: { httpTokens: 'required', httpTokensEnforced: 'enabled' },
    irreversible: false,
    affects: stillV1,
    notes: [
      'runs last in the lock-in wave, only after every wave completed clean, and only with --confirm-http-tokens-enforced',
      `while enabled, EC2 refuses to set any instance in ${region} back to HttpTokens=optional: a rollback must lift it first (imdsv2 rollback --lift-http-tokens-enforced), and so must the guard's automatic rollback (imdsv2 enforce --lift-http-tokens-enforced)`,
      'every launch that resolves to IMDSv1 fails with UnsupportedOperation: RunInstances calls, launch templates and launch configurations that still say HttpTokens=optional',
      ...(stillV1.length > 0
        ? [
            `Auto Scaling groups that would then fail to launch (their launch source is not fixed by lock-in): ${stillV1.join(', ')}`,
          ]
        : []),
    ],
  };
}

function amiSteps(assessment: Assessment, steps: LockInStep[]): void {
  for (const img of assessment.images) {
    if (img.imdsSupport === 'v2.0') continue;
    steps.push({
      id: `ami:${img.accountId}:${img.region}:${img.imageId}`,
      kind: 'ami-imds-support',
      accountId: img.accountId,
      region: img.region,
      resourceId: img.imageId,
      description: `Set ImdsSupport=v2.0 on ${img.imageId}${img.name ? ` (${img.name})` : ''}: instances launched from it get HttpTokens=required and hop limit 2`,
      previous: { imdsSupport: null },
      target: { imdsSupport: 'v2.0' },
      irreversible: true,
      affects: [],
      notes: [
        'IRREVERSIBLE: ImdsSupport cannot be removed from an AMI once set',
        'only the owning account can set it (not shared, public or Marketplace AMIs)',
      ],
    });
  }
}

/**
 * A service control policy that keeps IMDSv1 from coming back (fact sheet section 6): no launch without tokens required,
 * nobody but the admin role re-enables IMDSv1 on an instance, optionally no launch above a hop limit and no API call with
 * credentials delivered over IMDSv1. Every ARN is in `partition` (the assessment's, from the caller's identity), and
 * the admin principal pattern's `{partition}` is filled in with it; a literal ARN of another partition is BAD_INPUT.
 *
 * The statements follow the EC2 User Guide's example policies ("Example policies to control access the Amazon EC2
 * API", section "Work with instance metadata",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ExamplePolicies_EC2.html#iam-example-instance-metadata):
 * "Require the use of IMDSv2" (RunInstances, `StringNotEquals` on `ec2:MetadataHttpTokens`) and "Deny opt-out of
 * IMDSv2" (ModifyInstanceMetadataOptions, `StringNotEquals` on `ec2:Attribute/HttpTokens` with the guard
 * `"Null": {"ec2:Attribute/HttpTokens": false}`), each on `arn:<partition>:ec2:*:*:instance/*`. The Null guard makes
 * the deny apply only to requests that set HttpTokens: without it a request that omits HttpTokens (raising the hop
 * limit, turning on instance tags) is denied too, because a negated operator is true when its key is absent (IAM User
 * Guide, "Condition operators"). How `ec2:MetadataHttpTokens` is evaluated for a RunInstances that carries no
 * MetadataOptions (settings from a launch template or the account default) is not documented: see docs/planning.md.
 */
export function generateScp(policy: Policy, partition: string): Record<string, unknown> {
  const lock = policy.lockIn;
  const instances = `arn:${partition}:ec2:*:*:instance/*`;
  const admin = arnPatternFor(lock.scpAdminPrincipalArn, partition, 'lockIn.scpAdminPrincipalArn');
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'RequireImdsV2OnLaunch',
      Effect: 'Deny',
      Action: 'ec2:RunInstances',
      Resource: instances,
      Condition: { StringNotEquals: { 'ec2:MetadataHttpTokens': 'required' } },
    },
    {
      Sid: 'DenyReenablingImdsV1',
      Effect: 'Deny',
      Action: 'ec2:ModifyInstanceMetadataOptions',
      Resource: instances,
      Condition: {
        StringNotEquals: { 'ec2:Attribute/HttpTokens': 'required' },
        Null: { 'ec2:Attribute/HttpTokens': false },
        ArnNotLike: { 'aws:PrincipalARN': admin },
      },
    },
  ];
  if (lock.scpMaxHopLimit !== undefined) {
    statements.push({
      Sid: 'LimitHopLimitOnLaunch',
      Effect: 'Deny',
      Action: 'ec2:RunInstances',
      Resource: instances,
      Condition: { NumericGreaterThan: { 'ec2:MetadataHttpPutResponseHopLimit': String(lock.scpMaxHopLimit) } },
    });
  }
  if (lock.scpDenyImdsV1Credentials) {
    statements.push({
      Sid: 'DenyCredentialsFromImdsV1',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { NumericLessThan: { 'ec2:RoleDelivery': '2.0' } },
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
