import { z } from 'zod';
import {
  AccountId,
  EnabledDisabled,
  HopLimit,
  HttpEndpoint,
  HttpTokens,
  InstanceId,
  IsoDate,
  IsoDateTime,
  MetadataOptions,
  Partition,
  Region,
  Tags,
  ToolInfo,
  schemaHeader,
} from './common.js';
import { ProbeReport } from './probe-report.js';
import type { DocumentKind } from './validate.js';

/** The design's readiness vocabulary (section 5). */
export const ReadinessStatus = z.enum(['enforced', 'ready', 'blocked', 'unknown', 'imds-disabled', 'excluded']);
export type ReadinessStatus = z.infer<typeof ReadinessStatus>;

/** One piece of evidence behind a readiness status. */
export const Reason = z
  .object({
    /** Stable machine code, e.g. `imdsv1-calls-seen`, `v1-caller-found`, `outdated-sdk`, `no-metric-data`. */
    code: z.string(),
    /** blocker: keeps the instance out of waves; risk: worth a look; info: context. */
    severity: z.enum(['blocker', 'risk', 'info']),
    message: z.string(),
    /** What fixes it, e.g. "upgrade botocore to 1.13.25 or later". */
    remediation: z.string().optional(),
  })
  .strict();
export type Reason = z.infer<typeof Reason>;

export const Readiness = z.object({ status: ReadinessStatus, reasons: z.array(Reason) }).strict();
export type Readiness = z.infer<typeof Readiness>;

/**
 * What CloudWatch said about one metric of one instance. `observed` with `total: 0` means datapoints were found and
 * they sum to zero; `unknown` means there was nothing to look at, and is never read as zero.
 */
export const MetricEvidence = z
  .object({
    metric: z.enum(['MetadataNoToken', 'MetadataNoTokenRejected']),
    status: z.enum(['observed', 'unknown']),
    unknownReason: z
      .enum(['not-queried', 'no-datapoints', 'instance-stopped', 'launched-recently', 'query-failed', 'partial-data'])
      .optional(),
    /** Sum over the window; null when unknown. */
    total: z.number().nonnegative().nullable(),
    /** Time of the last period with a non-zero sum. */
    lastNonZeroAt: IsoDateTime.nullable(),
    /** Distinct UTC days that had at least one datapoint (for the daily series; readiness uses `observedSeconds`). */
    daysWithData: z.number().int().nonnegative(),
    /**
     * The time the datapoints cover, in seconds: each datapoint's period, clipped to the instance's launch and the
     * assessment's time. What `--min-observation` is compared with (absent in assessments of older releases).
     */
    observedSeconds: z.number().nonnegative().optional(),
    windowStart: IsoDateTime,
    windowEnd: IsoDateTime,
    periodSeconds: z.number().int().positive(),
    /** Daily sums (UTC days with data only), oldest first, for sparklines. */
    daily: z.array(z.object({ date: IsoDate, sum: z.number().nonnegative() }).strict()),
  })
  .strict()
  .refine((m) => (m.status === 'unknown') === (m.total === null), {
    message: 'total must be null exactly when status is unknown',
    path: ['total'],
  });
export type MetricEvidence = z.infer<typeof MetricEvidence>;

export const ProbeOutcome = z.enum([
  'ok',
  'not-probed',
  'not-managed',
  'offline',
  'undeliverable',
  'timed-out',
  'failed',
  'truncated',
  'invalid',
]);
export type ProbeOutcome = z.infer<typeof ProbeOutcome>;

export const ProbeResult = z
  .object({
    outcome: ProbeOutcome,
    commandId: z.string().optional(),
    at: IsoDateTime.optional(),
    /** Short explanation (an SSM status detail, an stderr excerpt). Untrusted. */
    detail: z.string().optional(),
    report: ProbeReport.optional(),
  })
  .strict();
export type ProbeResult = z.infer<typeof ProbeResult>;

export const SsmStatus = z
  .object({
    managed: z.boolean(),
    pingStatus: z.enum(['Online', 'ConnectionLost', 'Inactive']).optional(),
    platformType: z.enum(['Windows', 'Linux', 'MacOS']).optional(),
    agentVersion: z.string().optional(),
    lastPingAt: IsoDateTime.optional(),
  })
  .strict();
export type SsmStatus = z.infer<typeof SsmStatus>;

export const InstanceState = z.enum(['pending', 'running', 'stopping', 'stopped', 'shutting-down']);

export const LaunchTemplateRef = z
  .object({ launchTemplateId: z.string(), name: z.string().optional(), version: z.string().optional() })
  .strict();
export type LaunchTemplateRef = z.infer<typeof LaunchTemplateRef>;

export const Instance = z
  .object({
    instanceId: InstanceId,
    accountId: AccountId,
    region: Region,
    availabilityZone: z.string().optional(),
    /** The Name tag, if any. Untrusted. */
    name: z.string().optional(),
    tags: Tags,
    state: InstanceState,
    launchTime: IsoDateTime,
    platform: z.enum(['linux', 'windows']),
    platformDetails: z.string().optional(),
    instanceType: z.string().optional(),
    imageId: z.string().optional(),
    metadataOptions: MetadataOptions,
    autoScalingGroup: z.string().optional(),
    launchTemplate: LaunchTemplateRef.optional(),
    /** null when SSM status was not looked up. */
    ssm: SsmStatus.nullable(),
    metrics: z
      .object({
        noToken: MetricEvidence,
        /** Queried for instances already enforced: IMDSv1 calls failing right now. */
        noTokenRejected: MetricEvidence.optional(),
      })
      .strict(),
    probe: ProbeResult,
    /** Containers run here, so the hop limit matters: from EC2's tags and image, or the probe. null when unknown. */
    containerHost: z.boolean().nullable(),
    /** Which signal said the instance runs containers (core `containerEvidenceFromEc2`, or the probe). Untrusted. */
    containerHostSignal: z
      .object({ signal: z.enum(['probe', 'eks-tag', 'ecs-tag', 'ami-family', 'asg-tag']), detail: z.string() })
      .strict()
      .optional(),
    readiness: Readiness,
  })
  .strict();
export type Instance = z.infer<typeof Instance>;

/** A value with where it came from, for effective-settings resolution (launch template > account default > AMI). */
function sourced<T extends z.ZodType>(value: T) {
  return z.object({ value, source: z.enum(['launch-template', 'account-default', 'ami', 'aws-default']) }).strict();
}

/** The metadata settings a newly launched instance would get, per option, with the source of each. */
export const EffectiveLaunchSettings = z
  .object({
    httpTokens: sourced(HttpTokens),
    httpPutResponseHopLimit: sourced(HopLimit),
    httpEndpoint: sourced(HttpEndpoint),
  })
  .strict();
export type EffectiveLaunchSettings = z.infer<typeof EffectiveLaunchSettings>;

/** Metadata options as a launch template version states them (any may be absent). */
export const TemplateMetadataOptions = z
  .object({
    httpTokens: HttpTokens.optional(),
    httpPutResponseHopLimit: HopLimit.optional(),
    httpEndpoint: HttpEndpoint.optional(),
    httpProtocolIpv6: EnabledDisabled.optional(),
    instanceMetadataTags: EnabledDisabled.optional(),
  })
  .strict();
export type TemplateMetadataOptions = z.infer<typeof TemplateMetadataOptions>;

export const LaunchTemplate = z
  .object({
    accountId: AccountId,
    region: Region,
    launchTemplateId: z.string(),
    name: z.string(),
    defaultVersion: z.number().int().positive(),
    latestVersion: z.number().int().positive(),
    defaultVersionOptions: TemplateMetadataOptions,
    latestVersionOptions: TemplateMetadataOptions,
    defaultVersionImageId: z.string().optional(),
    /** What an instance launched from the default version gets. */
    effective: EffectiveLaunchSettings,
    launchesImdsV1: z.boolean(),
  })
  .strict();
export type LaunchTemplate = z.infer<typeof LaunchTemplate>;

export const AutoScalingGroup = z
  .object({
    accountId: AccountId,
    region: Region,
    name: z.string(),
    launchTemplate: LaunchTemplateRef.optional(),
    /** Set when the group still uses a launch configuration (cannot be fixed in place; migrate to a template). */
    launchConfigurationName: z.string().optional(),
    /**
     * The launch configuration's MetadataOptions (DescribeLaunchConfigurations: HttpTokens, HttpPutResponseHopLimit,
     * HttpEndpoint; each absent when the configuration leaves it unset). Absent when not read (assessments of older
     * releases, or the call failed).
     */
    launchConfigurationOptions: TemplateMetadataOptions.optional(),
    /**
     * Present exactly when the group launches through a mixed instances policy: the launch template of every override
     * that names its own (`MixedInstancesPolicy.LaunchTemplate.Overrides[].LaunchTemplateSpecification`), in the
     * policy's order; `launchTemplate` is the policy's own. Empty when no override names one.
     */
    overrideLaunchTemplates: z
      .array(
        z
          .object({
            launchTemplateId: z.string(),
            name: z.string().optional(),
            version: z.string().optional(),
            /** What the override's template version launches: tokens optional (or not resolved). */
            launchesImdsV1: z.boolean(),
          })
          .strict(),
      )
      .optional(),
    /**
     * The stack or environment that manages the group, from its AWS tags (`aws:cloudformation:stack-name`,
     * `elasticbeanstalk:environment-name`): a change made outside it is undone by its next update. Untrusted.
     */
    managedBy: z
      .object({ service: z.enum(['cloudformation', 'elasticbeanstalk']), name: z.string() })
      .strict()
      .optional(),
    desiredCapacity: z.number().int().nonnegative(),
    instanceIds: z.array(InstanceId),
    /** null when the group uses a launch configuration (not resolved). */
    effective: EffectiveLaunchSettings.nullable(),
    launchesImdsV1: z.boolean(),
  })
  .strict();
export type AutoScalingGroup = z.infer<typeof AutoScalingGroup>;

export const Image = z
  .object({
    accountId: AccountId,
    region: Region,
    imageId: z.string(),
    name: z.string().optional(),
    /** `v2.0` when the AMI launches with tokens required. null when not set or the image was not readable. */
    imdsSupport: z.literal('v2.0').nullable(),
    /**
     * The account that owns the image (DescribeImages `OwnerId`): only the owner can set ImdsSupport. Absent in
     * assessments of older releases.
     */
    ownerId: z.string().optional(),
    /** `ImageOwnerAlias` (`amazon`, `aws-marketplace`, `aws-backup-vault`), when AWS gives one. Untrusted. */
    ownerAlias: z.string().optional(),
    /** `Public`: launch permissions are public. */
    public: z.boolean().optional(),
  })
  .strict();
export type Image = z.infer<typeof Image>;

export const AccountDefaults = z
  .object({
    httpTokens: z.enum(['optional', 'required', 'no-preference']).nullable(),
    httpPutResponseHopLimit: z.number().int().min(-1).max(64).nullable(),
    httpEndpoint: z.enum(['enabled', 'disabled', 'no-preference']).nullable(),
    instanceMetadataTags: z.enum(['enabled', 'disabled', 'no-preference']).nullable(),
    httpTokensEnforced: z.enum(['enabled', 'disabled', 'no-preference']).nullable(),
    managedBy: z.enum(['account', 'declarative-policy']).nullable(),
    managedExceptionMessage: z.string().optional(),
  })
  .strict();
export type AccountDefaults = z.infer<typeof AccountDefaults>;

/** One account and region of the scope, and whether it was assessed completely. */
export const RegionResult = z
  .object({
    accountId: AccountId,
    region: Region,
    status: z.enum(['ok', 'failed', 'partial']),
    error: z.object({ code: z.string(), message: z.string() }).strict().optional(),
    accountDefaults: AccountDefaults.nullable(),
  })
  .strict();
export type RegionResult = z.infer<typeof RegionResult>;

export const AccountResult = z
  .object({
    accountId: AccountId,
    name: z.string().optional(),
    /**
     * The account's partition, from the answer that reached it: GetCallerIdentity for the credentials' own account,
     * AssumeRole (the assumed-role ARN) for the others. Absent when the account could not be reached.
     */
    partition: Partition.optional(),
    status: z.enum(['ok', 'failed']),
    error: z.object({ code: z.string(), message: z.string() }).strict().optional(),
  })
  .strict();
export type AccountResult = z.infer<typeof AccountResult>;

export const Assessment = z
  .object({
    schema: schemaHeader('imdsv2-cutover/assessment', 1),
    /** Unique id of this run. */
    id: z.string().min(1),
    createdAt: IsoDateTime,
    tool: ToolInfo,
    scope: z
      .object({
        accounts: z.array(AccountId),
        regions: z.array(Region),
        /**
         * The partition of every account assessed (`aws`, `aws-cn`, `aws-us-gov`), from the caller's identity
         * (GetCallerIdentity `Arn`). ARNs the plan writes (the SCP) use it. Absent in files of earlier versions: the
         * partition of their regions is used then.
         */
        partition: Partition.optional(),
        organization: z.boolean(),
        lookbackDays: z.number().positive(),
        minObservationDays: z.number().nonnegative(),
        probe: z.enum(['suspects', 'all', 'none', 'list']),
        endpointUrl: z.string().optional(),
        /** Set when the assessment was taken against the bundled fleet simulator (`imdsv2 demo`): its scenario. */
        simulator: z
          .object({ scenario: z.string().min(1) })
          .strict()
          .optional(),
      })
      .strict(),
    /** False when any account or region failed: the summary must say so loudly. */
    complete: z.boolean(),
    accounts: z.array(AccountResult),
    regions: z.array(RegionResult),
    instances: z.array(Instance),
    launchTemplates: z.array(LaunchTemplate),
    autoScalingGroups: z.array(AutoScalingGroup),
    images: z.array(Image),
  })
  .strict();
export type Assessment = z.infer<typeof Assessment>;

export const assessmentKind: DocumentKind<typeof Assessment> = {
  label: 'assessment',
  schemaName: 'imdsv2-cutover/assessment',
  version: 1,
  schema: Assessment,
  howToMake: 'Produce one with `imdsv2 assess` (or `imdsv2 demo`).',
};
