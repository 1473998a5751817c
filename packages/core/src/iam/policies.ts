import { generateScp } from '../planner/lock-in.js';
import type { Policy } from '../schemas/policy.js';
import { CutoverError } from '../errors.js';
import { assertKnownPartition, withPartition } from '../regions/arn.js';

/** The phases `imdsv2 policy --for` knows. `scp` is the lock-in service control policy, not an identity policy. */
export const IAM_PHASES = ['assess', 'enforce', 'lockin', 'scp'] as const;
export type IamPhase = (typeof IAM_PHASES)[number];

/**
 * One statement of an identity policy, as data: the actions, the resources they can be scoped to, why the tool needs
 * them, and which commands send them. `multiAccount` statements exist only when the tool reaches other accounts through
 * a role (`--role-name`).
 */
export interface IamStatementSpec {
  sid: string;
  actions: readonly string[];
  /**
   * Resource ARNs; `{partition}` is replaced by the partition (`aws`, `aws-cn`, `aws-us-gov`) and `{role}` by the role
   * name. `*` where the actions support no resource-level scoping.
   */
  resources: readonly string[];
  why: string;
  multiAccount?: boolean;
  /** Only with `--probe-output-s3`: `{s3}` in resources is replaced by the bucket and prefix. */
  probeOutputS3?: boolean;
  /** An IAM condition block that narrows the statement. */
  condition?: Record<string, Record<string, string | string[]>>;
  /**
   * Actions AWS authorizes while serving another call of the tool, never sent themselves (tag-on-create's
   * ec2:CreateTags, iam:PassRole for a template's instance profile): in the policy, not among the calls `iamActions`
   * lists and the IAM test compares with the command log.
   */
  implied?: boolean;
}

const ROLE_ARN = 'arn:{partition}:iam::*:role/{role}';

/** Calls that reach other accounts: the role to assume and, for `--org`, the account list. */
const assumeRole: IamStatementSpec = {
  sid: 'AssumeTheCutoverRoleInEachAccount',
  actions: ['sts:AssumeRole'],
  resources: [ROLE_ARN],
  why: 'Reach the other accounts of --accounts, --org or a multi-account plan through --role-name.',
  multiAccount: true,
};

/** assess always asks; enforce, rollback and status ask only to tell their own account from those reached by role. */
const identity: IamStatementSpec = {
  sid: 'WhoAmI',
  actions: ['sts:GetCallerIdentity'],
  resources: ['*'],
  why: 'Learn the account of the credentials (and the service clock). IAM cannot deny it; listed for completeness.',
};

/**
 * The IAM actions each phase sends, as data. A test (test/e2e/iam-policy.test.ts) runs every phase against the simulator
 * with every path exercised and asserts that the command log equals these actions exactly.
 */
export const IAM_STATEMENTS: Record<Exclude<IamPhase, 'scp'>, readonly IamStatementSpec[]> = {
  assess: [
    identity,
    {
      sid: 'ListOrganizationAccounts',
      actions: ['organizations:ListAccounts'],
      resources: ['*'],
      why: 'assess --org: every active account of the organization (management or delegated administrator account).',
      multiAccount: true,
    },
    assumeRole,
    {
      sid: 'DiscoverInstancesAndLaunchConfiguration',
      actions: [
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeLaunchConfigurations',
        'ec2:DescribeImages',
        'ec2:DescribeInstances',
        'ec2:DescribeLaunchTemplateVersions',
        'ec2:DescribeLaunchTemplates',
        'ec2:DescribeRegions',
        'ec2:GetInstanceMetadataDefaults',
      ],
      resources: ['*'],
      why: 'Instances with their metadata options, the ASGs, launch configurations and launch templates that launch them, the AMIs’ IMDS support and owners, the account defaults per region, and (--all-regions) the enabled regions. Describe/Get calls support no resource-level scoping.',
    },
    {
      sid: 'ProbeThroughRunCommand',
      actions: ['ssm:SendCommand'],
      resources: [
        'arn:{partition}:ssm:*::document/AWS-RunShellScript',
        'arn:{partition}:ssm:*::document/AWS-RunPowerShellScript',
        'arn:{partition}:ec2:*:*:instance/*',
      ],
      why: 'assess --probe (default suspects): run the on-host probe, only through the two AWS-owned shell documents. Narrow the instance ARN with an aws:ResourceTag condition if only tagged instances may be probed; drop this and the next statement with --probe none.',
    },
    {
      sid: 'CollectProbeResults',
      actions: ['ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation', 'ssm:ListCommandInvocations'],
      resources: ['*'],
      why: 'Which instances SSM manages, and the probe output (ListCommandInvocations 50 a page; GetCommandInvocation only for outputs cut at 2,500 characters). These actions support no resource-level scoping.',
    },
    {
      sid: 'ReadProbeOutputFromS3',
      actions: ['s3:GetObject'],
      resources: ['arn:{partition}:s3:::{s3}/*'],
      why: 'assess --probe-output-s3: read the full probe output that Run Command wrote under that prefix.',
      probeOutputS3: true,
    },
    {
      sid: 'MeasureImdsV1Calls',
      actions: ['cloudwatch:GetMetricData'],
      resources: ['*'],
      why: 'MetadataNoToken per instance over the lookback window, 500 series a call. GetMetricData supports no resource-level scoping.',
    },
  ],
  enforce: [
    { ...identity, multiAccount: true },
    assumeRole,
    {
      sid: 'ReadInstanceState',
      actions: ['ec2:DescribeInstances'],
      resources: ['*'],
      why: 'Drift check before a wave, waiting for `applied`, and `imdsv2 status --live`.',
    },
    {
      sid: 'ChangeInstanceMetadataOptions',
      actions: ['ec2:ModifyInstanceMetadataOptions'],
      resources: ['arn:{partition}:ec2:*:*:instance/*'],
      why: 'Set HttpTokens=required (and the hop limit) on the plan’s instances, the DryRun preflight, and the rollback to the journaled previous settings.',
    },
    {
      sid: 'GuardWatchesRejectedCalls',
      actions: ['cloudwatch:GetMetricData'],
      resources: ['*'],
      why: 'The guard polls MetadataNoTokenRejected on the wave’s instances during the soak.',
    },
    {
      sid: 'RollbackPastHttpTokensEnforced',
      actions: ['ec2:GetInstanceMetadataDefaults', 'ec2:ModifyInstanceMetadataDefaults'],
      resources: ['*'],
      why: 'Read whether HttpTokensEnforced would refuse a rollback to tokens optional; with --lift-http-tokens-enforced, lift it for the rollback and enable it again (an account setting: no resource to scope to). Drop ModifyInstanceMetadataDefaults if you never pass that flag.',
    },
  ],
  lockin: [
    { ...identity, multiAccount: true },
    assumeRole,
    {
      sid: 'ReadLockInResources',
      actions: [
        'ec2:DescribeImages',
        'ec2:DescribeLaunchTemplateVersions',
        'ec2:DescribeLaunchTemplates',
        'ec2:GetInstanceMetadataDefaults',
      ],
      resources: ['*'],
      why: 'Record the previous default version, account defaults and AMI IMDS support in the journal before changing them.',
    },
    {
      sid: 'ReadLaunchSources',
      actions: [
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeLaunchConfigurations',
        'ec2:DescribeInstances',
      ],
      resources: ['*'],
      why: 'A group’s launch source before and after moving it off its launch configuration, the configuration the new template is made from, and (--prove-launch) the canary’s state and metadata options. Describe calls support no resource-level scoping.',
    },
    {
      sid: 'LaunchConfigurationsToTemplates',
      actions: ['autoscaling:UpdateAutoScalingGroup', 'ec2:CreateLaunchTemplate'],
      resources: [
        'arn:{partition}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*',
        'arn:{partition}:ec2:*:*:launch-template/*',
      ],
      why: 'A launch template made from a group’s launch configuration with HttpTokens=required, the group moved to it, and moved back on rollback.',
    },
    {
      sid: 'ProveLaunches',
      actions: ['ec2:RunInstances'],
      resources: ['*'],
      why: '--prove-launch: one canary from each changed template. Amazon EC2 Auto Scaling also checks it when a group is moved to a launch template (Auto Scaling UG, "Control Amazon EC2 launch template usage in Auto Scaling groups"). A launch touches the instance, its image, volumes, network interfaces, subnet, security groups and the template: narrow with conditions if needed.',
    },
    {
      sid: 'TerminateCanaries',
      actions: ['ec2:TerminateInstances'],
      resources: ['arn:{partition}:ec2:*:*:instance/*'],
      condition: { StringLike: { 'aws:ResourceTag/imdsv2-cutover:canary': 'imdsv2-canary-*' } },
      why: '--prove-launch and rollback: terminate the canaries lock-in launched, and only them (they carry the imdsv2-cutover:canary tag).',
    },
    {
      sid: 'TagOnCreate',
      actions: ['ec2:CreateTags'],
      resources: ['arn:{partition}:ec2:*:*:launch-template/*', 'arn:{partition}:ec2:*:*:instance/*'],
      condition: { StringEquals: { 'ec2:CreateAction': ['CreateLaunchTemplate', 'RunInstances'] } },
      why: 'Authorized by EC2 when a resource is tagged as it is created: the template made from a launch configuration and the canaries carry the tags lock-in finds them by. Never sent as a call.',
      implied: true,
    },
    {
      sid: 'PassTemplateInstanceProfileRole',
      actions: ['iam:PassRole'],
      resources: ['arn:{partition}:iam::*:role/*'],
      condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      why: 'Authorized when a canary is launched from, or a group moved to, a template that names an instance profile: narrow the resource to the roles of your templates. Never sent as a call.',
      implied: true,
    },
    {
      sid: 'LaunchTemplatesRequireTokens',
      actions: ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate'],
      resources: ['arn:{partition}:ec2:*:*:launch-template/*'],
      why: 'A new launch template version with HttpTokens=required made the default (and the old default restored on rollback).',
    },
    {
      sid: 'AccountDefaultsRequireTokens',
      actions: ['ec2:ModifyInstanceMetadataDefaults'],
      resources: ['*'],
      why: 'Account-level IMDS defaults per region (an account setting: no resource to scope to).',
    },
    {
      sid: 'AmiImdsSupport',
      actions: ['ec2:ModifyImageAttribute'],
      resources: ['arn:{partition}:ec2:*::image/*'],
      why: 'ImdsSupport=v2.0 on AMIs in use, only with policy lockIn.amiImdsSupport and --confirm-irreversible. Drop this statement if you never set it.',
    },
  ],
};

export interface IamPolicyOptions {
  /**
   * The partition the ARNs are written in (`aws`, `aws-cn`, `aws-us-gov`): that of the accounts the tool runs in.
   * Default `aws`. An unknown partition is BAD_USAGE.
   */
  partition?: string;
  /** The role assumed in other accounts; without it the policy is for one account (no AssumeRole, no ListAccounts). */
  roleName?: string;
  /** assess --probe-output-s3 s3://bucket/prefix: adds s3:GetObject on that prefix. */
  probeOutputS3?: { bucket: string; prefix: string };
}

/** An IAM policy document. */
export interface IamPolicyDocument {
  Version: '2012-10-17';
  Statement: {
    Sid: string;
    Effect: 'Allow' | 'Deny';
    Action: string | string[];
    Resource: string | string[];
    Condition?: unknown;
  }[];
}

/** The partition of these options (default `aws`), checked against the known ones. */
function partitionOf(opts: IamPolicyOptions): string {
  const partition = opts.partition ?? 'aws';
  assertKnownPartition(partition, '--partition');
  return partition;
}

/** The statements of a phase for these options, with `{partition}`, `{role}` and `{s3}` filled in. */
export function iamStatements(phase: Exclude<IamPhase, 'scp'>, opts: IamPolicyOptions = {}): IamStatementSpec[] {
  const partition = partitionOf(opts);
  const role = opts.roleName;
  if (role !== undefined && !/^[\w+=,.@/-]{1,64}$/.test(role)) {
    throw new CutoverError('BAD_USAGE', `--role-name "${role}" is not a valid IAM role name`, {
      suggestions: ['Role names are 1-64 characters of letters, digits and + = , . @ _ - (a path may use /).'],
    });
  }
  const s3 = opts.probeOutputS3 ? [opts.probeOutputS3.bucket, opts.probeOutputS3.prefix].filter(Boolean).join('/') : '';
  return IAM_STATEMENTS[phase]
    .filter((s) => (!s.multiAccount || role !== undefined) && (!s.probeOutputS3 || s3 !== ''))
    .map((s) => ({
      ...s,
      resources: s.resources.map((r) =>
        withPartition(r, partition)
          .replace('{role}', role ?? '')
          .replace('{s3}', s3),
      ),
    }));
}

/**
 * The IAM actions a phase sends (sorted): what `iamPolicy` allows, less the actions AWS authorizes during another call
 * (`implied`).
 */
export function iamActions(phase: Exclude<IamPhase, 'scp'>, opts: IamPolicyOptions = {}): string[] {
  return [...new Set(iamStatements(phase, opts).flatMap((s) => (s.implied ? [] : s.actions)))].sort();
}

/**
 * The least-privilege identity policy for a phase, or for `scp` the service control policy that keeps IMDSv1 from coming
 * back (the planner's `generateScp` for the given rollout policy), with every ARN in `opts.partition`.
 */
export function iamPolicy(phase: IamPhase, opts: IamPolicyOptions & { policy: Policy }): IamPolicyDocument {
  if (phase === 'scp') return generateScp(opts.policy, partitionOf(opts)) as unknown as IamPolicyDocument;
  const statements = iamStatements(phase, opts);
  return {
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      Sid: s.sid,
      Effect: 'Allow' as const,
      Action: [...s.actions].sort(),
      Resource: s.resources.length === 1 ? s.resources[0]! : [...s.resources],
      ...(s.condition ? { Condition: s.condition } : {}),
    })),
  };
}

/**
 * The phases (`assess`, `enforce`, `lockin`) whose policy grants an IAM action such as `ec2:DescribeInstances`, in
 * that order: what an ACCESS_DENIED message points the user to (`imdsv2 policy --for PHASE`).
 */
export function iamPhasesOf(action: string): Exclude<IamPhase, 'scp'>[] {
  return (Object.keys(IAM_STATEMENTS) as Exclude<IamPhase, 'scp'>[]).filter((phase) =>
    IAM_STATEMENTS[phase].some((s) => s.actions.includes(action)),
  );
}
