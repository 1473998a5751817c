import { z } from 'zod';
import {
  AccountId,
  InstanceId,
  IsoDateTime,
  MetadataSettings,
  Region,
  Sha256Hex,
  ToolInfo,
  schemaHeader,
} from './common.js';

/**
 * The enforcement journal: JSON Lines, append-only, fsync'd after every commit. The first line is a header naming the
 * plan; every change is preceded by an `intent` record holding the exact previous settings and followed by a `result`.
 * A crash between the two leaves an intent without a result: resume and rollback read it to finish or undo the change.
 *
 * Version 2 (this one) numbers records 0, 1, 2, ... without gaps and keeps a seal beside the journal
 * (`<journal>.seal`, `JournalSeal`): after every commit, how many bytes the journal holds and their sha256, so a
 * journal cut short (or emptied, or edited) is told from one whose writer stopped mid-write. Version 1 journals (no
 * seal) are still read and appended to; they get a seal from their first append on.
 */

/** The journal format version this tool writes. */
export const JOURNAL_VERSION = 2;

export const JournalHeader = z
  .object({
    type: z.literal('header'),
    schema: z.union([schemaHeader('imdsv2-cutover/journal', 2), schemaHeader('imdsv2-cutover/journal', 1)]),
    journalId: z.string().min(1),
    createdAt: IsoDateTime,
    tool: ToolInfo,
    planContentHash: Sha256Hex,
  })
  .strict();
export type JournalHeader = z.infer<typeof JournalHeader>;

export const InstanceTarget = z
  .object({ kind: z.literal('instance'), instanceId: InstanceId, accountId: AccountId, region: Region })
  .strict();
export const LaunchTemplateTarget = z
  .object({ kind: z.literal('launch-template'), launchTemplateId: z.string(), accountId: AccountId, region: Region })
  .strict();
export const AccountDefaultsTarget = z
  .object({ kind: z.literal('account-defaults'), accountId: AccountId, region: Region })
  .strict();
export const ImageTarget = z
  .object({ kind: z.literal('image'), imageId: z.string(), accountId: AccountId, region: Region })
  .strict();
/** A group lock-in moved from its launch configuration to a launch template (`previous` holds its launch source). */
export const AutoScalingGroupTarget = z
  .object({
    kind: z.literal('auto-scaling-group'),
    autoScalingGroupName: z.string(),
    accountId: AccountId,
    region: Region,
  })
  .strict();
/**
 * An instance lock-in launched to prove a template (`--prove-launch`): created, so its rollback is its termination.
 * `canaryId` is the value of its `imdsv2-cutover:canary` tag, how it is found again after a crash (the instance id is
 * known only from the result).
 */
export const CanaryTarget = z
  .object({
    kind: z.literal('canary'),
    canaryId: z.string().min(1),
    launchTemplateId: z.string(),
    accountId: AccountId,
    region: Region,
  })
  .strict();
export const JournalTarget = z.discriminatedUnion('kind', [
  InstanceTarget,
  LaunchTemplateTarget,
  AccountDefaultsTarget,
  ImageTarget,
  AutoScalingGroupTarget,
  CanaryTarget,
]);
export type JournalTarget = z.infer<typeof JournalTarget>;

/** Settings of a target before or after a change. Instances use MetadataSettings; lock-in targets their own fields. */
export const TargetSettings = z.union([
  MetadataSettings,
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
]);

const base = {
  seq: z.number().int().nonnegative(),
  at: IsoDateTime,
  wave: z.union([z.number().int().nonnegative(), z.literal('lockin')]),
};

export const JournalRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('wave-start'), ...base, dryRun: z.boolean().default(false) }).strict(),
  z
    .object({
      type: z.literal('intent'),
      ...base,
      action: z.enum(['apply', 'rollback']),
      target: JournalTarget,
      previous: TargetSettings,
      desired: TargetSettings,
    })
    .strict(),
  z
    .object({
      type: z.literal('result'),
      ...base,
      action: z.enum(['apply', 'rollback']),
      target: JournalTarget,
      outcome: z.enum(['ok', 'failed', 'terminated', 'skipped']),
      error: z.object({ code: z.string(), message: z.string() }).strict().optional(),
      /** Why this outcome, for a reader of the journal: "recovered after a crash", "already at previous settings". */
      note: z.string().optional(),
      /** Values learnt from the change, e.g. the launch template version it created. */
      detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    })
    .strict(),
  z
    .object({ type: z.literal('verified'), ...base, target: JournalTarget, state: z.enum(['applied', 'terminated']) })
    .strict(),
  z
    .object({
      type: z.literal('guard'),
      ...base,
      tripped: z.boolean(),
      /** An instance trips the guard when its MetadataNoTokenRejected sum is above this. */
      threshold: z.number().int().nonnegative().optional(),
      /** The metric window, on the service's clock. */
      windowStart: IsoDateTime.optional(),
      windowEnd: IsoDateTime.optional(),
      rejected: z.array(z.object({ instanceId: InstanceId, calls: z.number().nonnegative() }).strict()),
    })
    .strict(),
  z
    .object({
      type: z.literal('wave-end'),
      ...base,
      outcome: z.enum(['completed', 'rolled-back', 'halted', 'failed']),
      message: z.string().optional(),
    })
    .strict(),
]);
export type JournalRecord = z.infer<typeof JournalRecord>;

export const JournalLine = z.union([JournalHeader, JournalRecord]);
export type JournalLine = z.infer<typeof JournalLine>;

/**
 * One slot of the journal's seal file (`<journal>.seal`): how far the journal reached at a commit. The file holds two
 * slots of SEAL_SLOT_BYTES each (the JSON padded with spaces, then a newline), written alternately in place, so that
 * a write torn by a crash leaves the other, older slot whole; readers take the valid slot with the highest `n`.
 */
export const JournalSeal = z
  .object({
    type: z.literal('seal'),
    schema: schemaHeader('imdsv2-cutover/journal-seal', 1),
    /** The journal's `journalId` and plan: a seal never vouches for another journal. */
    journalId: z.string().min(1),
    planContentHash: Sha256Hex,
    /** Generation: one more at every seal write. */
    n: z.number().int().nonnegative(),
    /** Journal bytes committed (whole lines, fsync'd) when sealed. */
    bytes: z.number().int().nonnegative(),
    /** `seq` of the last record within `bytes`; -1 when only the header is. */
    lastSeq: z.number().int().min(-1),
    /** sha256 of the journal's first `bytes` bytes, lowercase hex. */
    sha256: Sha256Hex,
    /** When sealed, on the writer's clock (the service's clock during enforcement). */
    at: IsoDateTime,
    /** True while a writer has the journal open; false once it closed it (a crash leaves true). */
    open: z.boolean(),
    /** sha256 of the canonical JSON of the other fields: a slot torn by a crash fails this check. */
    check: Sha256Hex,
  })
  .strict();
export type JournalSeal = z.infer<typeof JournalSeal>;

/** Bytes of one seal slot; the seal file is two slots. */
export const SEAL_SLOT_BYTES = 512;
