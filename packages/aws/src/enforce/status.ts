import type { JournalSummary, Plan, WaveHistory } from '@imdsv2-cutover/core';
import { assertJournalOfPlan, summarizeJournal, targetKey } from '@imdsv2-cutover/core';
import { readJournal } from '../journal/journal.js';
import { isGone, sameSettings } from './aws-ops.js';
import { describeEntries, plannedSettings } from './preflight.js';
import type { ClientsFor } from './types.js';

/** Live settings of a wave's instances (`status --live`). */
export interface LiveCounts {
  /** Instances holding the plan's target settings. */
  atTarget: number;
  /** Instances holding the settings the plan recorded (not changed, or rolled back). */
  atPlanned: number;
  other: number;
  gone: number;
}

export interface WaveStatus extends WaveHistory {
  live?: LiveCounts;
}

/** A lock-in canary (`--prove-launch`) as the journal tells it. */
export interface CanaryStatus {
  canaryId: string;
  launchTemplateId: string;
  accountId: string;
  region: string;
  /** The instance it launched, when the journal learnt it. */
  instanceId: string | null;
  /** terminated: its rollback is recorded; to-terminate: it may still run (a crash, a failed termination). */
  state: 'terminated' | 'not-launched' | 'to-terminate';
}

/** `imdsv2 status`: the journal's summary for the plan (core's `summarizeJournal`), with live counts on request. */
export interface StatusResult extends Omit<JournalSummary, 'waves'> {
  planHash: string;
  waves: WaveStatus[];
  /** Canaries lock-in launched; any `to-terminate` is terminated by `imdsv2 rollback --wave lockin`. */
  canaries: CanaryStatus[];
}

/**
 * Where the execution of a plan stands: the journal summarised by core's `summarizeJournal` against the plan (the very
 * summary the report renders), and with `live` the instances' current settings (DescribeInstances, 200 ids a call).
 * Errors: BAD_INPUT for a missing journal or one of another plan, JOURNAL_CORRUPT for a damaged one (exit 2).
 */
export async function status(o: {
  plan: Plan;
  journalFile: string;
  clients?: ClientsFor;
  live?: boolean;
}): Promise<StatusResult> {
  const parsed = await readJournal(o.journalFile);
  assertJournalOfPlan(parsed, o.plan, o.journalFile);
  const summary = summarizeJournal(parsed, o.plan);
  const waves: WaveStatus[] = summary.waves.map((w) => ({ ...w }));
  if (o.live && o.clients) {
    for (const ws of waves) {
      const w = o.plan.waves.find((x) => x.index === ws.wave);
      if (!w) continue;
      const live = await describeEntries(o.clients, w.instances);
      const l: LiveCounts = { atTarget: 0, atPlanned: 0, other: 0, gone: 0 };
      for (const e of w.instances) {
        const x = live.get(e.instanceId);
        if (isGone(x)) l.gone++;
        else if (sameSettings(x!.settings, e.target)) l.atTarget++;
        else if (sameSettings(x!.settings, plannedSettings(e))) l.atPlanned++;
        else l.other++;
      }
      ws.live = l;
    }
  }
  const canaries: CanaryStatus[] = summary.targets.flatMap((t) => {
    if (t.target.kind !== 'canary') return [];
    const detail = parsed.records
      .filter((r) => r.type === 'result' && r.action === 'apply' && targetKey(r.target) === t.key)
      .map((r) => (r.type === 'result' ? r.detail?.instanceId : undefined))
      .find((x) => typeof x === 'string');
    const state =
      t.phase === 'rolled-back' ? 'terminated' : t.phase === 'apply-failed' ? 'not-launched' : 'to-terminate';
    return [
      {
        canaryId: t.target.canaryId,
        launchTemplateId: t.target.launchTemplateId,
        accountId: t.target.accountId,
        region: t.target.region,
        instanceId: typeof detail === 'string' ? detail : null,
        state,
      },
    ];
  });
  return { ...summary, planHash: o.plan.contentHash, waves, canaries };
}
