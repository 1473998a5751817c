import type { EC2Client } from '@aws-sdk/client-ec2';
import { ModifyInstanceMetadataDefaultsCommand } from '@aws-sdk/client-ec2';
import type { JournalState, JournalTarget, Reporter, TargetState } from '@imdsv2-cutover/core';
import { CutoverError, targetKey } from '@imdsv2-cutover/core';
import type { JournalWriter } from '../journal/journal.js';
import { readAccountDefaults } from './lockin-resources.js';
import type { ClientsFor } from './types.js';

/**
 * HttpTokensEnforced and rollback. EC2 User Guide, "Modify instance metadata options for existing instances": while
 * HttpTokensEnforced is enabled for the account in a Region, "an attempt to set httpTokens to optional will result in
 * an UnsupportedOperation exception". A rollback to tokens optional there fails instance by instance unless the
 * account default is lifted first (ModifyInstanceMetadataDefaults HttpTokensEnforced=disabled). This module finds the
 * account/Regions where that is so, refuses before any change when the user did not allow lifting, and otherwise lifts
 * and restores the default with the same write-ahead journaling as every other change.
 *
 * Journal: a lift is an `intent`/`result` pair with action `rollback` on the Region's `account-defaults` target (note
 * {@link LIFT_NOTE}); enabling it again is a second pair (note {@link RESTORE_NOTE}). Neither changes the target's
 * recorded original (only `apply` intents do), so `rollback --all` still restores the account defaults as they were
 * before lock-in.
 */

type Fields = Record<string, string | number | boolean | null>;

/** The note of a lift's result: the journal's reader finds unfinished lifts by it. */
export const LIFT_NOTE = 'HttpTokensEnforced lifted so that instances can be set back to HttpTokens=optional';
/** The note of the result that enables HttpTokensEnforced again after the rollback. */
export const RESTORE_NOTE = 'HttpTokensEnforced enabled again after the rollback';

/** An account and Region where HttpTokensEnforced is enabled now, with the account defaults as read. */
export interface EnforcedRegion {
  accountId: string;
  region: string;
  /** Every account-default field as GetInstanceMetadataDefaults answered it (null when unset). */
  defaults: Fields;
  /** `declarative-policy` when an organization's declarative policy manages the defaults: the tool cannot lift it. */
  managedBy: string | null;
}

/** A lift done (now or by an earlier, interrupted run) that the rollback should undo at its end. */
export interface Lift {
  accountId: string;
  region: string;
  /** The defaults before the lift: what enabling it again writes back (HttpTokensEnforced=enabled). */
  before: Fields;
}

const pairKey = (p: { accountId: string; region: string }) => `${p.accountId}/${p.region}`;

/** The account/Region pairs of instance targets whose rollback sets HttpTokens back to `optional`. */
export function pairsRollingBackToOptional(targets: readonly TargetState[]): { accountId: string; region: string }[] {
  const out = new Map<string, { accountId: string; region: string }>();
  for (const s of targets) {
    if (s.target.kind !== 'instance') continue;
    const original = s.original;
    const desired = s.desired;
    // Only a change from required back to optional is refused (a hop-limit wave keeps tokens optional).
    if (original?.httpTokens !== 'optional' || desired?.httpTokens !== 'required') continue;
    out.set(pairKey(s.target), { accountId: s.target.accountId, region: s.target.region });
  }
  return [...out.values()];
}

/**
 * Reads the account defaults (GetInstanceMetadataDefaults) of each pair and returns those with HttpTokensEnforced
 * enabled. One call per pair; AWS errors propagate (the caller has changed nothing yet).
 */
export async function findEnforcedRegions(
  clients: ClientsFor,
  pairs: readonly { accountId: string; region: string }[],
): Promise<EnforcedRegion[]> {
  const out: EnforcedRegion[] = [];
  for (const p of pairs) {
    const { fields, managedBy } = await readAccountDefaults(clients.ec2(p.accountId, p.region));
    if (fields.httpTokensEnforced !== 'enabled') continue;
    out.push({ ...p, defaults: fields, managedBy });
  }
  return out;
}

/** The AWS CLI command that lifts HttpTokensEnforced in one account and Region (run with that account's credentials). */
export function liftCommand(r: { region: string }): string {
  return `aws ec2 modify-instance-metadata-defaults --region ${r.region} --http-tokens-enforced disabled`;
}

/**
 * The refusal when HttpTokensEnforced blocks a rollback the user did not allow to lift it: names every account and
 * Region, the tool's command that lifts it (journaled) and, for regions a declarative policy manages, that the
 * organization must change the policy. `rerun` is the user's command with the flag that allows lifting.
 */
export function enforcementRefusal(
  blocked: readonly EnforcedRegion[],
  o: {
    rerun: string;
    doing: string;
    code?: 'TOKENS_ENFORCED' | 'GUARD_HALTED';
    /** What the refusal means for the user (default: nothing was changed). */
    consequence?: string;
  },
): CutoverError {
  const where = blocked.map((b) => `${b.accountId} ${b.region}`).join(', ');
  const managed = blocked.filter((b) => b.managedBy === 'declarative-policy');
  const suggestions =
    managed.length > 0
      ? [
          `A declarative policy of your organization manages the instance metadata defaults in ${managed.map((b) => `${b.accountId} ${b.region}`).join(', ')}: HttpTokensEnforced can only be lifted by changing that policy in AWS Organizations. Then run: ${o.rerun}`,
        ]
      : [
          `Run: ${o.rerun} (lifts HttpTokensEnforced first, journaled, and enables it again once the instances are restored)`,
          `Or lift it yourself in each Region (${blocked.map((b) => liftCommand(b)).join('; ')}) and run again.`,
        ];
  return new CutoverError(
    o.code ?? 'TOKENS_ENFORCED',
    `${o.doing}: HttpTokensEnforced is enabled in ${where}, so EC2 refuses to set any instance there back to HttpTokens=optional (UnsupportedOperation). ${o.consequence ?? 'Nothing was changed.'}`,
    { suggestions, details: { blocked } },
  );
}

const defaultsTarget = (p: { accountId: string; region: string }): JournalTarget => ({
  kind: 'account-defaults',
  accountId: p.accountId,
  region: p.region,
});

async function setEnforced(ec2: EC2Client, value: 'enabled' | 'disabled'): Promise<void> {
  await ec2.send(new ModifyInstanceMetadataDefaultsCommand({ HttpTokensEnforced: value }));
}

/**
 * Lifts HttpTokensEnforced in each region, journaled write-ahead (intent with the defaults as read, the call, the
 * result). Returns what to enable again afterwards. Throws on the first failure, leaving the regions lifted so far
 * recorded in the journal; the caller must then stop before touching any instance.
 */
export async function liftEnforcement(
  journal: JournalWriter,
  clients: ClientsFor,
  regions: readonly EnforcedRegion[],
  wave: number | 'lockin',
  reporter: Reporter,
): Promise<Lift[]> {
  const lifts: Lift[] = [];
  for (const r of regions) {
    const target = defaultsTarget(r);
    const desired = { ...r.defaults, httpTokensEnforced: 'disabled' };
    await journal.append({ type: 'intent', wave, action: 'rollback', target, previous: r.defaults, desired });
    try {
      await setEnforced(clients.ec2(r.accountId, r.region), 'disabled');
    } catch (e) {
      await journal.append({ type: 'result', wave, action: 'rollback', target, outcome: 'failed', note: LIFT_NOTE });
      throw e;
    }
    await journal.append({
      type: 'result',
      wave,
      action: 'rollback',
      target,
      outcome: 'ok',
      note: LIFT_NOTE,
      detail: { httpTokensEnforced: 'disabled' },
    });
    reporter.emit({
      type: 'warning',
      code: 'TOKENS_ENFORCED_LIFTED',
      message: `HttpTokensEnforced lifted in ${r.accountId} ${r.region} for the rollback`,
      scope: { account: r.accountId, region: r.region },
    });
    lifts.push({ accountId: r.accountId, region: r.region, before: r.defaults });
  }
  return lifts;
}

/**
 * Enables HttpTokensEnforced again where a lift left it off (journaled like the lift). Instances already set back to
 * optional stay optional: the setting refuses changes to optional and launches, it does not change instances. A
 * failure is reported per region and returned (the instances are restored either way; the user can run the same
 * rollback again, or the printed command).
 */
export async function restoreEnforcement(
  journal: JournalWriter,
  clients: ClientsFor,
  lifts: readonly Lift[],
  wave: number | 'lockin',
  reporter: Reporter,
): Promise<{ restored: string[]; failed: { where: string; message: string }[] }> {
  const out = { restored: [] as string[], failed: [] as { where: string; message: string }[] };
  for (const l of lifts) {
    const target = defaultsTarget(l);
    const where = `${l.accountId} ${l.region}`;
    const ec2 = clients.ec2(l.accountId, l.region);
    try {
      const live = (await readAccountDefaults(ec2)).fields;
      if (live.httpTokensEnforced === 'enabled') {
        out.restored.push(where);
        continue;
      }
      await journal.append({
        type: 'intent',
        wave,
        action: 'rollback',
        target,
        previous: live,
        desired: { ...live, httpTokensEnforced: 'enabled' },
      });
      await setEnforced(ec2, 'enabled');
      await journal.append({ type: 'result', wave, action: 'rollback', target, outcome: 'ok', note: RESTORE_NOTE });
      out.restored.push(where);
    } catch (e) {
      if (e instanceof CutoverError && e.code.startsWith('JOURNAL')) throw e;
      const message = e instanceof Error ? e.message : String(e);
      await journal.append({
        type: 'result',
        wave,
        action: 'rollback',
        target,
        outcome: 'failed',
        note: RESTORE_NOTE,
        error: { code: 'RESTORE_FAILED', message },
      });
      out.failed.push({ where, message });
      reporter.emit({
        type: 'warning',
        code: 'TOKENS_ENFORCED_NOT_RESTORED',
        message: `HttpTokensEnforced could not be enabled again in ${where}: ${message}. Enable it with: aws ec2 modify-instance-metadata-defaults --region ${l.region} --http-tokens-enforced enabled`,
        scope: { account: l.accountId, region: l.region },
      });
    }
  }
  return out;
}

/**
 * Lifts an earlier run made and did not undo (it stopped between the lift and the end of its rollback): the account
 * defaults targets whose last result is a lift. The rollback that resumes enables them again at its end.
 */
export function unfinishedLifts(state: JournalState): Lift[] {
  const out: Lift[] = [];
  for (const s of state.targets.values()) {
    if (s.target.kind !== 'account-defaults') continue;
    const last = s.events.filter((e) => e.record === 'result').at(-1);
    if (last?.note !== LIFT_NOTE || last.outcome !== 'ok') continue;
    out.push({ accountId: s.target.accountId, region: s.target.region, before: { httpTokensEnforced: 'enabled' } });
  }
  return out;
}

/** True when `state` holds the account-defaults target of the pair with an original where enforcement was off. */
export function lockInRestoreLifts(picked: readonly TargetState[], p: { accountId: string; region: string }): boolean {
  const s = picked.find((x) => x.target.kind === 'account-defaults' && x.key === targetKey(defaultsTarget(p)));
  if (!s || s.original === null) return false;
  return (s.original as Fields).httpTokensEnforced !== 'enabled';
}
