import { startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { demoWith, groundTruth, imdsv2, readAssessment } from './assess-helpers.js';

const tempDir = useTempDirs('imdsv2-assess-');
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

function mismatches(truth: Map<string, string>, got: Map<string, string>): string[] {
  return [...truth].filter(([id, s]) => got.get(id) !== s).map(([id, s]) => `${id}: expected ${s}, got ${got.get(id)}`);
}

/** Runs `imdsv2 assess` against the running simulator; expects exit 0 and returns the assessment it wrote. */
async function runAssess(args: string[], account?: string) {
  const out = await tempDir();
  const r = await imdsv2(['assess', '--endpoint-url', sim!.url, ...args, '--out', out], account);
  expect(r.code, r.stderr).toBe(0);
  const a = await readAssessment(out);
  return { r, a, out, got: new Map(a.instances.map((i) => [i.instanceId, i.readiness.status])) };
}

describe('imdsv2 assess against the simulator', () => {
  it('demo, one account, --all-regions: valid assessment whose readiness matches the fleet', async () => {
    sim = await startSimulator({ scenario: await demoWith((s) => (s.emitZeroDatapoints = false)), port: 0 });
    const { r, a, got } = await runAssess(['--region', 'us-east-1', '--all-regions']);
    expect(a.complete).toBe(true);
    expect(a.regions.map((x) => x.region)).toEqual(['ap-southeast-2', 'eu-west-1', 'us-east-1']);
    expect(a.instances.every((i) => i.accountId === '111111111111')).toBe(true);
    // Without zero datapoints a quiet instance has no evidence and must stay unknown, never ready.
    expect(mismatches(groundTruth(sim, a, false), got)).toEqual([]);
    const statuses = new Set(got.values());
    expect([...statuses].sort()).toEqual(['blocked', 'enforced', 'unknown']);
    // Stopped instances are unknown for that reason; hardened instances (AMI ImdsSupport v2.0) are enforced.
    const spares = a.instances.filter((i) => i.tags.Application === 'spares');
    expect(spares.length).toBe(15);
    expect(spares.every((i) => i.readiness.reasons[0]!.code === 'instance-stopped')).toBe(true);
    // What still launches IMDSv1: web-asg's template sets nothing and the account has no defaults.
    expect(a.autoScalingGroups.find((g) => g.name === 'web-asg')!.launchesImdsV1).toBe(true);
    expect(r.stdout).toContain('total');
  });

  it('with zero datapoints published, quiet instances become ready and the rest still match', async () => {
    sim = await startSimulator({ scenario: await demoWith((s) => (s.emitZeroDatapoints = true)), port: 0 });
    const { a, got } = await runAssess(['--region', 'us-east-1', '--all-regions']);
    expect(mismatches(groundTruth(sim, a, true), got)).toEqual([]);
    expect([...got.values()].filter((s) => s === 'ready').length).toBeGreaterThan(100);
  });

  it('multi-account (--org) assesses both accounts; 20-day-old calls do not block with a 7-day lookback', async () => {
    sim = await startSimulator({ scenario: await demoWith((s) => (s.emitZeroDatapoints = true)), port: 0 });
    const { r, a, got } = await runAssess([
      ...['--region', 'us-east-1', '--all-regions', '--org', '--role-name', 'OrganizationAccountAccessRole'],
      ...['--lookback', '7d', '--json'],
    ]);
    const summary = JSON.parse(r.stdout) as {
      complete: boolean;
      summary: { scopes: { accountId: string; region: string }[] };
    };
    expect(summary.complete).toBe(true);
    expect(summary.summary.scopes.map((s) => `${s.accountId}/${s.region}`)).toEqual([
      '111111111111/ap-southeast-2',
      '111111111111/eu-west-1',
      '111111111111/us-east-1',
      '222222222222/eu-west-1',
      '222222222222/us-east-1',
    ]);
    expect(a.instances).toHaveLength(500);
    expect(mismatches(groundTruth(sim, a, true), got)).toEqual([]);
    // web instances whose `aws s3 sync` cron stopped 20 days ago: no IMDSv1 calls in 7 days.
    const oldCallers = a.instances.filter(
      (i) => i.tags.Application === 'storefront' && sim!.fleet.callers(i.instanceId)!.some((c) => c.imds === 'v1'),
    );
    expect(oldCallers.length).toBeGreaterThan(0);
    expect(oldCallers.every((i) => i.readiness.status === 'ready')).toBe(true);
    expect(got.get('i-0c0ffee0000d0e0a1')).toBe('ready');
  });

  it('an account whose role cannot be assumed is recorded, the run goes on, --strict exits 1', async () => {
    sim = await startSimulator({
      scenario: await demoWith((s) => {
        s.accounts[1]!.deniedRoles = ['AuditRole'];
      }),
      port: 0,
    });
    const args = ['--regions', 'us-east-1', '--accounts', '111111111111,222222222222', '--role-name', 'AuditRole'];
    const { r, a, out } = await runAssess(args);
    expect(r.stdout).toContain('INCOMPLETE ASSESSMENT');
    expect(a.complete).toBe(false);
    expect(a.accounts.map((x) => [x.accountId, x.status, x.error?.code])).toEqual([
      ['111111111111', 'ok', undefined],
      ['222222222222', 'failed', 'AccessDenied'],
    ]);
    expect(a.instances.length).toBeGreaterThan(0);
    expect(a.instances.every((i) => i.accountId === '111111111111')).toBe(true);
    const strict = await imdsv2(['assess', '--endpoint-url', sim.url, ...args, '--out', out, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('INCOMPLETE');
  });

  it('a region not enabled in the account fails alone', async () => {
    sim = await startSimulator({ scenario: 'demo', port: 0 });
    const { r, a } = await runAssess(['--regions', 'us-east-1,ap-southeast-2'], '222222222222');
    expect(a.regions.map((x) => [x.region, x.status, x.error?.code])).toEqual([
      ['ap-southeast-2', 'failed', 'AuthFailure'],
      ['us-east-1', 'ok', undefined],
    ]);
    expect(a.complete).toBe(false);
    expect(r.stdout).toContain('INCOMPLETE ASSESSMENT');
  });

  it('instances launched yesterday are unknown, never ready', async () => {
    const scenario = await demoWith((s) => {
      s.emitZeroDatapoints = true;
      s.instanceGroups!.push({
        name: 'fresh',
        account: '111111111111',
        region: 'us-east-1',
        count: 5,
        launchedAt: '-1d',
        tags: { Application: 'fresh' },
      });
    });
    sim = await startSimulator({ scenario, port: 0 });
    const { a } = await runAssess(['--regions', 'us-east-1']);
    const fresh = a.instances.filter((i) => i.tags.Application === 'fresh');
    expect(fresh).toHaveLength(5);
    for (const i of fresh) {
      expect(i.readiness.status).toBe('unknown');
      expect(['short-observation', 'launched-recently']).toContain(i.readiness.reasons[0]!.code);
    }
  });
});
