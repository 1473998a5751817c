import type { Instance, MetricEvidence, Readiness, Reason } from './schemas/assessment.js';
import { truncate } from './text.js';

/** What classification looks at: the instance's settings, its metric evidence and, when it was probed, the probe. */
export type ReadinessInput = Pick<Instance, 'metadataOptions' | 'metrics' | 'probe' | 'containerHost' | 'state'>;

export interface ReadinessOptions {
  /** Days with metric data (and zero IMDSv1 calls) needed before an instance counts as ready. */
  minObservationDays: number;
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
    'Too few days of metric data to call the instance ready.',
    'Assess again after a longer observation, or probe the instance.',
  ],
};

function unknownReason(code: keyof typeof unknownText, detail?: string): Reason {
  const [message, remediation] = unknownText[code];
  return { code, severity: 'blocker', message: detail ? `${message} ${detail}` : message, remediation };
}

/** The probe's findings as reasons: callers block, outdated components are risks, container hosts need hop limit 2. */
function probeReasons(input: ReadinessInput): Reason[] {
  const reasons: Reason[] = [];
  const report = input.probe.report;
  for (const c of report?.v1Callers ?? []) {
    const what = c.argv ? `${c.comm} (${truncate(c.argv, 200)})` : c.comm;
    reasons.push({
      code: 'v1-caller-found',
      severity: 'blocker',
      message: `Process ${what} made IMDSv1 calls (${c.evidence}, ${c.requests} request(s)).`,
      remediation: `Update ${c.comm} or the SDK it uses to a release that supports IMDSv2, then assess again.`,
    });
  }
  for (const p of report?.packages ?? []) {
    if (p.status === 'ok' || p.status === 'unknown') continue;
    const version = p.version ? ` ${p.version}` : '';
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
      message: 'Containers run on this host: with hop limit 1 their IMDSv2 token never arrives.',
      remediation: 'Enforce with HttpPutResponseHopLimit 2.',
    });
  }
  return reasons;
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
  if (calls > 0 || blockers.length > 0) {
    const reasons: Reason[] = [];
    if (calls > 0) {
      reasons.push({
        code: 'imdsv1-calls-seen',
        severity: 'blocker',
        message: `${calls} IMDSv1 call(s) in the window, the last at ${m.lastNonZeroAt ?? 'unknown'}.`,
        remediation: 'Probe the instance to name the calling process, then update it to an IMDSv2-capable release.',
      });
    }
    return { status: 'blocked', reasons: [...reasons, ...extra] };
  }

  if (m.status === 'unknown') {
    return { status: 'unknown', reasons: [unknownReason(m.unknownReason ?? 'no-datapoints'), ...extra] };
  }
  if (m.daysWithData < opts.minObservationDays) {
    return {
      status: 'unknown',
      reasons: [
        unknownReason(
          'short-observation',
          `${m.daysWithData} day(s) of data, ${opts.minObservationDays} needed (--min-observation).`,
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
        message: `No IMDSv1 calls in ${m.daysWithData} day(s) of data.`,
      },
      ...extra,
    ],
  };
}
