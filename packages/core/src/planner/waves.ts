import type { Policy } from '../schemas/policy.js';
import { type Candidate, cmp, groupCap } from './candidates.js';

/** Canary members with why each was chosen (kept in the entry's notes, read by `explainInstance`). */
export interface CanaryPick {
  candidate: Candidate;
  why: string;
}

export interface CanaryResult {
  picks: CanaryPick[];
  /** The size canary.count / canary.percent asked for (0 when neither was given and onePerGroup decides). */
  requested: number;
  groups: number;
}

/**
 * Chooses the canary wave. With `onePerGroup`, first one member of every group, so each ASG or application is exercised
 * before any of its other members; then more instances up to the requested size. Preference: environments listed in
 * `canary.preferEnvironments` (in that order), then earlier `waves.order` environments, then account/region buckets
 * used least so far, then instance id.
 */
export function chooseCanary(
  eligible: readonly Candidate[],
  groupSizes: ReadonlyMap<string, number>,
  policy: Policy,
): CanaryResult {
  const { canary } = policy;
  const n = eligible.length;
  const groups = new Map<string, Candidate[]>();
  for (const c of eligible) {
    const g = groups.get(c.group);
    if (g) g.push(c);
    else groups.set(c.group, [c]);
  }
  if (!canary.enabled || n === 0) return { picks: [], requested: 0, groups: groups.size };
  const requested = Math.min(
    n,
    canary.count ?? (canary.percent !== undefined ? Math.ceil((canary.percent * n) / 100) : canary.onePerGroup ? 0 : 1),
  );

  const prefer = new Map<string, number>();
  canary.preferEnvironments.forEach((e, i) => {
    const key = e.toLowerCase();
    if (!prefer.has(key)) prefer.set(key, i);
  });
  const rank = (c: Candidate): number =>
    (c.environment !== undefined ? prefer.get(c.environment.toLowerCase()) : undefined) ??
    canary.preferEnvironments.length + c.envRank;

  const bucketUse = new Map<string, number>();
  const taken = new Set<Candidate>();
  const perGroup = new Map<string, number>();
  const picks: CanaryPick[] = [];
  const take = (c: Candidate, why: string) => {
    taken.add(c);
    picks.push({ candidate: c, why });
    bucketUse.set(c.bucket, (bucketUse.get(c.bucket) ?? 0) + 1);
    perGroup.set(c.group, (perGroup.get(c.group) ?? 0) + 1);
  };

  if (canary.onePerGroup) {
    for (const key of [...groups.keys()].sort(cmp)) {
      let best: Candidate | undefined;
      let bestKey: [number, number, string] = [Infinity, Infinity, ''];
      for (const c of groups.get(key)!) {
        const k: [number, number, string] = [rank(c), bucketUse.get(c.bucket) ?? 0, c.instance.instanceId];
        if (
          k[0] < bestKey[0] ||
          (k[0] === bestKey[0] && (k[1] < bestKey[1] || (k[1] === bestKey[1] && k[2] < bestKey[2])))
        ) {
          best = c;
          bestKey = k;
        }
      }
      take(best!, `canary: the member chosen for group ${key} (onePerGroup)`);
    }
  }

  if (picks.length < requested) {
    // Fill by preference rank; within a rank, round-robin over account/region buckets, respecting group caps.
    const rest = eligible.filter((c) => !taken.has(c));
    // Location order is bucket (account/region) then instance id.
    rest.sort((a, b) => rank(a) - rank(b) || a.location - b.location);
    let start = 0;
    while (start < rest.length && picks.length < requested) {
      const level = rank(rest[start]!);
      let end = start;
      while (end < rest.length && rank(rest[end]!) === level) end++;
      const queues = new Map<string, Candidate[]>();
      for (let i = start; i < end; i++) {
        const c = rest[i]!;
        const q = queues.get(c.bucket);
        if (q) q.push(c);
        else queues.set(c.bucket, [c]);
      }
      const order = [...queues.values()];
      const pos = order.map(() => 0);
      let progressed = true;
      while (progressed && picks.length < requested) {
        progressed = false;
        for (let b = 0; b < order.length && picks.length < requested; b++) {
          const q = order[b]!;
          while (pos[b]! < q.length) {
            const c = q[pos[b]!]!;
            pos[b]!++;
            if ((perGroup.get(c.group) ?? 0) < groupCap(groupSizes.get(c.group) ?? 1, policy)) {
              take(c, 'canary: added to reach the canary size');
              progressed = true;
              break;
            }
          }
        }
      }
      start = end;
    }
  }
  return { picks, requested, groups: groups.size };
}

/**
 * Splits candidates (one environment, or the unknown instances) into waves of at most `waves.maxInstances`, with at
 * most `groupCap` members of any group in one wave. Groups are visited round-robin, one member at a time, resuming
 * where the previous wave stopped, so every group advances at the same pace; a group's members are interleaved across
 * account/region buckets so one wave does not take a whole region of a group.
 */
export function fillWaves(
  candidates: readonly Candidate[],
  groupSizes: ReadonlyMap<string, number>,
  policy: Policy,
): Candidate[][] {
  const byGroup = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const g = byGroup.get(c.group);
    if (g) g.push(c);
    else byGroup.set(c.group, [c]);
  }
  const groups = [...byGroup.keys()].sort(cmp).map((key) => ({
    key,
    queue: interleaveBuckets(byGroup.get(key)!),
    next: 0,
    cap: groupCap(groupSizes.get(key) ?? 1, policy),
  }));
  const max = policy.waves.maxInstances;
  const waves: Candidate[][] = [];
  let active = groups;
  let cursor = 0;
  while (active.length > 0) {
    const wave: Candidate[] = [];
    const inWave = new Map<string, number>();
    let idle = 0;
    // Visit groups round-robin; stop when the wave is full or a whole round added nothing (every group capped).
    while (wave.length < max && idle < active.length) {
      const g = active[cursor % active.length]!;
      cursor = (cursor + 1) % active.length;
      const used = inWave.get(g.key) ?? 0;
      if (g.next < g.queue.length && used < g.cap) {
        wave.push(g.queue[g.next++]!);
        inWave.set(g.key, used + 1);
        idle = 0;
      } else {
        idle++;
      }
    }
    waves.push(wave);
    const before = active.length;
    const resumeKey = active[cursor % before]!.key;
    active = active.filter((g) => g.next < g.queue.length);
    if (active.length > 0) {
      // Resume at the group after the last one served (or the next one still active).
      const at = active.findIndex((g) => cmp(g.key, resumeKey) >= 0);
      cursor = at === -1 ? 0 : at;
    }
  }
  return waves;
}

/** Members sorted by bucket then id, re-ordered to take one from each bucket in turn. */
function interleaveBuckets(members: Candidate[]): Candidate[] {
  const queues = new Map<string, Candidate[]>();
  for (const c of [...members].sort((a, b) => a.location - b.location)) {
    const q = queues.get(c.bucket);
    if (q) q.push(c);
    else queues.set(c.bucket, [c]);
  }
  if (queues.size === 1) return [...queues.values()][0]!;
  const lists = [...queues.values()];
  const out: Candidate[] = [];
  for (let i = 0; out.length < members.length; i++) for (const q of lists) if (i < q.length) out.push(q[i]!);
  return out;
}
