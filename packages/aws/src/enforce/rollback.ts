import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EngineEvent, MetadataSettings, Reporter, TargetState } from '@imdsv2-cutover/core';
import { MetadataSettings as MetadataSettingsSchema } from '@imdsv2-cutover/core';
import pLimit from 'p-limit';
import type { JournalWriter } from '../journal/journal.js';
import type { RegionalLimiter } from './aws-ops.js';
import {
  byPair,
  callFailure,
  describeLive,
  isGone,
  isGoneError,
  modifyMetadata,
  readBack,
  sameSettings,
  settleAll,
} from './aws-ops.js';
import { awsErrorCode } from '../errors.js';
import { isJournalFailure, recordAfterCall, type UnrecordedLedger } from './journal-failure.js';
import type { ClientsFor, LiveInstance } from './types.js';
import { waitApplied } from './wait-applied.js';

export interface RollbackOutcome {
  /** Restored to their previous settings now. */
  rolledBack: string[];
  /** Already at their previous settings: nothing to do (rollback is idempotent). */
  alreadyThere: string[];
  terminated: string[];
  failed: { instanceId: string; code: string; message: string }[];
  /** Restored, but EC2 did not report `applied` before the timeout (or the instance is stopped). */
  notVerified: string[];
}

export interface InstanceRollbackOptions {
  journal: JournalWriter;
  clients: ClientsFor;
  limiter: RegionalLimiter;
  concurrency: number;
  reporter: Reporter;
  sleep: (ms: number) => Promise<void>;
  now?: () => number;
  applyTimeoutMs: number;
  /** Where restores whose results the journal could not record are listed (the caller reports them). */
  ledger: UnrecordedLedger;
}

interface Item {
  state: TargetState;
  instanceId: string;
  accountId: string;
  region: string;
  original: MetadataSettings;
}

/**
 * Restores instances to the settings recorded in their earliest apply intent (the true original), with the same
 * write-ahead journaling as enforcement: intent (live settings now, original as desired), the call, then the result.
 * An instance already at its original settings gets a `skipped` result and no call; a gone one `terminated`. A call
 * that fails is judged after reading the instance back (its answer may be lost after EC2 made the change). Once the
 * journal fails (`journal.failure`), no further intent is written and so no further call is sent; restores already in
 * flight are recorded if the journal still takes results, or listed in `ledger`; the caller ends the run.
 */
export async function rollbackInstances(
  targets: readonly TargetState[],
  o: InstanceRollbackOptions,
): Promise<RollbackOutcome> {
  const out: RollbackOutcome = { rolledBack: [], alreadyThere: [], terminated: [], failed: [], notVerified: [] };
  const items: Item[] = [];
  for (const s of targets) {
    if (s.target.kind !== 'instance' || s.original === null) continue;
    const original = MetadataSettingsSchema.safeParse(s.original);
    if (!original.success) continue;
    items.push({
      state: s,
      instanceId: s.target.instanceId,
      accountId: s.target.accountId,
      region: s.target.region,
      original: original.data,
    });
  }
  const emit = (e: EngineEvent) => o.reporter.emit(e);
  emit({
    type: 'phase',
    phase: 'rollback',
    message: `rolling back ${items.length} instance(s) to their recorded settings`,
  });
  const limit = pLimit(o.concurrency);
  const changed: Item[] = [];
  const stopped = () => o.journal.failure !== null;
  let done = 0;

  async function restoreOne(it: Item, ec2: EC2Client, l: LiveInstance | undefined): Promise<void> {
    const target = it.state.target;
    const wave = it.state.wave;
    const result = (outcome: 'ok' | 'failed' | 'terminated' | 'skipped', extra: object = {}) =>
      o.journal.append({ type: 'result', wave, action: 'rollback', target, outcome, ...extra });
    const previous = l?.settings ?? it.original;
    try {
      if (isGone(l)) {
        await result('terminated');
        out.terminated.push(it.instanceId);
        return;
      }
      if (sameSettings(l!.settings, it.original)) {
        await result('skipped', { note: 'already at the previous settings' });
        out.alreadyThere.push(it.instanceId);
        return;
      }
      await o.journal.append({ type: 'intent', wave, action: 'rollback', target, previous, desired: it.original });
    } catch (e) {
      if (isJournalFailure(e)) return; // nothing was sent for this instance
      throw e;
    }
    await o.limiter.take(it.accountId, it.region);
    if (stopped()) return; // the intent is on disk; a later rollback finds it and the live state
    const change = { target: it, what: 'rolled back' as const, previous, now: it.original };
    let failure: { code: string; message: string } | null = null;
    let lostAnswer: string | null = null;
    let unknown = false;
    try {
      await modifyMetadata(ec2, it.instanceId, it.original, false, l?.settings);
    } catch (e) {
      const now = isGoneError(e) ? 'gone' : await readBack(ec2, it.instanceId);
      if (now === 'gone') {
        if (await recordAfterCall(() => result('terminated'), o.ledger, null)) out.terminated.push(it.instanceId);
        return;
      }
      if (sameSettings(now, it.original)) lostAnswer = awsErrorCode(e);
      else {
        failure = callFailure(e, it.accountId);
        unknown = now === null;
      }
    }
    if (failure) {
      // An unknown outcome whose result cannot be recorded either is listed (see the enforcer).
      if (await recordAfterCall(() => result('failed', { error: failure }), o.ledger, unknown ? change : null)) {
        out.failed.push({ instanceId: it.instanceId, ...failure });
        emit({
          type: 'warning',
          code: 'ROLLBACK_FAILED',
          message: `rollback of ${it.instanceId} failed: ${failure.message}`,
          scope: { account: it.accountId, region: it.region, instanceId: it.instanceId },
        });
      }
      return;
    }
    const note = lostAnswer
      ? `the call's answer was lost (${lostAnswer}); DescribeInstances shows the restore made`
      : undefined;
    if (await recordAfterCall(() => result('ok', { note }), o.ledger, change)) {
      out.rolledBack.push(it.instanceId);
      changed.push(it);
    }
  }

  for (const list of byPair(items).values()) {
    if (stopped()) break;
    const first = list[0]!;
    const ec2 = o.clients.ec2(first.accountId, first.region);
    const live = await describeLive(
      ec2,
      list.map((i) => i.instanceId),
    );
    await settleAll(
      list.map((it) =>
        limit(async () => {
          if (stopped()) return;
          await restoreOne(it, ec2, live.get(it.instanceId));
          emit({ type: 'progress', phase: 'rollback', done: ++done, total: items.length, unit: 'instances' });
        }),
      ),
    );
  }
  if (changed.length > 0 && !stopped()) {
    const w = await waitApplied(
      o.clients,
      changed.map((c) => ({ instanceId: c.instanceId, accountId: c.accountId, region: c.region, desired: c.original })),
      { timeoutMs: o.applyTimeoutMs, sleep: o.sleep, now: o.now },
    );
    out.notVerified.push(...w.timedOut, ...w.notRunning);
  }
  return out;
}
