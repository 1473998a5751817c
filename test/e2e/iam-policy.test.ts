import type { ServerResponse } from 'node:http';
import path from 'node:path';
import type { AwsClients } from '@imdsv2-cutover/aws';
import { assess, createAwsClients, enforce, probeAssessment, rollback, status } from '@imdsv2-cutover/aws';
import type { Assessment, IamPolicyDocument, Plan, Scenario, ScenarioInput } from '@imdsv2-cutover/core';
import { Policy, iamActions, plan } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { loadScenario, scenarioFrom, startSimulator } from '@imdsv2-cutover/simulator';
import { iamWildcardMatch, useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { imdsv2 } from './assess-helpers.js';
import { type RecordedRequest, type RecordingProxy, arnsSent, startRecordingProxy } from './recording-proxy.js';

/**
 * Every phase runs against the simulator with every path that sends a distinct AWS call exercised (organization and
 * role, all regions; enforce with drift check, DryRun preflight, apply, guard soak, rollback and live status; lock-in
 * with dry run, apply including the irreversible AMI flag, a launch configuration moved to a template, canaries
 * proving the templates, and rollback). The client factory's command log then holds
 * the IAM action of every call sent, and `imdsv2 policy` must allow exactly those: none missing, none extra. The same
 * runs in each partition (aws, aws-cn, aws-us-gov: the simulator's bundled organizations there), where the policy's
 * ARNs must be in that partition and its AssumeRole resource must match every role ARN the tool sent.
 */
const ROLE = 'OrganizationAccountAccessRole';
const tool = { name: 'imdsv2-cutover', version: 'test' };
const tempDir = useTempDirs('imdsv2-iam-');

interface PartitionCase {
  partition: string;
  scenario: string;
  region: string;
  caller: string;
  /** The account whose `web` group gets an AMI of its own, so that lock-in has an image to flag. */
  imageOwner?: string;
}
const PARTITIONS: PartitionCase[] = [
  { partition: 'aws', scenario: 'demo', region: 'us-east-1', caller: '111111111111' },
  {
    partition: 'aws-cn',
    scenario: 'partition-cn',
    region: 'cn-north-1',
    caller: '444444444444',
    imageOwner: '555555555555',
  },
  {
    partition: 'aws-us-gov',
    scenario: 'partition-govcloud',
    region: 'us-gov-east-1',
    caller: '666666666661',
    imageOwner: '666666666662',
  },
];

/**
 * The bundled scenario with a group on a launch configuration (so that assess reads it and lock-in moves it to a
 * template) and, when the case asks for one, an AMI of its own for the `web` group.
 */
async function scenarioOf(c: PartitionCase): Promise<Scenario> {
  const s = structuredClone(await loadScenario(c.scenario)) as ScenarioInput;
  const owner = c.imageOwner ?? c.caller;
  // The demo scenario has the launch configuration's image; the other partitions' scenarios get one in its account.
  const lcImage = 'ami-0a1b2c3d4e5f60001';
  if (!(s.images ?? []).some((i) => i.id === lcImage)) {
    s.images = [...(s.images ?? []), { id: lcImage, account: owner, region: c.region, name: 'batch-image' }];
  }
  if (c.imageOwner !== undefined) {
    const id = 'ami-0c0ffee0c0ffee001';
    s.images = [...(s.images ?? []), { id, account: c.imageOwner, region: c.region, name: 'web-image' }];
    for (const g of s.instanceGroups ?? []) if (g.name === 'web') g.imageId = id;
  }
  s.launchConfigurations = [
    ...(s.launchConfigurations ?? []),
    {
      name: 'batch-lc',
      account: owner,
      region: c.region,
      imageId: lcImage,
      instanceType: 'c5.large',
      metadataOptions: { httpTokens: 'optional' },
      data: { IamInstanceProfile: 'batch-instance-profile' },
    },
  ];
  s.autoScalingGroups = [
    ...(s.autoScalingGroups ?? []),
    { name: 'batch-asg', account: owner, region: c.region, launchConfiguration: 'batch-lc', maxSize: 4 },
  ];
  s.instanceGroups = [
    ...(s.instanceGroups ?? []),
    { name: 'batch', account: owner, region: c.region, count: 2, autoScalingGroup: 'batch-asg' },
  ];
  return scenarioFrom(s);
}

let sim: Simulator;
let proxy: RecordingProxy;
let endpoint: string;

/** When set, the proxy refuses the account-wide DescribeLaunchTemplateVersions as some AWS emulators do. */
let refuseAccountWideVersions = false;

/**
 * In front of the simulator, for the one path the simulator alone does not reach: with `refuseAccountWideVersions`
 * the proxy answers MissingParameter to DescribeLaunchTemplateVersions without a template, so discovery's
 * per-template fallback (DescribeLaunchTemplates) runs.
 */
function refuseVersions(req: RecordedRequest, res: ServerResponse): boolean {
  const p = req.params;
  if (
    !refuseAccountWideVersions ||
    p.get('Action') !== 'DescribeLaunchTemplateVersions' ||
    p.has('LaunchTemplateId') ||
    p.has('LaunchTemplateName')
  )
    return false;
  res.writeHead(400, { 'content-type': 'text/xml', date: sim.clock.now().toUTCString() });
  res.end(
    '<Response><Errors><Error><Code>MissingParameter</Code><Message>The request must contain the parameter LaunchTemplateId or LaunchTemplateName</Message></Error></Errors><RequestID>proxy</RequestID></Response>',
  );
  return true;
}

/** The RoleArn of every AssumeRole the proxy saw since the last reset. */
const roleArnsSent = (): string[] =>
  proxy.requests.filter((r) => r.params.get('Action') === 'AssumeRole').map((r) => r.params.get('RoleArn') ?? '');

describe.each(PARTITIONS)('imdsv2 policy lists exactly the actions each phase sends, in $partition', (c) => {
  function factory(): AwsClients {
    return createAwsClients({
      region: c.region,
      endpointUrl: endpoint,
      credentials: { accessKeyId: `AKIA${c.caller}SIMK`, secretAccessKey: 'simulated' },
    });
  }

  function sent(clients: AwsClients): string[] {
    return Object.keys(clients.log.snapshot()).sort();
  }

  /**
   * What `imdsv2 policy --for <phase> --role-name <ROLE> --region <region> --json` allows: the partition follows the
   * region. Every ARN of the document is in the partition, and every role ARN the tool sent matches its AssumeRole
   * resource.
   */
  async function policyActions(phase: string, more: string[] = []): Promise<string[]> {
    const r = await imdsv2(['policy', '--for', phase, '--role-name', ROLE, '--region', c.region, '--json', ...more]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { actions: string[]; partition: string; document: IamPolicyDocument };
    expect(out.partition).toBe(c.partition);
    const arns = JSON.stringify(out.document).match(/arn:[^"]*/g) ?? [];
    expect(arns.length).toBeGreaterThan(0);
    for (const arn of arns) expect(arn.startsWith(`arn:${c.partition}:`), arn).toBe(true);
    const assume = out.document.Statement.find((st) => st.Action.includes('sts:AssumeRole'));
    // Every ARN the tool sent (the proxy's request log) is in the partition too.
    for (const arn of arnsSent(proxy.requests)) expect(arn.startsWith(`arn:${c.partition}:`), arn).toBe(true);
    expect(roleArnsSent().length).toBeGreaterThan(0);
    for (const sentArn of roleArnsSent())
      expect(iamWildcardMatch(String(assume?.Resource), sentArn), sentArn).toBe(true);
    return out.actions;
  }

  let assessment: Assessment;
  let thePlan: Plan;

  beforeAll(async () => {
    sim = await startSimulator({ scenario: await scenarioOf(c), clock: { speed: 1 }, throttling: false });
    proxy = await startRecordingProxy(sim.url, refuseVersions);
    endpoint = proxy.url;
  });
  afterAll(async () => {
    await proxy.close();
    await sim.stop();
  });
  beforeEach(() => {
    proxy.requests.length = 0;
  });

  it('assess: organization, role, all regions, probes (with and without S3 output), launch template fallback', async () => {
    const clients = factory();
    const common = { clients, organization: true, roleName: ROLE, lookbackDays: 14, minObservationDays: 7, tool };
    const probe = { clients, windowSeconds: 30, poll: { initialMs: 100, maxMs: 500 }, now: () => clients.serviceNow() };
    try {
      const measured = await assess({ ...common, allRegions: true });
      // The hosts trace for a window of simulated time: run the clock fast meanwhile.
      sim.clock.setSpeed(600);
      const probed = await probeAssessment(measured, { ...probe, selection: 'suspects' });
      expect(probed.probe.results.size).toBeGreaterThan(0);
      // Outputs longer than the 2,500 characters ListCommandInvocations shows are fetched again: with
      // GetCommandInvocation, or from S3 with --probe-output-s3. Make the hosts answer at length.
      sim.setCommandRunner(() => ({ stdout: 'x'.repeat(3000), stderr: '', exitCode: 0, durationMs: 1000 }));
      const probedOk = [...probed.probe.results].filter(([, r]) => r.probe.outcome === 'ok').map(([id]) => id);
      const suspects = { ids: probedOk.slice(0, 3) };
      await probeAssessment(measured, { ...probe, selection: suspects });
      await probeAssessment(measured, {
        ...probe,
        selection: suspects,
        outputS3: { bucket: 'imdsv2-probe-out', prefix: 'iam-test' },
      });
      sim.clock.setSpeed(1);
      assessment = probed.assessment;
      refuseAccountWideVersions = true;
      const fallback = await assess({ ...common, regions: [c.region] });
      expect(fallback.launchTemplates.length).toBeGreaterThan(0);
    } finally {
      sim.clock.setSpeed(1);
      refuseAccountWideVersions = false;
      clients.destroy();
    }
    expect(assessment.complete).toBe(true);
    expect(assessment.scope.partition).toBe(c.partition);
    expect(sent(clients)).toEqual(
      await policyActions('assess', ['--probe-output-s3', 's3://imdsv2-probe-out/iam-test']),
    );
    expect(sent(clients)).toEqual(
      iamActions('assess', { roleName: ROLE, probeOutputS3: { bucket: 'imdsv2-probe-out', prefix: 'iam-test' } }),
    );
  });

  it('enforce: DryRun preflight, drift check, apply, guard soak, rollback, live status', async () => {
    const policy = Policy.parse({
      schema: { name: 'imdsv2-cutover/policy', version: 1 },
      canary: { soak: '1h' },
      lockIn: { amiImdsSupport: true },
    });
    thePlan = plan(assessment, policy, { tool });
    const dir = await tempDir();
    const journalFile = path.join(dir, 'journal.jsonl');
    const clients = factory();
    try {
      const forRole = clients.clientsFor({ roleName: ROLE, callerAccount: await clients.callerAccount() });
      const common = { plan: thePlan, wave: 0, journalFile, tool, clients: forRole, guardIntervalMs: 20 };
      const dry = await enforce({ ...common, dryRun: true });
      expect(dry.outcome).toBe('dry-run');
      // An hour of soak at 3600x: about a second.
      sim.clock.setSpeed(3600);
      const done = await enforce({ ...common, onDrift: 'fail' });
      expect(done.guard?.polls).toBeGreaterThan(0);
      expect(done.applied.length).toBe(thePlan.waves[0]!.instances.length);
      // HttpTokensEnforced enabled since: the rollback lifts it (with the flag) and enables it again.
      const enforcedAt = thePlan.waves[0]!.instances[0]!;
      sim.fleet.model.region(enforcedAt.accountId, enforcedAt.region)!.defaults.httpTokensEnforced = 'enabled';
      const rb = await rollback({
        journalFile,
        tool,
        clients: forRole,
        scope: { wave: 0 },
        liftTokensEnforced: true,
      });
      expect(rb.rolledBack.length).toBe(done.applied.length);
      expect(rb.tokensEnforced.map((t) => t.outcome)).toEqual(['lifted-and-enabled-again']);
      const st = await status({ plan: thePlan, journalFile, clients: forRole, live: true });
      expect(st.waves[0]?.state).toBe('rolled-back');
    } finally {
      sim.clock.setSpeed(1);
      clients.destroy();
    }
    expect(sent(clients)).toEqual(await policyActions('enforce'));
  });

  it('lockin: dry run, apply with the irreversible AMI flag and a launch configuration, canaries, rollback', async () => {
    const kinds = new Set(thePlan.lockIn.map((s) => s.kind));
    expect([...kinds].sort()).toEqual([
      'account-defaults',
      'ami-imds-support',
      'launch-configuration-migration',
      'launch-template-version',
    ]);
    const dir = await tempDir();
    const journalFile = path.join(dir, 'journal.jsonl');
    const clients = factory();
    try {
      const forRole = clients.clientsFor({ roleName: ROLE, callerAccount: await clients.callerAccount() });
      const common = { plan: thePlan, wave: 'lockin' as const, journalFile, tool, clients: forRole };
      await enforce({ ...common, dryRun: true });
      const r = await enforce({ ...common, confirmIrreversible: true, proveLaunch: true, sleep: async () => {} });
      expect(r.lockIn?.steps.every((s) => s.outcome === 'applied')).toBe(true);
      expect(r.lockIn?.proofs.length).toBeGreaterThan(0);
      expect(r.lockIn?.proofs.every((p) => p.outcome === 'proven')).toBe(true);
      const rb = await rollback({ journalFile, tool, clients: forRole, scope: { wave: 'lockin' } });
      expect(rb.lockIn.some((x) => x.outcome === 'restored')).toBe(true);
    } finally {
      clients.destroy();
    }
    expect(sent(clients)).toEqual(await policyActions('lockin'));
  });
});
