import { launchesImdsV1 } from '../effective-settings.js';
import { sha256Hex } from '../hash.js';
import type { Assessment, AutoScalingGroup, LaunchTemplate, LaunchTemplateRef } from '../schemas/assessment.js';
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
 * template that still launches IMDSv1 (a group's, a mixed instances override's, or none's), a launch template for every
 * group still on a launch configuration, the account defaults per region, and (only when the policy opts in, because it
 * cannot be undone) the AMI flag on images the account owns. Each step records the previous values rollback restores.
 * What the tool cannot or should not do (pinned template versions, groups a CloudFormation stack or Elastic Beanstalk
 * manages, defaults managed by a declarative policy, images other accounts own) is listed as manual work.
 */
export function deriveLockIn(assessment: Assessment, policy: Policy): LockIn {
  const steps: LockInStep[] = [];
  const manual: ManualLockIn[] = [];
  if (policy.lockIn.launchTemplates) templateSteps(assessment, policy, steps, manual);
  if (policy.lockIn.accountDefaults) accountDefaultSteps(assessment, policy, steps, manual);
  if (policy.lockIn.amiImdsSupport) amiSteps(assessment, steps, manual);
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

/** Where a group names a launch template: its own (or its mixed policy's) or an override's, and the version. */
interface TemplateUse {
  asg: AutoScalingGroup;
  version: string;
  via: 'group' | 'override';
}

/** The launch templates each group names, keyed by account/region/template id. */
function templateUses(assessment: Assessment): Map<string, TemplateUse[]> {
  const uses = new Map<string, TemplateUse[]>();
  const add = (asg: AutoScalingGroup, ref: LaunchTemplateRef | undefined, via: TemplateUse['via']) => {
    if (!ref?.launchTemplateId) return;
    const key = `${where(asg)}/${ref.launchTemplateId}`;
    const list = uses.get(key) ?? [];
    if (!list.some((u) => u.asg === asg && u.version === (ref.version ?? '$Default')))
      list.push({ asg, version: ref.version ?? '$Default', via });
    uses.set(key, list);
  };
  for (const asg of assessment.autoScalingGroups) {
    add(asg, asg.launchTemplate, 'group');
    for (const o of asg.overrideLaunchTemplates ?? []) add(asg, o, 'override');
  }
  return uses;
}

const DAY_MS = 86_400_000;

/** Instances launched within the assessment's lookback: what was measured from boot on. */
function launchedInLookback(assessment: Assessment): Assessment['instances'] {
  const since = Date.parse(assessment.createdAt) - assessment.scope.lookbackDays * DAY_MS;
  return assessment.instances.filter((i) => Date.parse(i.launchTime) >= since);
}

const UNMEASURED = 'no instance launched from ';

function unmeasuredNote(what: string, days: number): string {
  return (
    `${UNMEASURED}${what} in the ${days}-day lookback was seen: IMDSv1 calls its launches make at boot ` +
    'were never measured. Prove the change with `imdsv2 enforce --wave lockin --prove-launch`, or watch the first ' +
    'launches after lock-in'
  );
}

function templateSteps(assessment: Assessment, policy: Policy, steps: LockInStep[], manual: ManualLockIn[]): void {
  const templates = new Map<string, LaunchTemplate>();
  for (const lt of assessment.launchTemplates) templates.set(`${where(lt)}/${lt.launchTemplateId}`, lt);
  const uses = templateUses(assessment);
  // Templates whose launches run containers: the new version gets the container hop limit.
  const containerTemplates = new Set<string>();
  const containerAsgs = new Set<string>();
  for (const i of assessment.instances) {
    if (!runsContainers(i)) continue;
    if (i.launchTemplate) containerTemplates.add(`${where(i)}/${i.launchTemplate.launchTemplateId}`);
    if (i.autoScalingGroup) containerAsgs.add(`${where(i)}/${i.autoScalingGroup}`);
  }
  const recent = launchedInLookback(assessment);
  const days = assessment.scope.lookbackDays;

  for (const [key, lt] of templates) {
    if (!lt.launchesImdsV1) continue;
    const used = (uses.get(key) ?? []).sort((a, b) => cmp(a.asg.name, b.asg.name) || cmp(a.version, b.version));
    const asgs = [...new Set(used.map((u) => u.asg))];
    const containers = containerTemplates.has(key) || asgs.some((a) => containerAsgs.has(`${where(a)}/${a.name}`));
    const currentHop = lt.effective.httpPutResponseHopLimit.value;
    const hop = targetHopLimit(currentHop, containers, policy);
    const notes: string[] = [];
    if (hop > currentHop)
      notes.push(`hop limit ${currentHop} -> ${hop}${containers ? ' (containers run on instances it launches)' : ''}`);
    // A new version is the template's latest, and (made) its default: groups on $Latest and $Default both launch it.
    // When the latest is not the default, it is copied from the version its groups launch today.
    const onLatest = used.filter((u) => u.version === '$Latest');
    const onDefault = used.filter((u) => u.version === '$Default');
    const diverged = lt.latestVersion !== lt.defaultVersion;
    const source = diverged && onLatest.length > 0 && onDefault.length === 0 ? lt.latestVersion : lt.defaultVersion;
    if (diverged) {
      notes.push(
        `the latest version (${lt.latestVersion}) is not the default (${lt.defaultVersion}); the new version is copied from ${source === lt.latestVersion ? `the latest, which its groups on $Latest launch` : 'the default'}`,
      );
    }
    const label = (u: TemplateUse) => `${u.asg.name} (${u.version}${u.via === 'override' ? ', override' : ''})`;
    const fixed = [...onLatest, ...onDefault].map(label);
    if (fixed.length > 0) notes.push(`fixed by the new version, which they launch from then on: ${fixed.join(', ')}`);
    if (diverged && source === lt.defaultVersion) {
      for (const u of onLatest) {
        manual.push({
          kind: 'asg-pinned-version',
          accountId: u.asg.accountId,
          region: u.asg.region,
          resourceId: u.asg.name,
          reason: `uses $Latest of launch template ${lt.launchTemplateId}${u.via === 'override' ? ' in a mixed instances override' : ''}, whose latest version ${lt.latestVersion} differs from the default ${lt.defaultVersion}: after lock-in it launches the new version, copied from the default. Check that is what the group should launch`,
        });
      }
    }
    const launchesSeen = recent.filter(
      (i) => where(i) === where(lt) && i.launchTemplate?.launchTemplateId === lt.launchTemplateId,
    ).length;
    if (launchesSeen === 0) notes.push(unmeasuredNote(`launch template ${lt.name}`, days));
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
      launchesSeen,
    });
  }

  for (const asg of assessment.autoScalingGroups) {
    if (!asg.launchesImdsV1) continue;
    if (asg.launchConfigurationName !== undefined) {
      launchConfigurationStep(assessment, asg, policy, containerAsgs, recent, steps, manual);
      continue;
    }
    // Each template the group launches from, with whether that version launches IMDSv1 (unresolved counts as yes).
    const refs: { ref: LaunchTemplateRef; via: TemplateUse['via']; v1: boolean }[] = [
      ...(asg.launchTemplate
        ? [{ ref: asg.launchTemplate, via: 'group' as const, v1: asg.effective ? launchesImdsV1(asg.effective) : true }]
        : []),
      ...(asg.overrideLaunchTemplates ?? []).map((o) => ({ ref: o, via: 'override' as const, v1: o.launchesImdsV1 })),
    ];
    for (const { ref, via, v1 } of refs) {
      if (!v1) continue;
      const lt = templates.get(`${where(asg)}/${ref.launchTemplateId}`);
      const version = ref.version ?? '$Default';
      const followsDefault = version === '$Default' || version === '$Latest';
      if (lt?.launchesImdsV1 && followsDefault) continue; // The template step fixes it.
      const where_ = via === 'override' ? ' in a mixed instances override' : '';
      manual.push({
        kind: 'asg-pinned-version',
        accountId: asg.accountId,
        region: asg.region,
        resourceId: asg.name,
        reason: followsDefault
          ? `launches IMDSv1 through launch template ${ref.launchTemplateId} (${version})${where_}, which the assessment did not flag: check the template`
          : `pins version ${version} of launch template ${ref.launchTemplateId}${where_}, so the new version does not reach it: manual work. After lock-in, point the group at $Default (or $Latest), or pin the new version`,
      });
    }
  }
}

/** Characters EC2 allows in a launch template name (3 to 128 of them). */
const TEMPLATE_NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;

/**
 * The name of the template a launch configuration becomes: the configuration's own name, as AWS's mapping has it
 * (Auto Scaling UG, "Migrate AWS CloudFormation stacks to launch templates", launch configuration mapping reference:
 * LaunchConfigurationName -> LaunchTemplateName), unless EC2 would refuse it or a template of the region has it; then
 * the name made safe, with a short hash of the original so two configurations never meet.
 */
export function launchTemplateNameFor(lcName: string, taken: ReadonlySet<string>): string {
  if (TEMPLATE_NAME.test(lcName) && !taken.has(lcName)) return lcName;
  const safe = lcName.replace(/[^a-zA-Z0-9().\-/_]/g, '-').slice(0, 100);
  return `${safe}-imdsv2-${sha256Hex(lcName).slice(0, 8)}`;
}

/**
 * A group on a launch configuration: a new launch template equivalent to the configuration with HttpTokens=required
 * (created by lock-in from the configuration as it is then), and the group moved to its $Default version. Groups
 * managed by CloudFormation or Elastic Beanstalk are manual work: their stack's next update would move them back.
 */
function launchConfigurationStep(
  assessment: Assessment,
  asg: AutoScalingGroup,
  policy: Policy,
  containerAsgs: ReadonlySet<string>,
  recent: Assessment['instances'],
  steps: LockInStep[],
  manual: ManualLockIn[],
): void {
  const lcName = asg.launchConfigurationName!;
  if (asg.managedBy) {
    const how =
      asg.managedBy.service === 'cloudformation'
        ? `CloudFormation stack ${asg.managedBy.name}: rewrite the launch configuration as a launch template with HttpTokens=required in the stack template (Auto Scaling UG, "Migrate AWS CloudFormation stacks to launch templates") and update the stack`
        : `Elastic Beanstalk environment ${asg.managedBy.name}: have Elastic Beanstalk replace the launch configuration with a launch template (with IMDSv1 disabled) through the environment's settings`;
    manual.push({
      kind: 'asg-launch-configuration',
      accountId: asg.accountId,
      region: asg.region,
      resourceId: asg.name,
      reason: `uses launch configuration ${lcName} and is managed by ${how}; a change made outside it would be undone by its next update`,
    });
    return;
  }
  // Groups that share a configuration share its template: the container hop limit if any of them runs containers.
  const sharing = assessment.autoScalingGroups.filter(
    (g) => where(g) === where(asg) && g.launchConfigurationName === lcName && !g.managedBy,
  );
  const containers = sharing.some((g) => containerAsgs.has(`${where(g)}/${g.name}`));
  const currentHop = asg.launchConfigurationOptions?.httpPutResponseHopLimit ?? 1;
  const hop = targetHopLimit(currentHop, containers, policy);
  const taken = new Set(assessment.launchTemplates.filter((t) => where(t) === where(asg)).map((t) => t.name));
  const templateName = launchTemplateNameFor(lcName, taken);
  const notes = [
    `the template is made from ${lcName} as it is when lock-in runs, member by member as AWS maps a launch configuration to a launch template; the configuration itself is not changed`,
    'instances running now keep their configuration; the group launches from the template from then on',
  ];
  if (hop > currentHop)
    notes.push(`hop limit ${currentHop} -> ${hop}${containers ? ' (containers run on instances it launches)' : ''}`);
  if (!asg.launchConfigurationOptions) notes.push(`the options of ${lcName} were not read: assess again to see them`);
  if (sharing.length > 1)
    notes.push(
      `shares ${lcName} and its template with ${sharing
        .filter((g) => g !== asg)
        .map((g) => g.name)
        .join(', ')}`,
    );
  const launchesSeen = recent.filter(
    (i) => where(i) === where(asg) && i.autoScalingGroup === asg.name && !i.launchTemplate,
  ).length;
  if (launchesSeen === 0)
    notes.push(unmeasuredNote(`launch configuration ${lcName} by ${asg.name}`, assessment.scope.lookbackDays));
  steps.push({
    id: `launch-configuration:${asg.accountId}:${asg.region}:${asg.name}`,
    kind: 'launch-configuration-migration',
    accountId: asg.accountId,
    region: asg.region,
    resourceId: asg.name,
    description: `Move Auto Scaling group ${asg.name} from launch configuration ${lcName} to launch template ${templateName}, made from it with HttpTokens=required`,
    previous: { launchConfigurationName: lcName },
    target: {
      launchTemplateName: templateName,
      launchTemplateVersion: '$Default',
      httpTokens: 'required',
      httpPutResponseHopLimit: hop,
      httpEndpoint: 'enabled',
    },
    irreversible: false,
    affects: [asg.name],
    notes,
    launchesSeen,
  });
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

/**
 * The AMI flag, only on images the step's account owns (DescribeImages `OwnerId`): AWS documents no way for another
 * account to change an image's attributes, and refuses such calls with AuthFailure ("trying to use an AMI for which
 * you do not have permissions", EC2 API reference, Error codes; docs/simulator-fidelity.md). An image another account
 * owns, shared or public, is manual work that names the owner and what to ask for: the owner sets ImdsSupport=v2.0
 * (ModifyImageAttribute), or the account copies the image (CopyImage, which needs access to its snapshots) and sets it
 * on the copy.
 */
function amiSteps(assessment: Assessment, steps: LockInStep[], manual: ManualLockIn[]): void {
  for (const img of assessment.images) {
    if (img.imdsSupport === 'v2.0') continue;
    const base = { accountId: img.accountId, region: img.region, resourceId: img.imageId };
    const named = `${img.imageId}${img.name ? ` (${img.name})` : ''}`;
    if (img.ownerId === undefined) {
      manual.push({
        kind: 'ami-owner-unknown',
        ...base,
        reason: `${named}: the assessment does not say which account owns it (made by an older release), and only the owner can set ImdsSupport=v2.0: assess again and plan again`,
      });
      continue;
    }
    if (img.ownerId !== img.accountId) {
      const alias = img.ownerAlias;
      const owner = `account ${img.ownerId}${alias ? ` (${alias})` : ''}`;
      const copy =
        alias === 'aws-marketplace'
          ? 'or, if the seller allows copies, copy the image into this account (CopyImage), set ImdsSupport=v2.0 on the copy and launch from it'
          : 'or copy the image into this account (CopyImage), set ImdsSupport=v2.0 on the copy and launch from it';
      manual.push({
        kind: 'ami-not-owned',
        ...base,
        owner: { accountId: img.ownerId, ...(alias ? { alias } : {}) },
        reason: `${named} is owned by ${owner}${img.public ? ', public' : ', shared with this account'}: only its owner can set ImdsSupport=v2.0. Ask ${alias === 'amazon' ? 'for (or move to) a release of the image that has ImdsSupport=v2.0' : `${owner} to set it (aws ec2 modify-image-attribute --image-id ${img.imageId} --imds-support v2.0)`}, ${copy}`,
      });
      continue;
    }
    steps.push({
      id: `ami:${img.accountId}:${img.region}:${img.imageId}`,
      kind: 'ami-imds-support',
      accountId: img.accountId,
      region: img.region,
      resourceId: img.imageId,
      description: `Set ImdsSupport=v2.0 on ${named}: instances launched from it get HttpTokens=required and hop limit 2`,
      previous: { imdsSupport: null },
      target: { imdsSupport: 'v2.0' },
      irreversible: true,
      affects: [],
      notes: [
        'IRREVERSIBLE: ImdsSupport cannot be removed from an AMI once set',
        `owned by this account (${img.ownerId})`,
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

/**
 * The warning a lock-in step carries when the assessment saw no launch from what it changes within its lookback
 * (`launchesSeen` 0): the step's note that says so. Undefined when launches were seen, or the plan predates the count.
 */
export function unmeasuredLaunchWarning(step: Pick<LockInStep, 'launchesSeen' | 'notes'>): string | undefined {
  if (step.launchesSeen !== 0) return undefined;
  return step.notes.find((n) => n.startsWith(UNMEASURED)) ?? 'no launch from it was seen in the lookback';
}
