import type { Assessment } from '../schemas/assessment.js';
import { byCodeUnit } from './keys.js';

/** One point of the enforced-share trend: one assessment of the history. */
export interface TrendPoint {
  id: string;
  createdAt: string;
  complete: boolean;
  enforced: number;
  /** Instances whose metadata endpoint is not disabled (the denominator). */
  eligible: number;
  /** enforced / eligible in percent, two decimals; null when nothing is eligible. */
  sharePercent: number | null;
}

/** enforced / eligible in percent with two decimals; null when nothing is eligible. */
export function sharePercent(enforced: number, eligible: number): number | null {
  return eligible === 0 ? null : Math.round((enforced / eligible) * 10_000) / 100;
}

/** The counts a trend point needs, so that a caller can keep them instead of whole assessments. */
export function trendPoint(a: Assessment): TrendPoint {
  let enforced = 0;
  let eligible = 0;
  for (const i of a.instances) {
    if (i.readiness.status === 'imds-disabled') continue;
    eligible += 1;
    if (i.readiness.status === 'enforced') enforced += 1;
  }
  return {
    id: a.id,
    createdAt: a.createdAt,
    complete: a.complete,
    enforced,
    eligible,
    sharePercent: sharePercent(enforced, eligible),
  };
}

/**
 * The enforced share over a history of assessments, oldest first (ties broken by id so the order is deterministic).
 * Same definition as the diff's enforced share. Accepts whole assessments or points already computed.
 */
export function trend(history: readonly (Assessment | TrendPoint)[]): TrendPoint[] {
  return history
    .map((x) => ('instances' in x ? trendPoint(x) : x))
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || byCodeUnit(a.id, b.id));
}
