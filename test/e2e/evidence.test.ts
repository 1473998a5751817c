import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Assessment, Plan, ScenarioInput } from '@imdsv2-cutover/core';
import { assessmentKind, parseJsonDocument, planKind } from '@imdsv2-cutover/core';
import { loadScenario, scenarioFrom, startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './enforce-helpers.js';

/**
 * Evidence a migration lead can trust (docs/assess.md, docs/planning.md): the shared cases and each kind of wrong
 * conclusion, end to end through the CLI against the simulator.
 */
const tempDir = useTempDirs('imdsv2-evidence-');
const cases = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');
const sims: Simulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.stop();
});

async function simulator(scenario: Parameters<typeof startSimulator>[0]['scenario'], speed = 1): Promise<Simulator> {
  const sim = await startSimulator({ scenario, port: 0, clock: { speed } });
  sims.push(sim);
  return sim;
}

function env(sim: Simulator, account: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: '1',
    NODE_NO_WARNINGS: '1',
    AWS_ACCESS_KEY_ID: `AKIA${account}SIMK`,
    AWS_SECRET_ACCESS_KEY: 'simulated',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  };
}

async function assessAndPlan(sim: Simulator, account: string, extra: string[] = []) {
  const dir = await tempDir();
  const e = env(sim, account);
  const a = await runCli(
    [
      'assess',
      '--endpoint-url',
      sim.url,
      '--region',
      'us-east-1',
      '--probe-window',
      '5s',
      '--out',
      dir,
      '--no-report',
      ...extra,
    ],
    e,
  );
  expect(a.code, a.stderr).toBe(0);
  const file = path.join(dir, 'assessment.json');
  const assessment: Assessment = parseJsonDocument(assessmentKind, await readFile(file, 'utf8'), file);
  const planFile = path.join(dir, 'plan.json');
  const p = await runCli(['plan', '--assessment', file, '--out', planFile], e);
  expect(p.code, p.stderr).toBe(0);
  const plan: Plan = parseJsonDocument(planKind, await readFile(planFile, 'utf8'), planFile);
  const byId = new Map(assessment.instances.map((i) => [i.instanceId, i]));
  return { dir, assessment, plan, byId, env: e, planFile };
}

const codes = (i: Assessment['instances'][number]) => i.readiness.reasons.map((r) => r.code);

describe('the shared cases', () => {
  it('ssm-agent-v1-first: the SSM agent falls back to IMDSv2, so the instance is enforceable; upgrade to stop the noise', async () => {
    const sim = await simulator(await loadScenario(path.join(cases, 'ssm-agent-v1-first.yaml')));
    const { byId, plan } = await assessAndPlan(sim, '666666666666');
    const i = byId.get('i-0b5500000000000c1')!;
    expect(i.readiness.status).toBe('ready');
    expect(codes(i)).toEqual(expect.arrayContaining(['imdsv1-calls-fall-back', 'v1-fallback-caller']));
    expect(codes(i)).not.toContain('v1-caller-found');
    const advice = i.readiness.reasons.map((r) => r.remediation ?? '').join(' ');
    expect(advice).toMatch(/3\.0\.431\.0 or later/);
    // The inventory agrees: the agent is IMDSv2-capable (ok) and marked as falling back.
    const agent = i.probe.report!.packages.find((p) => p.name === 'amazon-ssm-agent')!;
    expect(agent).toMatchObject({ status: 'ok', imdsBehaviour: { behaviour: 'v1-first-fallback', effect: 'noise' } });
    // In a wave, with the guard allowing for the agent's rejected attempts.
    const entry = plan.waves.flatMap((w) => w.instances).find((e) => e.instanceId === i.instanceId)!;
    expect(entry.rejectedAllowancePerHour).toBeGreaterThan(240);
  });

  it('container-hop-limit-1: the cause is the hop limit, not the SDK; the plan raises it with tokens optional first', async () => {
    const sim = await simulator(await loadScenario(path.join(cases, 'container-hop-limit-1.yaml')));
    const { byId, plan } = await assessAndPlan(sim, '555555555555');
    const i = byId.get('i-0c1000000000000b1')!;
    expect(i.readiness.status).toBe('blocked');
    expect(codes(i)).toContain('hop-limit-blocks-containers');
    expect(codes(i)).not.toContain('v1-caller-found');
    expect(i.readiness.reasons.map((r) => r.remediation).join(' ')).not.toMatch(/Update python3/);
    const [first] = plan.waves;
    expect(first).toMatchObject({ kind: 'hop-limit', soakSeconds: 0 });
    expect(first!.instances[0]).toMatchObject({
      instanceId: i.instanceId,
      target: { httpTokens: 'optional', httpPutResponseHopLimit: 2 },
    });
    expect(plan.held.find((h) => h.instanceId === i.instanceId)!.reasons[0]!.code).toBe('hop-limit-wave');
  });
});

describe('container hosts known without a probe', () => {
  it('EKS, ECS, Bottlerocket and ECS capacity-provider nodes are container hosts from EC2 alone, planned at hop limit 2', async () => {
    const sim = await simulator('container-hosts');
    const { assessment, plan } = await assessAndPlan(sim, '333333333333', ['--probe', 'none']);
    const groupOf = (id: string) => sim.fleet.instance(id)!.group;
    const signal = new Map(
      assessment.instances.map((i) => [groupOf(i.instanceId), i.containerHostSignal?.signal ?? null]),
    );
    expect(Object.fromEntries(signal)).toEqual({
      'eks-node': 'eks-tag',
      'ecs-node': 'ami-family',
      'bottlerocket-node': 'ami-family',
      'ecs-capacity-node': 'asg-tag',
      'docker-host': null,
      'plain-vm': null,
    });
    for (const i of assessment.instances) expect(i.readiness.status).toBe('ready');
    const entries = plan.waves.flatMap((w) => w.instances);
    for (const e of entries) {
      const containers = !['docker-host', 'plain-vm'].includes(groupOf(e.instanceId));
      expect(e.target.httpPutResponseHopLimit, groupOf(e.instanceId)).toBe(containers ? 2 : 1);
    }
    const eksTemplate = plan.lockIn.find(
      (s) => s.kind === 'launch-template-version' && s.description.includes('eks-ng-1'),
    )!;
    expect(eksTemplate.target.httpPutResponseHopLimit).toBe(2);
    expect(eksTemplate.notes.join(' ')).toMatch(
      /fixed by the new version, which they launch from then on: eks-ng-1-asg \(\$Latest\)/,
    );
  });
});

describe('hop limit first, then measure again', () => {
  it('a container host whose current SDK falls back at hop limit 1 stops calling IMDSv1 once the hop-limit wave ran', async () => {
    const sim = await simulator('container-hop-limit', 1);
    const first = await assessAndPlan(sim, '333333333333');
    const host = first.assessment.instances.find((i) => codes(i).includes('hop-limit-blocks-containers'))!;
    expect(host).toBeDefined();
    expect(first.plan.waves[0]!.kind).toBe('hop-limit');
    const run = await runCli(
      ['enforce', '--plan', first.planFile, '--wave', '0', '--yes', '--endpoint-url', sim.url],
      first.env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(sim.fleet.metadataOptions(host.instanceId)).toMatchObject({
      httpTokens: 'optional',
      httpPutResponseHopLimit: 2,
    });
    // Eight days later the container's SDK has used IMDSv2 all along: no IMDSv1 call in the last 7 days.
    sim.clock.advance(8 * 86_400_000);
    const again = await assessAndPlan(sim, '333333333333', ['--lookback', '7d']);
    expect(again.byId.get(host.instanceId)!.readiness.status).toBe('ready');
  });
});

describe('observation time is time', () => {
  it('an instance launched at 22:00 six days ago is not ready at a 7-day minimum; one launched 8 days ago is', async () => {
    const now = Date.parse('2026-06-01T12:00:00Z');
    const lateLaunch = new Date(Date.UTC(2026, 4, 25, 22, 0)).toISOString(); // 6 days 14 hours before now
    const scenario: ScenarioInput = {
      schema: { name: 'imdsv2-cutover/scenario', version: 1 },
      name: 'observation',
      now: new Date(now).toISOString(),
      regions: ['us-east-1'],
      accounts: [{ id: '333333333333', name: 'obs' }],
      instanceGroups: [
        { name: 'late', account: '333333333333', region: 'us-east-1', count: 1, launchedAt: lateLaunch },
        { name: 'older', account: '333333333333', region: 'us-east-1', count: 1, launchedAt: '-8d' },
      ],
    };
    const sim = await simulator(scenarioFrom(scenario));
    const { assessment } = await assessAndPlan(sim, '333333333333', ['--probe', 'none']);
    const of = (g: string) => assessment.instances.find((i) => sim.fleet.instance(i.instanceId)!.group === g)!;
    expect(of('late').metrics.noToken.daysWithData).toBe(8);
    expect(of('late').readiness.status).toBe('unknown');
    expect(of('late').readiness.reasons[0]!.message).toMatch(
      /The data covers 6d 1[0-4]h; 7d of observation are needed/,
    );
    expect(of('older').readiness.status).toBe('ready');
  });
});
