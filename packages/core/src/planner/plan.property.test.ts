import { makeAssessment } from '@imdsv2-cutover/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Instance, Plan, Policy } from '../index.js';
import { parseJsonDocument, planKind } from '../index.js';
import { groupCap } from './candidates.js';
import { type Spec, inst, policyOf } from './__fixtures__/fleet.js';
import { plan, verifyPlanHash } from './index.js';
import { runsContainers } from './targets.js';

const statuses = ['ready', 'ready', 'ready', 'enforced', 'blocked', 'unknown', 'imds-disabled', 'excluded'] as const;

const specArb = fc.record({
  env: fc.constantFrom('dev', 'DEV', 'staging', 'prod', 'Prod', 'qa', null),
  app: fc.constantFrom('web', 'api', 'db', undefined),
  asg: fc.constantFrom('asg-a', 'asg-b', undefined),
  status: fc.constantFrom(...statuses),
  account: fc.constantFrom('111111111111', '222222222222'),
  region: fc.constantFrom('us-east-1', 'eu-west-1'),
  hop: fc.integer({ min: 1, max: 4 }),
  containerHost: fc.constantFrom(true, false, null),
  state: fc.constantFrom('running', 'running', 'stopped'),
});

const fleetArb = fc
  .array(specArb, { maxLength: 60 })
  .map((specs) => specs.map((s, n) => inst({ ...(s as Omit<Spec, 'n'>), n })));

const policyArb = fc
  .record({
    canary: fc.record({
      enabled: fc.boolean(),
      onePerGroup: fc.boolean(),
      size: fc.oneof(
        fc.constant({}),
        fc.integer({ min: 1, max: 20 }).map((count) => ({ count })),
        fc.double({ min: 1, max: 100, noNaN: true }).map((percent) => ({ percent })),
      ),
      preferEnvironments: fc.subarray(['prod', 'dev', 'qa']),
    }),
    maxInstances: fc.integer({ min: 1, max: 15 }),
    maxGroupShare: fc.double({ min: 0.05, max: 1, noNaN: true }),
    unmatched: fc.constantFrom('last', 'hold'),
    unknown: fc.constantFrom('hold', 'last-wave'),
    stopped: fc.constantFrom('hold', 'include'),
    others: fc.constantFrom('keep', 1, 2, 3),
    containerHosts: fc.integer({ min: 1, max: 3 }),
    excludeEvery: fc.integer({ min: 0, max: 7 }),
  })
  .map((r): Policy =>
    policyOf({
      canary: {
        enabled: r.canary.enabled,
        onePerGroup: r.canary.onePerGroup,
        preferEnvironments: r.canary.preferEnvironments,
        ...r.canary.size,
      },
      waves: {
        maxInstances: r.maxInstances,
        maxGroupShare: r.maxGroupShare,
        unmatched: r.unmatched,
      },
      unknown: r.unknown,
      stopped: r.stopped,
      hopLimit: { others: r.others as 'keep' | number, containerHosts: r.containerHosts },
      exclude: {
        instanceIds:
          r.excludeEvery === 0
            ? []
            : Array.from({ length: 60 }, (_, n) => n)
                .filter((n) => n % r.excludeEvery === 0)
                .map((n) => `i-${n.toString(16).padStart(17, '0')}`),
      },
    }),
  );

function groupSizes(p: Plan): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const e of [...p.waves.flatMap((w) => w.instances), ...p.held]) {
    sizes.set(e.group!, (sizes.get(e.group!) ?? 0) + 1);
  }
  return sizes;
}

describe('plan properties', () => {
  it('lists every instance exactly once, and only plannable instances in waves', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (instances, policy) => {
        const p = plan(makeAssessment(instances), policy);
        const inWaves = p.waves.flatMap((w) => w.instances.map((e) => e.instanceId));
        const all = [...inWaves, ...p.held.map((h) => h.instanceId)];
        expect(new Set(all).size).toBe(all.length);
        expect(new Set(all)).toEqual(new Set(instances.map((i) => i.instanceId)));
        const byId = new Map(instances.map((i) => [i.instanceId, i]));
        const excluded = new Set(policy.exclude.instanceIds);
        for (const w of p.waves) {
          expect(w.instances.length).toBeGreaterThan(0);
          for (const e of w.instances) {
            const i = byId.get(e.instanceId)!;
            expect(excluded.has(i.instanceId)).toBe(false);
            expect(i.readiness.status).toBe(w.kind === 'unknown' ? 'unknown' : 'ready');
            if (policy.stopped === 'hold') expect(i.state).toBe('running');
          }
        }
        for (const h of p.held) {
          expect(h.reasons.length).toBeGreaterThan(0);
          if (excluded.has(h.instanceId) && ['ready', 'unknown'].includes(byId.get(h.instanceId)!.readiness.status)) {
            expect(h.status).toBe('excluded');
          }
        }
        if (policy.unknown === 'hold') expect(p.waves.every((w) => w.kind !== 'unknown')).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps every wave within maxInstances (the canary aside) and every group within its cap', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (instances, policy) => {
        const p = plan(makeAssessment(instances), policy);
        const sizes = groupSizes(p);
        for (const w of p.waves) {
          if (w.kind !== 'canary') expect(w.instances.length).toBeLessThanOrEqual(policy.waves.maxInstances);
          const perGroup = new Map<string, number>();
          for (const e of w.instances) perGroup.set(e.group!, (perGroup.get(e.group!) ?? 0) + 1);
          for (const [g, n] of perGroup) expect(n).toBeLessThanOrEqual(groupCap(sizes.get(g)!, policy));
        }
        // Rollout waves follow the environment order.
        const rank = (env: string | undefined) => (env === undefined ? Infinity : policy.waves.order.indexOf(env));
        const rollout = p.waves.filter((w) => w.kind === 'rollout').map((w) => rank(w.environment));
        expect(rollout).toEqual([...rollout].sort((a, b) => a - b));
        expect(p.waves.map((w) => w.index)).toEqual(p.waves.map((_, k) => k));
      }),
      { numRuns: 150 },
    );
  });

  it('puts one member of every group in the canary wave when the policy asks', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (instances, policy) => {
        const p = plan(makeAssessment(instances), {
          ...policy,
          canary: { ...policy.canary, enabled: true, onePerGroup: true },
        });
        const planned = p.waves.filter((w) => w.kind !== 'unknown').flatMap((w) => w.instances);
        const groups = new Set(planned.map((e) => e.group));
        const canary = p.waves.find((w) => w.kind === 'canary');
        if (planned.length === 0) {
          expect(canary).toBeUndefined();
          return;
        }
        expect(p.waves[0]!.kind).toBe('canary');
        const canaryGroups = canary!.instances.map((e) => e.group);
        expect(new Set(canaryGroups)).toEqual(groups);
      }),
      { numRuns: 150 },
    );
  });

  it('never lowers a hop limit, and gives container hosts at least the policy value', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (instances, policy) => {
        const p = plan(makeAssessment(instances), policy);
        const byId = new Map<string, Instance>(instances.map((i) => [i.instanceId, i]));
        for (const e of p.waves.flatMap((w) => w.instances)) {
          expect(e.target.httpPutResponseHopLimit).toBeGreaterThanOrEqual(e.planned.httpPutResponseHopLimit);
          expect(e.target.httpTokens).toBe('required');
          if (runsContainers(byId.get(e.instanceId)!)) {
            expect(e.target.httpPutResponseHopLimit).toBeGreaterThanOrEqual(policy.hopLimit.containerHosts);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('is deterministic: same input, byte-identical file; instance order does not matter; the hash verifies', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, fc.integer(), (instances, policy, seed) => {
        const a = makeAssessment(instances);
        const text = JSON.stringify(plan(a, policy, { startDate: '2026-12-01' }), null, 2);
        expect(JSON.stringify(plan(structuredClone(a), policy, { startDate: '2026-12-01' }), null, 2)).toBe(text);
        const shuffled = [...instances].sort(
          (x, y) => ((x.instanceId.charCodeAt(20) ^ seed) & 7) - ((y.instanceId.charCodeAt(20) ^ seed) & 7),
        );
        const other = plan(makeAssessment(shuffled), policy, { startDate: '2026-12-01' });
        const original = JSON.parse(text) as Plan;
        expect(other.waves).toEqual(original.waves);
        expect(other.held).toEqual(original.held);
        verifyPlanHash(parseJsonDocument(planKind, text, 'plan.json'), 'plan.json');
      }),
      { numRuns: 100 },
    );
  });
});
