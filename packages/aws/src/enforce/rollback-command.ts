import type { EngineEvent, JournalTarget, LockInStep, Reporter, TargetState, ToolInfo } from '@imdsv2-cutover/core';
import { CutoverError, silentReporter } from '@imdsv2-cutover/core';
import { JournalWriter } from '../journal/journal.js';
import { MODIFY_BUCKET, RegionalLimiter } from './aws-ops.js';
import { awsErrorInfo } from '../errors.js';
import { lockInAtPrevious, readLockIn, restoreLockIn } from './lockin.js';
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
}

export interface RollbackResult extends RollbackOutcome {
  /** Requested instance ids the journal never changed. */
  unknown: string[];
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
    case 'instance':
      return t.instanceId;
  }
}

function stepFor(t: JournalTarget): { kind: LockInStep['kind']; resourceId?: string } {
  if (t.kind === 'launch-template') return { kind: 'launch-template-version', resourceId: t.launchTemplateId };
  if (t.kind === 'image') return { kind: 'ami-imds-support', resourceId: t.imageId };
  return { kind: 'account-defaults' };
}

/**
 * Restores what the journal changed to the settings recorded before the first change (a wave, chosen instances, or
 * everything including lock-in). Idempotent: targets already at their previous settings are skipped, terminated
 * instances are reported; every restore is journaled write-ahead like enforcement.
 */
export async function rollback(o: RollbackOptions): Promise<RollbackResult> {
  const reporter: Reporter = o.reporter ?? silentReporter;
  const emit = (e: EngineEvent) => reporter.emit(e);
  const sleep = o.sleep ?? defaultSleep;
  const journal = await JournalWriter.open({ file: o.journalFile, tool: o.tool, reporter });
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
      const found = new Set(picked.map((s) => (s.target.kind === 'instance' ? s.target.instanceId : '')));
      unknown.push(...scope.instances.filter((id) => !found.has(id)));
      for (const id of unknown) {
        emit({
          type: 'warning',
          code: 'NOT_IN_JOURNAL',
          message: `${id}: the journal records no change to it; left alone`,
        });
      }
    }
    // HttpTokensEnforced refuses every change back to tokens optional: decide before any change.
    const instanceTargets = picked.filter((s) => s.target.kind === 'instance');
    const blocked = await findEnforcedRegions(o.clients, pairsRollingBackToOptional(instanceTargets));
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
    const outcome = await rollbackInstances(instanceTargets, {
      journal,
      clients: o.clients,
      limiter: new RegionalLimiter(o.modifyBucket ?? MODIFY_BUCKET, sleep),
      concurrency: o.concurrency ?? 20,
      reporter,
      sleep,
      now: o.now,
      applyTimeoutMs: o.applyTimeoutMs ?? 600_000,
    });
    const lockIn: RollbackResult['lockIn'] = [];
    for (const s of picked.filter((x) => x.target.kind !== 'instance')) {
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
      const ec2 = o.clients.ec2(t.accountId, t.region);
      try {
        const live = await readLockIn(ec2, stepFor(t));
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
        await restoreLockIn(ec2, t, previous);
        await journal.append({ type: 'result', wave: s.wave, action: 'rollback', target: t, outcome: 'ok' });
        lockIn.push({ target: label, outcome: 'restored', message: `${label}: restored` });
      } catch (e) {
        const error = awsErrorInfo(e);
        await journal.append({ type: 'result', wave: s.wave, action: 'rollback', target: t, outcome: 'failed', error });
        lockIn.push({ target: label, outcome: 'failed', message: `${label}: ${error.code}: ${error.message}` });
      }
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
    const waves = new Set(picked.map((s) => String(s.wave)));
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
      `rollback: ${outcome.rolledBack.length} restored, ${outcome.alreadyThere.length} already at previous settings, ` +
      `${outcome.terminated.length} terminated, ${outcome.failed.length} failed` +
      (lockIn.length > 0 ? `; lock-in: ${lockIn.map((l) => l.outcome).join(', ')}` : '') +
      (tokensEnforced.length > 0
        ? `; HttpTokensEnforced: ${tokensEnforced.map((t) => `${t.where} ${t.outcome}`).join(', ')}`
        : '');
    const result: RollbackResult = { ...outcome, unknown, lockIn, tokensEnforced, message };
    if (
      outcome.failed.length > 0 ||
      lockIn.some((l) => l.outcome === 'failed') ||
      tokensEnforced.some((t) => t.outcome === 'failed')
    ) {
      throw new CutoverError('INCOMPLETE', `${message}. Run the same rollback again to retry.`, {
        details: { result },
      });
    }
    return result;
  } finally {
    await journal.close();
  }
}
