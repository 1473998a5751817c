import type {
  EngineEvent,
  JournalTarget,
  Plan,
  PlanEntry,
  Reporter,
  TargetState,
  ToolInfo,
} from '@imdsv2-cutover/core';
import { CutoverError, silentReporter, targetKey } from '@imdsv2-cutover/core';
import type { JournalFs } from '../journal/fs.js';
import { JOURNAL_BYTES_PER_TARGET, JournalWriter } from '../journal/journal.js';
import {
  MODIFY_BUCKET,
  RegionalLimiter,
  callFailure,
  failureLines,
  isGone,
  sameSettings,
  settingsText,
} from './aws-ops.js';
import {
  UnrecordedLedger,
  isJournalFailure,
  journalStopError,
  recordAfterCall,
  reportUnrecorded,
} from './journal-failure.js';
import { describeEntries, plannedSettings } from './preflight.js';
import { lockInAtPrevious, lockInClients, readLockIn, restoreLockIn } from './lockin.js';
import { rollbackInstances, type RollbackOutcome } from './rollback.js';
import {
  enforcementRefusal,
  findEnforcedRegions,
  liftEnforcement,
  lockInRestoreLifts,
  pairsRollingBackToOptional,
  restoreEnforcement,
  unfinishedLifts,
} from './tokens-enforced.js';
import type { EngineDeps } from './types.js';
import { defaultSleep } from './types.js';

export type RollbackScope = { wave: number | 'lockin' } | { instances: string[] } | { all: true };

export interface RollbackOptions extends EngineDeps {
  journalFile: string;
  tool: ToolInfo;
  scope: RollbackScope;
  concurrency?: number;
  applyTimeoutMs?: number;
  modifyBucket?: { capacity: number; refillPerSecond: number };
  /**
   * Where HttpTokensEnforced is enabled and instances go back to HttpTokens=optional: lift it first (journaled) and
   * enable it again at the end (`--lift-http-tokens-enforced`). Without it such a rollback is refused before any
   * change (TOKENS_ENFORCED). Not needed where the rollback restores lock-in's account defaults to a state without it.
   */
  liftTokensEnforced?: boolean;
  /** Leave HttpTokensEnforced lifted at the end instead of enabling it again (`--keep-http-tokens-enforced-lifted`). */
  keepTokensEnforcedLifted?: boolean;
  /**
   * The plan the journal was written for (`--from-plan`): also restore the plan's instances in scope that the
   * journal does not name but whose live settings are the plan's target, to the settings the plan recorded; and
   * accept a journal cut short (it is resealed as it is, with a warning). For a journal that lost records.
   */
  fromPlan?: Plan;
  /** The journal's file layer (tests). Default: the real one. */
  journalFs?: JournalFs;
}

export interface RollbackResult extends RollbackOutcome {
  /** Requested instance ids the journal never changed. */
  unknown: string[];
  /** Instances restored from the plan's recorded settings (`fromPlan`): the journal had no record of their change. */
  fromPlan: string[];
  lockIn: { target: string; outcome: 'restored' | 'already-there' | 'irreversible' | 'failed'; message: string }[];
  /** Account/Regions where HttpTokensEnforced was lifted for this rollback, and what became of it at the end. */
  tokensEnforced: { where: string; outcome: 'lifted-and-enabled-again' | 'left-lifted' | 'failed'; message: string }[];
  message: string;
}

type Fields = Record<string, string | number | boolean | null>;

function lockInLabel(t: JournalTarget): string {
  switch (t.kind) {
    case 'launch-template':
      return `launch template ${t.launchTemplateId}`;
    case 'account-defaults':
      return `account defaults ${t.accountId} ${t.region}`;
    case 'image':
      return `image ${t.imageId}`;
    case 'auto-scaling-group':
      return `Auto Scaling group ${t.autoScalingGroupName}`;
    case 'canary':
      return `canary ${t.canaryId} from launch template ${t.launchTemplateId}`;
    case 'instance':
      return t.instanceId;
  }
}

/** The plan's instances in `scope`, each with the wave it belongs to. */
function planInstances(plan: Plan, scope: RollbackScope): { entry: PlanEntry; wave: number }[] {
  const want = 'instances' in scope ? new Set(scope.instances) : null;
  return plan.waves.flatMap((w) =>
    'wave' in scope && scope.wave !== w.index
      ? []
      : w.instances.filter((e) => !want || want.has(e.instanceId)).map((entry) => ({ entry, wave: w.index })),
  );
}

/**
 * `fromPlan`: the plan's instances in scope that the journal does not name (its records were lost) and whose live
 * settings are the plan's target, as targets to restore to the settings the plan recorded. Others are left alone:
 * an instance at neither the target nor the plan's settings was changed by someone else.
 */
async function unrecordedFromPlan(
  plan: Plan,
  scope: RollbackScope,
  known: Set<string>,
  clients: RollbackOptions['clients'],
  emit: (e: EngineEvent) => void,
): Promise<TargetState[]> {
  const candidates = planInstances(plan, scope).filter(
    ({ entry }) =>
      !known.has(
        targetKey({ kind: 'instance', instanceId: entry.instanceId, accountId: entry.accountId, region: entry.region }),
      ),
  );
  const live = await describeEntries(
    clients,
    candidates.map((c) => c.entry),
  );
  const out: TargetState[] = [];
  for (const { entry, wave } of candidates) {
    const l = live.get(entry.instanceId);
    if (isGone(l) || !sameSettings(l!.settings, entry.target)) continue;
    const target = {
      kind: 'instance' as const,
      instanceId: entry.instanceId,
      accountId: entry.accountId,
      region: entry.region,
    };
    const original = plannedSettings(entry);
    emit({
      type: 'warning',
      code: 'RESTORE_FROM_PLAN',
      message: `${entry.instanceId} (${entry.accountId} ${entry.region}) holds the plan's target but the journal has no record of it: restoring the settings the plan recorded (${settingsText(original)})`,
    });
    out.push({
      key: targetKey(target),
      target,
      wave,
      original,
      desired: entry.target,
      phase: 'applied',
      openIntent: null,
      lastIntent: null,
      lastResult: null,
      events: [],
    });
  }
  return out;
}

/**
 * Restores what the journal changed to the settings recorded before the first change (a wave, chosen instances, or
 * everything including lock-in). Idempotent: targets already at their previous settings are skipped, terminated
 * instances are reported; every restore is journaled write-ahead like enforcement. With `fromPlan`, a journal cut
 * short is accepted and the plan's instances it lost are restored from the plan, instance by instance. When the
 * journal cannot be written, the rollback stops before any further call (JOURNAL_WRITE_FAILED, exit 1) and lists
 * the restores it could not record.
 */
export async function rollback(o: RollbackOptions): Promise<RollbackResult> {
  const reporter: Reporter = o.reporter ?? silentReporter;
  const emit = (e: EngineEvent) => reporter.emit(e);
  const sleep = o.sleep ?? defaultSleep;
  const journal = await JournalWriter.open({
    file: o.journalFile,
    tool: o.tool,
    reporter,
    ...(o.journalFs ? { fs: o.journalFs } : {}),
    ...(o.fromPlan ? { planContentHash: o.fromPlan.contentHash, acceptTruncated: true } : {}),
    expected: (records) => {
      const targets = new Set(records.flatMap((r) => (r.type === 'intent' ? [targetKey(r.target)] : []))).size;
      const planned = o.fromPlan ? o.fromPlan.waves.reduce((n, w) => n + w.instances.length, 0) : 0;
      const n = Math.max(targets, planned);
      return {
        bytes: 16 * 1024 + n * JOURNAL_BYTES_PER_TARGET,
        what: `a rollback of up to ${n} target(s) × ${JOURNAL_BYTES_PER_TARGET / 1024} KiB`,
      };
    },
  });
  const ledger = new UnrecordedLedger();
  try {
    const state = journal.state();
    const changed = [...state.targets.values()].filter((s) => s.original !== null);
    let picked: TargetState[];
    const unknown: string[] = [];
    const scope = o.scope;
    if ('all' in scope) picked = changed;
    else if ('wave' in scope) picked = changed.filter((s) => s.wave === scope.wave);
    else {
      const want = new Set(scope.instances);
      picked = changed.filter((s) => s.target.kind === 'instance' && want.has(s.target.instanceId));
    }
    const fromPlan = o.fromPlan
      ? await unrecordedFromPlan(o.fromPlan, scope, new Set(changed.map((s) => s.key)), o.clients, emit)
      : [];
    if ('instances' in scope) {
      const found = new Set(
        [...picked, ...fromPlan].map((s) => (s.target.kind === 'instance' ? s.target.instanceId : '')),
      );
      unknown.push(...scope.instances.filter((id) => !found.has(id)));
      for (const id of unknown) {
        emit({
          type: 'warning',
          code: 'NOT_IN_JOURNAL',
          message: `${id}: the journal records no change to it${o.fromPlan ? " and it does not hold the plan's target" : ''}; left alone`,
        });
      }
    }
    // HttpTokensEnforced refuses every change back to tokens optional: decide before any change.
    const instanceTargets = picked.filter((s) => s.target.kind === 'instance');
    const blocked = await findEnforcedRegions(o.clients, pairsRollingBackToOptional([...instanceTargets, ...fromPlan]));
    const needsLeave = blocked.filter((b) => !lockInRestoreLifts(picked, b));
    if (blocked.some((b) => b.managedBy === 'declarative-policy') || (needsLeave.length > 0 && !o.liftTokensEnforced)) {
      throw enforcementRefusal(blocked, {
        doing: 'rollback',
        rerun: 'the same `imdsv2 rollback` command with --lift-http-tokens-enforced',
      });
    }
    const liftWave = (p: { accountId: string; region: string }) =>
      instanceTargets.find((s) => s.target.accountId === p.accountId && s.target.region === p.region)?.wave ?? 'lockin';
    const lifts = [...unfinishedLifts(state)];
    for (const b of blocked) lifts.push(...(await liftEnforcement(journal, o.clients, [b], liftWave(b), reporter)));
    const outcome = await rollbackInstances([...instanceTargets, ...fromPlan], {
      journal,
      clients: o.clients,
      limiter: new RegionalLimiter(o.modifyBucket ?? MODIFY_BUCKET, sleep),
      concurrency: o.concurrency ?? 20,
      reporter,
      sleep,
      now: o.now,
      applyTimeoutMs: o.applyTimeoutMs ?? 600_000,
      ledger,
    });
    const lockIn: RollbackResult['lockIn'] = [];
    for (const s of picked.filter((x) => x.target.kind !== 'instance')) {
      if (journal.failure) break;
      const t = s.target;
      const previous = s.original as Fields;
      const label = lockInLabel(t);
      if (t.kind === 'image') {
        lockIn.push({
          target: label,
          outcome: 'irreversible',
          message: `${label}: the AMI IMDS-support flag cannot be undone`,
        });
        continue;
      }
      const c = lockInClients(o.clients, t.accountId, t.region);
      try {
        const live = await readLockIn(c, t);
        if (lockInAtPrevious(t, live, previous)) {
          await journal.append({
            type: 'result',
            wave: s.wave,
            action: 'rollback',
            target: t,
            outcome: 'skipped',
            note: 'already at the previous settings',
          });
          lockIn.push({
            target: label,
            outcome: 'already-there',
            message: `${label}: already at its previous settings`,
          });
          continue;
        }
        await journal.append({
          type: 'intent',
          wave: s.wave,
          action: 'rollback',
          target: t,
          previous: live,
          desired: previous,
        });
      } catch (e) {
        if (isJournalFailure(e)) break;
        const error = callFailure(e, t.accountId);
        await journal
          .append({ type: 'result', wave: s.wave, action: 'rollback', target: t, outcome: 'failed', error })
          .catch(() => undefined);
        lockIn.push({ target: label, outcome: 'failed', message: `${label}: ${error.message}` });
        continue;
      }
      let note: string | undefined;
      try {
        note = await restoreLockIn(c, t, previous);
      } catch (e) {
        const error = callFailure(e, t.accountId);
        await recordAfterCall(
          () =>
            journal.append({ type: 'result', wave: s.wave, action: 'rollback', target: t, outcome: 'failed', error }),
          ledger,
          null,
        );
        lockIn.push({ target: label, outcome: 'failed', message: `${label}: ${error.message}` });
        continue;
      }
      await recordAfterCall(
        () => journal.append({ type: 'result', wave: s.wave, action: 'rollback', target: t, outcome: 'ok', note }),
        ledger,
        null,
      );
      lockIn.push({ target: label, outcome: 'restored', message: `${label}: restored${note ? `; ${note}` : ''}` });
    }
    if (journal.failure) {
      reportUnrecorded(reporter, ledger);
      throw journalStopError({
        journalFile: o.journalFile,
        failure: journal.failure,
        doing: 'rollback',
        recorded: outcome.rolledBack.length,
        ledger,
        resume: `imdsv2 rollback --journal ${o.journalFile} ${scopeFlags(scope)}`,
      });
    }
    // Enable HttpTokensEnforced again where this (or an interrupted) rollback lifted it, unless the lock-in restore
    // above already wrote the account defaults back, or the user keeps it lifted.
    const tokensEnforced: RollbackResult['tokensEnforced'] = [];
    const toRestore = lifts.filter((l) => !lockInRestoreLifts(picked, l));
    if (o.keepTokensEnforcedLifted) {
      for (const l of toRestore) {
        tokensEnforced.push({
          where: `${l.accountId} ${l.region}`,
          outcome: 'left-lifted',
          message: `HttpTokensEnforced left lifted in ${l.accountId} ${l.region}; enable it again with: aws ec2 modify-instance-metadata-defaults --region ${l.region} --http-tokens-enforced enabled`,
        });
      }
    } else {
      for (const l of toRestore) {
        const r = await restoreEnforcement(journal, o.clients, [l], liftWave(l), reporter);
        for (const w of r.restored)
          tokensEnforced.push({
            where: w,
            outcome: 'lifted-and-enabled-again',
            message: `HttpTokensEnforced lifted in ${w} for the rollback and enabled again`,
          });
        for (const f of r.failed)
          tokensEnforced.push({ where: f.where, outcome: 'failed', message: `${f.where}: ${f.message}` });
      }
    }
    // Mark the waves rolled back, so that `enforce --next` does not move past them.
    const waves = new Set([...picked, ...fromPlan].map((s) => String(s.wave)));
    for (const k of waves) {
      const run = state.waves.get(k);
      if (run && run.state !== 'rolled-back' && ('all' in scope || 'wave' in scope)) {
        await journal.append({
          type: 'wave-end',
          wave: run.wave,
          outcome: 'rolled-back',
          message: 'rolled back by imdsv2 rollback',
        });
      }
    }
    const message =
      `rollback: ${outcome.rolledBack.length} restored` +
      (fromPlan.length > 0 ? ` (${fromPlan.length} from the plan's settings)` : '') +
      `, ${outcome.alreadyThere.length} already at previous settings, ` +
      `${outcome.terminated.length} terminated, ${outcome.failed.length} failed` +
      (lockIn.length > 0 ? `; lock-in: ${lockIn.map((l) => l.outcome).join(', ')}` : '') +
      (tokensEnforced.length > 0
        ? `; HttpTokensEnforced: ${tokensEnforced.map((t) => `${t.where} ${t.outcome}`).join(', ')}`
        : '');
    const result: RollbackResult = {
      ...outcome,
      unknown,
      fromPlan: fromPlan.map((s) => (s.target.kind === 'instance' ? s.target.instanceId : s.key)),
      lockIn,
      tokensEnforced,
      message,
    };
    const enforcedFailed = tokensEnforced.filter((t) => t.outcome === 'failed');
    if (outcome.failed.length > 0 || lockIn.some((l) => l.outcome === 'failed') || enforcedFailed.length > 0) {
      const lines = [
        ...failureLines(outcome.failed),
        ...lockIn.filter((l) => l.outcome === 'failed').map((l) => l.message),
        ...enforcedFailed.map((t) => `HttpTokensEnforced not enabled again: ${t.message}`),
      ];
      throw new CutoverError(
        'INCOMPLETE',
        `${message}:\n  ${lines.join('\n  ')}\nRun the same rollback again to retry.`,
        {
          details: { result },
        },
      );
    }
    return result;
  } catch (e) {
    if (isJournalFailure(e) && journal.failure) {
      reportUnrecorded(reporter, ledger);
      throw journalStopError({
        journalFile: o.journalFile,
        failure: journal.failure,
        doing: 'rollback',
        recorded: 0,
        ledger,
        resume: `imdsv2 rollback --journal ${o.journalFile} ${scopeFlags(o.scope)}`,
      });
    }
    throw e;
  } finally {
    await journal.close();
  }
}

function scopeFlags(scope: RollbackScope): string {
  if ('all' in scope) return '--all';
  if ('wave' in scope) return `--wave ${scope.wave}`;
  return `--instances ${scope.instances.join(',')}`;
}
