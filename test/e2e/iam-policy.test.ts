import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { AwsClients } from '@imdsv2-cutover/aws';
import { assess, createAwsClients, enforce, probeAssessment, rollback, status } from '@imdsv2-cutover/aws';
import type { Assessment, Plan } from '@imdsv2-cutover/core';
import { Policy, Scenario, iamActions, plan } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { loadScenario, startSimulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imdsv2 } from './assess-helpers.js';

/**
 * Every phase runs against the simulator with every path that sends a distinct AWS call exercised (organization and
 * role, all regions; enforce with drift check, DryRun preflight, apply, guard soak, rollback and live status; lock-in
 * with dry run, apply including the irreversible AMI flag, a launch configuration moved to a template, canaries
 * proving the templates, and rollback). The client factory's command log then holds
 * the IAM action of every call sent, and `imdsv2 policy` must allow exactly those: none missing, none extra.
 */
const ROLE = 'OrganizationAccountAccessRole';
const CALLER = '111111111111';
const tool = { name: 'imdsv2-cutover', version: 'test' };
const tempDir = useTempDirs('imdsv2-iam-');

let sim: Simulator;
let proxy: Server;
let endpoint: string;

/** When set, the proxy refuses the account-wide DescribeLaunchTemplateVersions as some AWS emulators do. */
let refuseAccountWideVersions = false;

/**
 * A pass-through proxy in front of the simulator for the one path the simulator alone does not reach: with
 * `refuseAccountWideVersions` it answers MissingParameter to DescribeLaunchTemplateVersions without a template, so
 * discovery's per-template fallback (DescribeLaunchTemplates) runs.
 */
async function startProxy(target: string): Promise<Server> {
  const up = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString());
      if (
        refuseAccountWideVersions &&
        params.get('Action') === 'DescribeLaunchTemplateVersions' &&
        !params.has('LaunchTemplateId') &&
        !params.has('LaunchTemplateName')
      ) {
        res.writeHead(400, { 'content-type': 'text/xml', date: sim.clock.now().toUTCString() });
        res.end(
          '<Response><Errors><Error><Code>MissingParameter</Code><Message>The request must contain the parameter LaunchTemplateId or LaunchTemplateName</Message></Error></Errors><RequestID>proxy</RequestID></Response>',
        );
        return;
      }
      const forward = request(
        { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            const answer = Buffer.concat(parts);
            res.writeHead(upRes.statusCode ?? 500, upRes.headers);
            res.end(answer);
          });
        },
      );
      forward.on('error', (e) => res.destroy(e));
      forward.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

function factory(): AwsClients {
  return createAwsClients({
    region: 'us-east-1',
    endpointUrl: endpoint,
    credentials: { accessKeyId: `AKIA${CALLER}SIMK`, secretAccessKey: 'simulated' },
  });
}

function sent(clients: AwsClients): string[] {
  return Object.keys(clients.log.snapshot()).sort();
}

/** What `imdsv2 policy --for <phase> --role-name <ROLE> --json` allows. */
async function policyActions(phase: string, more: string[] = []): Promise<string[]> {
  const r = await imdsv2(['policy', '--for', phase, '--role-name', ROLE, '--json', ...more]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { actions: string[] }).actions;
}

let assessment: Assessment;
let thePlan: Plan;

/** The demo fleet with a group on a launch configuration, so that assess reads it and lock-in moves it. */
async function demoWithLaunchConfiguration(): Promise<Scenario> {
  const demo = await loadScenario('demo');
  return Scenario.parse({
    ...demo,
    launchConfigurations: [
      ...demo.launchConfigurations,
      {
        name: 'batch-lc',
        account: CALLER,
        region: 'us-east-1',
        imageId: 'ami-0a1b2c3d4e5f60001',
        instanceType: 'c5.large',
        metadataOptions: { httpTokens: 'optional' },
        data: { IamInstanceProfile: 'batch-instance-profile' },
      },
    ],
    autoScalingGroups: [
      ...demo.autoScalingGroups,
      { name: 'batch-asg', account: CALLER, region: 'us-east-1', launchConfiguration: 'batch-lc', maxSize: 4 },
    ],
    instanceGroups: [
      ...demo.instanceGroups,
      { name: 'batch', account: CALLER, region: 'us-east-1', count: 2, autoScalingGroup: 'batch-asg' },
    ],
  });
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: await demoWithLaunchConfiguration(), clock: { speed: 1 }, throttling: false });
  proxy = await startProxy(sim.url);
  endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await sim.stop();
});

describe('imdsv2 policy lists exactly the actions each phase sends', () => {
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
      const fallback = await assess({ ...common, regions: ['us-east-1'] });
      expect(fallback.launchTemplates.length).toBeGreaterThan(0);
    } finally {
      sim.clock.setSpeed(1);
      refuseAccountWideVersions = false;
      clients.destroy();
    }
    expect(assessment.complete).toBe(true);
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
      const rb = await rollback({ journalFile, tool, clients: forRole, scope: { wave: 0 } });
      expect(rb.rolledBack.length).toBe(done.applied.length);
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
