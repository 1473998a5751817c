import type { JournalHeader, JournalLine, JournalRecord, JournalTarget } from '@imdsv2-cutover/core';
import { CutoverError, JournalLine as JournalLineSchema, formatPath } from '@imdsv2-cutover/core';

/**
 * Reading and summarising the enforcement journal (JSON Lines: a header, then records). Pure: text in, values out.
 * The report renders the summary; the status command can reuse it.
 */

/** Where a target stands after the last journal record that names it. */
export type TargetState =
  /** An apply intent without its result: a crash (or a run in progress) between the two. */
  | 'applying'
  | 'applied'
  | 'verified'
  | 'apply-failed'
  /** A rollback intent without its result. */
  | 'rolling-back'
  | 'rolled-back'
  | 'rollback-failed'
  | 'terminated'
  | 'skipped';

export interface WaveSummary {
  wave: number | 'lockin';
  startedAt: string | null;
  endedAt: string | null;
  dryRun: boolean;
  /** The wave-end outcome; null while the wave has no end record. */
  outcome: 'completed' | 'rolled-back' | 'halted' | 'failed' | null;
  message: string | null;
  /** Apply results with outcome ok. */
  applied: number;
  /** Targets EC2 reported as applied after the change. */
  verified: number;
  /** Rollback results with outcome ok. */
  rolledBack: number;
  /** Apply or rollback results with outcome failed. */
  failed: number;
  /** Intents whose result is missing. */
  pending: number;
  guardTripped: boolean;
  /** Instances the guard saw rejected IMDSv1 calls on, with the calls. */
  rejected: { instanceId: string; calls: number }[];
}

export interface TargetSummary {
  key: string;
  target: JournalTarget;
  wave: number | 'lockin';
  state: TargetState;
  at: string;
  error: string | null;
}

export interface JournalSummary {
  header: Pick<JournalHeader, 'journalId' | 'createdAt' | 'planContentHash'> | null;
  records: number;
  waves: WaveSummary[];
  /** Per target (instance, launch template, account defaults, image), its last state; ordered by key. */
  targets: TargetSummary[];
}

/** A stable key for a journal target: the instance id, the template id, `account-defaults:<acct>/<region>`, the image id. */
export function targetKey(t: JournalTarget): string {
  switch (t.kind) {
    case 'instance':
      return t.instanceId;
    case 'launch-template':
      return t.launchTemplateId;
    case 'image':
      return t.imageId;
    case 'account-defaults':
      return `account-defaults:${t.accountId}/${t.region}`;
  }
}

function emptyWave(wave: number | 'lockin'): WaveSummary {
  return {
    wave,
    startedAt: null,
    endedAt: null,
    dryRun: false,
    outcome: null,
    message: null,
    applied: 0,
    verified: 0,
    rolledBack: 0,
    failed: 0,
    pending: 0,
    guardTripped: false,
    rejected: [],
  };
}

/** Summarises validated journal lines: per wave what was applied, verified, rolled back, failed; per target its last state. */
export function summarizeJournal(lines: readonly JournalLine[]): JournalSummary {
  let header: JournalSummary['header'] = null;
  const waves = new Map<number | 'lockin', WaveSummary>();
  const targets = new Map<string, TargetSummary>();
  const openIntents = new Map<string, number | 'lockin'>();
  let records = 0;
  const waveOf = (w: number | 'lockin'): WaveSummary => {
    let s = waves.get(w);
    if (!s) {
      s = emptyWave(w);
      waves.set(w, s);
    }
    return s;
  };
  const setTarget = (r: JournalRecord & { target: JournalTarget }, state: TargetState, error: string | null = null) => {
    const key = targetKey(r.target);
    targets.set(key, { key, target: r.target, wave: r.wave, state, at: r.at, error });
  };
  for (const line of lines) {
    if (line.type === 'header') {
      header = { journalId: line.journalId, createdAt: line.createdAt, planContentHash: line.planContentHash };
      continue;
    }
    records++;
    const w = waveOf(line.wave);
    switch (line.type) {
      case 'wave-start':
        w.startedAt ??= line.at;
        w.dryRun = line.dryRun;
        break;
      case 'intent': {
        const key = `${line.action}:${targetKey(line.target)}`;
        openIntents.set(key, line.wave);
        setTarget(line, line.action === 'apply' ? 'applying' : 'rolling-back');
        break;
      }
      case 'result': {
        openIntents.delete(`${line.action}:${targetKey(line.target)}`);
        const err = line.error ? `${line.error.code}: ${line.error.message}` : null;
        if (line.outcome === 'ok') {
          if (line.action === 'apply') w.applied++;
          else w.rolledBack++;
          setTarget(line, line.action === 'apply' ? 'applied' : 'rolled-back');
        } else if (line.outcome === 'failed') {
          w.failed++;
          setTarget(line, line.action === 'apply' ? 'apply-failed' : 'rollback-failed', err);
        } else {
          setTarget(line, line.outcome, err);
        }
        break;
      }
      case 'verified':
        if (line.state === 'applied') {
          w.verified++;
          setTarget(line, 'verified');
        } else {
          setTarget(line, 'terminated');
        }
        break;
      case 'guard':
        if (line.tripped) w.guardTripped = true;
        for (const r of line.rejected) w.rejected.push({ instanceId: r.instanceId, calls: r.calls });
        break;
      case 'wave-end':
        w.endedAt = line.at;
        w.outcome = line.outcome;
        w.message = line.message ?? null;
        break;
    }
  }
  for (const wave of openIntents.values()) waveOf(wave).pending++;
  const order = (w: number | 'lockin') => (w === 'lockin' ? Number.MAX_SAFE_INTEGER : w);
  return {
    header,
    records,
    waves: [...waves.values()].sort((a, b) => order(a.wave) - order(b.wave)),
    targets: [...targets.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

export interface ParsedJournal {
  lines: JournalLine[];
  /** Problems that did not stop the read (a half-written last line). */
  warnings: string[];
}

/**
 * Parses journal text, validating every line with core's `JournalLine`. A last line that is not valid JSON (a crash
 * while appending) is dropped with a warning; any other bad line is a BAD_INPUT error naming the file and line.
 */
export function parseJournalText(text: string, file: string): ParsedJournal {
  const raw = text.split('\n');
  const complete = text.endsWith('\n');
  if (complete) raw.pop();
  const lines: JournalLine[] = [];
  const warnings: string[] = [];
  for (let n = 0; n < raw.length; n++) {
    const src = raw[n]!;
    if (src.trim() === '') continue;
    const isLast = n === raw.length - 1;
    let data: unknown;
    try {
      data = JSON.parse(src);
    } catch (e) {
      if (isLast && !complete) {
        warnings.push(`${file}:${n + 1}: ignored a half-written last line (the writer stopped mid-record)`);
        continue;
      }
      throw new CutoverError('BAD_INPUT', `${file}:${n + 1}: not a JSON line of an imdsv2 journal`, {
        suggestions: ['Pass the journal written by `imdsv2 enforce` (journal.jsonl), unedited.'],
        cause: e,
      });
    }
    const parsed = JournalLineSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? formatPath(issue.path) : '';
      throw new CutoverError(
        'BAD_INPUT',
        `${file}:${n + 1}: invalid journal record${where ? ` at ${where}` : ''}: ${issue?.message ?? 'unknown problem'}`,
        { suggestions: ['Pass the journal written by `imdsv2 enforce` (journal.jsonl), unedited.'] },
      );
    }
    if (n === 0 && parsed.data.type !== 'header') {
      throw new CutoverError('BAD_INPUT', `${file}:1: a journal starts with a header line`, {
        suggestions: ['Pass the journal written by `imdsv2 enforce` (journal.jsonl), unedited.'],
      });
    }
    lines.push(parsed.data);
  }
  if (lines.length === 0) {
    throw new CutoverError('BAD_INPUT', `${file}: the journal is empty`, {
      suggestions: ['Pass the journal written by `imdsv2 enforce` (journal.jsonl).'],
    });
  }
  return { lines, warnings };
}
