import type { Assessment, ReadinessStatus } from './schemas/assessment.js';

export type StatusCounts = { instances: number } & Record<ReadinessStatus, number>;

/** One account and region of an assessment, counted. */
export interface ScopeSummary extends StatusCounts {
  accountId: string;
  region: string;
  /** ok, failed or partial, as the assessment recorded the region. */
  status: 'ok' | 'failed' | 'partial';
  error?: { code: string; message: string };
}

export interface AssessmentSummary {
  complete: boolean;
  totals: StatusCounts;
  /** Sorted by account, then region. A failed account has no regions here (none were run): see failedAccounts. */
  scopes: ScopeSummary[];
  failedAccounts: { accountId: string; error?: { code: string; message: string } }[];
  failedRegions: { accountId: string; region: string; error?: { code: string; message: string } }[];
  /** Auto Scaling groups and launch templates that still launch instances accepting IMDSv1. */
  launchingImdsV1: { autoScalingGroups: number; launchTemplates: number };
}

function emptyCounts(): StatusCounts {
  return { instances: 0, enforced: 0, ready: 0, blocked: 0, unknown: 0, 'imds-disabled': 0, excluded: 0 };
}

/**
 * Counts an assessment per account and region and per readiness status: the summary table of `imdsv2 assess`, the
 * report's overview and `imdsv2 diff` all read these numbers, so they agree.
 */
export function summarize(assessment: Assessment): AssessmentSummary {
  const scopes = new Map<string, ScopeSummary>();
  const key = (a: string, r: string) => `${a}/${r}`;
  for (const r of assessment.regions) {
    scopes.set(key(r.accountId, r.region), {
      accountId: r.accountId,
      region: r.region,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      ...emptyCounts(),
    });
  }
  const totals = emptyCounts();
  for (const i of assessment.instances) {
    let s = scopes.get(key(i.accountId, i.region));
    if (!s) {
      s = { accountId: i.accountId, region: i.region, status: 'ok', ...emptyCounts() };
      scopes.set(key(i.accountId, i.region), s);
    }
    s.instances += 1;
    s[i.readiness.status] += 1;
    totals.instances += 1;
    totals[i.readiness.status] += 1;
  }
  const sorted = [...scopes.values()].sort(
    (a, b) => a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region),
  );
  return {
    complete: assessment.complete,
    totals,
    scopes: sorted,
    failedAccounts: assessment.accounts
      .filter((a) => a.status === 'failed')
      .map((a) => ({ accountId: a.accountId, ...(a.error ? { error: a.error } : {}) })),
    failedRegions: assessment.regions
      .filter((r) => r.status !== 'ok')
      .map((r) => ({ accountId: r.accountId, region: r.region, ...(r.error ? { error: r.error } : {}) })),
    launchingImdsV1: {
      autoScalingGroups: assessment.autoScalingGroups.filter((g) => g.launchesImdsV1).length,
      launchTemplates: assessment.launchTemplates.filter((t) => t.launchesImdsV1).length,
    },
  };
}
