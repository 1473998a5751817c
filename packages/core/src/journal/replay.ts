import type { JournalRecord, JournalTarget } from '../schemas/journal.js';

type IntentRecord = Extract<JournalRecord, { type: 'intent' }>;
type ResultRecord = Extract<JournalRecord, { type: 'result' }>;
type GuardRecord = Extract<JournalRecord, { type: 'guard' }>;
/** Settings as the journal stores them (instance metadata settings or a lock-in resource's fields). */
export type JournalSettings = IntentRecord['previous'];
export type WaveId = JournalRecord['wave'];

/**
 * Where one target (instance, launch template, account defaults, image, Auto Scaling group, canary) stands according
 * to the journal.
 * - `intent-pending`: an apply intent without a result (a crash between the two): live state decides what happened.
 * - `rollback-pending`: the same for a rollback.
 */
export type TargetPhase =
  | 'intent-pending'
  | 'applied'
  | 'verified'
  | 'apply-failed'
  | 'skipped'
  | 'terminated'
  | 'rollback-pending'
  | 'rolled-back'
  | 'rollback-failed';

/** One record that touched a target, in file order: what a change board reads as the target's history. */
export interface TargetEvent {
  seq: number;
  /** When it was written, on the service's clock. */
  at: string;
  wave: WaveId;
  record: 'intent' | 'result' | 'verified';
  action: 'apply' | 'rollback' | 'verify';
  /** Result outcome (`ok`, `failed`, `terminated`, `skipped`), the verified state (`applied`, `terminated`), or `intent`. */
  outcome: string;
  note?: string;
  error?: { code: string; message: string };
}

export interface TargetState {
  key: string;
  target: JournalTarget;
  /** The wave that applied (or skipped) the target. */
  wave: WaveId;
  /** `previous` of the earliest apply intent: the true original settings, what rollback restores. */
  original: JournalSettings | null;
  /** `desired` of the latest apply intent. */
  desired: JournalSettings | null;
  phase: TargetPhase;
  /** The last intent if no result followed it. */
  openIntent: IntentRecord | null;
  /** The last intent, whether a result followed it or not (a failed apply is judged against it). */
  lastIntent: IntentRecord | null;
  lastResult: ResultRecord | null;
  /** Every intent, result and verified record of the target, in file order. */
  events: TargetEvent[];
}

export type WaveRunState = 'open' | 'completed' | 'rolled-back' | 'halted' | 'failed';

export interface WaveRun {
  wave: WaveId;
  state: WaveRunState;
  /** When the current (or last) run of the wave started, on the service's clock. */
  startedAt: string;
  /** The first apply intent of that run: the guard's window starts here, so a resumed soak keeps its clock. */
  firstApplyAt: string | null;
  endedAt: string | null;
  message: string | null;
  dryRun: boolean;
  /** How many times the wave was started (a resume or a re-run after a rollback starts it again). */
  runs: number;
}

export interface JournalState {
  targets: Map<string, TargetState>;
  waves: Map<string, WaveRun>;
  guards: GuardRecord[];
  lastSeq: number;
}

/** A stable key for a target: the same resource always maps to the same key. */
export function targetKey(t: JournalTarget): string {
  switch (t.kind) {
    case 'instance':
      return `instance:${t.accountId}/${t.region}/${t.instanceId}`;
    case 'launch-template':
      return `launch-template:${t.accountId}/${t.region}/${t.launchTemplateId}`;
    case 'account-defaults':
      return `account-defaults:${t.accountId}/${t.region}`;
    case 'image':
      return `image:${t.accountId}/${t.region}/${t.imageId}`;
    case 'auto-scaling-group':
      return `auto-scaling-group:${t.accountId}/${t.region}/${t.autoScalingGroupName}`;
    case 'canary':
      return `canary:${t.accountId}/${t.region}/${t.canaryId}`;
  }
}

export function waveKey(w: WaveId): string {
  return String(w);
}

function resultPhase(r: ResultRecord): TargetPhase {
  if (r.outcome === 'terminated') return 'terminated';
  if (r.action === 'apply') {
    return r.outcome === 'ok' ? 'applied' : r.outcome === 'skipped' ? 'skipped' : 'apply-failed';
  }
  // A rollback that found the target already at its previous settings is as good as one that put it there.
  return r.outcome === 'failed' ? 'rollback-failed' : 'rolled-back';
}

/**
 * Replays journal records (in file order) into the state of every target and every wave. Pure: resume, rollback and
 * status all start from this, then consult live state only where the journal cannot know (an open intent).
 */
export function replayJournal(records: readonly JournalRecord[]): JournalState {
  const targets = new Map<string, TargetState>();
  const waves = new Map<string, WaveRun>();
  const guards: GuardRecord[] = [];
  let lastSeq = -1;

  const stateOf = (target: JournalTarget, wave: WaveId): TargetState => {
    const key = targetKey(target);
    let s = targets.get(key);
    if (!s) {
      s = {
        key,
        target,
        wave,
        original: null,
        desired: null,
        phase: 'skipped',
        openIntent: null,
        lastIntent: null,
        lastResult: null,
        events: [],
      };
      targets.set(key, s);
    }
    return s;
  };

  for (const r of records) {
    lastSeq = Math.max(lastSeq, r.seq);
    switch (r.type) {
      case 'wave-start': {
        const k = waveKey(r.wave);
        const run = waves.get(k);
        const runs = (run?.runs ?? 0) + 1;
        if (!run || run.state !== 'open') {
          waves.set(k, {
            wave: r.wave,
            state: 'open',
            startedAt: r.at,
            firstApplyAt: null,
            endedAt: null,
            message: null,
            dryRun: r.dryRun,
            runs,
          });
        } else {
          run.runs = runs;
        }
        break;
      }
      case 'intent': {
        const s = stateOf(r.target, r.wave);
        if (r.action === 'apply') {
          if (s.original === null) s.original = r.previous;
          s.desired = r.desired;
          s.wave = r.wave;
          s.phase = 'intent-pending';
          const run = waves.get(waveKey(r.wave));
          if (run && run.state === 'open' && run.firstApplyAt === null) run.firstApplyAt = r.at;
        } else {
          s.phase = 'rollback-pending';
        }
        s.openIntent = r;
        s.lastIntent = r;
        s.events.push({ seq: r.seq, at: r.at, wave: r.wave, record: 'intent', action: r.action, outcome: 'intent' });
        break;
      }
      case 'result': {
        const s = stateOf(r.target, r.wave);
        s.openIntent = null;
        s.lastResult = r;
        s.phase = resultPhase(r);
        s.events.push({
          seq: r.seq,
          at: r.at,
          wave: r.wave,
          record: 'result',
          action: r.action,
          outcome: r.outcome,
          ...(r.note === undefined ? {} : { note: r.note }),
          ...(r.error === undefined ? {} : { error: r.error }),
        });
        break;
      }
      case 'verified': {
        const s = targets.get(targetKey(r.target));
        if (s && s.phase === 'applied') s.phase = r.state === 'applied' ? 'verified' : 'terminated';
        s?.events.push({ seq: r.seq, at: r.at, wave: r.wave, record: 'verified', action: 'verify', outcome: r.state });
        break;
      }
      case 'guard':
        guards.push(r);
        break;
      case 'wave-end': {
        const run = waves.get(waveKey(r.wave));
        if (run) {
          run.state = r.outcome;
          run.endedAt = r.at;
          run.message = r.message ?? null;
        }
        break;
      }
    }
  }
  return { targets, waves, guards, lastSeq };
}

/** Counts of a wave's targets by what the journal says about them; `pending` is what the journal has not touched. */
export interface WaveCounts {
  total: number;
  pending: number;
  inFlight: number;
  applied: number;
  verified: number;
  rolledBack: number;
  failed: number;
  skipped: number;
  terminated: number;
}

/** Counts the phases of `keys` (the wave's targets per the plan) in a replayed journal. */
export function countWave(state: JournalState, keys: readonly string[]): WaveCounts {
  const c: WaveCounts = {
    total: keys.length,
    pending: 0,
    inFlight: 0,
    applied: 0,
    verified: 0,
    rolledBack: 0,
    failed: 0,
    skipped: 0,
    terminated: 0,
  };
  for (const k of keys) {
    const s = state.targets.get(k);
    if (!s) {
      c.pending++;
      continue;
    }
    switch (s.phase) {
      case 'intent-pending':
      case 'rollback-pending':
        c.inFlight++;
        break;
      case 'applied':
        c.applied++;
        break;
      case 'verified':
        c.verified++;
        break;
      case 'rolled-back':
        c.rolledBack++;
        break;
      case 'apply-failed':
      case 'rollback-failed':
        c.failed++;
        break;
      case 'skipped':
        c.skipped++;
        break;
      case 'terminated':
        c.terminated++;
        break;
    }
  }
  return c;
}
