import type { Plan, WaveCounts, WaveRunState } from '@imdsv2-cutover/core';
import { CutoverError, countWave, replayJournal, targetKey } from '@imdsv2-cutover/core';
import { readJournal } from '../journal/journal.js';
import { isGone, sameSettings } from './aws-ops.js';
import { describeEntries, plannedSettings } from './preflight.js';
import type { ClientsFor } from './types.js';

export interface WaveStatus {
  wave: number | 'lockin';
  name: string;
  state: WaveRunState | 'not-started';
  counts: WaveCounts;
  lastGuard: { tripped: boolean; at: string; rejected: { instanceId: string; calls: number }[] } | null;
  /** With `live`: how many instances hold the target settings, the planned (original) ones, something else, or are gone. */
  live?: { atTarget: number; atPlanned: number; other: number; gone: number };
}

export interface StatusResult {
  planHash: string;
  journalId: string | null;
  waves: WaveStatus[];
  tornLastLine: boolean;
}

/** Where the execution of a plan stands: per wave from the journal, optionally with live settings. */
export async function status(o: {
  plan: Plan;
  journalFile: string;
  clients?: ClientsFor;
  live?: boolean;
}): Promise<StatusResult> {
  const contents = await readJournal(o.journalFile);
  if (contents.header && contents.header.planContentHash !== o.plan.contentHash) {
    throw new CutoverError(
      'BAD_INPUT',
      `${o.journalFile} belongs to the plan with hash ${contents.header.planContentHash}, not to this plan (${o.plan.contentHash})`,
      {
        suggestions: ['Pass the plan the journal was written for.'],
      },
    );
  }
  const state = replayJournal(contents.records);
  const waves: WaveStatus[] = [];
  const lastGuard = (w: number | 'lockin') => {
    const g = state.guards.filter((x) => x.wave === w).at(-1);
    return g ? { tripped: g.tripped, at: g.at, rejected: g.rejected } : null;
  };
  for (const w of [...o.plan.waves].sort((a, b) => a.index - b.index)) {
    const keys = w.instances.map((e) =>
      targetKey({ kind: 'instance', instanceId: e.instanceId, accountId: e.accountId, region: e.region }),
    );
    const ws: WaveStatus = {
      wave: w.index,
      name: w.name,
      state: state.waves.get(String(w.index))?.state ?? 'not-started',
      counts: countWave(state, keys),
      lastGuard: lastGuard(w.index),
    };
    if (o.live && o.clients) {
      const live = await describeEntries(o.clients, w.instances);
      const l = { atTarget: 0, atPlanned: 0, other: 0, gone: 0 };
      for (const e of w.instances) {
        const x = live.get(e.instanceId);
        if (isGone(x)) l.gone++;
        else if (sameSettings(x!.settings, e.target)) l.atTarget++;
        else if (sameSettings(x!.settings, plannedSettings(e))) l.atPlanned++;
        else l.other++;
      }
      ws.live = l;
    }
    waves.push(ws);
  }
  if (o.plan.lockIn.length > 0) {
    const keys = o.plan.lockIn.map((s) => {
      const base = { accountId: s.accountId, region: s.region };
      if (s.kind === 'launch-template-version')
        return targetKey({ kind: 'launch-template', launchTemplateId: s.resourceId ?? '', ...base });
      if (s.kind === 'ami-imds-support') return targetKey({ kind: 'image', imageId: s.resourceId ?? '', ...base });
      return targetKey({ kind: 'account-defaults', ...base });
    });
    waves.push({
      wave: 'lockin',
      name: 'lock-in',
      state: state.waves.get('lockin')?.state ?? 'not-started',
      counts: countWave(state, keys),
      lastGuard: null,
    });
  }
  return {
    planHash: o.plan.contentHash,
    journalId: contents.header?.journalId ?? null,
    waves,
    tornLastLine: contents.tornLine !== null,
  };
}
