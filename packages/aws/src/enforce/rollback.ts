import type { EngineEvent, MetadataSettings, Reporter, TargetState } from '@imdsv2-cutover/core';
import { MetadataSettings as MetadataSettingsSchema } from '@imdsv2-cutover/core';
import pLimit from 'p-limit';
import type { JournalWriter } from '../journal/journal.js';
import type { RegionalLimiter } from './aws-ops.js';
import { byPair, describeLive, isGone, isGoneError, modifyMetadata, sameSettings } from './aws-ops.js';
import { awsErrorInfo } from '../errors.js';
import type { ClientsFor } from './types.js';
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
 * An instance already at its original settings gets a `skipped` result and no call; a gone one `terminated`.
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
  let done = 0;
  for (const list of byPair(items).values()) {
    const first = list[0]!;
    const ec2 = o.clients.ec2(first.accountId, first.region);
    const live = await describeLive(
      ec2,
      list.map((i) => i.instanceId),
    );
    await Promise.all(
      list.map((it) =>
        limit(async () => {
          const target = it.state.target;
          const wave = it.state.wave;
          const l = live.get(it.instanceId);
          if (isGone(l)) {
            await o.journal.append({ type: 'result', wave, action: 'rollback', target, outcome: 'terminated' });
            out.terminated.push(it.instanceId);
          } else if (sameSettings(l!.settings, it.original)) {
            await o.journal.append({
              type: 'result',
              wave,
              action: 'rollback',
              target,
              outcome: 'skipped',
              note: 'already at the previous settings',
            });
            out.alreadyThere.push(it.instanceId);
          } else {
            await o.journal.append({
              type: 'intent',
              wave,
              action: 'rollback',
              target,
              previous: l!.settings ?? it.original,
              desired: it.original,
            });
            await o.limiter.take(it.accountId, it.region);
            try {
              await modifyMetadata(ec2, it.instanceId, it.original, false, l!.settings);
              await o.journal.append({ type: 'result', wave, action: 'rollback', target, outcome: 'ok' });
              out.rolledBack.push(it.instanceId);
              changed.push(it);
            } catch (e) {
              if (isGoneError(e)) {
                await o.journal.append({ type: 'result', wave, action: 'rollback', target, outcome: 'terminated' });
                out.terminated.push(it.instanceId);
              } else {
                const error = awsErrorInfo(e);
                await o.journal.append({ type: 'result', wave, action: 'rollback', target, outcome: 'failed', error });
                out.failed.push({ instanceId: it.instanceId, ...error });
                emit({
                  type: 'warning',
                  code: 'ROLLBACK_FAILED',
                  message: `rollback of ${it.instanceId} failed: ${error.code}: ${error.message}`,
                  scope: { account: it.accountId, region: it.region, instanceId: it.instanceId },
                });
              }
            }
          }
          emit({ type: 'progress', phase: 'rollback', done: ++done, total: items.length, unit: 'instances' });
        }),
      ),
    );
  }
  if (changed.length > 0) {
    const w = await waitApplied(
      o.clients,
      changed.map((c) => ({ instanceId: c.instanceId, accountId: c.accountId, region: c.region, desired: c.original })),
      { timeoutMs: o.applyTimeoutMs, sleep: o.sleep, now: o.now },
    );
    out.notVerified.push(...w.timedOut, ...w.notRunning);
  }
  return out;
}
