import type { Instance, MetricEvidence, Readiness, Reason } from './schemas/assessment.js';
import type { ImdsCaller } from './schemas/probe-report.js';
import { truncate } from './text.js';

/** What classification looks at: the instance's settings, its metric evidence and, when it was probed, the probe. */
export type ReadinessInput = Pick<Instance, 'metadataOptions' | 'metrics' | 'probe' | 'containerHost' | 'state'> &
  Partial<Pick<Instance, 'containerHostSignal'>>;

export interface ReadinessOptions {
  /**
   * Days of observation needed before an instance counts as ready: the time its MetadataNoToken datapoints cover, with
   * zero IMDSv1 calls (fractional days allowed: 1.5 is 36 hours).
   */
  minObservationDays: number;
}

/** The time a metric's datapoints cover, in seconds (assessments of older releases: whole days with data). */
export function observedSeconds(m: MetricEvidence): number {
  return m.observedSeconds ?? m.daysWithData * 86_400;
}

/** `6d 4h`, `20h`, `45m`: a time span for reasons a person reads. */
export function spanText(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return `${m}m`;
}

const unknownText: Record<NonNullable<MetricEvidence['unknownReason']> | 'short-observation', [string, string]> = {
  'not-queried': [
    'MetadataNoToken was not queried for this instance.',
    'Run the assessment again with metrics enabled for this account and region.',
  ],
  'no-datapoints': [
    'CloudWatch has no MetadataNoToken datapoints for this instance in the lookback window.',
    'Probe the instance (SSM) or wait for metric data before enforcing.',
  ],
  'instance-stopped': [
    'The instance was stopped through the lookback window, so no metric data exists.',
    'Start it and observe it, or enforce it knowing nothing is known about its IMDS use.',
  ],
  'launched-recently': [
    'The instance was launched too recently for metric data to exist.',
    'Assess again once it has run for the minimum observation period.',
  ],
  'query-failed': [
    'The CloudWatch query for this instance failed.',
    'Check cloudwatch:GetMetricData permissions and assess again.',
  ],
  'partial-data': [
    'CloudWatch returned partial data for this instance and no IMDSv1 calls in it.',
    'Assess again; CloudWatch may return complete data later.',
  ],
  'short-observation': [
    'Too short an observation to call the instance ready.',
    'Assess again after a longer observation, or probe the instance.',
  ],
};

function unknownReason(code: keyof typeof unknownText, detail?: string): Reason {
  const [message, remediation] = unknownText[code];
  return { code, severity: 'blocker', message: detail ? `${message} ${detail}` : message, remediation };
}

/** The packages a probe found that stop IMDSv2 from working whatever the hop limit (outdated or never supporting it). */
function blockingPackages(input: ReadinessInput): string[] {
  return (input.probe.report?.packages ?? [])
    .filter((p) => p.status === 'outdated' || p.status === 'never-supports' || p.status === 'known-blocker')
    .map((p) => `${p.name}${p.version ? ` ${p.version}` : ''}`);
}

/**
 * The hop limit, not the software, as the cause (the EC2 User Guide, "Configure the instance metadata options": in a
 * container the IMDSv2 token response needs hop limit 2, and SDKs fall back to IMDSv1 when it never arrives): every
 * IMDSv1 caller the probe saw runs in a container, the host's hop limit is 1, and nothing the probe found is too old
 * for IMDSv2.
 */
export function hopLimitIsTheCause(input: ReadinessInput): boolean {
  const callers = input.probe.report?.v1Callers ?? [];
  return (
    input.metadataOptions.httpPutResponseHopLimit < 2 &&
    callers.length > 0 &&
    callers.every((c) => c.container !== undefined) &&
    blockingPackages(input).length === 0
  );
}

/** A caller whose IMDSv1 calls are only noise: it tries IMDSv1 first and uses IMDSv2 when refused (knowledge base). */
function fallsBack(c: ImdsCaller): boolean {
  return c.imdsBehaviour?.effect === 'noise';
}

/**
 * The probe's findings as reasons: callers block (unless they fall back to IMDSv2, or the hop limit is the cause),
 * outdated components are risks, container hosts need hop limit 2.
 */
function probeReasons(input: ReadinessInput): Reason[] {
  const reasons: Reason[] = [];
  const report = input.probe.report;
  const hopCause = hopLimitIsTheCause(input);
  for (const c of report?.v1Callers ?? []) {
    const what = c.argv ? `${c.comm} (${truncate(c.argv, 200)})` : c.comm;
    const b = c.imdsBehaviour;
    if (hopCause) {
      reasons.push({
        code: 'hop-limit-blocks-containers',
        severity: 'blocker',
        message: `Process ${what} in a container made IMDSv1 calls (${c.evidence}, ${c.requests} request(s)) because the hop limit is ${input.metadataOptions.httpPutResponseHopLimit}: the token response cannot reach the container, so its SDK falls back to IMDSv1. Nothing found on the host is too old for IMDSv2.`,
        remediation:
          'Raise the hop limit to 2 with tokens still optional (the plan’s hop-limit wave), then assess again: the calls should stop.',
      });
    } else if (fallsBack(c)) {
      reasons.push({
        code: 'v1-fallback-caller',
        severity: 'info',
        message: `Process ${what} made IMDSv1 calls (${c.evidence}, ${c.requests} request(s)), but ${b!.component}${b!.version ? ` ${b!.version}` : ''} tries IMDSv1 first and uses IMDSv2 when refused (${b!.source}): enforcing is safe, its calls are noise.`,
        remediation: b!.advice ?? `Upgrade ${c.comm} to a release that tries IMDSv2 first, to stop the IMDSv1 noise.`,
      });
    } else if (b?.effect === 'partial') {
      reasons.push({
        code: 'partial-fallback-caller',
        severity: 'blocker',
        message: `Process ${what} made IMDSv1 calls (${c.evidence}, ${c.requests} request(s)); ${b.component}${b.version ? ` ${b.version}` : ''} uses IMDSv2 for some calls only (${b.source}).`,
        remediation:
          b.advice ??
          (b.setting
            ? `Set ${b.setting}, or upgrade ${c.comm}.`
            : `Upgrade ${c.comm} to a release that uses IMDSv2 for every call.`),
      });
    } else {
      reasons.push({
        code: 'v1-caller-found',
        severity: 'blocker',
        message: `Process ${what} made IMDSv1 calls (${c.evidence}, ${c.requests} request(s)).`,
        remediation: `Update ${c.comm} or the SDK it uses to a release that supports IMDSv2, then assess again.`,
      });
    }
  }
  for (const p of report?.packages ?? []) {
    const version = p.version ? ` ${p.version}` : '';
    if (p.status === 'ok' && p.imdsBehaviour?.effect === 'noise') {
      reasons.push({
        code: 'falls-back-to-imdsv2',
        severity: 'info',
        message: `${p.name}${version} tries IMDSv1 first and uses IMDSv2 when refused (${p.imdsBehaviour.source}).`,
        remediation: p.imdsBehaviour.advice ?? p.advice ?? `Upgrade ${p.name} to stop its IMDSv1 noise.`,
      });
      continue;
    }
    if (p.status === 'ok' || p.status === 'unknown') continue;
    reasons.push({
      code: p.status === 'outdated' ? 'outdated-package' : p.status,
      severity: 'risk',
      message: `${p.name}${version} (${p.ecosystem}) ${p.status === 'outdated' ? 'predates IMDSv2 support' : p.status === 'never-supports' ? 'never supported IMDSv2' : 'is known to break without IMDSv1'}.`,
      remediation:
        p.advice ??
        (p.minimumVersion ? `Upgrade ${p.name} to ${p.minimumVersion} or later.` : `Replace or reconfigure ${p.name}.`),
    });
  }
  if (input.containerHost === true || report?.containers.detected === true) {
    reasons.push({
      code: 'container-host',
      severity: 'info',
      message: `Containers run on this host${input.containerHostSignal ? ` (${input.containerHostSignal.detail})` : ''}: with hop limit 1 their IMDSv2 token never arrives.`,
      remediation: 'Enforce with HttpPutResponseHopLimit 2.',
    });
  }
  return reasons;
}

/**
 * True when a probe saw every IMDSv1 caller of the instance and each one falls back to IMDSv2: the MetadataNoToken
 * calls are theirs, and enforcing is safe. A probe that saw no caller explains nothing (the calls may come from a job
 * that did not run in its window).
 */
function callsExplainedByFallback(input: ReadinessInput): boolean {
  const callers = input.probe.report?.v1Callers ?? [];
  return input.probe.outcome === 'ok' && callers.length > 0 && callers.every(fallsBack);
}

/**
 * Classifies one instance in the design's readiness vocabulary, with the evidence as reasons. `excluded` is a policy
 * decision made by the planner, never here. Unknown is never promoted to ready: `ready` needs at least
 * `minObservationDays` days with data and zero IMDSv1 calls, and no IMDSv1 caller found by a probe.
 */
export function classifyReadiness(input: ReadinessInput, opts: ReadinessOptions): Readiness {
  const mo = input.metadataOptions;
  if (mo.httpEndpoint === 'disabled') {
    return {
      status: 'imds-disabled',
      reasons: [{ code: 'imds-disabled', severity: 'info', message: 'The instance metadata endpoint is disabled.' }],
    };
  }
  const extra = probeReasons(input);
  if (mo.httpTokens === 'required') {
    const reasons: Reason[] = [
      { code: 'tokens-required', severity: 'info', message: 'HttpTokens is already required.' },
    ];
    const rejected = input.metrics.noTokenRejected;
    if (rejected?.status === 'observed' && (rejected.total ?? 0) > 0) {
      reasons.push({
        code: 'imdsv1-calls-failing',
        severity: 'blocker',
        message: `${rejected.total} IMDSv1 call(s) rejected in the window (last at ${rejected.lastNonZeroAt ?? 'unknown'}): calls failing now.`,
        remediation: 'Find the caller (probe the instance) and update it, or roll back with `imdsv2 rollback`.',
      });
    }
    return { status: 'enforced', reasons: [...reasons, ...extra] };
  }

  const m = input.metrics.noToken;
  const calls = m.status === 'observed' ? (m.total ?? 0) : 0;
  const blockers = extra.filter((r) => r.severity === 'blocker');
  if (calls > 0 && blockers.length === 0 && callsExplainedByFallback(input)) {
    return {
      status: 'ready',
      reasons: [
        {
          code: 'imdsv1-calls-fall-back',
          severity: 'info',
          message: `${calls} IMDSv1 call(s) in the window, all from callers that use IMDSv2 when IMDSv1 is refused: enforcing is safe. After enforcing, their attempts show in MetadataNoTokenRejected; the guard allows for them.`,
          remediation: 'Upgrade those agents (see below) to stop the IMDSv1 noise.',
        },
        ...extra,
      ],
    };
  }
  if (calls > 0 || blockers.length > 0) {
    const reasons: Reason[] = [];
    if (calls > 0) {
      reasons.push({
        code: 'imdsv1-calls-seen',
        severity: 'blocker',
        message: `${calls} IMDSv1 call(s) in the window, the last at ${m.lastNonZeroAt ?? 'unknown'}.`,
        remediation: hopLimitIsTheCause(input)
          ? 'The hop limit is the cause (below): raise it to 2 with tokens still optional, then assess again.'
          : 'Probe the instance to name the calling process, then update it to an IMDSv2-capable release.',
      });
    }
    return { status: 'blocked', reasons: [...reasons, ...extra] };
  }

  if (m.status === 'unknown') {
    return { status: 'unknown', reasons: [unknownReason(m.unknownReason ?? 'no-datapoints'), ...extra] };
  }
  const covered = observedSeconds(m);
  const needed = opts.minObservationDays * 86_400;
  if (covered < needed) {
    return {
      status: 'unknown',
      reasons: [
        unknownReason(
          'short-observation',
          `The data covers ${spanText(covered)}; ${spanText(needed)} of observation are needed (--min-observation).`,
        ),
        ...extra,
      ],
    };
  }
  return {
    status: 'ready',
    reasons: [
      {
        code: 'no-imdsv1-calls',
        severity: 'info',
        message: `No IMDSv1 calls in ${spanText(covered)} of data.`,
      },
      ...extra,
    ],
  };
}
