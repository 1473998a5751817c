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

export const ScenarioImage = z
  .object({
    id: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'expected an AMI id such as ami-0abc1234'),
    account: AccountId,
    region: Region,
    name: z.string(),
    platform: z.enum(['linux', 'windows']).default('linux'),
    imdsSupport: z.literal('v2.0').optional(),
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
          })
          .strict(),
      )
      .min(1),
    defaultVersion: z.number().int().positive().default(1),
  })
  .strict();

export const ScenarioAutoScalingGroup = z
  .object({
    name: z.string().min(1),
    account: AccountId,
    region: Region,
    launchTemplate: z.object({ name: z.string(), version: z.string().default('$Default') }).strict(),
    minSize: z.number().int().nonnegative().default(0),
    maxSize: z.number().int().nonnegative().default(100),
    /** The group's tags (DescribeAutoScalingGroups `Tags`; EKS and ECS tag their groups). */
    tags: Tags.default({}),
  })
  .strict();

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
    launchTemplates: z.array(ScenarioLaunchTemplate).default([]),
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
