import { describe, expect, it } from 'vitest';
import { generateFleet, makeAssessment, makeInstance, makeProbeReport } from '@imdsv2-cutover/test-utils';
import { CutoverError } from '../errors.js';
import { assessmentKind } from './assessment.js';
import { Policy, durationSeconds, policyKind } from './policy.js';
import { probeReportKind } from './probe-report.js';
import { JournalLine } from './journal.js';
import { parseJsonDocument, parseYamlDocument, validateDocument } from './validate.js';

function errorOf(fn: () => unknown): CutoverError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CutoverError) return e;
    throw e;
  }
  throw new Error('expected a CutoverError');
}

describe('assessment schema', () => {
  it('round-trips a generated fleet through JSON unchanged', () => {
    const a = generateFleet({ count: 200, seed: 7 });
    const parsed = parseJsonDocument(assessmentKind, JSON.stringify(a), 'a.json');
    expect(parsed).toEqual(a);
  });

  it('names the file, the field path, the expectation and the value found', () => {
    const a = makeAssessment([makeInstance(), makeInstance({ instanceId: 'i-0000000000000002' })]);
    const bad = JSON.parse(JSON.stringify(a)) as { instances: { metadataOptions: { httpTokens: string } }[] };
    bad.instances[1]!.metadataOptions.httpTokens = 'maybe';
    const e = errorOf(() => validateDocument(assessmentKind, bad, 'fleet.json'));
    expect(e.code).toBe('BAD_INPUT');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('fleet.json');
    expect(e.message).toContain('instances[1].metadataOptions.httpTokens');
    expect(e.message).toContain('"maybe"');
    expect(e.message).toMatch(/optional.*required/);
  });

  it('refuses another schema version before looking at anything else', () => {
    const a = { ...makeAssessment([makeInstance()]), schema: { name: 'imdsv2-cutover/assessment', version: 2 } };
    const e = errorOf(() => validateDocument(assessmentKind, a, 'new.json'));
    expect(e.code).toBe('SCHEMA_MISMATCH');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/version 2 is not supported.*reads version 1/);
  });

  it('refuses a file of another kind by name', () => {
    const e = errorOf(() => validateDocument(assessmentKind, makeProbeReport(), 'probe.json'));
    expect(e.code).toBe('SCHEMA_MISMATCH');
    expect(e.message).toContain('probe.json: this is not the expected assessment file');
    expect(e.message).toContain('"imdsv2-cutover/probe-report"');
  });

  it('reports truncated JSON as such', () => {
    const text = JSON.stringify(makeAssessment([makeInstance()]));
    const e = errorOf(() => parseJsonDocument(assessmentKind, text.slice(0, text.length / 2), 'cut.json'));
    expect(e.code).toBe('BAD_INPUT');
    expect(e.message).toMatch(/cut\.json: not valid JSON .*truncated/);
  });

  it('keeps unknown apart from zero: an unknown metric cannot carry a total', () => {
    const i = makeInstance();
    const bad = makeAssessment([{ ...i, metrics: { noToken: { ...i.metrics.noToken, status: 'unknown', total: 0 } } }]);
    const e = errorOf(() => validateDocument(assessmentKind, bad, 'x.json'));
    expect(e.message).toContain('instances[0].metrics.noToken.total');
  });

  it('reads assessments of older releases (no image owners, launch configuration options or overrides) and newer ones', () => {
    const older = makeAssessment([makeInstance()]);
    older.images = [{ accountId: '111111111111', region: 'us-east-1', imageId: 'ami-0a', imdsSupport: null }];
    older.autoScalingGroups = [
      {
        accountId: '111111111111',
        region: 'us-east-1',
        name: 'lc-asg',
        launchConfigurationName: 'lc',
        desiredCapacity: 0,
        instanceIds: [],
        effective: null,
        launchesImdsV1: true,
      },
    ];
    expect(validateDocument(assessmentKind, JSON.parse(JSON.stringify(older)), 'old.json')).toEqual(older);
    const newer = structuredClone(older);
    newer.images[0] = { ...newer.images[0]!, ownerId: '137112412989', ownerAlias: 'amazon', public: true };
    newer.autoScalingGroups[0] = {
      ...newer.autoScalingGroups[0]!,
      launchConfigurationOptions: { httpTokens: 'optional' },
    };
    newer.autoScalingGroups.push({
      ...older.autoScalingGroups[0]!,
      name: 'mixed',
      launchConfigurationName: undefined,
      launchTemplate: { launchTemplateId: 'lt-0a', version: '$Default' },
      overrideLaunchTemplates: [{ launchTemplateId: 'lt-0b', name: 'other', version: '2', launchesImdsV1: true }],
    });
    const text = JSON.stringify(newer);
    expect(parseJsonDocument(assessmentKind, text, 'new.json')).toEqual(JSON.parse(text));
  });

  it('rejects unexpected fields (a typo is not silently ignored)', () => {
    const bad = { ...makeAssessment([makeInstance()]), compelte: true };
    expect(() => validateDocument(assessmentKind, bad, 'x.json')).toThrow(/compelte/);
  });
});

describe('policy schema', () => {
  it('fills every default from an empty policy', () => {
    const p = parseYamlDocument(policyKind, 'schema: {name: imdsv2-cutover/policy, version: 1}\n', 'p.yaml');
    expect(p.waves.order).toEqual(['dev', 'test', 'staging', 'prod']);
    expect(p.hopLimit.containerHosts).toBe(2);
    expect(p.unknown).toBe('hold');
    expect(p.lockIn.amiImdsSupport).toBe(false);
    expect(Policy.parse(p)).toEqual(p);
  });

  it('names the line of a YAML syntax error', () => {
    const e = errorOf(() => parseYamlDocument(policyKind, 'schema:\n  name: x\n   bad: [\n', 'p.yaml'));
    expect(e.message).toMatch(/p\.yaml: not valid YAML at line \d+/);
  });

  it('rejects a bad duration and says what a good one looks like', () => {
    const text = 'schema: {name: imdsv2-cutover/policy, version: 1}\nwaves:\n  soak: 3 days\n';
    const e = errorOf(() => parseYamlDocument(policyKind, text, 'p.yaml'));
    expect(e.message).toContain('waves.soak');
    expect(e.message).toContain('1h30m, 24h, 7d');
  });

  it('refuses alias bombs', () => {
    const lines = ['schema: {name: imdsv2-cutover/policy, version: 1}', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let n = 0; n < 10; n++)
      lines.push(
        `${String.fromCharCode(98 + n)}: &${String.fromCharCode(98 + n)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + n)}`)
          .join(', ')}]`,
      );
    expect(() => parseYamlDocument(policyKind, lines.join('\n'), 'bomb.yaml')).toThrow(CutoverError);
  });

  it('converts durations', () => {
    expect(durationSeconds('30m')).toBe(1800);
    expect(durationSeconds('2w')).toBe(1_209_600);
  });
});

describe('probe report and journal schemas', () => {
  it('accept what the fixtures make', () => {
    expect(validateDocument(probeReportKind, makeProbeReport(), 'p.json').v1Callers).toHaveLength(1);
  });

  it('journal lines are either a header or a known record type', () => {
    const ok = JournalLine.safeParse({
      type: 'intent',
      seq: 1,
      at: '2026-11-20T12:00:00.000Z',
      wave: 0,
      action: 'apply',
      target: { kind: 'instance', instanceId: 'i-0000000000000001', accountId: '111111111111', region: 'us-east-1' },
      previous: { httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
      desired: { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' },
    });
    expect(ok.success).toBe(true);
    expect(JournalLine.safeParse({ type: 'teleport', seq: 1 }).success).toBe(false);
  });
});
