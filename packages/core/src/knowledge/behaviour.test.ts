import { describe, expect, it } from 'vitest';
import { ProbeReport } from '../schemas/probe-report.js';
import { annotateImdsBehaviour, behaviourComponents, imdsBehaviour } from './behaviour.js';
import { knownAgents, minimumVersions } from './index.js';

describe('imdsBehaviour', () => {
  it.each([
    // component, version, behaviour, effect
    ['amazon-ssm-agent', '2.3.500.0', 'v1-only', 'breaks'],
    ['amazon-ssm-agent', '2.3.786.0', 'v1-only', 'breaks'],
    ['amazon-ssm-agent', '3.0.161.0', 'v1-first-fallback', 'noise'],
    ['amazon-ssm-agen', '3.0.356.0', 'v1-first-fallback', 'noise'],
    ['amazon-ssm-agent', '3.0.431.0', 'v2-first', 'safe'],
    ['amazon-ssm-agent', '3.2.1041.0', 'v2-only', 'safe'],
    ['Datadog Agent', '7.22.1', 'v1-only', 'breaks'],
    ['datadog-agent', '7.50.3', 'v1-only', 'breaks'],
    ['datadog-agent', '7.64.0', 'partial-fallback', 'partial'],
    ['newrelic-infra', '1.11.41', 'v1-only', 'breaks'],
    ['newrelic-infra', '1.20.0', 'v2-only', 'safe'],
    ['codedeploy-agent', '1.1.2', 'v1-only', 'breaks'],
    ['codedeploy-agent', '1.7.0', 'v2-first', 'safe'],
    ['aws-node', '1.10.0', 'v1-only', 'breaks'],
    ['aws-node', '1.10.1', 'v2-first', 'safe'],
    ['cloud-init', '19.3', 'v1-only', 'breaks'],
    ['cloud-init', '20.4', 'v2-first', 'safe'],
    ['kube2iam', '0.11.2', 'v1-only', 'breaks'],
    ['Salt minion', '3006.1', 'partial-fallback', 'partial'],
    ['EC2Config', '4.9.4588', 'v2-first', 'safe'],
    ['EC2Launch', '1.3.2002240', 'v1-only', 'breaks'],
    // SDKs follow the minimum versions.
    ['botocore', '1.12.0', 'v1-only', 'breaks'],
    ['botocore', '1.29.0', 'v2-first', 'safe'],
    ['aws-java-sdk', '1.11.505', 'v1-only', 'breaks'],
    ['boto', '2.49.0', 'v1-only', 'breaks'],
    // Unknown versions and components without ranges.
    ['amazon-ssm-agent', undefined, 'unknown', 'unknown'],
    ['amazon-cloudwatch-agent', '1.237768.0', 'unknown', 'unknown'],
    ['EC2Launch v2', '2.0.1000', 'unknown', 'unknown'],
    ['sftd', undefined, 'v1-only', 'breaks'],
  ])('%s %s: %s (%s)', (name, version, behaviour, effect) => {
    const a = imdsBehaviour(name, version);
    expect(a).toMatchObject({ behaviour, effect });
    expect(a!.source).not.toBe('');
  });

  it('says what the SSM agent that tries IMDSv1 first needs: nothing to enforce, an upgrade to stop the noise', () => {
    expect(imdsBehaviour('amazon-ssm-agent', '3.0.161.0')).toEqual({
      component: 'amazon-ssm-agent',
      name: 'Amazon SSM Agent',
      version: '3.0.161.0',
      behaviour: 'v1-first-fallback',
      effect: 'noise',
      range: '>= 2.3.814.0, < 3.0.413.0',
      source: expect.stringContaining('https://github.com/aws/amazon-ssm-agent/issues/319'),
      advice: expect.stringMatching(/upgrade the SSM agent to 3\.0\.431\.0 or later to stop the IMDSv1 noise/i),
    });
  });

  it('names the setting of agents that need one, and the upgrade of those that break', () => {
    expect(imdsBehaviour('datadog-agent', '7.64.1')).toMatchObject({ setting: 'ec2_prefer_imdsv2: true' });
    expect(imdsBehaviour('kube2iam', '0.10.0')?.advice).toMatch(/0\.12\.0 or later/);
    expect(imdsBehaviour('botocore', '1.12.0')?.advice).toBe('Upgrade botocore to 1.13.25 or later.');
    expect(imdsBehaviour('amazon-ssm-agent', '2.3.500.0')?.advice).toMatch(/to 3\.0\.413\.0 or later before enforcing/);
    expect(imdsBehaviour('amazon-ssm-agent', 'garbage')?.advice).toMatch(
      /could not be read.*>= 3\.0\.413\.0, < 3\.2\.1041\.0: v2-first/,
    );
    expect(imdsBehaviour('no-such-thing', '1.0')).toBeUndefined();
  });

  it('every entry of the knowledge data carries a source, and every agent with an id has its behaviour', () => {
    for (const c of behaviourComponents()) {
      expect(c.ranges.every((r) => r.source.length > 0) && (c.ranges.length > 0 || c.source)).toBeTruthy();
    }
    for (const e of minimumVersions()) expect(e.source, e.id).toMatch(/^(https:\/\/|github\.com\/)/);
    for (const a of knownAgents()) {
      expect(a.source, a.name).toBeTruthy();
      if (a.id)
        expect(
          behaviourComponents().map((c) => c.id),
          a.name,
        ).toContain(a.id);
    }
  });

  it('ranges of a component do not overlap', () => {
    for (const c of behaviourComponents()) {
      const probes = c.ranges.flatMap((r) => [r.from, r.below].filter((v): v is string => v !== undefined));
      for (const v of probes) {
        const hits = c.ranges.filter(
          (r) =>
            imdsBehaviour(c.id, v)?.range ===
            [r.from && `>= ${r.from}`, r.below && `< ${r.below}`].filter(Boolean).join(', '),
        );
        expect(hits.length, `${c.id} ${v}`).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('annotateImdsBehaviour', () => {
  const report = () =>
    ProbeReport.parse({
      schema: { name: 'imdsv2-cutover/probe-report', version: 1 },
      formatVersion: 1,
      probeVersion: '0.1.0',
      status: 'ok',
      host: { platform: 'linux' },
      tracer: 'bpftrace',
      windowSeconds: 60,
      v1Callers: [
        { pid: 900, comm: 'amazon-ssm-agen', exe: '/usr/bin/amazon-ssm-agent', requests: 40, evidence: 'confirmed' },
        { pid: 901, comm: 'python3', requests: 2, evidence: 'confirmed' },
      ],
      packages: [
        { ecosystem: 'agent', name: 'amazon-ssm-agent', version: '3.0.161.0', path: 'amazon-ssm-agent', status: 'ok' },
        {
          ecosystem: 'vendor',
          name: 'Datadog Agent',
          version: '7.50.3',
          path: '/opt/datadog-agent',
          status: 'unknown',
        },
        { ecosystem: 'vendor', name: 'AWS CodeDeploy agent', version: '1.7.0', path: '/opt/cd', status: 'unknown' },
        { ecosystem: 'node', name: 'left-pad', version: '1.0.0', status: 'unknown' },
      ],
      containers: { detected: false },
    });

  it('gives the SSM agent caller its behaviour at the version the inventory found, and keeps the inventory consistent', () => {
    const r = annotateImdsBehaviour(report());
    expect(ProbeReport.safeParse(r).success).toBe(true);
    expect(r.v1Callers[0]!.imdsBehaviour).toMatchObject({
      component: 'amazon-ssm-agent',
      version: '3.0.161.0',
      behaviour: 'v1-first-fallback',
      effect: 'noise',
    });
    expect(r.v1Callers[1]!.imdsBehaviour).toBeUndefined();
    const ssm = r.packages[0]!;
    expect(ssm.status).toBe('ok');
    expect(ssm.imdsBehaviour).toEqual(r.v1Callers[0]!.imdsBehaviour);
  });

  it('sets a vendor agent status from its behaviour once its version is known', () => {
    const r = annotateImdsBehaviour(report());
    expect(r.packages.map((p) => [p.name, p.status, p.imdsBehaviour?.behaviour])).toEqual([
      ['amazon-ssm-agent', 'ok', 'v1-first-fallback'],
      ['Datadog Agent', 'outdated', 'v1-only'],
      ['AWS CodeDeploy agent', 'ok', 'v2-first'],
      ['left-pad', 'unknown', undefined],
    ]);
    expect(r.packages[1]!.advice).toMatch(/ec2_prefer_imdsv2: true/);
  });
});
