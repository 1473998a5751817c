import { z } from 'zod';
import {
  AccountId,
  InstanceId,
  IsoDateTime,
  MetadataOptions,
  MetadataSettings,
  Region,
  Sha256Hex,
  ToolInfo,
  schemaHeader,
} from './common.js';
import { Reason, ReadinessStatus } from './assessment.js';
import { Policy } from './policy.js';
import type { DocumentKind } from './validate.js';

export const PlanEntry = z
  .object({
    instanceId: InstanceId,
    accountId: AccountId,
    region: Region,
    name: z.string().optional(),
    group: z.string().optional(),
    environment: z.string().optional(),
    owner: z.string().optional(),
    /** The instance's metadata options when the assessment was taken: the drift check compares live settings to these. */
    planned: MetadataOptions,
    /** What enforce sets. */
    target: MetadataSettings,
    notes: z.array(z.string()).default([]),
    /**
     * Rejected IMDSv1 calls an hour the guard lets pass on this instance: its only IMDSv1 callers try IMDSv1 first and
     * fall back to IMDSv2 (their attempts show in MetadataNoTokenRejected after enforcing). From the measured rate.
     */
    rejectedAllowancePerHour: z.number().nonnegative().optional(),
  })
  .strict();
export type PlanEntry = z.infer<typeof PlanEntry>;

export const Wave = z
  .object({
    index: z.number().int().nonnegative(),
    name: z.string(),
    /**
     * hop-limit: raise the hop limit to 2 with tokens still optional on container hosts whose IMDSv1 calls come from
     * the hop limit (then assess again); canary: one member per group first; rollout: by environment; unknown:
     * `unknown` instances, last (policy).
     */
    kind: z.enum(['hop-limit', 'canary', 'rollout', 'unknown']),
    /** The environment (as the policy spells it) of a rollout wave; absent for canary, unmatched and unknown waves. */
    environment: z.string().optional(),
    soakSeconds: z.number().int().nonnegative(),
    /** Sum of the soak times of the waves before this one: the earliest start relative to the first wave. */
    startOffsetSeconds: z.number().int().nonnegative(),
    /** Earliest start, when the plan was made with a start date. */
    notBefore: IsoDateTime.optional(),
    guard: z
      .object({ maxRejectedCalls: z.number().int().nonnegative(), rollback: z.enum(['instance', 'wave']) })
      .strict(),
    instances: z.array(PlanEntry).min(1),
  })
  .strict();
export type Wave = z.infer<typeof Wave>;

export const HeldInstance = z
  .object({
    instanceId: InstanceId,
    accountId: AccountId,
    region: Region,
    name: z.string().optional(),
    group: z.string().optional(),
    environment: z.string().optional(),
    owner: z.string().optional(),
    status: ReadinessStatus,
    reasons: z.array(Reason).min(1),
  })
  .strict();
export type HeldInstance = z.infer<typeof HeldInstance>;

export const LockInStep = z
  .object({
    id: z.string(),
    /**
     * launch-template-version: a new default version with tokens required; account-defaults; ami-imds-support (the
     * irreversible AMI flag); launch-configuration-migration: a launch template made from a group's launch
     * configuration with tokens required, and the group moved to it (rollback moves it back).
     */
    kind: z.enum(['launch-template-version', 'account-defaults', 'ami-imds-support', 'launch-configuration-migration']),
    accountId: AccountId,
    region: Region,
    /** Launch template id, AMI id, Auto Scaling group name; absent for account defaults. */
    resourceId: z.string().optional(),
    description: z.string(),
    /** What the resource holds now (restored by rollback; for a template, the previous default version). */
    previous: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    target: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    /** Cannot be undone (the AMI flag). Needs its own confirmation. */
    irreversible: z.boolean(),
    /** The ASGs this step stops launching IMDSv1 instances. */
    affects: z.array(z.string()).default([]),
    notes: z.array(z.string()).default([]),
    /**
     * Launches the assessment saw from what this step changes (a template, or a launch-configuration group) within its
     * lookback: instances whose launch time is inside it. 0 means the IMDSv1 calls its launches make at boot were never
     * measured. Absent in plans of older releases and for account defaults and AMIs.
     */
    launchesSeen: z.number().int().nonnegative().optional(),
  })
  .strict();
export type LockInStep = z.infer<typeof LockInStep>;

/** Lock-in work the tool cannot do in place: a person must do it (the reason says what). enforce never acts on it. */
export const ManualLockIn = z
  .object({
    kind: z.enum([
      'asg-launch-configuration',
      'asg-pinned-version',
      'account-defaults-managed',
      'account-defaults-unread',
      'ami-not-owned',
      'ami-owner-unknown',
    ]),
    accountId: AccountId,
    region: Region,
    /** ASG name, AMI id; absent for account defaults. */
    resourceId: z.string().optional(),
    reason: z.string(),
    /** ami-not-owned: the image's owner (`OwnerId`) and its alias (`ImageOwnerAlias`, e.g. `amazon`) when AWS gives one. */
    owner: z.object({ accountId: z.string(), alias: z.string().optional() }).strict().optional(),
  })
  .strict();
export type ManualLockIn = z.infer<typeof ManualLockIn>;

export const Plan = z
  .object({
    schema: schemaHeader('imdsv2-cutover/plan', 1),
    tool: ToolInfo,
    /**
     * The assessment the plan was made from. `sha256` is of the assessment file's bytes when `sha256Of` is `file`
     * (`sha256sum assessment.json` shows it), or, in plans without `sha256Of`, of its canonical JSON content.
     */
    assessment: z
      .object({ id: z.string(), createdAt: IsoDateTime, sha256: Sha256Hex, sha256Of: z.literal('file').optional() })
      .strict(),
    policy: Policy,
    policySha256: Sha256Hex,
    /** The start date the schedule was computed from (`--start-date`); null when none was given. */
    startDate: IsoDateTime.nullable(),
    waves: z.array(Wave),
    held: z.array(HeldInstance),
    lockIn: z.array(LockInStep),
    manualLockIn: z.array(ManualLockIn),
    /** A service control policy that keeps IMDSv1 from coming back (JSON policy document). */
    scp: z.record(z.string(), z.unknown()).nullable(),
    /** Things the reader of the plan must know (incomplete assessment, canary larger than asked...). */
    notes: z.array(z.string()),
    /** sha256 of the canonical JSON (RFC 8785) of every other field. enforce refuses a plan whose content changed. */
    contentHash: Sha256Hex,
  })
  .strict();
export type Plan = z.infer<typeof Plan>;

export const planKind: DocumentKind<typeof Plan> = {
  label: 'plan',
  schemaName: 'imdsv2-cutover/plan',
  version: 1,
  schema: Plan,
  howToMake: 'Produce one with `imdsv2 plan --assessment assessment.json --policy policy.yaml`.',
};
