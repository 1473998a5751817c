import type { AutoScalingGroup, Image, LaunchTemplate } from '../schemas/assessment.js';

/**
 * The identity of each kind of record in an assessment, as one string, shared by the diff (matching runs) and the
 * merge (detecting overlaps, ordering the union). Sorting by these strings orders by account, then region, then id.
 */
type Placed = { accountId: string; region: string };

export const pairKey = (x: Placed): string => `${x.accountId}/${x.region}`;
export const instanceKey = (i: Placed & { instanceId: string }): string => `${pairKey(i)}/${i.instanceId}`;
export const launchTemplateKey = (t: LaunchTemplate): string => `${pairKey(t)}/${t.launchTemplateId}`;
export const asgKey = (g: AutoScalingGroup): string => `${pairKey(g)}/${g.name}`;
export const imageKey = (m: Image): string => `${pairKey(m)}/${m.imageId}`;

/** Plain code-unit order: deterministic whatever the locale. */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
