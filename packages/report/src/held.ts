import type { Plan, Reason } from '@imdsv2-cutover/core';

/**
 * Held instances grouped by why they are held, for a reader who wants the reasons and their owners first and the
 * instance list only on demand. Instances the plan leaves out because they need nothing (already enforced, metadata
 * endpoint off) are counted apart: they are not held back from anything.
 */

/** Titles of the reason codes the classifier and the planner write; an unlisted code is shown in words. */
const REASON_TITLE: Record<string, string> = {
  'imdsv1-calls-seen': 'IMDSv1 calls seen; the calling process is not named',
  'imdsv1-calls-failing': 'IMDSv1 calls are being rejected',
  'v1-caller-found': 'A named process makes IMDSv1 calls',
  'outdated-package': 'An SDK or agent too old for IMDSv2',
  'never-supports': 'A package that never supports IMDSv2',
  'no-datapoints': 'No metric data in the window',
  'metrics-disabled': 'No metric data: metrics unavailable',
  'instance-stopped': 'Stopped through the window: no metric data',
  'launched-recently': 'Launched too recently for metric data',
  'query-failed': 'The metric query failed',
  'partial-data': 'Partial metric data',
  'short-observation': 'Observed for too few days',
  'stopped-held': 'Stopped, and the policy holds stopped instances',
  terminating: 'Shutting down',
  'excluded-by-policy': 'Excluded by the policy',
  'container-host': 'Containers on the host need hop limit 2',
  'no-reason-recorded': 'No reason recorded',
};

/** A reason code's title: from the table, else the code in words. */
export function reasonTitle(code: string): string {
  return REASON_TITLE[code] ?? code.replace(/[-_]+/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
}

/** ISO date-times (`2025-06-30T04:00:00.000Z`) as a reader writes them: `2025-06-30 04:00 UTC`. */
export function readableTimes(text: string): string {
  return text.replace(/\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z\b/g, '$1 $2 UTC');
}

/** The reason that decides where an instance is grouped: its first blocker, else its first risk, else its first. */
export function primaryReason(reasons: readonly Reason[]): Reason | undefined {
  return reasons.find((r) => r.severity === 'blocker') ?? reasons.find((r) => r.severity === 'risk') ?? reasons[0];
}

export interface HeldView {
  instanceId: string;
  name: string;
  owner: string;
  status: string;
  /** Every reason's message and fix, times made readable; backticks mark code (each renderer shows it as such). */
  reasons: string;
}

export interface HeldGroup {
  code: string;
  title: string;
  count: number;
  /** Owners of the group's instances, most instances first. */
  owners: { owner: string; count: number }[];
  /** The distinct fixes of the group's primary reason. */
  fixes: string[];
  instances: HeldView[];
  /** Instances of the group beyond the listed ones (they are in the appendix and the CSV). */
  more: number;
}

/** Statuses the plan leaves out of every wave because there is nothing to do. */
const NOTHING_TO_DO = new Set(['enforced', 'imds-disabled']);

/**
 * Groups the plan's held instances by their primary reason, largest group first; instances that need nothing are
 * counted apart (`notNeeded`), not held. `listLimit` caps the instances listed per group.
 */
export function groupHeld(
  plan: Plan | null,
  listLimit: number,
): { groups: HeldGroup[]; held: number; notNeeded: { enforced: number; imdsDisabled: number } } {
  const groups = new Map<string, HeldGroup & { ownerCount: Map<string, number>; fixSet: Set<string> }>();
  const notNeeded = { enforced: 0, imdsDisabled: 0 };
  let held = 0;
  for (const h of plan?.held ?? []) {
    if (NOTHING_TO_DO.has(h.status)) {
      if (h.status === 'enforced') notNeeded.enforced++;
      else notNeeded.imdsDisabled++;
      continue;
    }
    held++;
    const p = primaryReason(h.reasons);
    const code = p?.code ?? 'no-reason-recorded';
    let g = groups.get(code);
    if (!g) {
      g = {
        code,
        title: reasonTitle(code),
        count: 0,
        owners: [],
        fixes: [],
        instances: [],
        more: 0,
        ownerCount: new Map(),
        fixSet: new Set(),
      };
      groups.set(code, g);
    }
    g.count++;
    const owner = h.owner ?? '';
    g.ownerCount.set(owner, (g.ownerCount.get(owner) ?? 0) + 1);
    if (p?.remediation) g.fixSet.add(readableTimes(p.remediation));
    if (g.instances.length < listLimit) {
      g.instances.push({
        instanceId: h.instanceId,
        name: h.name ?? '',
        owner,
        status: h.status,
        reasons: h.reasons
          .map((r) => readableTimes(r.remediation ? `${r.message} Fix: ${r.remediation}` : r.message))
          .join(' '),
      });
    } else g.more++;
  }
  const out = [...groups.values()]
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1))
    .map(({ ownerCount, fixSet, ...g }) => ({
      ...g,
      owners: [...ownerCount.entries()]
        .map(([owner, count]) => ({ owner, count }))
        .sort((a, b) => b.count - a.count || (a.owner < b.owner ? -1 : 1)),
      fixes: [...fixSet].sort(),
    }));
  return { groups: out, held, notNeeded };
}
