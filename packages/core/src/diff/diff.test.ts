import type { Assessment, AutoScalingGroup, Instance, LaunchTemplate } from '@imdsv2-cutover/core';
import { generateFleet, makeInstance, makeMetric, makeProbeReport } from '@imdsv2-cutover/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CutoverError } from '../errors.js';
import { diffAssessments } from './diff.js';
import type { AssessmentDiff } from './diff.js';
import { evaluateGates, GATES, parseGates } from './gates.js';
import { trend } from './trend.js';

const base = generateFleet({ count: 60, seed: 7 });

/** A later run of `base`: a copy with a new id and time, changed by `change`. */
function after(change: (a: Assessment) => void, from: Assessment = base): Assessment {
  const a = structuredClone(from);
  a.id = `${from.id}-next`;
  a.createdAt = '2026-11-21T12:00:00.000Z';
  change(a);
  return a;
}

function byStatus(a: Assessment, status: Instance['readiness']['status']): Instance {
  const i = a.instances.find((x) => x.readiness.status === status);
  if (!i) throw new Error(`fixture has no ${status} instance`);
  return i;
}

function enforce(i: Instance): void {
  i.metadataOptions.httpTokens = 'required';
  i.readiness = { status: 'enforced', reasons: [] };
}

function block(i: Instance): void {
  i.metrics = { noToken: makeMetric(120) };
  i.readiness = { status: 'blocked', reasons: [] };
}

function template(overrides: Partial<LaunchTemplate> = {}): LaunchTemplate {
  return {
    accountId: '111111111111',
    region: 'us-east-1',
    launchTemplateId: 'lt-0123456789abcdef0',
    name: 'web',
    defaultVersion: 1,
    latestVersion: 1,
    defaultVersionOptions: {},
    latestVersionOptions: {},
    effective: {
      httpTokens: { value: 'optional', source: 'aws-default' },
      httpPutResponseHopLimit: { value: 1, source: 'aws-default' },
      httpEndpoint: { value: 'enabled', source: 'aws-default' },
    },
    launchesImdsV1: true,
    ...overrides,
  };
}

function group(overrides: Partial<AutoScalingGroup> = {}): AutoScalingGroup {
  return {
    accountId: '111111111111',
    region: 'us-east-1',
    name: 'web-asg',
    desiredCapacity: 2,
    instanceIds: [],
    effective: null,
    launchesImdsV1: true,
    ...overrides,
  };
}

function newInstance(accountId: string, region: string, httpTokens: 'optional' | 'required'): Instance {
  const i = makeInstance({ instanceId: 'i-0fffffffffffffff0', accountId, region });
  i.metadataOptions.httpTokens = httpTokens;
  return i;
}

function changeCount(d: AssessmentDiff): number {
  return (
    d.newlyEnforced.length +
    d.newlyReady.length +
    d.newlyBlocked.length +
    d.newV1Callers.length +
    d.callsStarted.length +
    d.regressions.length +
    d.added.length +
    d.removed.length +
    Math.abs(d.blocked.delta)
  );
}

describe('diffAssessments', () => {
  it('finds nothing between an assessment and itself', () => {
    const d = diffAssessments(base, base);
    expect(changeCount(d)).toBe(0);
    expect(d.enforcedShare.deltaPoints).toBe(0);
    expect(d.warnings).toEqual([`both files are the same assessment (id ${base.id})`]);
    expect(evaluateGates(d, GATES).failed).toEqual([]);
  });

  it('reports newly enforced instances and the change in enforced share in percentage points', () => {
    const next = after((a) => {
      enforce(byStatus(a, 'ready'));
      enforce(byStatus(a, 'blocked'));
    });
    const d = diffAssessments(base, next);
    expect(d.newlyEnforced.map((c) => [c.from, c.to])).toEqual(
      expect.arrayContaining([
        ['ready', 'enforced'],
        ['blocked', 'enforced'],
      ]),
    );
    expect(d.newlyEnforced).toHaveLength(2);
    const eligible = base.instances.filter((i) => i.readiness.status !== 'imds-disabled').length;
    expect(d.enforcedShare.deltaPoints).toBeCloseTo((2 / eligible) * 100, 1);
    expect(d.enforcedShare.after! - d.enforcedShare.before!).toBeCloseTo(d.enforcedShare.deltaPoints!, 5);
    expect(d.blocked).toEqual({ before: d.blocked.before, after: d.blocked.before - 1, delta: -1 });
    expect(d.regressions).toEqual([]);
  });

  it('reports newly ready and newly blocked instances', () => {
    const next = after((a) => {
      byStatus(a, 'unknown').readiness = { status: 'ready', reasons: [] };
      block(byStatus(a, 'ready'));
    });
    const d = diffAssessments(base, next);
    expect(d.newlyReady.map((c) => c.from)).toEqual(['unknown']);
    expect(d.newlyBlocked.map((c) => c.from)).toEqual(['ready']);
    expect(d.blocked.delta).toBe(1);
  });

  it('names new IMDSv1 callers per instance, and instances whose calls went from 0 or unknown to more than 0', () => {
    const oldA = after((a) => {
      const i = byStatus(a, 'ready');
      i.probe = { outcome: 'ok', report: makeProbeReport() };
    });
    const nextA = after((a) => {
      const i = byStatus(a, 'ready');
      const report = makeProbeReport();
      report.v1Callers.push({
        ...report.v1Callers[0]!,
        pid: 77,
        comm: 'node',
        exe: '/usr/bin/node',
        argv: 'node s.js',
      });
      i.probe = { outcome: 'ok', report };
      // From unknown to calls:
      byStatus(a, 'unknown').metrics = { noToken: makeMetric(5) };
    }, oldA);
    const d = diffAssessments(oldA, nextA);
    expect(d.newV1Callers.map((c) => [c.comm, c.argv])).toEqual([['node', 'node s.js']]);
    expect(d.callsStarted.map((c) => [c.before, c.after])).toEqual([[null, 5]]);
  });

  it('does not count a caller again when only its pid changed', () => {
    const oldA = after((a) => {
      byStatus(a, 'ready').probe = { outcome: 'ok', report: makeProbeReport() };
    });
    const nextA = after((a) => {
      const report = makeProbeReport();
      report.v1Callers[0]!.pid = 9999;
      report.v1Callers[0]!.requests = 1;
      byStatus(a, 'ready').probe = { outcome: 'ok', report };
    }, oldA);
    expect(diffAssessments(oldA, nextA).newV1Callers).toEqual([]);
  });

  it('lists disappeared instances without calling them regressions', () => {
    const gone = base.instances.find((i) => i.metadataOptions.httpTokens === 'required')!;
    const next = after((a) => {
      a.instances = a.instances.filter((i) => i.instanceId !== gone.instanceId);
    });
    const d = diffAssessments(base, next);
    expect(d.removed.map((r) => r.instanceId)).toEqual([gone.instanceId]);
    expect(d.regressions).toEqual([]);
  });

  it.each<[string, (a: Assessment) => void, (a: Assessment) => void, string[]]>([
    [
      'an instance back to optional',
      () => undefined,
      (a) => {
        const i = a.instances.find((x) => x.metadataOptions.httpTokens === 'required')!;
        i.metadataOptions.httpTokens = 'optional';
      },
      ['instance-back-to-optional'],
    ],
    [
      'a new launch template launching IMDSv1',
      () => undefined,
      (a) => a.launchTemplates.push(template()),
      ['launch-template-launches-imdsv1:new'],
    ],
    [
      'a launch template that starts launching IMDSv1',
      (a) => a.launchTemplates.push(template({ launchesImdsV1: false })),
      (a) => (a.launchTemplates[0]!.launchesImdsV1 = true),
      ['launch-template-launches-imdsv1:changed'],
    ],
    ['a launch template that already launched IMDSv1', (a) => a.launchTemplates.push(template()), () => undefined, []],
    [
      'a new launch template with tokens required',
      () => undefined,
      (a) => a.launchTemplates.push(template({ launchesImdsV1: false })),
      [],
    ],
    [
      'a new ASG launching IMDSv1',
      () => undefined,
      (a) => a.autoScalingGroups.push(group()),
      ['asg-launches-imdsv1:new'],
    ],
    [
      'an ASG that starts launching IMDSv1',
      (a) => a.autoScalingGroups.push(group({ launchesImdsV1: false })),
      (a) => (a.autoScalingGroups[0]!.launchesImdsV1 = true),
      ['asg-launches-imdsv1:changed'],
    ],
    [
      'a new region with an IMDSv1 instance',
      () => undefined,
      (a) => a.instances.push(newInstance('111111111111', 'sa-east-1', 'optional')),
      ['new-region-with-imdsv1'],
    ],
    [
      'a new region whose instances all require tokens',
      () => undefined,
      (a) => a.instances.push(newInstance('111111111111', 'sa-east-1', 'required')),
      [],
    ],
    [
      'a new account with an IMDSv1 instance',
      () => undefined,
      (a) => a.instances.push(newInstance('999999999999', 'us-east-1', 'optional')),
      ['new-account-with-imdsv1'],
    ],
  ])('regressions: %s', (_name, prepare, change, expected) => {
    const oldA = after(prepare);
    const d = diffAssessments(oldA, after(change, oldA));
    expect(d.regressions.map((r) => ('isNew' in r ? `${r.kind}:${r.isNew ? 'new' : 'changed'}` : r.kind))).toEqual(
      expected,
    );
    expect(evaluateGates(d, ['regressions']).failed.length).toBe(expected.length > 0 ? 1 : 0);
  });

  it('warns when the files look swapped', () => {
    const next = after(() => undefined);
    expect(diffAssessments(next, base).warnings[0]).toMatch(/older than the old one/);
  });
});

describe('evaluateGates', () => {
  const cases: [string, (a: Assessment) => void, (typeof GATES)[number], RegExp][] = [
    [
      'new IMDSv1 caller',
      (a) => (byStatus(a, 'ready').probe = { outcome: 'ok', report: makeProbeReport() }),
      'new-v1-callers',
      /new IMDSv1 caller python3 \(\/usr\/bin\/python3 \/opt\/backup\/backup\.py/,
    ],
    [
      'calls started',
      (a) => (byStatus(a, 'ready').metrics = { noToken: makeMetric(3) }),
      'new-v1-callers',
      /from 0 to 3/,
    ],
    [
      'regression',
      (a) =>
        (a.instances.find((x) => x.metadataOptions.httpTokens === 'required')!.metadataOptions.httpTokens = 'optional'),
      'regressions',
      /back to HttpTokens=optional/,
    ],
    [
      'blocked increase (a v1-only component found, no calls)',
      (a) => (byStatus(a, 'ready').readiness = { status: 'blocked', reasons: [] }),
      'blocked-increase',
      /blocked instances went from \d+ to \d+ \(\+1\)/,
    ],
    [
      'incomplete',
      (a) => {
        a.complete = false;
        a.regions[0]!.status = 'failed';
        a.regions[0]!.error = { code: 'AccessDenied', message: 'not authorized to DescribeInstances' };
      },
      'incomplete',
      /failed: AccessDenied not authorized/,
    ],
  ];

  it.each(cases)('%s fails only its gate, with a reason', (_name, change, gate, reason) => {
    const d = diffAssessments(base, after(change));
    const r = evaluateGates(d, GATES);
    expect(r.failed.map((f) => f.gate)).toEqual([gate]);
    expect(r.failed[0]!.reasons.join('\n')).toMatch(reason);
    expect(
      evaluateGates(
        d,
        GATES.filter((g) => g !== gate),
      ).failed,
    ).toEqual([]);
  });

  it('cuts long reason lists and keeps the count', () => {
    const d = diffAssessments(
      base,
      after((a) => a.instances.filter((i) => i.readiness.status === 'ready').forEach(block)),
    );
    const gate = evaluateGates(d, ['blocked-increase', 'new-v1-callers'], 3);
    const callers = gate.failed.find((f) => f.gate === 'new-v1-callers')!;
    expect(callers.count).toBeGreaterThan(3);
    expect(callers.reasons).toHaveLength(4);
    expect(callers.reasons[3]).toBe(`... and ${callers.count - 3} more`);
  });

  it('parses --fail-on lists and refuses unknown gates naming the valid ones', () => {
    expect(parseGates('regressions, incomplete,regressions')).toEqual(['regressions', 'incomplete']);
    let err: unknown;
    try {
      parseGates('regressions,new-callers');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).exitCode).toBe(2);
    expect((err as CutoverError).message).toBe(
      '--fail-on: unknown gate "new-callers"; valid gates are new-v1-callers, regressions, blocked-increase, incomplete',
    );
  });
});

describe('trend', () => {
  it('orders the history by time and computes the enforced share', () => {
    const next = after((a) => enforce(byStatus(a, 'ready')));
    const points = trend([next, base]);
    expect(points.map((p) => p.id)).toEqual([base.id, next.id]);
    expect(points[1]!.enforced).toBe(points[0]!.enforced + 1);
    expect(points[1]!.sharePercent).toBe(diffAssessments(base, next).enforcedShare.after);
  });
});

describe('diff properties', () => {
  it('diff(a, a) has no changes and fails no gate, for any fleet', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 1_000_000 }), (count, seed) => {
        const a = generateFleet({ count, seed });
        const d = diffAssessments(a, structuredClone(a));
        expect(changeCount(d)).toBe(0);
        expect(evaluateGates(d, GATES).failed).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });
});
