import { CutoverError } from '../errors.js';
import type { JournalTarget } from '../schemas/journal.js';
import type { LockInStep, Plan } from '../schemas/plan.js';
import type { ParsedJournal } from './parse.js';
import type { JournalIntegrity } from './seal.js';
import type { JournalSettings, TargetEvent, TargetPhase, WaveCounts, WaveId, WaveRunState } from './replay.js';
import { countWave, replayJournal, targetKey } from './replay.js';

/** A target's place in the history: its current phase and every record that touched it. */
export interface TargetHistory {
  /** `instance:<account>/<region>/<id>`, `launch-template:...`, `account-defaults:...`, ... (see `targetKey`). */
  key: string;
  target: JournalTarget;
  /** The wave that last applied (or skipped) the target. */
  wave: WaveId;
  phase: TargetPhase;
  /** The settings before the first change (what rollback restores); null when the journal never changed it. */
  original: JournalSettings | null;
  /** The error of the last failed result, as `CODE: message`; null when the last result did not fail. */
  error: string | null;
  events: TargetEvent[];
}

/** The last guard record of a wave. */
export interface GuardHistory {
  at: string;
  tripped: boolean;
  threshold: number | null;
  windowStart: string | null;
  windowEnd: string | null;
  rejected: { instanceId: string; calls: number }[];
}

/** A wave as the journal tells it. */
export interface WaveHistory {
  wave: WaveId;
  /** The plan's name for the wave; `lock-in` for the lock-in steps; null without a plan. */
  name: string | null;
  state: WaveRunState | 'not-started';
  /** Times the wave was started (resumes and re-runs included). */
  runs: number;
  startedAt: string | null;
  endedAt: string | null;
  message: string | null;
  dryRun: boolean;
  /**
   * Where the wave's targets stand now, by phase. With a plan the targets are the plan's (so `pending` counts what the
   * journal never touched); without one, the targets the journal names for this wave.
   */
  counts: WaveCounts;
  /** What happened, counted by record: an apply, a rollback and a re-apply count 2 applied and 1 rolled back. */
  events: { applied: number; rolledBack: number; failed: number; verified: number };
  /** Guard records of the wave that tripped. */
  guardTrips: number;
  lastGuard: GuardHistory | null;
}

/** The one summary of a journal that `status` prints and the report renders. */
export interface JournalSummary {
  header: { journalId: string; createdAt: string; planContentHash: string } | null;
  records: number;
  lastSeq: number;
  /** Uncommitted text after the last newline, left out (see `parseJournalText`). */
  tornTail: { line: number; bytes: number } | null;
  /** What the journal's seal vouches for (see `verifyJournalSeal`); null when the text was parsed without it. */
  integrity: JournalIntegrity | null;
  waves: WaveHistory[];
  /** Every target the journal names, ordered by key. */
  targets: TargetHistory[];
}

/** The journal target of a lock-in step: what its intent and result records name. */
export function lockInTarget(s: Pick<LockInStep, 'kind' | 'accountId' | 'region' | 'resourceId'>): JournalTarget {
  const base = { accountId: s.accountId, region: s.region };
  switch (s.kind) {
    case 'launch-template-version':
      return { kind: 'launch-template', launchTemplateId: s.resourceId ?? '', ...base };
    case 'ami-imds-support':
      return { kind: 'image', imageId: s.resourceId ?? '', ...base };
    case 'launch-configuration-migration':
      return { kind: 'auto-scaling-group', autoScalingGroupName: s.resourceId ?? '', ...base };
    case 'account-defaults':
      return { kind: 'account-defaults', ...base };
  }
}

/** The journal target keys of a plan, per wave (`lockin` for the lock-in steps), in plan order. */
export function planTargetKeys(plan: Plan): { wave: WaveId; name: string; keys: string[] }[] {
  const out: { wave: WaveId; name: string; keys: string[] }[] = [...plan.waves]
    .sort((a, b) => a.index - b.index)
    .map((w) => ({
      wave: w.index,
      name: w.name,
      keys: w.instances.map((e) =>
        targetKey({ kind: 'instance', instanceId: e.instanceId, accountId: e.accountId, region: e.region }),
      ),
    }));
  if (plan.lockIn.length > 0)
    out.push({ wave: 'lockin', name: 'lock-in', keys: plan.lockIn.map((s) => targetKey(lockInTarget(s))) });
  return out;
}

/**
 * Refuses a journal written for another plan (exit 2): its targets and previous settings belong to that plan, so any
 * history drawn from it next to this plan would mislead. `file` names the journal in the message.
 */
export function assertJournalOfPlan(parsed: ParsedJournal, plan: Plan, file: string): void {
  if (parsed.header && parsed.header.planContentHash !== plan.contentHash) {
    throw new CutoverError(
      'BAD_INPUT',
      `${file} belongs to the plan with hash ${parsed.header.planContentHash}, not to this plan (${plan.contentHash})`,
      { suggestions: ['Pass the plan the journal was written for, or the journal written for this plan.'] },
    );
  }
}

const order = (w: WaveId) => (w === 'lockin' ? Number.MAX_SAFE_INTEGER : w);

/**
 * Summarises a parsed journal: per wave its state, counts by phase and by record, and its last guard; per target its
 * phase and history. Pure. With `plan`, the waves and their targets are the plan's (call `assertJournalOfPlan` first);
 * without, the waves and targets the journal names. `imdsv2 status` and the report both call this, so they cannot tell
 * two different histories of one change.
 */
export function summarizeJournal(parsed: ParsedJournal, plan: Plan | null = null): JournalSummary {
  const state = replayJournal(parsed.records);
  const targets = [...state.targets.values()]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((s): TargetHistory => ({
      key: s.key,
      target: s.target,
      wave: s.wave,
      phase: s.phase,
      original: s.original,
      error:
        s.lastResult?.outcome === 'failed' && s.lastResult.error
          ? `${s.lastResult.error.code}: ${s.lastResult.error.message}`
          : null,
      events: s.events,
    }));
  const events = new Map<string, WaveHistory['events']>();
  const eventsOf = (w: WaveId) => {
    let e = events.get(String(w));
    if (!e) events.set(String(w), (e = { applied: 0, rolledBack: 0, failed: 0, verified: 0 }));
    return e;
  };
  for (const r of parsed.records) {
    // Lock-in canaries are launched and terminated to prove a template, not changes to the fleet: not counted here
    // (`imdsv2 status` lists them apart).
    if ('target' in r && r.target.kind === 'canary') continue;
    if (r.type === 'result' && r.outcome === 'ok') eventsOf(r.wave)[r.action === 'apply' ? 'applied' : 'rolledBack']++;
    else if (r.type === 'result' && r.outcome === 'failed') eventsOf(r.wave).failed++;
    else if (r.type === 'verified' && r.state === 'applied') eventsOf(r.wave).verified++;
  }
  let groups: { wave: WaveId; name: string | null; keys: string[] }[];
  if (plan) {
    groups = planTargetKeys(plan);
  } else {
    const ids = new Set<WaveId>([...state.waves.values()].map((w) => w.wave));
    for (const t of targets) ids.add(t.wave);
    groups = [...ids]
      .sort((a, b) => order(a) - order(b))
      .map((w) => ({
        wave: w,
        name: w === 'lockin' ? 'lock-in' : null,
        keys: targets.filter((t) => t.wave === w && t.target.kind !== 'canary').map((t) => t.key),
      }));
  }
  const waves = groups.map(({ wave, name, keys }): WaveHistory => {
    const run = state.waves.get(String(wave));
    const guards = state.guards.filter((g) => g.wave === wave);
    const last = guards.at(-1);
    return {
      wave,
      name,
      state: run?.state ?? 'not-started',
      runs: run?.runs ?? 0,
      startedAt: run?.startedAt ?? null,
      endedAt: run?.endedAt ?? null,
      message: run?.message ?? null,
      dryRun: run?.dryRun ?? false,
      counts: countWave(state, keys),
      events: eventsOf(wave),
      guardTrips: guards.filter((g) => g.tripped).length,
      lastGuard: last
        ? {
            at: last.at,
            tripped: last.tripped,
            threshold: last.threshold ?? null,
            windowStart: last.windowStart ?? null,
            windowEnd: last.windowEnd ?? null,
            rejected: last.rejected,
          }
        : null,
    };
  });
  return {
    header: parsed.header
      ? {
          journalId: parsed.header.journalId,
          createdAt: parsed.header.createdAt,
          planContentHash: parsed.header.planContentHash,
        }
      : null,
    records: parsed.records.length,
    lastSeq: state.lastSeq,
    tornTail: parsed.tornTail,
    integrity: parsed.integrity ?? null,
    waves,
    targets,
  };
}
