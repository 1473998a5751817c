import type { Assessment, Instance, JournalSummary, Plan, ReadinessStatus, TrendPoint } from '@imdsv2-cutover/core';
import { contentHash, formatDuration } from '@imdsv2-cutover/core';
import type { ExecutedWaveView, InstanceFacts, InstanceOutcome } from './execution.js';
import { executedWaves, guardCatches, instanceOutcome } from './execution.js';
import type { HeldGroup } from './held.js';
import { groupHeld } from './held.js';

export type { HeldGroup, HeldView } from './held.js';
export type { ExecutedWaveView, InstanceOutcome, WaveInstanceView } from './execution.js';

/**
 * The report model: everything the HTML, Markdown and CSV renderers show, computed once from the assessment, the plan
 * and the journal. A pure function of its inputs (no clock, no I/O): same inputs and `generatedAt`, same model.
 * Strings from AWS or hosts are kept verbatim here; each renderer escapes them for its own format.
 */

export const STATUS_ORDER: readonly ReadinessStatus[] = [
  'enforced',
  'ready',
  'blocked',
  'unknown',
  'imds-disabled',
  'excluded',
];

const STATUS_LABEL: Record<ReadinessStatus, string> = {
  enforced: 'Enforced',
  ready: 'Ready',
  blocked: 'Blocked',
  unknown: 'Unknown',
  'imds-disabled': 'IMDS disabled',
  excluded: 'Excluded',
};

const STATUS_MEANING: Record<ReadinessStatus, string> = {
  enforced: 'IMDSv2 already required',
  ready: 'no IMDSv1 calls, safe to enforce',
  blocked: 'IMDSv1 calls or a v1-only component: fix first',
  unknown: 'not enough data to decide',
  'imds-disabled': 'metadata endpoint off: nothing to do',
  excluded: 'excluded by policy',
};

export interface ReportOptions {
  /** When the report was made (ISO date-time). Passed in so that output is deterministic. */
  generatedAt: string;
  /** Version of the tool rendering the report. */
  toolVersion: string;
  /** First day of the rollout (YYYY-MM-DD): waves get dates. */
  startDate?: string | null;
  /** Paths shown in the rollback and status commands. */
  planPath?: string | null;
  journalPath?: string | null;
  /** Instances listed by name inside each wave and blocker group before "and N more". */
  listLimit?: number;
  /** Blocked instances that get a sparkline (the ones with most IMDSv1 calls). */
  sparklineLimit?: number;
  /** Instances listed per held group and per executed wave before "and N more" (the rest are in the appendix). */
  detailLimit?: number;
}

export interface ReportInput {
  assessment: Assessment;
  plan?: Plan | null;
  journal?: JournalSummary | null;
  /** Warnings met while reading inputs (a half-written journal line). */
  inputWarnings?: string[];
  /** `contentHash(assessment)` when the caller has it already. */
  assessmentSha256?: string;
  /**
   * sha256 of the assessment file's bytes (what `sha256sum` shows), when the assessment was read from or written to a
   * file: the report shows it as the assessment's identity and checks a plan bound to a file against it.
   */
  assessmentFileSha256?: string;
  /** Enforced share of earlier scheduled runs (core's `trend()` over the history directory), oldest first. */
  trend?: readonly TrendPoint[];
}

export interface StatusCount {
  status: ReadinessStatus;
  label: string;
  meaning: string;
  count: number;
  /** 0..1 */
  share: number;
}

export interface InstanceRow {
  instanceId: string;
  name: string;
  accountId: string;
  region: string;
  state: string;
  status: ReadinessStatus;
  environment: string;
  owner: string;
  autoScalingGroup: string;
  httpTokens: string;
  hopLimit: number;
  /** IMDSv1 calls over the window; null when unknown. */
  imdsv1Calls: number | null;
  lastImdsv1Call: string;
  culprit: string;
  remediation: string;
  /** Wave index, `held`, or '' when there is no plan. */
  wave: string;
  /** Last journal state (the target's phase), or ''. */
  journalState: string;
  /** What execution did to it (`kept IMDSv2`, `rolled back by the guard`, `not started`, `held`), or ''. */
  execution: string;
  reasons: string;
}

export interface NamedRef {
  instanceId: string;
  name: string;
}

export interface BlockerGroup {
  kind: 'process' | 'package' | 'unidentified';
  /** What makes the calls: `python3`, `botocore 1.12.0`, or why it is not known. */
  culprit: string;
  detail: string;
  remediations: string[];
  instanceCount: number;
  instances: NamedRef[];
  more: number;
  owners: string[];
}

export interface Sparkline {
  instanceId: string;
  name: string;
  owner: string;
  total: number;
  lastNonZeroAt: string;
  daily: { date: string; sum: number }[];
}

export interface Launcher {
  kind: 'Auto Scaling group' | 'Launch template';
  accountId: string;
  region: string;
  name: string;
  id: string;
  source: string;
  note: string;
}

export interface WaveView {
  index: number;
  name: string;
  kind: string;
  count: number;
  soak: string;
  guard: string;
  start: string;
  end: string;
  instances: NamedRef[];
  more: number;
  hopLimitChanges: number;
}

export interface LockInView {
  id: string;
  kind: string;
  accountId: string;
  region: string;
  resourceId: string;
  description: string;
  irreversible: boolean;
  affects: string;
  /** The plan's notes on the step (hop limit, groups it fixes, launches never measured). Untrusted names inside. */
  notes: string[];
}

/** Lock-in work the plan leaves to a person: what, where, and why (an image's owner, a pinned version...). */
export interface ManualLockInView {
  kind: string;
  accountId: string;
  region: string;
  resourceId: string;
  /** ami-not-owned: the owner account and its alias (`444444444444`, `137112412989 (amazon)`). */
  owner: string;
  reason: string;
}

/** A labelled fact of the first screen. */
export interface Fact {
  label: string;
  text: string;
}

/** A risk of the first screen: what, how many, who owns it. */
export interface RiskView {
  /** `blocked`, `unknown`, `launcher`, `irreversible`, `data`. */
  kind: string;
  text: string;
  owners: string[];
}

/** The first screen: what the change does, what already happened, what is risky, how to roll back. */
export interface Overview {
  change: string;
  changeFacts: Fact[];
  /** One sentence for what already happened ('Nothing has been executed yet.' without a journal). */
  happened: string;
  /** Per executed wave, one sentence each (the guard's catches named, with instance and caller). */
  happenedItems: string[];
  risks: RiskView[];
  rollback: { what: string; command: string };
}

export interface ReportModel {
  title: string;
  generatedAt: string;
  toolVersion: string;
  /** Where the evidence came from: AWS, or a simulator or other endpoint (then `simulated` and a plain label). */
  source: { simulated: boolean; label: string; endpointUrl: string };
  assessment: {
    id: string;
    createdAt: string;
    sha256: string;
    tool: string;
    complete: boolean;
  };
  scope: {
    accounts: string[];
    regions: string[];
    organization: boolean;
    lookbackDays: number;
    probe: string;
  };
  plan: { contentHash: string; policySha256: string; assessmentSha256: string; matchesAssessment: boolean } | null;
  warnings: string[];
  overview: Overview;
  summary: {
    total: number;
    byStatus: StatusCount[];
    enforcedShare: number;
    /** Enforced + ready + imds-disabled: the share that is done or can be done now. */
    clearShare: number;
    blocked: number;
    unknown: number;
    headline: string;
  };
  byLocation: { accountId: string; region: string; total: number; counts: number[]; enforcedShare: number }[];
  /** Enforced share over the scheduled runs, oldest first; empty unless at least two runs are known. */
  trend: TrendPoint[];
  blockers: BlockerGroup[];
  sparklines: Sparkline[];
  sparklinesOmitted: number;
  launchers: Launcher[];
  waves: WaveView[];
  lockIn: LockInView[];
  manualLockIn: ManualLockInView[];
  scp: Record<string, unknown> | null;
  rollback: { commands: { what: string; command: string }[]; notes: string[] };
  /** Held instances grouped by their primary reason; `heldCount` counts them all. */
  held: HeldGroup[];
  heldCount: number;
  /** Instances the plan leaves out because nothing is to be done (not held). */
  notNeeded: { enforced: number; imdsDisabled: number };
  journal: {
    journalId: string;
    createdAt: string;
    /** Every wave the journal shows as started, with per-instance outcomes. */
    waves: ExecutedWaveView[];
    /** Waves of the plan not started yet. */
    notStarted: string[];
    failedTargets: { key: string; state: string; error: string }[];
    /** The journal's summary exactly as `imdsv2 status --json` prints it (core's `summarizeJournal`). */
    summary: JournalSummary;
  } | null;
  rows: InstanceRow[];
}

const DAY_MS = 86_400_000;

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function culpritsOf(
  i: Instance,
): { kind: BlockerGroup['kind']; key: string; culprit: string; detail: string; remediation: string[] }[] {
  const out: ReturnType<typeof culpritsOf> = [];
  const reasonFixes = i.readiness.reasons.flatMap((r) => (r.remediation ? [r.remediation] : []));
  const report = i.probe.report;
  for (const c of report?.v1Callers ?? []) {
    out.push({
      kind: 'process',
      key: `process\u0000${c.comm}\u0000${c.exe ?? ''}`,
      culprit: c.comm,
      detail: c.exe ?? '',
      remediation: reasonFixes,
    });
  }
  for (const p of report?.packages ?? []) {
    if (p.status === 'ok' || p.status === 'unknown') continue;
    out.push({
      kind: 'package',
      key: `package\u0000${p.ecosystem}\u0000${p.name}\u0000${p.version ?? ''}`,
      culprit: `${p.name}${p.version ? ` ${p.version}` : ''}`,
      detail: `${p.ecosystem} package, ${p.status}${p.minimumVersion ? `; IMDSv2 from ${p.minimumVersion}` : ''}`,
      remediation: p.advice ? [p.advice] : [],
    });
  }
  if (out.length === 0) {
    const probe = i.probe.outcome === 'ok' ? 'probe found no caller' : `probe: ${i.probe.outcome}`;
    out.push({
      kind: 'unidentified',
      key: `unidentified\u0000${i.probe.outcome}`,
      culprit: 'Caller not identified',
      detail: probe,
      remediation:
        reasonFixes.length > 0
          ? reasonFixes
          : i.probe.outcome === 'ok'
            ? ['probe again during the hours the calls happen (see the sparkline)']
            : ['make the instance SSM-managed and online, then re-run `imdsv2 assess` to probe it'],
    });
  }
  return out;
}

/** Builds the report model. Pure: the same inputs and options give the same model. */
export function buildReportModel(input: ReportInput, options: ReportOptions): ReportModel {
  const { assessment, plan = null, journal = null } = input;
  const listLimit = options.listLimit ?? 12;
  const sparklineLimit = options.sparklineLimit ?? 24;
  const ownerKey = plan?.policy.tags.owner ?? 'Owner';
  const envKey = plan?.policy.tags.environment ?? 'Environment';
  const instances = [...assessment.instances].sort((a, b) => byString(a.instanceId, b.instanceId));
  const owner = (i: Instance) => i.tags[ownerKey] ?? '';
  const total = instances.length;
  const share = (n: number) => (total === 0 ? 0 : n / total);
  // The assessment's identity: its file's sha256 when there is a file (cheap, and checkable with sha256sum), else the
  // sha256 of its canonical content. A plan names one or the other (`assessment.sha256Of`).
  let contentSha256 = input.assessmentSha256;
  const contentSha = () => (contentSha256 ??= contentHash(assessment));
  const assessmentSha256 = input.assessmentFileSha256 ?? contentSha();

  // Plan lookups: which wave each instance is in, who is held.
  const waveOf = new Map<string, string>();
  for (const w of plan?.waves ?? []) for (const e of w.instances) waveOf.set(e.instanceId, String(w.index));
  for (const h of plan?.held ?? []) waveOf.set(h.instanceId, 'held');
  const journalState = new Map<string, string>();
  for (const t of journal?.targets ?? [])
    if (t.target.kind === 'instance') journalState.set(t.target.instanceId, t.phase);

  // Summary.
  const counts = new Map<ReadinessStatus, number>(STATUS_ORDER.map((s) => [s, 0]));
  for (const i of instances) counts.set(i.readiness.status, (counts.get(i.readiness.status) ?? 0) + 1);
  const byStatus = STATUS_ORDER.map((s) => ({
    status: s,
    label: STATUS_LABEL[s],
    meaning: STATUS_MEANING[s],
    count: counts.get(s) ?? 0,
    share: share(counts.get(s) ?? 0),
  }));
  const c = (s: ReadinessStatus) => counts.get(s) ?? 0;
  const pct = (n: number) => `${Math.round(share(n) * 1000) / 10}%`;
  const headline =
    total === 0
      ? 'No instances in scope.'
      : `${pct(c('enforced'))} of ${total} instances already require IMDSv2; ${c('ready')} more (${pct(c('ready'))}) can be enforced now; ${c('blocked')} (${pct(c('blocked'))}) are blocked by IMDSv1 callers and ${c('unknown')} (${pct(c('unknown'))}) lack data.`;

  const planned = (plan?.waves ?? []).reduce((n, w) => n + w.instances.length, 0);
  const planLine = plan
    ? ` This change enforces IMDSv2 on ${planned} instance(s) in ${plan.waves.length} wave(s)${options.startDate ? ` from ${options.startDate}` : ''}; ${plan.held.filter((h) => h.status !== 'enforced' && h.status !== 'imds-disabled').length} instance(s) are held back.`
    : '';

  // By account and region.
  const loc = new Map<string, { accountId: string; region: string; counts: number[] }>();
  for (const i of instances) {
    const key = `${i.accountId}/${i.region}`;
    let l = loc.get(key);
    if (!l) {
      l = { accountId: i.accountId, region: i.region, counts: STATUS_ORDER.map(() => 0) };
      loc.set(key, l);
    }
    l.counts[STATUS_ORDER.indexOf(i.readiness.status)]!++;
  }
  const byLocation = [...loc.entries()]
    .sort(([a], [b]) => byString(a, b))
    .map(([, l]) => {
      const t = l.counts.reduce((x, y) => x + y, 0);
      return { ...l, total: t, enforcedShare: t === 0 ? 0 : l.counts[0]! / t };
    });

  // Blockers grouped by culprit; per-instance first culprit for the appendix.
  const groups = new Map<string, BlockerGroup & { ownerSet: Set<string>; fixSet: Set<string> }>();
  const culpritOf = new Map<string, { culprit: string; remediation: string }>();
  const blocked = instances.filter((i) => i.readiness.status === 'blocked');
  for (const i of blocked) {
    const cs = culpritsOf(i);
    culpritOf.set(i.instanceId, {
      culprit: cs.map((x) => x.culprit).join('; '),
      remediation: [...new Set(cs.flatMap((x) => x.remediation))].join('; '),
    });
    for (const cu of cs) {
      let g = groups.get(cu.key);
      if (!g) {
        g = {
          kind: cu.kind,
          culprit: cu.culprit,
          detail: cu.detail,
          remediations: [],
          instanceCount: 0,
          instances: [],
          more: 0,
          owners: [],
          ownerSet: new Set(),
          fixSet: new Set(),
        };
        groups.set(cu.key, g);
      }
      g.instanceCount++;
      if (g.instances.length < listLimit) g.instances.push({ instanceId: i.instanceId, name: i.name ?? '' });
      else g.more++;
      if (owner(i)) g.ownerSet.add(owner(i));
      for (const r of cu.remediation) g.fixSet.add(r);
    }
  }
  const blockers: BlockerGroup[] = [...groups.entries()]
    .sort(([ka, a], [kb, b]) => b.instanceCount - a.instanceCount || byString(ka, kb))
    .map(([, { ownerSet, fixSet, ...g }]) => ({
      ...g,
      owners: [...ownerSet].sort(byString),
      remediations: [...fixSet].sort(byString),
    }));

  // Sparklines for the blocked instances with the most IMDSv1 calls.
  const withCalls = blocked
    .filter((i) => i.metrics.noToken.status === 'observed')
    .sort(
      (a, b) => (b.metrics.noToken.total ?? 0) - (a.metrics.noToken.total ?? 0) || byString(a.instanceId, b.instanceId),
    );
  const sparklines = withCalls.slice(0, sparklineLimit).map((i) => ({
    instanceId: i.instanceId,
    name: i.name ?? '',
    owner: owner(i),
    total: i.metrics.noToken.total ?? 0,
    lastNonZeroAt: i.metrics.noToken.lastNonZeroAt ?? '',
    daily: i.metrics.noToken.daily.map((d) => ({ date: d.date, sum: d.sum })),
  }));

  // What still launches IMDSv1.
  const launchers: Launcher[] = [
    ...assessment.autoScalingGroups
      .filter((g) => g.launchesImdsV1)
      .map((g) => ({
        kind: 'Auto Scaling group' as const,
        accountId: g.accountId,
        region: g.region,
        name: g.name,
        id: groupLaunches(g),
        source: g.launchConfigurationName
          ? `launch configuration, HttpTokens ${g.launchConfigurationOptions?.httpTokens ?? (g.launchConfigurationOptions ? 'unset (read as optional)' : 'not read')}`
          : g.effective
            ? `HttpTokens from ${g.effective.httpTokens.source}${(g.overrideLaunchTemplates ?? []).some((o) => o.launchesImdsV1) ? ', or an override’s template' : ''}`
            : 'template not resolved',
        note: g.launchConfigurationName
          ? g.managedBy
            ? `uses a launch configuration; managed by ${g.managedBy.service} ${g.managedBy.name}: migrate it there`
            : 'uses a launch configuration: lock-in moves it to a launch template made from it'
          : `${g.desiredCapacity} desired; fix its launch templates`,
      })),
    ...assessment.launchTemplates
      .filter((t) => t.launchesImdsV1)
      .map((t) => ({
        kind: 'Launch template' as const,
        accountId: t.accountId,
        region: t.region,
        name: t.name,
        id: t.launchTemplateId,
        source: `HttpTokens from ${t.effective.httpTokens.source}`,
        note: `default version ${t.defaultVersion} of ${t.latestVersion}`,
      })),
  ].sort((a, b) =>
    byString(`${a.accountId}/${a.region}/${a.kind}/${a.name}`, `${b.accountId}/${b.region}/${b.kind}/${b.name}`),
  );

  // Waves, with dates when a start date is given (the flag, else the plan's): each starts at its offset in the plan.
  const startDate = options.startDate ?? plan?.startDate?.slice(0, 10) ?? null;
  const base = startDate ? Date.parse(`${startDate}T00:00:00Z`) : NaN;
  const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  const waves: WaveView[] = (plan?.waves ?? []).map((w) => {
    const startMs = base + w.startOffsetSeconds * 1000;
    const endMs = startMs + Math.max(w.soakSeconds * 1000, DAY_MS / 24);
    return {
      index: w.index,
      name: w.name,
      kind: w.kind,
      count: w.instances.length,
      soak: w.soakSeconds === 0 ? 'none' : formatDuration(w.soakSeconds),
      guard: `${w.guard.maxRejectedCalls === 0 ? 'any' : `more than ${w.guard.maxRejectedCalls}`} rejected IMDSv1 call(s) roll back the ${w.guard.rollback}`,
      start: Number.isNaN(base) ? '' : minute(startMs),
      end: Number.isNaN(base) ? '' : minute(endMs),
      instances: w.instances.slice(0, listLimit).map((e) => ({ instanceId: e.instanceId, name: e.name ?? '' })),
      more: Math.max(0, w.instances.length - listLimit),
      hopLimitChanges: w.instances.filter((e) => e.target.httpPutResponseHopLimit !== e.planned.httpPutResponseHopLimit)
        .length,
    };
  });

  // Where the evidence came from. An endpoint other than AWS's means the fleet may not be real: say so first.
  const endpointUrl = assessment.scope.endpointUrl ?? '';
  const sim = assessment.scope.simulator;
  const source = {
    simulated: endpointUrl !== '' || sim !== undefined,
    endpointUrl,
    label: sim
      ? `SIMULATED: this assessment comes from the bundled fleet simulator (scenario "${sim.scenario}"${endpointUrl ? ` at ${endpointUrl}` : ''}), not from AWS. Its dates are the simulator's clock.`
      : endpointUrl
        ? `SIMULATED OR TEST ENDPOINT: this assessment was taken against ${endpointUrl}, not AWS's own endpoints (a simulator such as \`imdsv2 simulate\`, or a proxy).`
        : '',
  };

  // Rollback commands, runnable as printed: the endpoint the evidence came from goes into each.
  const planPath = options.planPath ?? 'plan.json';
  const journalPath = options.journalPath ?? 'journal.jsonl';
  const endpointFlag = endpointUrl ? ` --endpoint-url ${endpointUrl}` : '';
  const executed = (journal?.waves ?? []).filter((w) => w.state !== 'not-started' && w.wave !== 'lockin');
  const lastExecuted = executed.at(-1)?.wave;
  const rollbackWave = lastExecuted ?? plan?.waves[0]?.index ?? 0;
  const sampleIds = (plan?.waves[0]?.instances ?? []).slice(0, 2).map((e) => e.instanceId);
  const rollbackOneWave = {
    what: `Roll back wave ${rollbackWave}${lastExecuted !== undefined ? ' (the last wave executed)' : ''}`,
    command: `imdsv2 rollback --journal ${journalPath} --wave ${rollbackWave}${endpointFlag}`,
  };
  const accountsInPlan = new Set((plan?.waves ?? []).flatMap((w) => w.instances.map((e) => e.accountId)));
  const rollback = {
    commands: [
      {
        what: 'Where the rollout stands',
        command: `imdsv2 status --plan ${planPath} --journal ${journalPath}${endpointFlag}`,
      },
      rollbackOneWave,
      {
        what: 'Roll back named instances',
        command: `imdsv2 rollback --journal ${journalPath} --instances ${sampleIds.length > 0 ? sampleIds.join(',') : 'i-0123456789abcdef0'}${endpointFlag}`,
      },
      {
        what: 'Roll back everything the journal changed',
        command: `imdsv2 rollback --journal ${journalPath} --all${endpointFlag}`,
      },
    ],
    notes: [
      ...(accountsInPlan.size > 1
        ? [
            `The plan spans ${accountsInPlan.size} accounts: run these with the credentials, profile and --role-name used for imdsv2 enforce.`,
          ]
        : []),
      ...(sim
        ? [
            'The demo stops its simulator when it ends: these commands reach the simulated fleet only while a simulator serves that address.',
          ]
        : []),
    ],
  };

  const heldLimit = options.detailLimit ?? 100;
  const heldView = groupHeld(plan, heldLimit);

  // Data completeness warnings: loud, first.
  const warnings: string[] = [...(input.inputWarnings ?? [])];
  if (!assessment.complete) warnings.push('The assessment is INCOMPLETE: some accounts or regions could not be read.');
  for (const a of assessment.accounts)
    if (a.status === 'failed') warnings.push(`Account ${a.accountId} failed: ${a.error?.message ?? 'no detail'}`);
  for (const r of assessment.regions)
    if (r.status !== 'ok')
      warnings.push(`${r.accountId}/${r.region} is ${r.status}: ${r.error?.message ?? 'no detail'}`);
  if (c('unknown') > 0)
    warnings.push(
      `${c('unknown')} instance(s) have no usable IMDSv1 metric data (unknown); they are not treated as ready.`,
    );
  const probeFailed = instances.filter((i) =>
    ['offline', 'undeliverable', 'timed-out', 'failed', 'truncated', 'invalid', 'not-managed'].includes(
      i.probe.outcome,
    ),
  ).length;
  if (probeFailed > 0) warnings.push(`${probeFailed} instance(s) could not be probed on the host.`);
  const planBoundToFile = plan?.assessment.sha256Of === 'file';
  const planMatches = plan
    ? planBoundToFile
      ? plan.assessment.sha256 === input.assessmentFileSha256
      : plan.assessment.sha256 === contentSha()
    : true;
  if (plan && !planMatches)
    warnings.push(
      planBoundToFile && input.assessmentFileSha256 === undefined
        ? `The plan names its assessment file by sha256 (${plan.assessment.sha256.slice(0, 12)}…); no assessment file was given to check it against.`
        : `The plan was made from a different assessment (${plan.assessment.id}, sha256 ${plan.assessment.sha256.slice(0, 12)}…) than this one.`,
    );

  // What execution did to each instance.
  const caught = journal ? guardCatches(journal) : new Map<string, never>();
  const outcomeOf = new Map<string, InstanceOutcome>();
  for (const t of journal?.targets ?? [])
    if (t.target.kind === 'instance')
      outcomeOf.set(t.target.instanceId, instanceOutcome(t, caught.get(t.target.instanceId)));
  const byId = new Map(instances.map((i) => [i.instanceId, i]));
  const callerOf = (i: Instance | undefined): string => {
    if (!i) return 'not in this assessment';
    const cu = culpritOf.get(i.instanceId)?.culprit;
    if (cu) return cu;
    const callers = (i.probe.report?.v1Callers ?? []).map((x) => x.comm);
    if (callers.length > 0) return callers.join(', ');
    const m = i.metrics.noToken;
    const seen =
      m.status === 'observed'
        ? m.total === 0
          ? `no IMDSv1 calls in its ${assessment.scope.lookbackDays}-day window`
          : `${m.total} IMDSv1 call(s) in the window`
        : 'no metric data';
    return `not identified (the assessment saw ${seen}; the host was ${i.probe.outcome === 'ok' ? 'probed and no caller found' : 'not probed'})`;
  };
  const facts = (id: string): InstanceFacts => {
    const i = byId.get(id);
    return {
      name: i?.name ?? '',
      owner: i ? owner(i) : '',
      readiness: i?.readiness.status ?? '',
      caller: callerOf(i),
    };
  };
  const executedViews = journal ? executedWaves(journal, plan, facts, heldLimit) : [];

  const rows: InstanceRow[] = instances.map((i) => {
    const m = i.metrics.noToken;
    const cu = culpritOf.get(i.instanceId);
    const wave = waveOf.get(i.instanceId) ?? '';
    const o = outcomeOf.get(i.instanceId);
    return {
      instanceId: i.instanceId,
      name: i.name ?? '',
      accountId: i.accountId,
      region: i.region,
      state: i.state,
      status: i.readiness.status,
      environment: i.tags[envKey] ?? '',
      owner: owner(i),
      autoScalingGroup: i.autoScalingGroup ?? '',
      httpTokens: i.metadataOptions.httpTokens,
      hopLimit: i.metadataOptions.httpPutResponseHopLimit,
      imdsv1Calls: m.status === 'observed' ? m.total : null,
      lastImdsv1Call: m.lastNonZeroAt ?? '',
      culprit: cu?.culprit ?? '',
      remediation:
        cu?.remediation ??
        [...new Set(i.readiness.reasons.flatMap((r) => (r.remediation ? [r.remediation] : [])))].join('; '),
      wave,
      journalState: journalState.get(i.instanceId) ?? '',
      execution: o ? o.label : wave === 'held' ? 'held' : journal && wave !== '' ? 'not started' : '',
      reasons: i.readiness.reasons.map((r) => r.message).join(' '),
    };
  });

  const overview = buildOverview({
    total,
    planned,
    plan,
    waves,
    lockIn: plan?.lockIn ?? [],
    heldCount: heldView.held,
    notNeeded: heldView.notNeeded,
    heldByStatus: heldStatusCounts(plan),
    executed: executedViews,
    notStarted: notStartedWaves(journal),
    hasJournal: journal !== null,
    blockers,
    blocked: c('blocked'),
    unknownOwners: ownerCounts(instances.filter((i) => i.readiness.status === 'unknown').map(owner)),
    launchers: launchers.length,
    warnings: warnings.length,
    accounts: assessment.scope.accounts.length,
    regions: assessment.scope.regions.length,
    rollback: lastExecuted !== undefined ? rollbackOneWave : rollback.commands[3]!,
  });

  return {
    title: 'IMDSv2 cutover: change review',
    generatedAt: options.generatedAt,
    toolVersion: options.toolVersion,
    source,
    assessment: {
      id: assessment.id,
      createdAt: assessment.createdAt,
      sha256: assessmentSha256,
      tool: `${assessment.tool.name} ${assessment.tool.version}`,
      complete: assessment.complete,
    },
    scope: {
      accounts: [...assessment.scope.accounts],
      regions: [...assessment.scope.regions],
      organization: assessment.scope.organization,
      lookbackDays: assessment.scope.lookbackDays,
      probe: assessment.scope.probe,
    },
    plan: plan
      ? {
          contentHash: plan.contentHash,
          policySha256: plan.policySha256,
          assessmentSha256: plan.assessment.sha256,
          matchesAssessment: planMatches,
        }
      : null,
    warnings,
    overview,
    summary: {
      total,
      byStatus,
      enforcedShare: share(c('enforced')),
      clearShare: share(c('enforced') + c('ready') + c('imds-disabled')),
      blocked: c('blocked'),
      unknown: c('unknown'),
      headline: `${headline}${planLine}`,
    },
    byLocation,
    trend: (input.trend?.length ?? 0) >= 2 ? [...input.trend!] : [],
    blockers,
    sparklines,
    sparklinesOmitted: Math.max(0, withCalls.length - sparklines.length),
    launchers,
    waves,
    lockIn: (plan?.lockIn ?? []).map((s) => ({
      id: s.id,
      kind: s.kind,
      accountId: s.accountId,
      region: s.region,
      resourceId: s.resourceId ?? '',
      description: s.description,
      irreversible: s.irreversible,
      affects: (s.affects ?? []).join(', '),
      notes: [...(s.notes ?? [])],
    })),
    manualLockIn: (plan?.manualLockIn ?? []).map((m) => ({
      kind: m.kind,
      accountId: m.accountId,
      region: m.region,
      resourceId: m.resourceId ?? '',
      owner: m.owner ? `${m.owner.accountId}${m.owner.alias ? ` (${m.owner.alias})` : ''}` : '',
      reason: m.reason,
    })),
    scp: plan?.scp ?? null,
    rollback,
    held: heldView.groups,
    heldCount: heldView.held,
    notNeeded: heldView.notNeeded,
    journal: journal
      ? {
          journalId: journal.header?.journalId ?? '',
          createdAt: journal.header?.createdAt ?? '',
          waves: executedViews,
          notStarted: notStartedWaves(journal),
          failedTargets: journal.targets
            .filter((t) => ['apply-failed', 'rollback-failed', 'intent-pending', 'rollback-pending'].includes(t.phase))
            .map((t) => ({ key: t.key, state: t.phase, error: t.error ?? '' })),
          summary: journal,
        }
      : null,
    rows,
  };
}

function ownerCounts(owners: readonly string[]): { owner: string; count: number }[] {
  const m = new Map<string, number>();
  for (const o of owners) m.set(o, (m.get(o) ?? 0) + 1);
  return [...m.entries()]
    .map(([owner, count]) => ({ owner, count }))
    .sort((a, b) => b.count - a.count || byString(a.owner, b.owner));
}

function heldStatusCounts(plan: Plan | null): Map<string, number> {
  const m = new Map<string, number>();
  for (const h of plan?.held ?? []) m.set(h.status, (m.get(h.status) ?? 0) + 1);
  return m;
}

function notStartedWaves(journal: JournalSummary | null): string[] {
  return (journal?.waves ?? [])
    .filter((w) => w.state === 'not-started')
    .map((w) => (w.wave === 'lockin' ? 'lock-in' : String(w.wave)));
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** A list in words: `a`, `a and b`, `a, b and c`. */
function inWords(xs: readonly string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`;
}

/** The first screen, in the order a change board asks: what it does, what happened, what is risky, how to undo. */
function buildOverview(o: {
  total: number;
  planned: number;
  plan: Plan | null;
  waves: WaveView[];
  lockIn: readonly { irreversible: boolean }[];
  heldCount: number;
  notNeeded: { enforced: number; imdsDisabled: number };
  heldByStatus: Map<string, number>;
  executed: ExecutedWaveView[];
  notStarted: string[];
  hasJournal: boolean;
  blockers: BlockerGroup[];
  blocked: number;
  unknownOwners: { owner: string; count: number }[];
  launchers: number;
  warnings: number;
  accounts: number;
  regions: number;
  rollback: { what: string; command: string };
}): Overview {
  const { plan } = o;
  const first = o.waves[0];
  const last = o.waves.at(-1);
  const dates = first?.start && last?.end ? ` from ${first.start} to ${last.end} UTC` : '';
  const heldParts = [...o.heldByStatus.entries()]
    .filter(([s]) => s !== 'enforced' && s !== 'imds-disabled')
    .sort((a, b) => b[1] - a[1])
    .map(([s, n]) => `${n} ${s}`);
  const change = plan
    ? `Sets HttpTokens=required (IMDSv2 only) on ${plural(o.planned, 'instance')} of ${o.total.toLocaleString('en-US')} in ${plural(o.waves.length, 'wave')}${dates}${dates ? '' : ' (no start date given)'}, then ${plural(o.lockIn.length, 'lock-in step')} so that new launches stay on IMDSv2.`
    : `No plan given: this report assesses ${plural(o.total, 'instance')} and changes nothing. To see waves and dates, make a plan (imdsv2 plan).`;
  const changeFacts: Fact[] = plan
    ? [
        { label: 'Changes', text: `${plural(o.planned, 'instance')} in ${plural(o.waves.length, 'wave')}` },
        {
          label: 'When',
          text: dates
            ? `${first!.start} → ${last!.end} UTC`
            : `each wave soaks ${first?.soak ?? 'n/a'}; dates with --start-date`,
        },
        { label: 'Where', text: `${plural(o.accounts, 'account')}, ${plural(o.regions, 'region')}` },
        {
          label: 'Not changed',
          text:
            [
              o.notNeeded.enforced > 0 && `${o.notNeeded.enforced} already enforced`,
              o.notNeeded.imdsDisabled > 0 && `${o.notNeeded.imdsDisabled} with IMDS off`,
              o.heldCount > 0 && `${o.heldCount} held back (${heldParts.join(', ')})`,
            ]
              .filter((x): x is string => typeof x === 'string')
              .join('; ') || 'none',
        },
      ]
    : [];

  const happenedItems = o.executed.map((w) => {
    const when = w.startedAt
      ? `, ${w.startedAt.slice(0, 16).replace('T', ' ')} → ${w.endedAt ? w.endedAt.slice(0, 16).replace('T', ' ') : 'still open'} UTC`
      : '';
    const catches = w.caught.map(
      (c) =>
        `The guard caught \`${c.instanceId}\`${c.name ? ` (${c.name}${c.owner ? `, owner ${c.owner}` : ''})` : ''} making ${c.guardCalls ?? 'some'} rejected IMDSv1 call(s); caller: ${c.caller}. It was ${c.outcome.kind === 'rolled-back' ? 'rolled back to its previous settings' : c.outcome.label}.`,
    );
    return `Wave ${w.wave}${w.name ? ` (${w.name})` : ''}${when}: ${w.outcome}. ${catches.join(' ')}${catches.length > 0 ? ' ' : ''}Now: ${w.now}`;
  });
  const halted = o.executed.some((w) => ['rolled-back', 'halted', 'failed'].includes(w.state));
  const happened = !o.hasJournal
    ? 'Nothing executed yet (no journal given).'
    : o.executed.length === 0
      ? 'The journal records no wave started yet.'
      : `${plural(o.executed.length, 'wave')} executed${o.notStarted.length > 0 ? `; ${plural(o.notStarted.length, 'wave')} not started` : ''}.${halted ? ' The guard or a failure stopped the rollout: the next wave waits until the cause is fixed.' : ''}`;

  const risks: RiskView[] = [];
  if (o.warnings > 0)
    risks.push({
      kind: 'data',
      text: `${plural(o.warnings, 'data completeness warning')}: read them first.`,
      owners: [],
    });
  if (o.blocked > 0) {
    const top = o.blockers.slice(0, 3).map((b) => `${b.culprit} on ${b.instanceCount}`);
    risks.push({
      kind: 'blocked',
      text: `${plural(o.blocked, 'instance')} blocked by IMDSv1 callers${top.length > 0 ? `: ${inWords(o.blockers.length > 3 ? [...top, `${o.blockers.length - 3} more culprits`] : top)}` : ''}. Held until fixed.`,
      owners: [...new Set(o.blockers.flatMap((b) => b.owners))].sort(byString),
    });
  }
  const unknown = o.unknownOwners.reduce((n, x) => n + x.count, 0);
  if (unknown > 0)
    risks.push({
      kind: 'unknown',
      text: `${plural(unknown, 'instance')} unknown: no usable metric data, so not called ready. Held until measured.`,
      owners: o.unknownOwners.map((x) => x.owner).filter((x) => x !== ''),
    });
  if (o.launchers > 0)
    risks.push({
      kind: 'launcher',
      text: `${plural(o.launchers, 'Auto Scaling group or launch template', 'Auto Scaling groups and launch templates')} still launch IMDSv1 until lock-in.`,
      owners: [],
    });
  const irreversible = o.lockIn.filter((s) => s.irreversible).length;
  if (irreversible > 0)
    risks.push({
      kind: 'irreversible',
      text: `${plural(irreversible, 'lock-in step')} cannot be rolled back.`,
      owners: [],
    });
  return { change, changeFacts, happened, happenedItems, risks, rollback: o.rollback };
}

/**
 * What a group launches from, in words: its launch configuration, or its launch template (with the version) and, for
 * a mixed instances policy, the templates its overrides name.
 */
function groupLaunches(g: Assessment['autoScalingGroups'][number]): string {
  if (g.launchConfigurationName) return g.launchConfigurationName;
  const ref = (r: { launchTemplateId: string; name?: string; version?: string }) =>
    `${r.name ?? r.launchTemplateId} (${r.version ?? '$Default'})`;
  const main = g.launchTemplate ? ref(g.launchTemplate) : '';
  const overrides = g.overrideLaunchTemplates ?? [];
  if (g.overrideLaunchTemplates === undefined) return main;
  return `mixed instances policy: ${main}${overrides.length > 0 ? `; overrides: ${overrides.map(ref).join(', ')}` : ''}`;
}
