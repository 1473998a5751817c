import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Plan } from '@imdsv2-cutover/core';
import { planKind, parseJsonDocument } from '@imdsv2-cutover/core';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imdsv2, readAssessment } from './assess-helpers.js';
import { bin } from './enforce-helpers.js';
import { type RecordingProxy, arnsSent, startRecordingProxy } from './recording-proxy.js';

/**
 * An organization in the China partition (and in GovCloud), from the bundled scenarios served by `imdsv2 simulate`:
 * the management account assesses every account and region through OrganizationAccountAccessRole, plans, and enforces
 * the canary wave through the role, all with the built CLI. The simulator's STS refuses a role ARN of another
 * partition as AWS does; a proxy records every request, and every ARN the tool sent, every ARN of the policies it
 * prints and of the plan's SCP must be in the partition.
 */
const ROLE = 'OrganizationAccountAccessRole';
const tempDir = useTempDirs('imdsv2-partitions-run-');

const CASES = [
  {
    partition: 'aws-cn',
    scenario: 'partition-cn',
    region: 'cn-north-1',
    regions: ['cn-north-1', 'cn-northwest-1'],
    management: '444444444444',
    workloads: '555555555555',
    otherRegion: 'us-east-1',
  },
  {
    partition: 'aws-us-gov',
    scenario: 'partition-govcloud',
    region: 'us-gov-east-1',
    regions: ['us-gov-east-1', 'us-gov-west-1'],
    management: '666666666661',
    workloads: '666666666662',
    otherRegion: 'eu-west-1',
  },
];

/** Starts `imdsv2 simulate` on a free port and resolves with the endpoint it prints. */
async function simulate(scenario: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(
    process.execPath,
    [bin, 'simulate', '--scenario', scenario, '--port', '0', '--clock-speed', '600', '--no-throttling', '--json'],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', NODE_NO_WARNINGS: '1' } },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: string) => {
      out += c;
      try {
        resolve((JSON.parse(out) as { endpoint: string }).endpoint);
      } catch {
        // not a whole document yet
      }
    });
    child.on('exit', (code) => reject(new Error(`simulate exited ${code} before printing its endpoint`)));
  });
  return { child, endpoint };
}

/** stderr as one line: oclif wraps error messages at the terminal width behind `›` markers. */
const flat = (stderr: string) => stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');

const POLICY_YAML = `schema: { name: imdsv2-cutover/policy, version: 1 }
canary: { soak: 1h }
lockIn: { scpMaxHopLimit: 2 }
`;

describe.each(CASES)('an organization in $partition', (c) => {
  let sim: { child: ChildProcess; endpoint: string };
  let proxy: RecordingProxy;
  let dir: string;
  let planFile: string;
  let plan: Plan;
  const inPartition = (arn: string) => arn.startsWith(`arn:${c.partition}:`);

  beforeAll(async () => {
    sim = await simulate(c.scenario);
    proxy = await startRecordingProxy(sim.endpoint);
    // Shared by the tests of this partition (useTempDirs' directories last one test).
    dir = await mkdtemp(path.join(tmpdir(), 'imdsv2-partitions-'));
    await writeFile(path.join(dir, 'policy.yaml'), POLICY_YAML);
    // The management account assesses the organization through the role, then plans.
    const assess = await imdsv2(
      [
        ...['assess', '--org', '--role-name', ROLE, '--all-regions', '--region', c.region],
        ...['--endpoint-url', proxy.url, '--out', dir, '--no-report', '--json'],
      ],
      c.management,
    );
    expect(assess.code, assess.stderr).toBe(0);
    planFile = path.join(dir, 'plan.json');
    const planned = await imdsv2(
      [
        ...['plan', '--assessment', path.join(dir, 'assessment.json'), '--policy', path.join(dir, 'policy.yaml')],
        ...['--out', planFile],
      ],
      c.management,
    );
    expect(planned.code, planned.stderr).toBe(0);
    plan = parseJsonDocument(planKind, await readFile(planFile, 'utf8'), planFile);
  }, 180_000);
  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (sim?.child.exitCode === null) {
      const exited = new Promise((r) => sim.child.on('exit', r));
      sim.child.kill('SIGTERM');
      await exited;
    }
  });

  it('assessed every account and region through the role, planned, and enforces the canary wave through the role', async () => {
    const a = await readAssessment(dir);
    expect(a.complete).toBe(true);
    expect(a.scope.partition).toBe(c.partition);
    expect(a.accounts.map((x) => [x.accountId, x.status, x.partition])).toEqual([
      [c.management, 'ok', c.partition],
      [c.workloads, 'ok', c.partition],
    ]);
    expect(a.scope.regions).toEqual(c.regions);
    expect(a.instances.length).toBe(10);

    const scpArns = JSON.stringify(plan.scp).match(/arn:[^"]*/g) ?? [];
    expect(scpArns).toContain(`arn:${c.partition}:ec2:*:*:instance/*`);
    expect(scpArns).toContain(`arn:${c.partition}:iam::*:role/imdsv2-cutover-admin`);
    expect(scpArns.every(inPartition), scpArns.join(' ')).toBe(true);
    const canary = plan.waves[0]!;
    expect(canary.instances.length).toBeGreaterThan(0);
    expect(canary.instances.every((e) => e.accountId === c.workloads)).toBe(true);

    // No --region: the region rule falls back to the plan's first region, in the partition.
    const enforced = await imdsv2(
      [
        ...['enforce', '--plan', planFile, '--wave', '0', '--yes', '--role-name', ROLE],
        ...['--endpoint-url', proxy.url, '--guard-interval', '200ms', '--json'],
      ],
      c.management,
    );
    expect(enforced.code, enforced.stderr).toBe(0);
    const result = JSON.parse(enforced.stdout) as { applied: string[] };
    expect([...result.applied].sort()).toEqual(canary.instances.map((e) => e.instanceId).sort());

    // The request log: the role was assumed by its ARN in the partition, and no ARN of another partition was sent.
    const roleArns = proxy.requests
      .filter((r) => r.params.get('Action') === 'AssumeRole')
      .map((r) => r.params.get('RoleArn'));
    expect(new Set(roleArns)).toEqual(new Set([`arn:${c.partition}:iam::${c.workloads}:role/${ROLE}`]));
    const sent = arnsSent(proxy.requests);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((x) => !inPartition(x))).toEqual([]);
  }, 240_000);

  it('prints every policy with ARNs in the partition, from --region or --partition, and the plan’s SCP', async () => {
    const policy = async (phase: string, ...how: string[]) => {
      const common = ['policy', '--for', phase, '--role-name', ROLE, '--policy', path.join(dir, 'policy.yaml')];
      const r = await imdsv2([...common, ...how, '--json'], c.management);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { partition: string; partitionSource: string; document: unknown };
    };
    for (const phase of ['assess', 'enforce', 'lockin', 'scp']) {
      const out = await policy(phase, '--region', c.region);
      expect(out).toMatchObject({ partition: c.partition, partitionSource: 'flag' });
      const arns = JSON.stringify(out.document).match(/arn:[^"]*/g) ?? [];
      expect(arns.length, phase).toBeGreaterThan(0);
      expect(
        arns.filter((x) => !inPartition(x)),
        phase,
      ).toEqual([]);
      expect((await policy(phase, '--partition', c.partition)).document).toEqual(out.document);
      // The SCP printed ahead of time is the plan's.
      if (phase === 'scp') expect(out.document).toEqual(plan.scp);
    }
    // Without a region or --partition, the policies are for the aws partition.
    const plain = await imdsv2(['policy', '--for', 'enforce', '--json'], c.management);
    expect(JSON.parse(plain.stdout)).toMatchObject({ partition: 'aws', partitionSource: 'default' });
  }, 240_000);

  it('refuses a region of another partition than the credentials or the plan, with exit 2 and no change', async () => {
    const before = proxy.requests.length;
    const assess = await imdsv2(
      ['assess', '--region', c.otherRegion, '--endpoint-url', proxy.url, '--out', await tempDir(), '--no-report'],
      c.management,
    );
    expect(assess.code, assess.stderr).toBe(2);
    expect(flat(assess.stderr)).toContain(
      `The region ${c.otherRegion} is in partition aws, but the credentials are in ${c.partition}`,
    );
    const enforce = await imdsv2(
      [
        ...['enforce', '--plan', planFile, '--wave', '1', '--yes', '--role-name', ROLE],
        ...['--region', c.otherRegion, '--endpoint-url', proxy.url],
      ],
      c.management,
    );
    expect(enforce.code, enforce.stderr).toBe(2);
    expect(enforce.stderr).toMatch(
      new RegExp(`--region ${c.otherRegion} is in partition aws, but the input file names`),
    );
    // assess asked who the caller is and stopped; enforce sent nothing at all.
    const actions = proxy.requests.slice(before).map((r) => r.params.get('Action'));
    expect(actions).toEqual(['GetCallerIdentity']);
  }, 240_000);
});
