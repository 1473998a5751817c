import type { LockInStep, Plan, Wave } from '../schemas/plan.js';

export interface WaveSummary {
  index: number;
  name: string;
  kind: Wave['kind'];
  environment?: string;
  instances: number;
  accounts: number;
  regions: number;
  soakSeconds: number;
  startOffsetSeconds: number;
  notBefore?: string;
}

/** What `imdsv2 plan` prints: the waves, what is held and why, and the lock-in work. */
export interface PlanSummary {
  contentHash: string;
  assessment: { id: string; sha256: string };
  startDate: string | null;
  waves: WaveSummary[];
  instancesInWaves: number;
  held: { total: number; byStatus: Record<string, number> };
  lockIn: { steps: number; byKind: Partial<Record<LockInStep['kind'], number>>; irreversible: number; manual: number };
  scp: boolean;
  notes: string[];
}

export function summarizePlan(plan: Plan): PlanSummary {
  const waves = plan.waves.map((w): WaveSummary => {
    const accounts = new Set(w.instances.map((e) => e.accountId));
    const regions = new Set(w.instances.map((e) => e.region));
    return {
      index: w.index,
      name: w.name,
      kind: w.kind,
      ...(w.environment !== undefined ? { environment: w.environment } : {}),
      instances: w.instances.length,
      accounts: accounts.size,
      regions: regions.size,
      soakSeconds: w.soakSeconds,
      startOffsetSeconds: w.startOffsetSeconds,
      ...(w.notBefore !== undefined ? { notBefore: w.notBefore } : {}),
    };
  });
  const byStatus: Record<string, number> = {};
  for (const h of plan.held) byStatus[h.status] = (byStatus[h.status] ?? 0) + 1;
  const byKind: Partial<Record<LockInStep['kind'], number>> = {};
  for (const s of plan.lockIn) byKind[s.kind] = (byKind[s.kind] ?? 0) + 1;
  return {
    contentHash: plan.contentHash,
    assessment: { id: plan.assessment.id, sha256: plan.assessment.sha256 },
    startDate: plan.startDate,
    waves,
    instancesInWaves: waves.reduce((n, w) => n + w.instances, 0),
    held: { total: plan.held.length, byStatus },
    lockIn: {
      steps: plan.lockIn.length,
      byKind,
      irreversible: plan.lockIn.filter((s) => s.irreversible).length,
      manual: plan.manualLockIn.length,
    },
    scp: plan.scp !== null,
    notes: plan.notes,
  };
}
