import type { JournalSummary, Plan, TargetHistory } from '@imdsv2-cutover/core';
import { targetKey } from '@imdsv2-cutover/core';

/**
 * What execution did, read from core's journal summary (never from the journal itself): each instance's outcome from
 * its target phase and events, and each executed wave told as a change board reads it ("the guard caught one caller;
 * 1 of 6 rolled back, 5 kept IMDSv2") rather than by the wave's last record alone.
 */

/** What execution did to one instance, in words and as a style class. */
export interface InstanceOutcome {
  /** Short label for tables and the CSV: `kept IMDSv2`, `rolled back`, `not started`... */
  label: string;
  /** `kept`, `rolled-back`, `failed`, `unfinished`, `pending`, `skipped`, `terminated`, `applied`. */
  kind: OutcomeKind;
  /** One sentence with the evidence: when, and why (the guard's rejected calls, the error). */
  detail: string;
  /** When it reached this outcome (ISO), or ''. */
  at: string;
}

export type OutcomeKind =
  'kept' | 'applied' | 'rolled-back' | 'failed' | 'unfinished' | 'pending' | 'skipped' | 'terminated';

/** What the guard saw for an instance (the last guard record of its wave that named it). */
export interface GuardCatch {
  instanceId: string;
  calls: number;
  at: string;
}

/** The guard's catches by instance id, over every wave of the summary. */
export function guardCatches(journal: JournalSummary): Map<string, GuardCatch> {
  const out = new Map<string, GuardCatch>();
  for (const w of journal.waves) {
    const g = w.lastGuard;
    if (!g?.tripped) continue;
    for (const r of g.rejected) out.set(r.instanceId, { instanceId: r.instanceId, calls: r.calls, at: g.at });
  }
  return out;
}

const ts = (iso: string) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '');

/** The outcome of one instance target. Pure: from its phase and events, and what the guard caught. */
export function instanceOutcome(t: TargetHistory, caught: GuardCatch | undefined): InstanceOutcome {
  const last = t.events.at(-1);
  const at = last?.at ?? '';
  const applies = t.events.filter((e) => e.record === 'result' && e.action === 'apply' && e.outcome === 'ok').length;
  switch (t.phase) {
    case 'verified':
      return {
        label: 'kept IMDSv2',
        kind: 'kept',
        detail: `HttpTokens=required applied and verified ${ts(at)}${applies > 1 ? ` (applied ${applies} times)` : ''}.`,
        at,
      };
    case 'applied':
      return {
        label: 'applied',
        kind: 'applied',
        detail: `HttpTokens=required applied ${ts(at)}; EC2 had not yet reported it applied.`,
        at,
      };
    case 'rolled-back': {
      const why = caught
        ? `the guard saw ${caught.calls} rejected IMDSv1 call(s) ${ts(caught.at)}`
        : 'a rollback restored its recorded settings';
      return {
        label: caught ? 'rolled back by the guard' : 'rolled back',
        kind: 'rolled-back',
        detail: `IMDSv2 was applied, then ${why}; it runs with its previous settings (IMDSv1 allowed) since ${ts(at)}.`,
        at,
      };
    }
    case 'apply-failed':
      return {
        label: 'apply failed',
        kind: 'failed',
        detail: `Apply failed ${ts(at)}: ${t.error ?? 'no detail'}.`,
        at,
      };
    case 'rollback-failed':
      return {
        label: 'rollback failed',
        kind: 'failed',
        detail: `Rollback failed ${ts(at)}: ${t.error ?? 'no detail'}; it may still require IMDSv2.`,
        at,
      };
    case 'intent-pending':
    case 'rollback-pending':
      return {
        label: 'unfinished',
        kind: 'unfinished',
        detail: `A ${t.phase === 'intent-pending' ? 'change' : 'rollback'} was started ${ts(at)} and never recorded as done; \`imdsv2 status\` checks its live state.`,
        at,
      };
    case 'skipped':
      return {
        label: 'skipped',
        kind: 'skipped',
        detail: `Skipped ${ts(at)}${last?.note ? `: ${last.note}` : ''}.`,
        at,
      };
    case 'terminated':
      return { label: 'terminated', kind: 'terminated', detail: `Terminated before it could be verified.`, at };
  }
}

/** An instance of an executed wave with its readiness and what execution did to it. */
export interface WaveInstanceView {
  instanceId: string;
  name: string;
  owner: string;
  /** Readiness as assessed (before execution). */
  readiness: string;
  outcome: InstanceOutcome;
  /** What the assessment knew of the caller, for instances the guard caught. */
  caller: string;
  /** Rejected IMDSv1 calls the guard saw on it, or null when the guard did not name it. */
  guardCalls: number | null;
}

/** A wave the journal shows as started, told for a change board. */
export interface ExecutedWaveView {
  wave: string;
  name: string;
  kind: string;
  /** The wave's last record (`completed`, `rolled-back`, `open`...), for styling. */
  state: string;
  /** Short verdict: `completed`, `partly rolled back`, `rolled back`, `in progress or interrupted`... */
  outcome: string;
  /** One sentence: the counts as they stand now (kept, rolled back, failed, unfinished, not started). */
  now: string;
  startedAt: string;
  endedAt: string;
  dryRun: boolean;
  /** Counts by record over the wave's history. */
  applied: number;
  verified: number;
  rolledBack: number;
  failed: number;
  /** Targets as they stand now. */
  counts: { total: number; kept: number; rolledBack: number; failed: number; unfinished: number; pending: number };
  guard: string;
  /** Instances the guard caught, with their caller as far as the assessment knows it. */
  caught: WaveInstanceView[];
  /** Instances whose outcome is not "kept IMDSv2" (at most `listLimit`), then how many more. */
  exceptions: WaveInstanceView[];
  exceptionsMore: number;
  /** Instances that kept IMDSv2 (at most `listLimit`), then how many more. */
  kept: WaveInstanceView[];
  keptMore: number;
  message: string;
}

/** What the report knows of an instance besides the journal. */
export interface InstanceFacts {
  name: string;
  owner: string;
  readiness: string;
  /** The caller as the assessment names it, or why it does not. */
  caller: string;
}

const STATE_LABEL: Record<string, string> = {
  open: 'in progress or interrupted',
  completed: 'completed',
  'rolled-back': 'rolled back',
  halted: 'halted',
  failed: 'failed',
};

/**
 * The executed waves (every wave the journal shows as started) with per-instance outcomes. `facts` gives the name,
 * owner, readiness and caller of an instance id; `listLimit` caps the instances listed per wave and kind.
 */
export function executedWaves(
  journal: JournalSummary,
  plan: Plan | null,
  facts: (instanceId: string) => InstanceFacts,
  listLimit: number,
): ExecutedWaveView[] {
  const caught = guardCatches(journal);
  const byKey = new Map(journal.targets.map((t) => [t.key, t]));
  const planWave = new Map((plan?.waves ?? []).map((w) => [String(w.index), w]));
  return journal.waves
    .filter((w) => w.state !== 'not-started')
    .map((w): ExecutedWaveView => {
      const id = w.wave === 'lockin' ? 'lock-in' : String(w.wave);
      const pw = planWave.get(String(w.wave));
      // The wave's instances: the plan's when there is one (so "not started" shows), else what the journal names.
      const instanceTargets: { instanceId: string; t: TargetHistory | undefined }[] = pw
        ? pw.instances.map((e) => ({
            instanceId: e.instanceId,
            t: byKey.get(
              targetKey({ kind: 'instance', instanceId: e.instanceId, accountId: e.accountId, region: e.region }),
            ),
          }))
        : journal.targets
            .filter((t) => t.wave === w.wave && t.target.kind === 'instance')
            .map((t) => ({ instanceId: t.target.kind === 'instance' ? t.target.instanceId : '', t }));
      const views = instanceTargets.map(({ instanceId, t }): WaveInstanceView => {
        const f = facts(instanceId);
        const outcome: InstanceOutcome = t
          ? instanceOutcome(t, caught.get(instanceId))
          : { label: 'not started', kind: 'pending', detail: 'The journal has no change for it yet.', at: '' };
        return {
          instanceId,
          name: f.name,
          owner: f.owner,
          readiness: f.readiness,
          outcome,
          caller: f.caller,
          guardCalls: caught.get(instanceId)?.calls ?? null,
        };
      });
      const counts = {
        total: w.counts.total,
        kept: w.counts.verified + w.counts.applied,
        rolledBack: w.counts.rolledBack,
        failed: w.counts.failed,
        unfinished: w.counts.inFlight,
        pending: w.counts.pending,
      };
      const parts = [
        counts.kept > 0 && `${counts.kept} kept IMDSv2`,
        counts.rolledBack > 0 && `${counts.rolledBack} rolled back`,
        counts.failed > 0 && `${counts.failed} failed`,
        counts.unfinished > 0 && `${counts.unfinished} unfinished`,
        counts.pending > 0 && `${counts.pending} not started`,
        w.counts.skipped > 0 && `${w.counts.skipped} skipped`,
        w.counts.terminated > 0 && `${w.counts.terminated} terminated`,
      ].filter((x): x is string => typeof x === 'string');
      let outcome = STATE_LABEL[w.state] ?? w.state;
      if (w.state === 'rolled-back' && counts.kept > 0) outcome = 'partly rolled back';
      if (w.dryRun) outcome += ' (dry run)';
      const g = w.lastGuard;
      const guard =
        w.guardTrips > 0 && g
          ? `tripped: ${g.rejected.map((r) => `${r.instanceId} (${r.calls} rejected call(s))`).join(', ')}`
          : g
            ? 'watched, not tripped'
            : 'no guard record';
      const caughtViews = views.filter((v) => caught.has(v.instanceId) && w.guardTrips > 0);
      const exceptions = views.filter((v) => v.outcome.kind !== 'kept');
      const kept = views.filter((v) => v.outcome.kind === 'kept');
      return {
        wave: id,
        name: w.name ?? pw?.name ?? '',
        kind: pw?.kind ?? (w.wave === 'lockin' ? 'lock-in' : ''),
        state: w.state,
        outcome,
        now: `${parts.join(', ') || 'nothing changed'} (of ${counts.total}).`,
        startedAt: w.startedAt ?? '',
        endedAt: w.endedAt ?? '',
        dryRun: w.dryRun,
        applied: w.events.applied,
        verified: w.events.verified,
        rolledBack: w.events.rolledBack,
        failed: w.events.failed,
        counts,
        guard,
        caught: caughtViews,
        exceptions: exceptions.slice(0, listLimit),
        exceptionsMore: Math.max(0, exceptions.length - listLimit),
        kept: kept.slice(0, listLimit),
        keptMore: Math.max(0, kept.length - listLimit),
        message: w.message ?? '',
      };
    });
}
