import type { EngineEvent, JournalTarget, Reporter, TargetState, ToolInfo } from '@imdsv2-cutover/core';
import { CutoverError, silentReporter } from '@imdsv2-cutover/core';
import { JournalWriter } from '../journal/journal.js';
import { MODIFY_BUCKET, RegionalLimiter } from './aws-ops.js';
import { awsErrorInfo } from '../errors.js';
import { lockInAtPrevious, lockInClients, readLockIn, restoreLockIn } from './lockin.js';
import { rollbackInstances, type RollbackOutcome } from './rollback.js';
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
}

export interface RollbackResult extends RollbackOutcome {
  /** Requested instance ids the journal never changed. */
  unknown: string[];
  lockIn: { target: string; outcome: 'restored' | 'already-there' | 'irreversible' | 'failed'; message: string }[];
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
    const outcome = await rollbackInstances(
      picked.filter((s) => s.target.kind === 'instance'),
      {
        journal,
        clients: o.clients,
        limiter: new RegionalLimiter(o.modifyBucket ?? MODIFY_BUCKET, sleep),
        concurrency: o.concurrency ?? 20,
        reporter,
        sleep,
        now: o.now,
        applyTimeoutMs: o.applyTimeoutMs ?? 600_000,
      },
    );
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
        const note = await restoreLockIn(c, t, previous);
        await journal.append({ type: 'result', wave: s.wave, action: 'rollback', target: t, outcome: 'ok', note });
        lockIn.push({ target: label, outcome: 'restored', message: `${label}: restored${note ? `; ${note}` : ''}` });
      } catch (e) {
        const error = awsErrorInfo(e);
        await journal.append({ type: 'result', wave: s.wave, action: 'rollback', target: t, outcome: 'failed', error });
        lockIn.push({ target: label, outcome: 'failed', message: `${label}: ${error.code}: ${error.message}` });
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
      (lockIn.length > 0 ? `; lock-in: ${lockIn.map((l) => l.outcome).join(', ')}` : '');
    const result: RollbackResult = { ...outcome, unknown, lockIn, message };
    if (outcome.failed.length > 0 || lockIn.some((l) => l.outcome === 'failed')) {
      throw new CutoverError('INCOMPLETE', `${message}. Run the same rollback again to retry.`, {
        details: { result },
      });
    }
    return result;
  } finally {
    await journal.close();
  }
}
