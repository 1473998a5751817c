import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import type { JournalRecord, Plan, ScenarioInput } from '@imdsv2-cutover/core';
import { DEFAULT_POLICY_YAML, Scenario } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { useCleanup, useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, NOW, REGION, cliEnv, journalAsKilledAfter, runCli } from './enforce-helpers.js';

const tempDir = useTempDirs('imdsv2-lockin-');
const defer = useCleanup();

const APP_LT = 'lt-0a0000000000000a1';
const WORKER_LT = 'lt-0a0000000000000b2';
const SAFE_LT = 'lt-0a0000000000000c3';
const AMI = 'ami-0a1b2c3d4e5f6a001';
const AMI_V2 = 'ami-0a1b2c3d4e5f6a002';

/**
 * One account and region: `app-lt` (default version 2 of 3, IMDSv1 allowed, hop limit 1, instance metadata tags on)
 * behind an ASG that follows $Default and another that pins version 1 (manual lock-in); `worker-lt` (no metadata
 * options at all) behind an ASG of container hosts (hop limit 2 planned); `safe-lt` already requires tokens. Account
 * defaults are not set. The instances run an AMI without ImdsSupport.
 */
function lockInScenario(): Scenario {
  return Scenario.parse({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'lockin-e2e',
    seed: 11,
    now: NOW,
    emitZeroDatapoints: true,
    regions: [REGION],
    accounts: [{ id: ACCOUNT, name: 'test' }],
    images: [
      { id: AMI, account: ACCOUNT, region: REGION, name: 'al2023-app' },
      { id: AMI_V2, account: ACCOUNT, region: REGION, name: 'al2023-hardened', imdsSupport: 'v2.0' },
    ],
    launchTemplates: [
      {
        id: APP_LT,
        name: 'app-lt',
        account: ACCOUNT,
        region: REGION,
        versions: [
          { imageId: AMI, instanceType: 'm6i.large', description: 'initial' },
          {
            imageId: AMI,
            instanceType: 'm6i.xlarge',
            description: 'bigger',
            metadataOptions: { httpTokens: 'optional', httpPutResponseHopLimit: 1, instanceMetadataTags: 'enabled' },
          },
          { imageId: AMI, instanceType: 'm6i.2xlarge', description: 'not yet default' },
        ],
        defaultVersion: 2,
      },
      {
        id: WORKER_LT,
        name: 'worker-lt',
        account: ACCOUNT,
        region: REGION,
        versions: [{ imageId: AMI, instanceType: 'c6i.large' }],
      },
      {
        id: SAFE_LT,
        name: 'safe-lt',
        account: ACCOUNT,
        region: REGION,
        versions: [{ imageId: AMI_V2, instanceType: 't3.small', metadataOptions: { httpTokens: 'required' } }],
      },
    ],
    autoScalingGroups: [
      { name: 'app-asg', account: ACCOUNT, region: REGION, launchTemplate: { name: 'app-lt', version: '$Default' } },
      { name: 'pinned-asg', account: ACCOUNT, region: REGION, launchTemplate: { name: 'app-lt', version: '1' } },
      {
        name: 'worker-asg',
        account: ACCOUNT,
        region: REGION,
        launchTemplate: { name: 'worker-lt', version: '$Latest' },
      },
      { name: 'safe-asg', account: ACCOUNT, region: REGION, launchTemplate: { name: 'safe-lt' } },
    ],
    instanceGroups: [
      {
        name: 'app',
        account: ACCOUNT,
        region: REGION,
        count: 3,
        autoScalingGroup: 'app-asg',
        launchTemplate: { name: 'app-lt' },
      },
      {
        name: 'pinned',
        account: ACCOUNT,
        region: REGION,
        count: 1,
        autoScalingGroup: 'pinned-asg',
        launchTemplate: { name: 'app-lt', version: '1' },
      },
      {
        name: 'workers',
        account: ACCOUNT,
        region: REGION,
        count: 2,
        containerHost: true,
        autoScalingGroup: 'worker-asg',
        launchTemplate: { name: 'worker-lt', version: '$Latest' },
      },
      {
        name: 'safe',
        account: ACCOUNT,
        region: REGION,
        count: 1,
        autoScalingGroup: 'safe-asg',
        launchTemplate: { name: 'safe-lt' },
      },
    ],
  } satisfies ScenarioInput);
}

interface LockInStepOut {
  id: string;
  kind: string;
  outcome: string;
  message: string;
}
interface EnforceOut {
  outcome: string;
  message: string;
  lockIn: { dryRun: boolean; steps: LockInStepOut[] } | null;
}
interface RollbackOut {
  message: string;
  lockIn: { target: string; outcome: string; message: string }[];
}

type Variant = 'default' | 'ami';
const afterAllCleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of afterAllCleanup.splice(0)) await c();
});
const plans = new Map<Variant, string>();

/**
 * Assesses the scenario once (every test's simulator starts from the same seed and clock, so the ids and the
 * assessment are the same) and plans it with the default policy and with `amiImdsSupport` and `httpTokensEnforced`
 * on. CLI start-up dominates this file's run time, so this is done once.
 */
beforeAll(async () => {
  const sim = await startSimulator({ scenario: lockInScenario(), clock: { speed: 60 } });
  const dir = await mkdtemp(path.join(tmpdir(), 'imdsv2-lockin-plans-'));
  afterAllCleanup.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const env = cliEnv(sim);
    const a = await runCli(['assess', '--regions', REGION, '--out', dir, '--endpoint-url', sim.url], env);
    expect(a.code, a.stderr).toBe(0);
    const policies: Record<Variant, string> = {
      default: DEFAULT_POLICY_YAML,
      ami: DEFAULT_POLICY_YAML.replace('  amiImdsSupport: false', '  amiImdsSupport: true').replace(
        '  httpTokensEnforced: false',
        '  httpTokensEnforced: true',
      ),
    };
    for (const [variant, text] of Object.entries(policies) as [Variant, string][]) {
      const policyFile = path.join(dir, `${variant}.policy.yaml`);
      await writeFile(policyFile, text);
      const planFile = path.join(dir, `${variant}.plan.json`);
      const p = await runCli(['plan', '-a', path.join(dir, 'assessment.json'), '-p', policyFile, '-o', planFile], env);
      expect(p.code, p.stderr).toBe(0);
      plans.set(variant, planFile);
    }
  } finally {
    await sim.stop();
  }
}, 180_000);

/** A fresh simulator and journal for one test, with the plan of `variant`. */
async function setup(variant: Variant = 'default') {
  const sim = await startSimulator({ scenario: lockInScenario(), clock: { speed: 60 } });
  defer(() => sim.stop());
  const dir = await tempDir();
  const env = cliEnv(sim);
  const cli = async (...args: string[]) => runCli([...args, '--endpoint-url', sim.url], env);
  const planFile = path.join(dir, 'plan.json');
  await copyFile(plans.get(variant)!, planFile);
  const plan = JSON.parse(await readFile(planFile, 'utf8')) as Plan;
  const journal = path.join(dir, 'journal.jsonl');
  const lockin = async (...extra: string[]) => {
    const r = await cli('enforce', '--plan', planFile, '--wave', 'lockin', '--journal', journal, '--json', ...extra);
    return { ...r, out: r.stdout ? (JSON.parse(r.stdout) as EnforceOut) : null };
  };
  const rollback = async (...scope: string[]) => {
    const r = await cli('rollback', '--journal', journal, '--json', ...scope);
    return { ...r, out: r.stdout ? (JSON.parse(r.stdout) as RollbackOut) : null };
  };
  return { sim, plan, journal, lockin, rollback };
}

function template(sim: Simulator, id: string) {
  const lt = sim.fleet.model.region(ACCOUNT, REGION)!.launchTemplates.find((t) => t.id === id)!;
  return { defaultVersion: lt.defaultVersion, versions: lt.versions.map((v) => ({ ...v })) };
}
const defaults = (sim: Simulator) => ({ ...sim.fleet.model.region(ACCOUNT, REGION)!.defaults });
const image = (sim: Simulator, id: string) =>
  sim.fleet.model.region(ACCOUNT, REGION)!.images.find((i) => i.id === id)!.imdsSupport;

/** Everything lock-in can change, for "nothing changed" assertions. */
function lockInState(sim: Simulator) {
  return {
    app: template(sim, APP_LT),
    worker: template(sim, WORKER_LT),
    safe: template(sim, SAFE_LT),
    defaults: defaults(sim),
    ami: image(sim, AMI),
  };
}

const outcomes = (r: { out: EnforceOut | null }) =>
  Object.fromEntries((r.out?.lockIn?.steps ?? []).map((s) => [s.id, s.outcome]));
const stepId = {
  app: `launch-template:${ACCOUNT}:${REGION}:${APP_LT}`,
  worker: `launch-template:${ACCOUNT}:${REGION}:${WORKER_LT}`,
  defaults: `account-defaults:${ACCOUNT}:${REGION}`,
  enforced: `http-tokens-enforced:${ACCOUNT}:${REGION}`,
  ami: `ami:${ACCOUNT}:${REGION}:${AMI}`,
};

type Rec = JournalRecord;
const lockInRecords = async (journal: string): Promise<Rec[]> =>
  (await readJournal(journal)).records.filter((r) => r.wave === 'lockin');
const targetOf = (r: Rec) => ('target' in r ? r.target : null);
/** An intent about launch template `id`. */
function isTemplate(r: Rec, id: string): boolean {
  const t = targetOf(r);
  return r.type === 'intent' && t?.kind === 'launch-template' && t.launchTemplateId === id;
}

describe('enforce --wave lockin against the simulator', () => {
  it('new default template versions, account defaults, journaled; re-run is a no-op; rollback restores and is idempotent', async () => {
    const { sim, plan, journal, lockin, rollback } = await setup();
    // The plan: both IMDSv1 templates, the account defaults, no AMI step; the pinned ASG is manual work.
    expect(plan.lockIn.map((s) => s.id).sort()).toEqual([stepId.app, stepId.worker, stepId.defaults].sort());
    expect(plan.manualLockIn).toEqual([
      expect.objectContaining({ kind: 'asg-pinned-version', resourceId: 'pinned-asg' }),
    ]);
    const workerStep = plan.lockIn.find((s) => s.id === stepId.worker)!;
    expect(workerStep.target).toMatchObject({ httpTokens: 'required', sourceVersion: 1, setDefault: true });
    const before = lockInState(sim);

    const r = await lockin('--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(outcomes(r)).toEqual({ [stepId.app]: 'applied', [stepId.worker]: 'applied', [stepId.defaults]: 'applied' });

    // app-lt: version 4, copied from the default (2), not from the latest (3); tokens required, the planned hop limit,
    // the source's other metadata options kept; made the default. The old versions are untouched.
    const app = template(sim, APP_LT);
    const appTarget = plan.lockIn.find((s) => s.id === stepId.app)!.target;
    expect(app.versions).toHaveLength(4);
    expect(app.defaultVersion).toBe(4);
    expect(app.versions[3]).toMatchObject({
      imageId: AMI,
      instanceType: 'm6i.xlarge',
      metadataOptions: {
        httpTokens: 'required',
        httpEndpoint: 'enabled',
        httpPutResponseHopLimit: appTarget.httpPutResponseHopLimit,
        instanceMetadataTags: 'enabled',
      },
    });
    expect(app.versions.slice(0, 3)).toEqual(before.app.versions);
    // worker-lt: version 2 with the planned hop limit.
    const worker = template(sim, WORKER_LT);
    expect(worker.defaultVersion).toBe(2);
    expect(worker.versions[1]).toMatchObject({
      imageId: AMI,
      instanceType: 'c6i.large',
      metadataOptions: {
        httpTokens: 'required',
        httpEndpoint: 'enabled',
        httpPutResponseHopLimit: workerStep.target.httpPutResponseHopLimit,
      },
    });
    // Untouched: the template that already requires tokens, the AMI, HttpTokensEnforced (the policy did not ask).
    expect(template(sim, SAFE_LT)).toEqual(before.safe);
    expect(image(sim, AMI)).toBeUndefined();
    expect(defaults(sim)).toMatchObject({ httpTokens: 'required', httpTokensEnforced: undefined });
    // Manual lock-in was not executed: the pinned ASG still pins version 1 (no ASG call was made at all).
    expect(sim.counters.get('autoscaling.UpdateAutoScalingGroup')).toBe(0);

    // The journal: an intent with the exact previous values before every change, then an ok result.
    const recs = await lockInRecords(journal);
    const intents = recs.filter((x) => x.type === 'intent');
    const byKind = (k: string) => intents.find((x) => targetOf(x)?.kind === k);
    const appIntent = intents.find((x) => isTemplate(x, APP_LT));
    expect(appIntent).toMatchObject({
      action: 'apply',
      previous: { defaultVersion: 2, httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: null },
    });
    const workerIntent = intents.find((x) => isTemplate(x, WORKER_LT));
    expect(workerIntent).toMatchObject({
      previous: { defaultVersion: 1, httpTokens: null, httpPutResponseHopLimit: null, httpEndpoint: null },
    });
    expect(byKind('account-defaults')).toMatchObject({
      previous: {
        httpTokens: null,
        httpPutResponseHopLimit: null,
        httpEndpoint: null,
        instanceMetadataTags: null,
        httpTokensEnforced: null,
      },
      desired: { httpTokens: 'required' },
    });
    for (const i of intents) {
      const after = recs.slice(recs.indexOf(i) + 1);
      expect(after.find((x) => x.type === 'result')).toMatchObject({ action: 'apply', outcome: 'ok' });
    }
    expect(intents).toHaveLength(3);

    // Re-run: every step is already in place; no new version, no change call.
    const calls = {
      create: sim.counters.get('ec2.CreateLaunchTemplateVersion'),
      modify: sim.counters.get('ec2.ModifyLaunchTemplate'),
      defaults: sim.counters.get('ec2.ModifyInstanceMetadataDefaults'),
    };
    const again = await lockin('--yes');
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(outcomes(again))).toEqual(['already-done', 'already-done', 'already-done']);
    expect(sim.counters.get('ec2.CreateLaunchTemplateVersion')).toBe(calls.create);
    expect(sim.counters.get('ec2.ModifyLaunchTemplate')).toBe(calls.modify);
    expect(sim.counters.get('ec2.ModifyInstanceMetadataDefaults')).toBe(calls.defaults);
    expect(template(sim, APP_LT).versions).toHaveLength(4);
    expect((await lockInRecords(journal)).filter((x) => x.type === 'intent')).toHaveLength(3);

    // Rollback: the previous default versions and account defaults come back; the new versions stay (not deleted).
    const rb = await rollback('--wave', 'lockin');
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.out!.lockIn.map((l) => l.outcome)).toEqual(['restored', 'restored', 'restored']);
    expect(template(sim, APP_LT)).toMatchObject({ defaultVersion: 2 });
    expect(template(sim, APP_LT).versions).toHaveLength(4);
    expect(template(sim, WORKER_LT)).toMatchObject({ defaultVersion: 1 });
    expect(defaults(sim)).toEqual(before.defaults);
    // Idempotent: a second rollback finds everything at its previous settings and calls nothing.
    const modifies = sim.counters.get('ec2.ModifyLaunchTemplate');
    const rb2 = await rollback('--wave', 'lockin');
    expect(rb2.code, rb2.stderr).toBe(0);
    expect(rb2.out!.lockIn.map((l) => l.outcome)).toEqual(['already-there', 'already-there', 'already-there']);
    expect(sim.counters.get('ec2.ModifyLaunchTemplate')).toBe(modifies);
    expect(lockInState(sim)).toEqual({
      ...before,
      app: { ...before.app, versions: template(sim, APP_LT).versions },
      worker: { ...before.worker, versions: template(sim, WORKER_LT).versions },
    });
  });

  it('the AMI flag needs --confirm-irreversible; HttpTokensEnforced only when asked; rollback --all says the AMI stays', async () => {
    const { sim, plan, journal, lockin, rollback } = await setup('ami');
    const amiStep = plan.lockIn.find((s) => s.kind === 'ami-imds-support');
    expect(amiStep).toMatchObject({ id: stepId.ami, irreversible: true, target: { imdsSupport: 'v2.0' } });
    // The image that already has the flag gets no step.
    expect(plan.lockIn.filter((s) => s.kind === 'ami-imds-support')).toHaveLength(1);

    const first = await lockin('--yes');
    expect(first.code, first.stderr).toBe(0);
    expect(outcomes(first)[stepId.ami]).toBe('needs-confirmation');
    expect(first.out!.lockIn!.steps.find((s) => s.id === stepId.ami)!.message).toMatch(/--confirm-irreversible/);
    expect(first.out!.message).toMatch(/needs-confirmation/);
    expect(image(sim, AMI)).toBeUndefined();
    expect(sim.counters.get('ec2.ModifyImageAttribute')).toBe(0);
    // The reversible steps ran; HttpTokensEnforced, which the policy asks for, waits for its own confirmation.
    expect(outcomes(first)[stepId.enforced]).toBe('needs-confirmation');
    expect(first.out!.lockIn!.steps.find((s) => s.id === stepId.enforced)!.message).toMatch(
      /--confirm-http-tokens-enforced/,
    );
    expect(defaults(sim)).toMatchObject({ httpTokens: 'required', httpTokensEnforced: undefined });
    expect((await lockInRecords(journal)).some((x) => targetOf(x)?.kind === 'image')).toBe(false);

    const second = await lockin('--yes', '--confirm-irreversible');
    expect(second.code, second.stderr).toBe(0);
    expect(outcomes(second)).toMatchObject({
      [stepId.ami]: 'applied',
      [stepId.app]: 'already-done',
      [stepId.defaults]: 'already-done',
      [stepId.enforced]: 'needs-confirmation',
    });
    // Confirmed, it still waits until every wave completed clean (none has run here).
    const third = await lockin('--yes', '--confirm-http-tokens-enforced');
    expect(third.code, third.stderr).toBe(0);
    expect(outcomes(third)[stepId.enforced]).toBe('deferred');
    expect(third.out!.lockIn!.steps.find((s) => s.id === stepId.enforced)!.message).toMatch(/wave 0 \(.*\) not run/);
    expect(defaults(sim).httpTokensEnforced).toBeUndefined();
    expect(image(sim, AMI)).toBe('v2.0');
    const amiIntent = (await lockInRecords(journal)).find((x) => x.type === 'intent' && targetOf(x)?.kind === 'image');
    expect(amiIntent).toMatchObject({ previous: { imdsSupport: null }, desired: { imdsSupport: 'v2.0' } });

    // rollback --all: templates and defaults restored, the AMI reported as irreversible, and the exit code is 0.
    const rb = await rollback('--all');
    expect(rb.code, rb.stderr).toBe(0);
    const byTarget = Object.fromEntries(rb.out!.lockIn.map((l) => [l.target, l.outcome]));
    expect(byTarget).toEqual({
      [`launch template ${APP_LT}`]: 'restored',
      [`launch template ${WORKER_LT}`]: 'restored',
      [`account defaults ${ACCOUNT} ${REGION}`]: 'restored',
      [`image ${AMI}`]: 'irreversible',
    });
    expect(rb.out!.lockIn.find((l) => l.outcome === 'irreversible')!.message).toMatch(/cannot be undone/);
    expect(image(sim, AMI)).toBe('v2.0');
    expect(defaults(sim)).toMatchObject({ httpTokens: undefined, httpTokensEnforced: undefined });
    expect(template(sim, APP_LT).defaultVersion).toBe(2);
  });

  it('--dry-run --wave lockin changes nothing: only DryRun calls, no journal', async () => {
    const { sim, journal, lockin } = await setup('ami');
    const before = lockInState(sim);
    const r = await lockin('--dry-run', '--confirm-irreversible');
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toMatchObject({ outcome: 'dry-run', lockIn: { dryRun: true } });
    expect(outcomes(r)).toEqual({
      [stepId.app]: 'permitted',
      [stepId.worker]: 'permitted',
      [stepId.defaults]: 'permitted',
      [stepId.ami]: 'permitted',
      [stepId.enforced]: 'needs-confirmation',
    });
    expect(lockInState(sim)).toEqual(before);
    // One DryRun per step and no other change call.
    expect(sim.counters.get('ec2.CreateLaunchTemplateVersion')).toBe(2);
    expect(sim.counters.get('ec2.ModifyInstanceMetadataDefaults')).toBe(1);
    expect(sim.counters.get('ec2.ModifyImageAttribute')).toBe(1);
    expect(sim.counters.get('ec2.ModifyLaunchTemplate')).toBe(0);
    await expect(readFile(journal)).rejects.toThrow(/ENOENT/);
  });

  it('a template whose default changed since planning is drift: skipped by default, refused with fail, copied with adopt', async () => {
    const { sim, journal, lockin } = await setup();
    sim.fleet.model.region(ACCOUNT, REGION)!.launchTemplates.find((t) => t.id === APP_LT)!.defaultVersion = 3;
    const before = lockInState(sim);
    const fail = await lockin('--yes', '--on-drift', 'fail');
    expect(fail.code).toBe(2);
    expect(fail.stdout + fail.stderr).toMatch(/DRIFT/);
    expect(lockInState(sim)).toEqual(before);

    const skip = await lockin('--yes');
    expect(skip.code, skip.stderr).toBe(0);
    expect(outcomes(skip)).toMatchObject({ [stepId.app]: 'drifted', [stepId.worker]: 'applied' });
    expect(template(sim, APP_LT)).toEqual(before.app);

    const adopt = await lockin('--yes', '--on-drift', 'adopt');
    expect(adopt.code, adopt.stderr).toBe(0);
    expect(outcomes(adopt)[stepId.app]).toBe('applied');
    const app = template(sim, APP_LT);
    expect(app.defaultVersion).toBe(4);
    expect(app.versions[3]).toMatchObject({ instanceType: 'm6i.2xlarge', metadataOptions: { httpTokens: 'required' } });
    const intent = (await lockInRecords(journal)).find((x) => isTemplate(x, APP_LT));
    expect(intent).toMatchObject({ previous: { defaultVersion: 3 } });
  });

  it('a crash between intent and result: resume makes no second version, rollback restores the original default', async () => {
    const { sim, journal, lockin, rollback } = await setup();
    const r = await lockin('--yes');
    expect(r.code, r.stderr).toBe(0);
    // Cut the journal right after app-lt's intent, and put the template back where a crash after
    // CreateLaunchTemplateVersion but before ModifyLaunchTemplate leaves it: version 4 exists, version 2 is the default.
    const lines = (await readFile(journal, 'utf8')).split('\n').filter(Boolean);
    const at = lines.findIndex((l) => isTemplate(JSON.parse(l) as Rec, APP_LT));
    expect(at).toBeGreaterThan(0);
    await journalAsKilledAfter(journal, at + 1);
    const lts = sim.fleet.model.region(ACCOUNT, REGION)!.launchTemplates;
    const lt = lts.find((t) => t.id === APP_LT)!;
    lt.defaultVersion = 2;
    expect(lt.versions).toHaveLength(4);
    // worker-lt comes after it: as if the killed run never reached it.
    const worker = lts.find((t) => t.id === WORKER_LT)!;
    worker.versions.pop();
    worker.defaultVersion = 1;

    const resumed = await lockin('--yes');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(outcomes(resumed)[stepId.app]).toBe('recovered');
    // The version created before the crash is made the default; no second one.
    expect(template(sim, APP_LT)).toMatchObject({ defaultVersion: 4 });
    expect(template(sim, APP_LT).versions).toHaveLength(4);
    // The intent of the first run holds the true previous state; no second intent was needed for app-lt.
    const appIntents = (await lockInRecords(journal)).filter((x) => isTemplate(x, APP_LT));
    expect(appIntents).toEqual([expect.objectContaining({ previous: expect.objectContaining({ defaultVersion: 2 }) })]);

    expect(outcomes(resumed)[stepId.worker]).toBe('applied');
    expect(template(sim, WORKER_LT)).toMatchObject({ defaultVersion: 2 });

    // A crash after both calls (journal cut after worker-lt's intent, template fully changed): recorded as done.
    const lines2 = (await readFile(journal, 'utf8')).split('\n').filter(Boolean);
    const at2 = lines2.findLastIndex((l) => isTemplate(JSON.parse(l) as Rec, WORKER_LT));
    await journalAsKilledAfter(journal, at2 + 1);
    const again = await lockin('--yes');
    expect(again.code, again.stderr).toBe(0);
    expect(outcomes(again)[stepId.worker]).toBe('recovered');
    expect(template(sim, APP_LT).versions).toHaveLength(4);
    expect(template(sim, WORKER_LT).versions).toHaveLength(2);

    const rb = await rollback('--wave', 'lockin');
    expect(rb.code, rb.stderr).toBe(0);
    expect(template(sim, APP_LT).defaultVersion).toBe(2);
    expect(template(sim, WORKER_LT).defaultVersion).toBe(1);
  });
});
