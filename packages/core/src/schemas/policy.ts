import { z } from 'zod';
import { DURATION_FORMS, durationSecondsOf } from '../duration.js';
import { AccountId, HopLimit, InstanceId, schemaHeader } from './common.js';
import type { DocumentKind } from './validate.js';

/**
 * A duration in a policy file: the tool's one grammar (`durationSecondsOf`: `30s`, `45m`, `1h30m`, `24h`, `7d`, `2w`),
 * as for flags, in whole seconds. A bare number is refused: `soak: 24` could be hours or seconds.
 */
export const Duration = z
  .string()
  .regex(
    /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/,
    `expected a duration such as ${DURATION_FORMS} (a number and its unit; a bare number has no unit)`,
  )
  .refine((d) => Number.isInteger(durationSecondsOf(d)), 'expected a duration in whole seconds');

/** Seconds in a duration string already validated by `Duration`. */
export function durationSeconds(d: string): number {
  const s = durationSecondsOf(d);
  if (s === null) throw new RangeError(`not a duration: ${d}`);
  return s;
}

const TagMatch = z.object({ key: z.string().min(1), values: z.array(z.string()).optional() }).strict();

/**
 * The rollout policy: how a migration lead wants an assessment turned into waves. Written in YAML; every field has a
 * default so an empty policy is a sensible one.
 */
export const Policy = z
  .object({
    schema: schemaHeader('imdsv2-cutover/policy', 1),
    tags: z
      .object({
        environment: z.string().default('Environment'),
        application: z.string().default('Application'),
        owner: z.string().default('Owner'),
      })
      .strict()
      .prefault({}),
    /** What makes a group for canaries and caps: the ASG when there is one, else the application tag. */
    groupBy: z
      .array(z.enum(['autoScalingGroup', 'application']))
      .min(1)
      .default(['autoScalingGroup', 'application']),
    canary: z
      .object({
        enabled: z.boolean().default(true),
        /** Canary size as a count (when neither count nor percent is given: one member per group, or one instance)... */
        count: z.number().int().positive().optional(),
        /** ...or as a share of the ready instances (0 < p <= 100). */
        percent: z.number().gt(0).max(100).optional(),
        /** Put one member of every group in the canary wave, so every group is exercised early. */
        onePerGroup: z.boolean().default(true),
        /** Canaries come from these environments first (e.g. dev); empty means any (earlier `waves.order` first). */
        preferEnvironments: z.array(z.string()).default([]),
        soak: Duration.default('24h'),
      })
      .strict()
      .refine((c) => !(c.count !== undefined && c.percent !== undefined), {
        message: 'give canary.count or canary.percent, not both',
      })
      .prefault({}),
    waves: z
      .object({
        /** Environment values in rollout order; matched case-insensitively against the environment tag. */
        order: z.array(z.string()).default(['dev', 'test', 'staging', 'prod']),
        /** Instances whose environment is not listed (or untagged): roll out after the listed ones, or hold them. */
        unmatched: z.enum(['last', 'hold']).default('last'),
        maxInstances: z.number().int().positive().default(250),
        /** Largest share of any one group in one wave (0 < s <= 1). */
        maxGroupShare: z.number().gt(0).max(1).default(0.5),
        soak: Duration.default('24h'),
      })
      .strict()
      .prefault({}),
    exclude: z
      .object({
        instanceIds: z.array(InstanceId).default([]),
        accounts: z.array(AccountId).default([]),
        tags: z.array(TagMatch).default([]),
      })
      .strict()
      .prefault({}),
    hopLimit: z
      .object({
        /** Hop limit for hosts where containers run (2 lets bridge-networked containers get a token). */
        containerHosts: HopLimit.default(2),
        /** `keep` leaves other instances' hop limit as it is; a number sets it. A hop limit is never lowered. */
        others: z.union([z.literal('keep'), HopLimit]).default('keep'),
      })
      .strict()
      .prefault({}),
    /** `unknown` instances: held (default), or rolled out in a last wave of their own. */
    unknown: z.enum(['hold', 'last-wave']).default('hold'),
    /** Stopped instances: held, or included (the setting applies at next start). */
    stopped: z.enum(['hold', 'include']).default('hold'),
    guard: z
      .object({
        /** Rejected IMDSv1 calls (MetadataNoTokenRejected sum) tolerated per instance during the soak. */
        maxRejectedCalls: z.number().int().nonnegative().default(0),
        /** Roll back only the instances that tripped, or the whole wave. */
        rollback: z.enum(['instance', 'wave']).default('wave'),
        pollInterval: Duration.default('1m'),
      })
      .strict()
      .prefault({}),
    lockIn: z
      .object({
        launchTemplates: z.boolean().default(true),
        accountDefaults: z.boolean().default(true),
        /** Also set HttpTokensEnforced on the account defaults (launches that resolve to IMDSv1 fail). */
        httpTokensEnforced: z.boolean().default(false),
        /** Set ImdsSupport=v2.0 on AMIs in use. Irreversible: off unless asked. */
        amiImdsSupport: z.boolean().default(false),
        scp: z.boolean().default(true),
        /**
         * The role allowed to set HttpTokens to optional despite the SCP (enforce's rollback runs as it). A pattern
         * matched with ArnNotLike against aws:PrincipalARN. `{partition}` is filled in at plan time with the
         * assessment's partition (aws, aws-cn, aws-us-gov); a literal partition must be the assessment's.
         */
        scpAdminPrincipalArn: z.string().min(1).default('arn:{partition}:iam::*:role/imdsv2-cutover-admin'),
        /** Also deny launches whose hop limit is above this (ec2:MetadataHttpPutResponseHopLimit). */
        scpMaxHopLimit: HopLimit.optional(),
        /**
         * Also deny every API call signed with credentials fetched over IMDSv1 (ec2:RoleDelivery < 2.0). Breaks
         * whatever still uses IMDSv1 credentials: enable only after the last wave.
         */
        scpDenyImdsV1Credentials: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type Policy = z.infer<typeof Policy>;
export type PolicyInput = z.input<typeof Policy>;

export const policyKind: DocumentKind<typeof Policy> = {
  label: 'rollout policy',
  schemaName: 'imdsv2-cutover/policy',
  version: 1,
  schema: Policy,
  howToMake: 'Write a commented default with `imdsv2 plan --init-policy policy.yaml`.',
};
