import { z } from 'zod';
import {
  AccountId,
  EnabledDisabled,
  HopLimit,
  HttpEndpoint,
  HttpTokens,
  InstanceId,
  IsoDateTime,
  Region,
  schemaHeader,
  Tags,
} from './common.js';
import { TemplateMetadataOptions } from './assessment.js';
import { InstalledPackage } from './probe-report.js';
import { partitionOfRegion } from '../regions/index.js';
import type { DocumentKind } from './validate.js';

/**
 * A simulated fleet for the fleet simulator (`imdsv2 simulate`): accounts, regions, launch templates, Auto Scaling
 * groups, AMIs and groups of instances with the processes that call IMDS on them. Instances are generated from the
 * groups deterministically (same seed, same fleet), so a 100,000-instance fleet is a few lines of YAML.
 */

/** A point in simulated time: an ISO date-time, or an offset from the scenario's `now` such as `-20d` or `+6h`. */
export const TimeRef = z.union([
  IsoDateTime,
  z.string().regex(/^[-+]\d+(s|m|h|d|w)$/, 'expected an ISO date-time or an offset from now such as -20d or +6h'),
]);
export type TimeRef = z.infer<typeof TimeRef>;

const HhMm = /^([01]\d|2[0-3]):[0-5]\d$/;

/**
 * When a caller calls IMDS (times are UTC). `continuous` spreads `callsPerHour` evenly; the others fire `callsPerRun`
 * calls at each run.
 */
export const CallerSchedule = z.union([
  z.literal('continuous'),
  z.object({ daily: z.string().regex(HhMm, 'expected HH:MM') }).strict(),
  z
    .object({
      weekly: z.string().regex(/^(sun|mon|tue|wed|thu|fri|sat) ([01]\d|2[0-3]):[0-5]\d$/i, 'expected e.g. "mon 03:00"'),
    })
    .strict(),
  z
    .object({
      monthly: z
        .string()
        .regex(/^(last|[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d$/, 'expected e.g. "last 23:30" or "1 02:00"'),
    })
    .strict(),
  z.object({ cron: z.string().regex(/^\S+ \S+ \S+ \S+ \S+$/, 'expected a 5-field cron expression') }).strict(),
]);
export type CallerSchedule = z.infer<typeof CallerSchedule>;

/** A process on the instances of a group that calls IMDS. */
export const ScenarioCaller = z
  .object({
    process: z
      .object({
        comm: z.string().min(1),
        exe: z.string().optional(),
        argv: z.string().optional(),
        user: z.string().default('root'),
        /** Runs inside a container (bridge networking: one more hop). */
        container: z.boolean().default(false),
      })
      .strict(),
    imds: z.enum(['v1', 'v2']),
    schedule: CallerSchedule.default('continuous'),
    /** For `continuous` callers. */
    callsPerHour: z.number().nonnegative().default(60),
    /** For scheduled callers: calls made at each run. */
    callsPerRun: z.number().int().positive().default(3),
    /** First call (default: the instance's launch). */
    since: TimeRef.optional(),
    /** Last possible call (default: never stops). */
    until: TimeRef.optional(),
    /** Share of the group's instances that run this caller (chosen by the seed). */
    share: z.number().gt(0).max(1).default(1),
  })
  .strict();
export type ScenarioCaller = z.infer<typeof ScenarioCaller>;

export const ScenarioPackage = z
  .object({
    ecosystem: InstalledPackage.shape.ecosystem,
    name: z.string().min(1),
    version: z.string().optional(),
    path: z.string().optional(),
  })
  .strict();
export type ScenarioPackage = z.infer<typeof ScenarioPackage>;

/** Launch parameters as a launch template states them: any option may be absent. */
const PartialMetadataOptions = TemplateMetadataOptions;

/** Account-level defaults for new launches in one region (GetInstanceMetadataDefaults). */
export const ScenarioAccountDefaults = z
  .object({
    httpTokens: HttpTokens.optional(),
    httpPutResponseHopLimit: HopLimit.optional(),
    httpEndpoint: HttpEndpoint.optional(),
    instanceMetadataTags: EnabledDisabled.optional(),
    httpTokensEnforced: EnabledDisabled.optional(),
    /** `declarative-policy`: the defaults are managed by an organization policy and cannot be changed in the account. */
    managedBy: z.enum(['account', 'declarative-policy']).default('account'),
    /** The custom message of the declarative policy (GetInstanceMetadataDefaults `ManagedExceptionMessage`). */
    managedExceptionMessage: z.string().optional(),
  })
  .strict();

export const ScenarioAccount = z
  .object({
    id: AccountId,
    name: z.string().min(1),
    email: z.string().optional(),
    /** Extra access keys that map to this account (keys of the form AKIA<account id>XXXX always do). */
    accessKeys: z.array(z.string().min(16)).default([]),
    /** Regions enabled in this account (default: the scenario's regions). */
    regions: z.array(Region).optional(),
    /** Account defaults per region. */
    defaults: z.record(Region, ScenarioAccountDefaults).default({}),
    /** Role names that STS AssumeRole refuses with AccessDenied. */
    deniedRoles: z.array(z.string()).default([]),
  })
  .strict();

/** A JSON value as AWS structures are written in scenario files: API member names, e.g. `{ Ebs: { VolumeSize: 8 } }`. */
export type AwsValue = string | number | boolean | AwsValue[] | { [member: string]: AwsValue };
export const AwsValue: z.ZodType<AwsValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.array(AwsValue), z.record(z.string(), AwsValue)]),
);
/** An AWS structure by API member name (PascalCase keys, as in the API reference and the SDKs' inputs). */
export const AwsStructure = z.record(
  z.string().regex(/^[A-Z]/, 'expected an API member name such as ImageId'),
  AwsValue,
);
export type AwsStructure = z.infer<typeof AwsStructure>;

export const ScenarioImage = z
  .object({
    id: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'expected an AMI id such as ami-0abc1234'),
    /** The account that can see the image (and launch from it) in `region`. */
    account: AccountId,
    region: Region,
    name: z.string(),
    platform: z.enum(['linux', 'windows']).default('linux'),
    imdsSupport: z.literal('v2.0').optional(),
    /** The image's OwnerId (default `account`): another account for an image shared with `account`. */
    owner: AccountId.optional(),
    /** A public image: every account of the scenario sees it in `region`. */
    public: z.boolean().default(false),
    /** DescribeImages ImageOwnerAlias, for images owned by AWS (`amazon`) or sold on AWS Marketplace. */
    ownerAlias: z.enum(['amazon', 'aws-marketplace', 'aws-backup-vault']).optional(),
  })
  .strict();

/**
 * A Systems Manager parameter that a launch template's `resolve:ssm:<name>` ImageId resolves to (e.g. the public
 * `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`). Without `account` every account of the
 * scenario sees it (a public parameter); without `regions`, in every scenario region.
 */
export const ScenarioSsmParameter = z
  .object({
    name: z.string().regex(/^\/?[A-Za-z0-9_.\-/]+$/, 'expected a parameter name such as /golden/ami'),
    value: z.string().min(1),
    account: AccountId.optional(),
    regions: z.array(Region).optional(),
  })
  .strict();

export const ScenarioLaunchTemplate = z
  .object({
    id: z
      .string()
      .regex(/^lt-[0-9a-f]{8,17}$/)
      .optional(),
    name: z.string().min(3),
    account: AccountId,
    region: Region,
    versions: z
      .array(
        z
          .object({
            imageId: z.string().optional(),
            instanceType: z.string().optional(),
            description: z.string().optional(),
            metadataOptions: PartialMetadataOptions.optional(),
            /**
             * Any other LaunchTemplateData members, by API member name (BlockDeviceMappings, KeyName, UserData,
             * TagSpecifications, ...). `imageId`, `instanceType` and `metadataOptions` above take precedence.
             */
            launchTemplateData: AwsStructure.optional(),
          })
          .strict(),
      )
      .min(1),
    defaultVersion: z.number().int().positive().default(1),
  })
  .strict();

/** A launch configuration (Auto Scaling's older, immutable launch parameters). */
export const ScenarioLaunchConfiguration = z
  .object({
    name: z.string().min(1),
    account: AccountId,
    region: Region,
    imageId: z.string(),
    instanceType: z.string().default('t3.medium'),
    /** Launch configurations know only these three options (Auto Scaling InstanceMetadataOptions). */
    metadataOptions: z
      .object({
        httpTokens: HttpTokens.optional(),
        httpPutResponseHopLimit: HopLimit.optional(),
        httpEndpoint: HttpEndpoint.optional(),
      })
      .strict()
      .optional(),
    /** Other LaunchConfiguration members by API member name (KeyName, SecurityGroups, UserData, BlockDeviceMappings, ...). */
    data: AwsStructure.optional(),
  })
  .strict();

const LaunchTemplateRef = z.object({ name: z.string(), version: z.string().default('$Default') }).strict();

/** A mixed instances policy: a launch template, overrides that may name other templates, and the distribution. */
export const ScenarioMixedInstancesPolicy = z
  .object({
    launchTemplate: LaunchTemplateRef,
    overrides: z
      .array(
        z
          .object({
            instanceType: z.string().optional(),
            weightedCapacity: z.string().optional(),
            launchTemplate: LaunchTemplateRef.optional(),
          })
          .strict(),
      )
      .default([]),
    /** InstancesDistribution by API member name (OnDemandAllocationStrategy, OnDemandBaseCapacity, ...). */
    instancesDistribution: AwsStructure.optional(),
  })
  .strict();

/** An Auto Scaling group. It launches from exactly one of a launch template, a launch configuration or a mixed policy. */
export const ScenarioAutoScalingGroup = z
  .object({
    name: z.string().min(1),
    account: AccountId,
    region: Region,
    launchTemplate: LaunchTemplateRef.optional(),
    launchConfiguration: z.string().optional(),
    mixedInstancesPolicy: ScenarioMixedInstancesPolicy.optional(),
    minSize: z.number().int().nonnegative().default(0),
    maxSize: z.number().int().nonnegative().default(100),
    /** Default: the number of the group's running instances in the scenario. */
    desiredCapacity: z.number().int().nonnegative().optional(),
    /** Seconds; instance refreshes wait this long after each replacement (AWS default 0 for groups made by the API). */
    healthCheckGracePeriod: z.number().int().nonnegative().default(0),
    /** Seconds; when set, instance refreshes wait this long instead of the health check grace period. */
    defaultInstanceWarmup: z.number().int().nonnegative().optional(),
    /** The group's tags (DescribeAutoScalingGroups `Tags`; EKS and ECS tag their groups). */
    tags: Tags.default({}),
  })
  .strict()
  .refine(
    (g) =>
      [g.launchTemplate, g.launchConfiguration, g.mixedInstancesPolicy].filter((x) => x !== undefined).length === 1,
    { message: 'an Auto Scaling group needs exactly one of launchTemplate, launchConfiguration, mixedInstancesPolicy' },
  );

/** A group of similar instances. Their ids are generated from the seed unless `ids` are given. */
export const ScenarioInstanceGroup = z
  .object({
    name: z.string().min(1),
    account: AccountId,
    region: Region,
    count: z.number().int().positive(),
    /** Fixed instance ids (as many as `count`), for instances that docs and tests refer to. */
    ids: z.array(InstanceId).optional(),
    tags: Tags.default({}),
    platform: z.enum(['linux', 'windows']).default('linux'),
    instanceType: z.string().default('t3.medium'),
    imageId: z.string().optional(),
    launchTemplate: z
      .object({ name: z.string(), version: z.string().default('$Default') })
      .strict()
      .optional(),
    autoScalingGroup: z.string().optional(),
    /** `terminated`: still listed by DescribeInstances (as AWS does for a while), refused by SSM and Modify calls. */
    state: z.enum(['running', 'stopped', 'terminated']).default('running'),
    /** Share of the group that is stopped (overrides `state` for that share). */
    stoppedShare: z.number().min(0).max(1).default(0),
    launchedAt: TimeRef.default('-180d'),
    metadataOptions: PartialMetadataOptions.default({}),
    /** Detailed monitoring: 1-minute metrics instead of 5-minute. */
    detailedMonitoring: z.boolean().default(false),
    ssm: z
      .object({
        managed: z.boolean().default(true),
        agentVersion: z.string().default('3.3.1142.0'),
        pingStatus: z.enum(['Online', 'ConnectionLost', 'Inactive']).default('Online'),
        /**
         * false: the caller may not send commands to these instances (an IAM condition on the instance): SendCommand
         * fails with InvalidInstanceId, as for an unmanaged or terminated instance.
         */
        permitted: z.boolean().default(true),
        /** Every command sent to these instances fails (exit code 1): a broken host, for MaxErrors rehearsals. */
        failCommands: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    containerHost: z.boolean().default(false),
    packages: z.array(ScenarioPackage).default([]),
    callers: z.array(ScenarioCaller).default([]),
    /**
     * Live instances: each is a network namespace on the simulator's machine with a fake IMDS that follows the
     * instance's metadata options, runs each caller's `argv` as a real shell command (in a loop, `callsPerHour` times an
     * hour), and runs SSM commands for real. Needs root, iproute2 and python3; keep `count` small.
     */
    live: z.boolean().default(false),
  })
  .strict()
  .refine((g) => g.ids === undefined || g.ids.length === g.count, {
    message: 'ids must list exactly `count` instance ids',
  });
export type ScenarioInstanceGroup = z.infer<typeof ScenarioInstanceGroup>;

export const Scenario = z
  .object({
    schema: schemaHeader('imdsv2-cutover/scenario', 1),
    name: z.string().min(1),
    description: z.string().optional(),
    /** Same seed, same fleet (instance ids, which instances get a shared caller, stopped instances). */
    seed: z.number().int().default(1),
    /** The simulated time when the simulator starts. */
    now: IsoDateTime,
    /**
     * Publish 0-valued datapoints for periods without IMDSv1 calls (default true). The EC2 User Guide says
     * MetadataNoToken "is 0" when only IMDSv2 is used, so a running instance publishes zeros; false models an account
     * where the metric publishes nothing for quiet periods (the tool then keeps such instances `unknown`).
     */
    emitZeroDatapoints: z.boolean().default(true),
    /**
     * How long after the end of its period a datapoint becomes visible to GetMetricData (CloudWatch ingestion delay;
     * AWS publishes no figure: observed 2 to 10 minutes, see docs/simulator-fidelity.md). An offset such as `3m`.
     */
    metricIngestionDelay: z
      .string()
      .regex(/^\d+(s|m|h)$/, 'expected a delay such as 3m or 90s')
      .default('3m'),
    regions: z.array(Region).min(1),
    accounts: z.array(ScenarioAccount).min(1),
    /** The management account of the organization (Organizations ListAccounts); default the first account. */
    organizationMaster: AccountId.optional(),
    images: z.array(ScenarioImage).default([]),
    /** Systems Manager parameters that `resolve:ssm:` image ids resolve to. */
    ssmParameters: z.array(ScenarioSsmParameter).default([]),
    launchTemplates: z.array(ScenarioLaunchTemplate).default([]),
    launchConfigurations: z.array(ScenarioLaunchConfiguration).default([]),
    autoScalingGroups: z.array(ScenarioAutoScalingGroup).default([]),
    instanceGroups: z.array(ScenarioInstanceGroup).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    // An AWS account lives in one partition (General Reference, "Amazon Resource Names").
    s.accounts.forEach((a, i) => {
      const found = [...new Set((a.regions ?? s.regions).map((r) => partitionOfRegion(r) ?? 'aws'))].sort();
      if (found.length > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', i, 'regions'],
          message: `an account lives in one partition; these regions are in ${found.join(', ')}`,
        });
    });
  });
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

export const scenarioKind: DocumentKind<typeof Scenario> = {
  label: 'simulator scenario',
  schemaName: 'imdsv2-cutover/scenario',
  version: 1,
  schema: Scenario,
  howToMake: 'Start from a bundled scenario: see docs/simulator.md, or run `imdsv2 simulate --scenario demo`.',
};
