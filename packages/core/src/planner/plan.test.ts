import { generateFleet, makeAssessment, makeProbeReport } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { CutoverError } from '../errors.js';
import { canonicalJson, contentHash } from '../hash.js';
import type { Assessment, LaunchTemplate, Plan } from '../index.js';
import { parseJsonDocument, parseYamlDocument, planKind, policyKind } from '../index.js';
import { iid, inst, policyOf } from './__fixtures__/fleet.js';
import {
  DEFAULT_POLICY_YAML,
  SCP_LAUNCH_NOTE,
  defaultPolicy,
  explainInstance,
  plan,
  summarizePlan,
  verifyPlanHash,
} from './index.js';
import { launchTemplateNameFor } from './lock-in.js';

const ids = (p: Plan, wave: number) => p.waves[wave]!.instances.map((e) => e.instanceId);
const heldOf = (p: Plan, n: number) => p.held.find((h) => h.instanceId === iid(n));
const waveOf = (p: Plan, n: number) => p.waves.find((w) => w.instances.some((e) => e.instanceId === iid(n)));
const entryOf = (p: Plan, n: number) => waveOf(p, n)!.instances.find((e) => e.instanceId === iid(n))!;
const noCanary = policyOf({ canary: { enabled: false } });

describe('plan: who enters waves', () => {
  it('puts only ready instances in waves and lists every other one as held with status, reasons and owner', () => {
    const statuses = ['ready', 'enforced', 'blocked', 'unknown', 'imds-disabled', 'excluded'] as const;
    const a = makeAssessment(statuses.map((status, n) => inst({ n, status, app: 'web' })));
    const p = plan(a, noCanary);
    expect(p.waves.flatMap((w) => w.instances.map((e) => e.instanceId))).toEqual([iid(0)]);
    expect(p.held.map((h) => [h.instanceId, h.status])).toEqual(statuses.slice(1).map((s, k) => [iid(k + 1), s]));
    expect(heldOf(p, 2)).toMatchObject({
      owner: 'team-web',
      reasons: [{ code: 'blocked-reason', severity: 'blocker' }],
    });
  });

  it.each([
    ['instance id', { instanceIds: [iid(1)] }, 'exclude.instanceIds'],
    ['account', { accounts: ['222222222222'] }, 'exclude.accounts'],
    ['tag with values', { tags: [{ key: 'Team', values: ['db'] }] }, 'Team=db'],
    ['tag key only', { tags: [{ key: 'Team' }] }, 'Has tag Team'],
  ])('excludes by %s: held as excluded', (_what, exclude, message) => {
    const a = makeAssessment([inst({ n: 0 }), inst({ n: 1, account: '222222222222', tags: { Team: 'db' } })]);
    const p = plan(a, policyOf({ canary: { enabled: false }, exclude }));
    expect(ids(p, 0)).toEqual([iid(0)]);
    expect(heldOf(p, 1)!.status).toBe('excluded');
    expect(heldOf(p, 1)!.reasons[0]!.message).toContain(message);
  });

  it('holds stopped instances unless the policy includes them', () => {
    const a = makeAssessment([inst({ n: 0 }), inst({ n: 1, state: 'stopped' })]);
    expect(heldOf(plan(a, noCanary), 1)!.reasons[0]!.code).toBe('stopped-held');
    const p = plan(a, policyOf({ canary: { enabled: false }, stopped: 'include', waves: { maxGroupShare: 1 } }));
    expect(ids(p, 0)).toEqual([iid(0), iid(1)]);
    expect(entryOf(p, 1).notes).toContain('stopped: the change applies at its next start (policy `stopped: include`)');
  });

  it('holds unknown instances by default, or puts them in last waves of their own', () => {
    const a = makeAssessment([inst({ n: 0, env: 'prod' }), inst({ n: 1, status: 'unknown', env: 'dev' })]);
    expect(heldOf(plan(a, noCanary), 1)!.status).toBe('unknown');
    const p = plan(a, policyOf({ canary: { enabled: false }, unknown: 'last-wave' }));
    expect(p.waves.map((w) => [w.name, w.kind])).toEqual([
      ['prod', 'rollout'],
      ['unknown', 'unknown'],
    ]);
    expect(ids(p, 1)).toEqual([iid(1)]);
  });

  it('refuses an assessment that lists an instance twice', () => {
    const a = makeAssessment([inst({ n: 0 }), inst({ n: 0, region: 'eu-west-1' })]);
    expect(() => plan(a, noCanary)).toThrow(/more than once/);
  });
});

describe('plan: canary', () => {
  const fleet = makeAssessment([
    inst({ n: 0, app: 'web', env: 'prod' }),
    inst({ n: 1, app: 'web', env: 'dev' }),
    inst({ n: 2, app: 'api', env: 'staging' }),
    inst({ n: 3, app: 'api', env: 'prod' }),
    inst({ n: 4, asg: 'batch-asg', app: 'web', env: 'prod' }),
    inst({ n: 5, asg: 'batch-asg', app: 'web', env: 'prod' }),
    inst({ n: 6, app: 'api', env: 'dev' }),
  ]);

  it('holds one member of every group, preferring the listed environments, then earlier waves.order', () => {
    const p = plan(fleet, policyOf({ canary: { preferEnvironments: ['staging'] } }));
    expect(p.waves[0]!.kind).toBe('canary');
    // app:api -> staging (preferred), app:web -> dev (earliest in order), the ASG -> its first member.
    expect(ids(p, 0)).toEqual([iid(1), iid(2), iid(4)]);
    expect(p.waves[0]!.instances.map((e) => e.group)).toEqual([
      'app:web',
      'app:api',
      'asg:111111111111/us-east-1/batch-asg',
    ]);
  });

  it('says so when one per group is more than canary.count asks', () => {
    const p = plan(fleet, policyOf({ canary: { count: 1 } }));
    expect(ids(p, 0)).toHaveLength(3);
    expect(p.notes.join(' ')).toMatch(/3 instances, more than the 1/);
  });

  it('fills up to count or percent (rounded up) when it asks for more, within group caps', () => {
    expect(ids(plan(fleet, policyOf({ canary: { count: 5 }, waves: { maxGroupShare: 1 } })), 0)).toHaveLength(5);
    expect(ids(plan(fleet, policyOf({ canary: { percent: 10, onePerGroup: false } })), 0)).toHaveLength(1);
    // Every group has 2 or 3 members: at share 0.5 each gives one canary, however many are asked.
    expect(ids(plan(fleet, policyOf({ canary: { count: 7 } })), 0)).toHaveLength(3);
    const share = plan(fleet, policyOf({ canary: { count: 7 }, waves: { maxGroupShare: 0.67 } }));
    expect(ids(share, 0)).toEqual([iid(1), iid(2), iid(4), iid(6)]);
  });

  it('is one instance when neither count, percent nor onePerGroup is set', () => {
    expect(ids(plan(fleet, policyOf({ canary: { onePerGroup: false } })), 0)).toEqual([iid(1)]);
  });
});

describe('plan: rollout waves', () => {
  it('orders waves by environment, matching tags case-insensitively; unmatched ones last or held', () => {
    const a = makeAssessment([
      inst({ n: 0, env: 'PROD' }),
      inst({ n: 1, env: 'Dev' }),
      inst({ n: 2, env: 'qa' }),
      inst({ n: 3, env: null }),
      inst({ n: 4, env: 'staging' }),
    ]);
    const p = plan(a, noCanary);
    expect(p.waves.map((w) => [w.name, w.environment])).toEqual([
      ['dev', 'dev'],
      ['staging', 'staging'],
      ['prod', 'prod'],
      ['other', undefined],
    ]);
    expect(ids(p, 3)).toEqual([iid(2), iid(3)]);
    const held = plan(a, policyOf({ canary: { enabled: false }, waves: { unmatched: 'hold' } }));
    expect(held.held.map((h) => [h.instanceId, h.reasons[0]!.code])).toEqual([
      [iid(2), 'environment-not-in-order'],
      [iid(3), 'environment-not-in-order'],
    ]);
  });

  it('caps waves at maxInstances and any group at maxGroupShare (at least one)', () => {
    const a = makeAssessment([
      ...Array.from({ length: 10 }, (_, n) => inst({ n, asg: 'big' })),
      inst({ n: 10, app: 'solo' }),
      inst({ n: 11, app: 'pair' }),
      inst({ n: 12, app: 'pair' }),
    ]);
    const p = plan(a, policyOf({ canary: { enabled: false }, waves: { maxInstances: 4, maxGroupShare: 0.3 } }));
    for (const w of p.waves) {
      expect(w.instances.length).toBeLessThanOrEqual(4);
      expect(w.instances.filter((e) => e.group?.endsWith('/big')).length).toBeLessThanOrEqual(3);
      expect(w.instances.filter((e) => e.group === 'app:pair').length).toBeLessThanOrEqual(1);
    }
    expect(p.waves.map((w) => w.instances.length)).toEqual([4, 4, 3, 2]);
    expect(p.waves.map((w) => w.name)).toEqual(['dev 1', 'dev 2', 'dev 3', 'dev 4']);
  });

  it('spreads a group over accounts and regions within a wave', () => {
    const a = makeAssessment(
      Array.from({ length: 8 }, (_, n) => inst({ n, app: 'web', region: n < 4 ? 'us-east-1' : 'eu-west-1' })),
    );
    const p = plan(a, policyOf({ canary: { enabled: false }, waves: { maxInstances: 2, maxGroupShare: 1 } }));
    for (const w of p.waves) expect(new Set(w.instances.map((e) => e.region)).size).toBe(2);
  });

  it('schedules waves from the start date after each soak, and records soak and guard', () => {
    const a = makeAssessment([inst({ n: 0, app: 'a' }), inst({ n: 1, app: 'a', env: 'prod' })]);
    const p = plan(a, policyOf({ canary: { soak: '2h' }, waves: { soak: '1d' } }), { startDate: '2026-12-01' });
    expect(p.startDate).toBe('2026-12-01T00:00:00.000Z');
    expect(p.waves.map((w) => [w.name, w.soakSeconds, w.startOffsetSeconds, w.notBefore])).toEqual([
      ['canary', 7200, 0, '2026-12-01T00:00:00.000Z'],
      ['prod', 86400, 7200, '2026-12-01T02:00:00.000Z'],
    ]);
    expect(p.waves[0]!.guard).toEqual({ maxRejectedCalls: 0, rollback: 'wave' });
    expect(plan(a, noCanary).waves[0]!.notBefore).toBeUndefined();
    expect(() => plan(a, noCanary, { startDate: 'next monday' })).toThrow(/not an ISO 8601/);
  });
});

describe('plan: target settings', () => {
  it.each([
    ['container host at 1 gets 2', { containerHost: true, hop: 1 }, {}, 2],
    ['container host at 3 keeps 3', { containerHost: true, hop: 3 }, {}, 3],
    ['plain host keeps 1', { containerHost: false, hop: 1 }, {}, 1],
    ['plain host at 4 keeps 4 under others: 2', { containerHost: false, hop: 4 }, { others: 2 }, 4],
    ['plain host at 1 gets 2 under others: 2', { containerHost: false, hop: 1 }, { others: 2 }, 2],
    ['container host with policy 3', { containerHost: true, hop: 2 }, { containerHosts: 3 }, 3],
  ] as const)('%s', (_name, spec, hopLimit, expected) => {
    const p = plan(makeAssessment([inst({ n: 0, ...spec })]), policyOf({ canary: { enabled: false }, hopLimit }));
    const e = entryOf(p, 0);
    expect(e.target).toEqual({ httpTokens: 'required', httpPutResponseHopLimit: expected, httpEndpoint: 'enabled' });
    expect(e.planned.httpPutResponseHopLimit).toBe(spec.hop);
  });

  it('treats a probe that saw containers as a container host, and records the settings at plan time', () => {
    const i = { ...inst({ n: 0, containerHost: null }) };
    i.probe = { outcome: 'ok', report: makeProbeReport({ containers: { detected: true, runtimes: ['docker'] } }) };
    const p = plan(makeAssessment([i]), noCanary);
    expect(entryOf(p, 0).target.httpPutResponseHopLimit).toBe(2);
    expect(entryOf(p, 0).planned).toEqual(i.metadataOptions);
    expect(entryOf(p, 0).notes).toContain('hop limit 1 -> 2 (containers run here)');
  });
});

function lockInFleet(): Assessment {
  const lt = (id: string, launchesImdsV1: boolean, extra: Partial<LaunchTemplate> = {}): LaunchTemplate => ({
    accountId: '111111111111',
    region: 'us-east-1',
    launchTemplateId: id,
    name: `tpl-${id}`,
    defaultVersion: 3,
    latestVersion: 3,
    defaultVersionOptions: { httpTokens: launchesImdsV1 ? 'optional' : 'required' },
    latestVersionOptions: {},
    effective: {
      httpTokens: { value: launchesImdsV1 ? 'optional' : 'required', source: 'launch-template' },
      httpPutResponseHopLimit: { value: 1, source: 'aws-default' },
      httpEndpoint: { value: 'enabled', source: 'aws-default' },
    },
    launchesImdsV1,
    ...extra,
  });
  const asg = (name: string, ref: { launchTemplateId: string; version?: string } | undefined, lc?: string) => ({
    accountId: '111111111111',
    region: 'us-east-1',
    name,
    ...(ref ? { launchTemplate: ref } : {}),
    ...(lc ? { launchConfigurationName: lc } : {}),
    desiredCapacity: 1,
    instanceIds: [],
    effective: null,
    launchesImdsV1: true,
  });
  const containerHost = { ...inst({ n: 0, containerHost: true, asg: 'web' }) };
  return makeAssessment([containerHost, inst({ n: 1, region: 'eu-west-1' })], {
    launchTemplates: [lt('lt-0a', true), lt('lt-0b', false), lt('lt-0c', true, { latestVersion: 5 })],
    autoScalingGroups: [
      asg('web', { launchTemplateId: 'lt-0a', version: '$Default' }),
      asg('old', undefined, 'old-lc'),
      asg('pinned', { launchTemplateId: 'lt-0c', version: '2' }),
    ],
    images: [
      {
        accountId: '111111111111',
        region: 'us-east-1',
        imageId: 'ami-0001',
        imdsSupport: null,
        ownerId: '111111111111',
      },
      {
        accountId: '111111111111',
        region: 'us-east-1',
        imageId: 'ami-0002',
        imdsSupport: 'v2.0',
        ownerId: '111111111111',
      },
    ],
    regions: [
      {
        accountId: '111111111111',
        region: 'eu-west-1',
        status: 'ok',
        accountDefaults: {
          httpTokens: 'no-preference',
          httpPutResponseHopLimit: -1,
          httpEndpoint: 'no-preference',
          instanceMetadataTags: 'no-preference',
          httpTokensEnforced: 'disabled',
          managedBy: 'account',
        },
      },
      {
        accountId: '111111111111',
        region: 'us-east-1',
        status: 'ok',
        accountDefaults: {
          httpTokens: 'required',
          httpPutResponseHopLimit: 2,
          httpEndpoint: 'enabled',
          instanceMetadataTags: 'disabled',
          httpTokensEnforced: 'disabled',
          managedBy: 'declarative-policy',
          managedExceptionMessage: 'Managed by the security OU',
        },
      },
    ],
  });
}

describe('plan: lock-in', () => {
  it('makes a new default template version for templates that launch IMDSv1, recording what rollback restores', () => {
    const p = plan(lockInFleet(), defaultPolicy());
    const lt = p.lockIn.filter((s) => s.kind === 'launch-template-version');
    expect(lt.map((s) => s.resourceId)).toEqual(['lt-0a', 'lt-0c']);
    expect(lt[0]).toMatchObject({
      previous: { defaultVersion: 3, httpTokens: 'optional' },
      target: { sourceVersion: 3, httpTokens: 'required', httpPutResponseHopLimit: 2, setDefault: true },
      affects: ['web'],
      irreversible: false,
    });
    expect(lt[1]!.target.httpPutResponseHopLimit).toBe(1);
  });

  it('lists pinned versions and policy-managed defaults as manual work', () => {
    const p = plan(lockInFleet(), defaultPolicy());
    expect(p.manualLockIn.map((m) => [m.kind, m.resourceId ?? m.region])).toEqual([
      ['account-defaults-managed', 'us-east-1'],
      ['asg-pinned-version', 'pinned'],
    ]);
    expect(p.manualLockIn[0]!.reason).toContain('Managed by the security OU');
  });

  it('moves a launch-configuration group to a template made from its configuration, named as AWS maps it', () => {
    const base = lockInFleet();
    const fleet: Assessment = {
      ...base,
      autoScalingGroups: base.autoScalingGroups.map((g) =>
        g.name === 'old'
          ? { ...g, launchConfigurationOptions: { httpTokens: 'optional', httpPutResponseHopLimit: 1 } }
          : g,
      ),
    };
    const step = plan(fleet, defaultPolicy()).lockIn.find((s) => s.kind === 'launch-configuration-migration');
    expect(step).toMatchObject({
      id: 'launch-configuration:111111111111:us-east-1:old',
      resourceId: 'old',
      previous: { launchConfigurationName: 'old-lc' },
      target: {
        launchTemplateName: 'old-lc',
        launchTemplateVersion: '$Default',
        httpTokens: 'required',
        httpPutResponseHopLimit: 1,
        httpEndpoint: 'enabled',
      },
      irreversible: false,
      affects: ['old'],
      launchesSeen: 0,
    });
    expect(step!.notes.join('\n')).toMatch(/never measured/);
  });

  it('names the new template safely when the configuration name is taken or not a valid template name', () => {
    expect(launchTemplateNameFor('batch-lc', new Set())).toBe('batch-lc');
    const taken = launchTemplateNameFor('batch-lc', new Set(['batch-lc']));
    expect(taken).toMatch(/^batch-lc-imdsv2-[0-9a-f]{8}$/);
    const odd = launchTemplateNameFor('batch lc: v2*', new Set());
    expect(odd).toMatch(/^batch-lc--v2--imdsv2-[0-9a-f]{8}$/);
    expect(launchTemplateNameFor('x', new Set())).toMatch(/^x-imdsv2-/);
    expect(launchTemplateNameFor('a'.repeat(255), new Set()).length).toBeLessThanOrEqual(128);
  });

  it('leaves groups a CloudFormation stack or Elastic Beanstalk manages to them: manual work that says how', () => {
    const base = lockInFleet();
    const fleet: Assessment = {
      ...base,
      autoScalingGroups: base.autoScalingGroups.map((g) =>
        g.name === 'old' ? { ...g, managedBy: { service: 'cloudformation' as const, name: 'batch-stack' } } : g,
      ),
    };
    const p = plan(fleet, defaultPolicy());
    expect(p.lockIn.some((s) => s.kind === 'launch-configuration-migration')).toBe(false);
    const m = p.manualLockIn.find((x) => x.resourceId === 'old')!;
    expect(m.kind).toBe('asg-launch-configuration');
    expect(m.reason).toMatch(/CloudFormation stack batch-stack.*Migrate AWS CloudFormation stacks to launch templates/);
  });

  it('makes a step for every template a mixed instances override names; a pinned override is manual work', () => {
    const base = lockInFleet();
    const mixed = {
      ...base.autoScalingGroups[0]!,
      name: 'mixed',
      launchTemplate: { launchTemplateId: 'lt-0b', version: '$Default' },
      effective: base.launchTemplates.find((t) => t.launchTemplateId === 'lt-0b')!.effective,
      overrideLaunchTemplates: [
        { launchTemplateId: 'lt-0a', version: '$Latest', launchesImdsV1: true },
        { launchTemplateId: 'lt-0c', version: '2', launchesImdsV1: true },
      ],
    };
    const fleet: Assessment = { ...base, autoScalingGroups: [mixed] };
    const p = plan(fleet, defaultPolicy());
    const a = p.lockIn.find((s) => s.resourceId === 'lt-0a')!;
    expect(a.affects).toEqual(['mixed']);
    expect(a.notes).toContain('fixed by the new version, which they launch from then on: mixed ($Latest, override)');
    expect(p.lockIn.find((s) => s.resourceId === 'lt-0c')!.affects).toEqual(['mixed']);
    // lt-0b (the policy's own) does not launch IMDSv1: no step, no manual item for it.
    expect(p.lockIn.some((s) => s.resourceId === 'lt-0b')).toBe(false);
    expect(p.manualLockIn.filter((m) => m.resourceId === 'mixed').map((m) => m.reason)).toEqual([
      expect.stringMatching(/pins version 2 of launch template lt-0c in a mixed instances override/),
    ]);
  });

  it('counts the launches seen within the lookback and warns when a template had none', () => {
    const base = lockInFleet();
    const recent = inst({ n: 5, asg: 'web' });
    recent.launchTime = new Date(Date.parse(base.createdAt) - 2 * 86_400_000).toISOString();
    recent.launchTemplate = { launchTemplateId: 'lt-0a' };
    const old = inst({ n: 6, asg: 'web' });
    old.launchTemplate = { launchTemplateId: 'lt-0c' }; // launched 90 days before: outside the 14-day lookback
    const fleet: Assessment = { ...base, instances: [...base.instances, recent, old] };
    const p = plan(fleet, defaultPolicy());
    const a = p.lockIn.find((s) => s.resourceId === 'lt-0a')!;
    const c = p.lockIn.find((s) => s.resourceId === 'lt-0c')!;
    expect([a.launchesSeen, c.launchesSeen]).toEqual([1, 0]);
    expect(a.notes.some((n) => n.includes('never measured'))).toBe(false);
    expect(c.notes).toContainEqual(
      expect.stringMatching(/no instance launched from launch template tpl-lt-0c in the 14-day lookback/),
    );
  });

  it('says which groups the new version fixes ($Latest, $Default) and which stay manual work (pinned)', () => {
    const base = lockInFleet();
    const fleet = {
      ...base,
      autoScalingGroups: [
        ...base.autoScalingGroups,
        {
          ...base.autoScalingGroups[0]!,
          name: 'web-latest',
          launchTemplate: { launchTemplateId: 'lt-0a', version: '$Latest' },
        },
      ],
    };
    const p = plan(fleet, defaultPolicy());
    const a = p.lockIn.find((s) => s.resourceId === 'lt-0a')!;
    expect(a.notes).toContain(
      'fixed by the new version, which they launch from then on: web-latest ($Latest), web ($Default)',
    );
    expect(p.manualLockIn.find((m) => m.resourceId === 'pinned')!.reason).toMatch(/pins version 2 .*manual work/);
  });

  it('copies a diverged template from its latest version when only $Latest groups use it, else flags them', () => {
    const base = lockInFleet();
    const onlyLatest = {
      ...base,
      autoScalingGroups: [
        { ...base.autoScalingGroups[2]!, launchTemplate: { launchTemplateId: 'lt-0c', version: '$Latest' } },
      ],
    };
    const c = plan(onlyLatest, defaultPolicy()).lockIn.find((s) => s.resourceId === 'lt-0c')!;
    expect(c.target.sourceVersion).toBe(5);
    expect(c.previous.defaultVersion).toBe(3);
    const both = {
      ...base,
      autoScalingGroups: [
        {
          ...base.autoScalingGroups[2]!,
          name: 'on-latest',
          launchTemplate: { launchTemplateId: 'lt-0c', version: '$Latest' },
        },
        {
          ...base.autoScalingGroups[2]!,
          name: 'on-default',
          launchTemplate: { launchTemplateId: 'lt-0c', version: '$Default' },
        },
      ],
    };
    const p = plan(both, defaultPolicy());
    expect(p.lockIn.find((s) => s.resourceId === 'lt-0c')!.target.sourceVersion).toBe(3);
    expect(p.manualLockIn.find((m) => m.resourceId === 'on-latest')!.reason).toMatch(
      /latest version 5 differs from the default 3/,
    );
  });

  it('sets account defaults per region, with HttpTokensEnforced only when asked', () => {
    const steps = (policy = defaultPolicy()) =>
      plan(lockInFleet(), policy).lockIn.filter((s) => s.kind === 'account-defaults');
    expect(steps()).toMatchObject([
      {
        region: 'eu-west-1',
        previous: { httpTokens: 'no-preference', httpTokensEnforced: 'disabled' },
        target: { httpTokens: 'required' },
      },
    ]);
    expect(steps()[0]!.target.httpTokensEnforced).toBeUndefined();
    // Asked for, HttpTokensEnforced is a step of its own that says what it costs.
    const enforced = steps(policyOf({ lockIn: { httpTokensEnforced: true } }));
    expect(enforced.map((s) => [s.id, s.target])).toEqual([
      ['account-defaults:111111111111:eu-west-1', { httpTokens: 'required' }],
      ['http-tokens-enforced:111111111111:eu-west-1', { httpTokens: 'required', httpTokensEnforced: 'enabled' }],
    ]);
    const notes = enforced[1]!.notes.join('\n');
    expect(notes).toMatch(/only after every wave completed clean, and only with --confirm-http-tokens-enforced/);
    expect(notes).toMatch(/refuses to set any instance in eu-west-1 back to HttpTokens=optional/);
    expect(notes).toMatch(/every launch that resolves to IMDSv1 fails with UnsupportedOperation/);
  });

  it('flags AMIs only when the policy opts in, marked irreversible', () => {
    expect(plan(lockInFleet(), defaultPolicy()).lockIn.some((s) => s.kind === 'ami-imds-support')).toBe(false);
    const ami = plan(lockInFleet(), policyOf({ lockIn: { amiImdsSupport: true } })).lockIn.filter(
      (s) => s.kind === 'ami-imds-support',
    );
    expect(ami).toMatchObject([{ resourceId: 'ami-0001', irreversible: true, target: { imdsSupport: 'v2.0' } }]);
  });

  it('flags only AMIs the account owns; names the owner of the others and what to ask for', () => {
    const base = lockInFleet();
    const img = { accountId: '111111111111', region: 'us-east-1', imdsSupport: null };
    const fleet: Assessment = {
      ...base,
      images: [
        ...base.images,
        { ...img, imageId: 'ami-0shared', name: 'golden', ownerId: '444444444444', public: false },
        { ...img, imageId: 'ami-0amzn', ownerId: '137112412989', ownerAlias: 'amazon', public: true },
        { ...img, imageId: 'ami-0old' },
      ],
    };
    const amiOn = policyOf({ lockIn: { amiImdsSupport: true } });
    const p = plan(fleet, amiOn);
    expect(p.lockIn.filter((s) => s.kind === 'ami-imds-support').map((s) => s.resourceId)).toEqual(['ami-0001']);
    const manual = Object.fromEntries(
      p.manualLockIn.filter((m) => m.kind.startsWith('ami-')).map((m) => [m.resourceId, m]),
    );
    expect(manual['ami-0shared']).toMatchObject({ kind: 'ami-not-owned', owner: { accountId: '444444444444' } });
    expect(manual['ami-0shared']!.reason).toMatch(
      /ami-0shared \(golden\) is owned by account 444444444444, shared with this account: only its owner can set ImdsSupport=v2.0\. Ask account 444444444444 to set it .*modify-image-attribute.*or copy the image into this account/,
    );
    expect(manual['ami-0amzn']).toMatchObject({ owner: { accountId: '137112412989', alias: 'amazon' } });
    expect(manual['ami-0amzn']!.reason).toMatch(/account 137112412989 \(amazon\), public/);
    expect(manual['ami-0old']).toMatchObject({ kind: 'ami-owner-unknown' });
    expect(manual['ami-0old']!.reason).toMatch(/assess again/);
    // Without the policy's opt-in, images are left alone entirely.
    expect(plan(fleet, defaultPolicy()).manualLockIn.some((m) => m.kind.startsWith('ami-'))).toBe(false);
  });

  it('generates an SCP with the IMDS condition keys and the admin exception', () => {
    const scp = plan(lockInFleet(), policyOf({ lockIn: { scpMaxHopLimit: 2, scpDenyImdsV1Credentials: true } }))
      .scp as {
      Statement: { Sid: string; Action: string; Condition: Record<string, Record<string, string>> }[];
    };
    expect(scp.Statement.map((s) => s.Sid)).toEqual([
      'RequireImdsV2OnLaunch',
      'DenyReenablingImdsV1',
      'LimitHopLimitOnLaunch',
      'DenyCredentialsFromImdsV1',
    ]);
    expect(scp.Statement[0]!.Condition).toEqual({ StringNotEquals: { 'ec2:MetadataHttpTokens': 'required' } });
    expect(scp.Statement[1]!.Condition).toEqual({
      StringNotEquals: { 'ec2:Attribute/HttpTokens': 'required' },
      Null: { 'ec2:Attribute/HttpTokens': false },
      ArnNotLike: { 'aws:PrincipalARN': 'arn:aws:iam::*:role/imdsv2-cutover-admin' },
    });
    expect(scp.Statement[2]!.Condition).toEqual({ NumericGreaterThan: { 'ec2:MetadataHttpPutResponseHopLimit': '2' } });
    expect(scp.Statement[3]!.Condition).toEqual({ NumericLessThan: { 'ec2:RoleDelivery': '2.0' } });
    const plain = plan(lockInFleet(), defaultPolicy()).scp as { Statement: unknown[] };
    expect(plain.Statement).toHaveLength(2);
    expect(plan(lockInFleet(), policyOf({ lockIn: { scp: false } })).scp).toBeNull();
  });

  it('writes the SCP in the assessment’s partition and tells what it asks of launches', () => {
    const cn = lockInFleet();
    cn.scope.partition = 'aws-cn';
    for (const x of [...cn.instances, ...cn.regions, ...cn.launchTemplates, ...cn.autoScalingGroups, ...cn.images])
      x.region = 'cn-north-1';
    cn.scope.regions = ['cn-north-1'];
    const p = plan(cn, defaultPolicy());
    const arns = JSON.stringify(p.scp).match(/arn:[^"]*/g) ?? [];
    expect(arns.length).toBe(3);
    for (const arn of arns) expect(arn).toMatch(/^arn:aws-cn:/);
    expect(p.notes).toContain(SCP_LAUNCH_NOTE);
    expect(plan(cn, policyOf({ lockIn: { scp: false } })).notes).not.toContain(SCP_LAUNCH_NOTE);
    // A literal admin principal of another partition would never match: refused before any plan is written.
    expect(() => plan(cn, policyOf({ lockIn: { scpAdminPrincipalArn: 'arn:aws:iam::*:role/admin' } }))).toThrow(
      /is in partition aws, but the accounts are in aws-cn/,
    );
  });
});

describe('plan file: hash and determinism', () => {
  const a = makeAssessment(
    Array.from({ length: 12 }, (_, n) => inst({ n, app: `a${n % 3}`, env: ['dev', 'prod'][n % 2] })),
  );

  it('hashes its canonical content and the assessment it came from, and validates against the plan schema', () => {
    const p = plan(a, defaultPolicy(), { tool: { name: 'imdsv2-cutover', version: '9.9.9' } });
    const { contentHash: recorded, ...body } = p;
    expect(recorded).toBe(contentHash(body));
    expect(p.assessment.sha256).toBe(contentHash(a));
    expect(p.policySha256).toBe(contentHash(defaultPolicy()));
    const reread = parseJsonDocument(planKind, JSON.stringify(p, null, 2), 'plan.json');
    expect(reread).toEqual(p);
    expect(() => verifyPlanHash(reread, 'plan.json')).not.toThrow();
  });

  it('refuses an edited plan, naming the file, with exit code 2', () => {
    const p = structuredClone(plan(a, defaultPolicy()));
    p.waves[0]!.instances[0]!.target.httpPutResponseHopLimit = 5;
    const err = (() => {
      try {
        verifyPlanHash(p, '/tmp/plan.json');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CutoverError);
    expect(err).toMatchObject({ code: 'HASH_MISMATCH', exitCode: 2 });
    expect((err as Error).message).toContain('/tmp/plan.json');
  });

  it('gives a byte-identical plan for the same input, whatever the order of instances', () => {
    const reversed = { ...a, instances: [...a.instances].reverse() };
    const one = JSON.stringify(plan(a, defaultPolicy(), { startDate: '2026-12-01T09:00:00Z' }));
    expect(JSON.stringify(plan(a, defaultPolicy(), { startDate: '2026-12-01T09:00:00Z' }))).toBe(one);
    const other = plan(reversed, defaultPolicy(), { startDate: '2026-12-01T09:00:00Z' });
    // Only the assessment's hash differs (its instance order is part of its content).
    expect(JSON.stringify({ ...other, assessment: null, contentHash: null })).toBe(
      JSON.stringify({ ...(JSON.parse(one) as Plan), assessment: null, contentHash: null }),
    );
  });
});

describe('explain and summary', () => {
  const a = makeAssessment([
    ...Array.from({ length: 6 }, (_, n) => inst({ n, app: 'web', env: 'prod' })),
    inst({ n: 6, status: 'blocked', app: 'web' }),
  ]);
  const p = plan(a, policyOf({ waves: { maxInstances: 2 } }));

  it('says why an instance is a canary, in a later wave, or held', () => {
    expect(explainInstance(p, iid(0)).lines.join('\n')).toMatch(/canary: the member chosen for group app:web/);
    const later = explainInstance(p, iid(5));
    expect(later.wave?.name).toBe('prod 3');
    expect(later.lines.join('\n')).toMatch(/Not in wave 1 "prod 1": it was full \(waves.maxInstances 2\)/);
    expect(later.lines.join('\n')).toMatch(/Not a canary: i-0+ is the canary/);
    const held = explainInstance(p, iid(6));
    expect(held.placement).toBe('held');
    expect(held.lines).toEqual([
      'Held, not in any wave (readiness blocked).',
      'blocker: is blocked [blocked-reason]',
      'Owner: team-web.',
    ]);
  });

  it('refuses an instance that is not in the assessment', () => {
    expect(() => explainInstance(p, iid(99))).toThrow(/not in the assessment/);
  });

  it('summarizes waves, held instances and lock-in', () => {
    const s = summarizePlan(p);
    expect(s.waves.map((w) => [w.name, w.instances, w.accounts, w.regions])).toEqual([
      ['canary', 1, 1, 1],
      ['prod 1', 2, 1, 1],
      ['prod 2', 2, 1, 1],
      ['prod 3', 1, 1, 1],
    ]);
    expect(s.instancesInWaves).toBe(6);
    expect(s.held).toEqual({ total: 1, byStatus: { blocked: 1 } });
    expect(s.scp).toBe(true);
  });
});

describe('default policy', () => {
  it('the commented YAML that --init-policy writes is exactly the schema defaults', () => {
    expect(parseYamlDocument(policyKind, DEFAULT_POLICY_YAML, 'policy.yaml')).toEqual(defaultPolicy());
  });
});

describe('plan entries and held instances are built in canonical key order', () => {
  it('so that JSON.stringify of each is its canonical text (the fast path of contentHash)', () => {
    const p = plan(generateFleet({ count: 300, seed: 11 }), defaultPolicy(), { startDate: '2026-12-01' });
    const entries = [...p.waves.flatMap((w) => w.instances), ...p.held];
    expect(entries.length).toBeGreaterThan(250);
    for (const e of entries) expect(JSON.stringify(e)).toBe(canonicalJson(e));
  });
});
