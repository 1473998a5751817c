import { makeInstance, makeMetric, makeProbeReport } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { classifyReadiness, type ReadinessInput } from './readiness.js';
import type { MetricEvidence } from './schemas/assessment.js';

const opts = { minObservationDays: 7 };
const base = makeInstance();
const enforcedOptions = { ...base.metadataOptions, httpTokens: 'required' as const };
function unknown(reason: NonNullable<MetricEvidence['unknownReason']>): MetricEvidence {
  return { ...makeMetric(null), unknownReason: reason };
}

type Row = [string, Partial<ReadinessInput>, string, string[]];
const table: Row[] = [
  ['zero calls over 14 days', {}, 'ready', ['no-imdsv1-calls']],
  ['zero calls over exactly 7 days', { metrics: { noToken: makeMetric(0, 7) } }, 'ready', ['no-imdsv1-calls']],
  ['zero calls over 3 days', { metrics: { noToken: makeMetric(0, 3) } }, 'unknown', ['short-observation']],
  [
    'data on 8 calendar days but covering 6 days 20 hours is short of 7 days',
    { metrics: { noToken: { ...makeMetric(0, 8), observedSeconds: 6 * 86_400 + 20 * 3600 } } },
    'unknown',
    ['short-observation'],
  ],
  [
    'a 14-day window covers 14 days, not 15',
    { metrics: { noToken: { ...makeMetric(0, 15), observedSeconds: 14 * 86_400 } } },
    'ready',
    ['no-imdsv1-calls'],
  ],
  ['calls seen', { metrics: { noToken: makeMetric(42) } }, 'blocked', ['imdsv1-calls-seen']],
  [
    'calls seen on 1 day are still a blocker',
    { metrics: { noToken: makeMetric(5, 1) } },
    'blocked',
    ['imdsv1-calls-seen'],
  ],
  ['no datapoints', { metrics: { noToken: unknown('no-datapoints') } }, 'unknown', ['no-datapoints']],
  ['stopped', { state: 'stopped', metrics: { noToken: unknown('instance-stopped') } }, 'unknown', ['instance-stopped']],
  ['launched recently', { metrics: { noToken: unknown('launched-recently') } }, 'unknown', ['launched-recently']],
  ['partial data', { metrics: { noToken: unknown('partial-data') } }, 'unknown', ['partial-data']],
  ['tokens required', { metadataOptions: enforcedOptions }, 'enforced', ['tokens-required']],
  [
    'tokens required, rejected calls',
    {
      metadataOptions: enforcedOptions,
      metrics: { noToken: unknown('not-queried'), noTokenRejected: makeMetric(3, 14, 'MetadataNoTokenRejected') },
    },
    'enforced',
    ['tokens-required', 'imdsv1-calls-failing'],
  ],
  [
    'endpoint disabled wins over everything',
    { metadataOptions: { ...enforcedOptions, httpEndpoint: 'disabled' }, metrics: { noToken: makeMetric(9) } },
    'imds-disabled',
    ['imds-disabled'],
  ],
  [
    'probe found a caller although the metric is zero',
    { probe: { outcome: 'ok', report: makeProbeReport({ packages: [] }) } },
    'blocked',
    ['v1-caller-found'],
  ],
  [
    'probe caller on an unknown instance blocks it',
    {
      metrics: { noToken: unknown('no-datapoints') },
      probe: { outcome: 'ok', report: makeProbeReport({ packages: [] }) },
    },
    'blocked',
    ['v1-caller-found'],
  ],
  [
    'outdated package is a risk, not a blocker',
    { probe: { outcome: 'ok', report: makeProbeReport({ v1Callers: [] }) } },
    'ready',
    ['no-imdsv1-calls', 'outdated-package'],
  ],
  ['container host gets the hop-limit note', { containerHost: true }, 'ready', ['no-imdsv1-calls', 'container-host']],
];

describe('observation time', () => {
  it('says how much time the data covered and how much is needed', () => {
    const r = classifyReadiness(
      { ...base, metrics: { noToken: { ...makeMetric(0, 8), observedSeconds: 6 * 86_400 + 20 * 3600 } } },
      opts,
    );
    expect(r.reasons[0]!.message).toContain('The data covers 6d 20h; 7d of observation are needed');
    const ok = classifyReadiness(
      { ...base, metrics: { noToken: { ...makeMetric(0, 9), observedSeconds: 7 * 86_400 } } },
      opts,
    );
    expect(ok.reasons[0]!.message).toBe('No IMDSv1 calls in 7d of data.');
  });
});

describe('classifyReadiness', () => {
  it.each(table)('%s', (_name, overrides, status, codes) => {
    const r = classifyReadiness({ ...base, ...overrides }, opts);
    expect(r.status).toBe(status);
    expect(r.reasons.map((x) => x.code)).toEqual(codes);
  });

  it('names the process and its command line, and every blocker says what fixes it', () => {
    const r = classifyReadiness({ ...base, probe: { outcome: 'ok', report: makeProbeReport() } }, opts);
    const caller = r.reasons.find((x) => x.code === 'v1-caller-found')!;
    expect(caller.message).toContain('python3');
    expect(caller.message).toContain('/opt/backup/backup.py');
    expect(r.reasons.find((x) => x.code === 'outdated-package')!.remediation).toBe(
      'upgrade botocore to 1.13.25 or later',
    );
    for (const reason of r.reasons.filter((x) => x.severity === 'blocker')) expect(reason.remediation).toBeTruthy();
  });

  it('never calls an instance with unknown evidence ready, whatever min-observation is', () => {
    for (const reason of ['no-datapoints', 'instance-stopped', 'launched-recently', 'query-failed'] as const) {
      const r = classifyReadiness({ ...base, metrics: { noToken: unknown(reason) } }, { minObservationDays: 0 });
      expect(r.status).toBe('unknown');
    }
  });
});
