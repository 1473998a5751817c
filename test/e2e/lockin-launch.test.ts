import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeLaunchConfigurationsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
  type ResponseLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { JournalWriter, createAwsClients, proveLaunches, readJournal } from '@imdsv2-cutover/aws';
import type { JournalRecord, Plan, ScenarioInput } from '@imdsv2-cutover/core';
import { DEFAULT_POLICY_YAML, Scenario, silentReporter } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { useCleanup, useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, NOW, REGION, cliEnv, runCli } from './enforce-helpers.js';

/**
 * The launch side of lock-in against the simulator, through the CLI: the AMI flag only on the account's own image,
 * template versions that keep their snapshots, a launch-configuration group and a mixed instances group moved to
 * tokens required and rolled back, and canary launches that prove it.
 */

const tempDir = useTempDirs('imdsv2-lockin-launch-');
const defer = useCleanup();

const OWNER = '444444444444';
const OWN_AMI = 'ami-0c1b2c3d4e5f6a001';
const SHARED_AMI = 'ami-0c1b2c3d4e5f6a002';
const AMAZON_AMI = 'ami-0c1b2c3d4e5f6a003';
const WEB_LT = 'lt-0c0000000000000a1';
const WORKER_LT = 'lt-0c0000000000000b2';
const GOLDEN_LT = 'lt-0c0000000000000c3';
const ROOT_SNAPSHOT = 'snap-0c1b2c3d4e5f6a001';
const LC_SNAPSHOT = 'snap-0c1b2c3d4e5f6a002';

/** web-lt's version 1: everything a template commonly holds, a root volume from a snapshot, instance tags on. */
const webData = {
  KeyName: 'web-ops',
  IamInstanceProfile: { Name: 'web-instance-profile' },
  SecurityGroupIds: ['sg-0c1b2c3d4e5f6a001'],
  UserData: 'IyEvYmluL2Jhc2gKZWNobyB3ZWI=',
  Monitoring: { Enabled: true },
  EbsOptimized: true,
  BlockDeviceMappings: [
    {
      DeviceName: '/dev/xvda',
      Ebs: {
        SnapshotId: ROOT_SNAPSHOT,
        VolumeSize: 30,
        VolumeType: 'gp3',
        Encrypted: true,
        DeleteOnTermination: true,
        Iops: 3000,
        Throughput: 125,
      },
    },
    {
      DeviceName: '/dev/xvdb',
      Ebs: {
        VolumeSize: 100,
        VolumeType: 'gp3',
        Encrypted: true,
        KmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/0c1b2c3d-0000-4000-8000-000000000001',
      },
    },
    { DeviceName: '/dev/sdc', VirtualName: 'ephemeral0' },
    { DeviceName: '/dev/sdd', NoDevice: '' },
  ],
  TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Application', Value: 'web' }] }],
};

/**
 * One account: its own AMI, a golden AMI another account (444444444444) shares with it, and a public Amazon image
 * without ImdsSupport. `batch-asg` launches from launch configuration `batch-lc`; `web-mixed-asg` has a mixed instances
 * policy on `web-lt` whose second override names `worker-lt` (no instance type of its own); `golden-lt` launches the
 * shared image outside any group. Only web-lt had launches within the 14-day lookback.
 */
function launchScenario(): Scenario {
  return Scenario.parse({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'lockin-launch-e2e',
    seed: 23,
    now: NOW,
    emitZeroDatapoints: true,
    regions: [REGION],
    accounts: [
      { id: ACCOUNT, name: 'prod' },
      { id: OWNER, name: 'images' },
    ],
    images: [
      { id: OWN_AMI, account: ACCOUNT, region: REGION, name: 'app-2026-10' },
      { id: SHARED_AMI, account: ACCOUNT, region: REGION, name: 'golden-2026-10', owner: OWNER },
      {
        id: AMAZON_AMI,
        account: OWNER,
        region: REGION,
        name: 'amzn2-ami-hvm-2.0.20261001-x86_64-gp2',
        public: true,
        ownerAlias: 'amazon',
      },
    ],
    launchTemplates: [
      {
        id: WEB_LT,
        name: 'web-lt',
        account: ACCOUNT,
        region: REGION,
        versions: [
          {
            imageId: OWN_AMI,
            instanceType: 'm6i.large',
            metadataOptions: {
              httpTokens: 'optional',
              httpPutResponseHopLimit: 1,
              httpEndpoint: 'enabled',
              instanceMetadataTags: 'enabled',
            },
            launchTemplateData: webData,
          },
        ],
      },
      {
        id: WORKER_LT,
        name: 'worker-lt',
        account: ACCOUNT,
        region: REGION,
        versions: [{ imageId: OWN_AMI, metadataOptions: { httpTokens: 'optional' } }],
      },
      {
        id: GOLDEN_LT,
        name: 'golden-lt',
        account: ACCOUNT,
        region: REGION,
        versions: [{ imageId: SHARED_AMI, instanceType: 'c6i.large', metadataOptions: { httpTokens: 'optional' } }],
      },
    ],
    launchConfigurations: [
      {
        name: 'batch-lc',
        account: ACCOUNT,
        region: REGION,
        imageId: OWN_AMI,
        instanceType: 'c5.large',
        metadataOptions: { httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
        data: {
          KeyName: 'batch-ops',
          SecurityGroups: ['sg-0c1b2c3d4e5f6a002'],
          IamInstanceProfile: 'batch-instance-profile',
          UserData: 'IyEvYmluL2Jhc2gKZWNobyBiYXRjaA==',
          InstanceMonitoring: { Enabled: false },
          BlockDeviceMappings: [
            { DeviceName: '/dev/xvda', Ebs: { SnapshotId: LC_SNAPSHOT, VolumeSize: 50, VolumeType: 'gp3' } },
            { DeviceName: '/dev/sdc', NoDevice: true },
          ],
        },
      },
    ],
    autoScalingGroups: [
      { name: 'batch-asg', account: ACCOUNT, region: REGION, launchConfiguration: 'batch-lc', minSize: 1, maxSize: 10 },
      {
        name: 'web-mixed-asg',
        account: ACCOUNT,
        region: REGION,
        mixedInstancesPolicy: {
          launchTemplate: { name: 'web-lt', version: '$Default' },
          overrides: [
            { instanceType: 'm6i.large' },
            { instanceType: 'c6i.xlarge', launchTemplate: { name: 'worker-lt', version: '$Latest' } },
          ],
        },
        minSize: 1,
        maxSize: 10,
      },
    ],
    instanceGroups: [
      { name: 'batch', account: ACCOUNT, region: REGION, count: 2, autoScalingGroup: 'batch-asg', launchedAt: '-60d' },
      {
        name: 'web',
        account: ACCOUNT,
        region: REGION,
        count: 2,
        autoScalingGroup: 'web-mixed-asg',
        launchTemplate: { name: 'web-lt' },
        launchedAt: '-3d',
      },
      {
        name: 'golden',
        account: ACCOUNT,
        region: REGION,
        count: 1,
        imageId: SHARED_AMI,
        launchTemplate: { name: 'golden-lt' },
        launchedAt: '-90d',
      },
      { name: 'legacy', account: ACCOUNT, region: REGION, count: 1, imageId: AMAZON_AMI, launchedAt: '-90d' },
    ],
  } satisfies ScenarioInput);
}

interface StepOut {
  id: string;
  kind: string;
  outcome: string;
  message: string;
  warnings: string[];
}
interface ProofOut {
  launchTemplateId: string;
  canaryId: string;
  instanceId: string | null;
  httpTokens: string | null;
  outcome: string;
  cleanedUp: boolean;
}
interface EnforceOut {
  outcome: string;
  message: string;
  lockIn: { steps: StepOut[]; proofs: ProofOut[] } | null;
}
interface RollbackOut {
  message: string;
  lockIn: { target: string; outcome: string; message: string }[];
}

let workDir = '';
let assessmentFile = '';
let planFile = '';
let thePlan: Plan;

/** Assesses and plans once (with the AMI flag opted in); every test starts a fresh simulator from the same seed. */
beforeAll(async () => {
  const sim = await startSimulator({ scenario: launchScenario(), clock: { speed: 60 } });
  workDir = await mkdtemp(path.join(tmpdir(), 'imdsv2-lockin-launch-plan-'));
  try {
    const env = cliEnv(sim);
    const a = await runCli(['assess', '--regions', REGION, '--out', workDir, '--endpoint-url', sim.url], env);
    expect(a.code, a.stderr).toBe(0);
    assessmentFile = path.join(workDir, 'assessment.json');
    const policyFile = path.join(workDir, 'policy.yaml');
    await writeFile(policyFile, DEFAULT_POLICY_YAML.replace('  amiImdsSupport: false', '  amiImdsSupport: true'));
    planFile = path.join(workDir, 'plan.json');
    const p = await runCli(['plan', '-a', assessmentFile, '-p', policyFile, '-o', planFile], env);
    expect(p.code, p.stderr).toBe(0);
    thePlan = JSON.parse(await readFile(planFile, 'utf8')) as Plan;
  } finally {
    await sim.stop();
  }
}, 120_000);
afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** A fresh simulator and journal, the plan copied next to it, and the clients and commands a test uses. */
async function setup() {
  const sim = await startSimulator({ scenario: launchScenario(), clock: { speed: 60 } });
  defer(() => sim.stop());
  const dir = await tempDir();
  const env = cliEnv(sim);
  const cli = (...args: string[]) => runCli([...args, '--endpoint-url', sim.url], env);
  const plan = path.join(dir, 'plan.json');
  await copyFile(planFile, plan);
  const journal = path.join(dir, 'journal.jsonl');
  const lockin = async (...extra: string[]) => {
    const r = await cli(
      'enforce',
      '--plan',
      plan,
      '--wave',
      'lockin',
      '--journal',
      journal,
      '--yes',
      '--json',
      ...extra,
    );
    return { ...r, out: r.stdout ? (JSON.parse(r.stdout) as EnforceOut) : null };
  };
  const rollback = async () => {
    const r = await cli('rollback', '--journal', journal, '--wave', 'lockin', '--json');
    return { ...r, out: r.stdout ? (JSON.parse(r.stdout) as RollbackOut) : null };
  };
  const config = {
    endpoint: sim.url,
    region: REGION,
    credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'simulated' },
    disableClockSkewCorrection: true,
  };
  const ec2 = new EC2Client(config);
  const asg = new AutoScalingClient(config);
  defer(async () => {
    ec2.destroy();
    asg.destroy();
  });
  return { sim, dir, cli, plan, journal, lockin, rollback, ec2, asg, env };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function versionData(s: Setup, id: string, version: string): Promise<ResponseLaunchTemplateData> {
  const r = await s.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [version] }));
  return r.LaunchTemplateVersions![0]!.LaunchTemplateData!;
}
async function defaultVersion(s: Setup, id: string): Promise<number> {
  const r = await s.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }));
  return r.LaunchTemplates![0]!.DefaultVersionNumber!;
}
async function group(s: Setup, name: string) {
  const r = await s.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return r.AutoScalingGroups![0]!;
}
async function launchConfiguration(s: Setup, name: string) {
  const r = await s.asg.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: [name] }));
  return r.LaunchConfigurations![0]!;
}
const withoutMetadata = ({ MetadataOptions: _m, ...rest }: ResponseLaunchTemplateData) => rest;
const lockInRecords = async (journal: string): Promise<JournalRecord[]> =>
  (await readJournal(journal)).records.filter((r) => r.wave === 'lockin');
/** Instances of the simulated fleet that carry the canary tag, with their state. */
function canaries(sim: Simulator) {
  return [...sim.fleet.model.allInstances()]
    .filter((i) => i.tags['imdsv2-cutover:canary'] !== undefined)
    .map((i) => ({ id: i.id, tag: i.tags['imdsv2-cutover:canary']!, type: i.instanceType, terminated: i.terminated }));
}

describe('lock-in of what launches, against the simulator', () => {
  it('plans the AMI flag only on the image the account owns; the shared and the public image are manual work naming their owner, in the plan and the report', async () => {
    const amiSteps = thePlan.lockIn.filter((s) => s.kind === 'ami-imds-support');
    expect(amiSteps.map((s) => s.resourceId)).toEqual([OWN_AMI]);
    const manual: Record<string, Plan['manualLockIn'][number]> = Object.fromEntries(
      thePlan.manualLockIn.filter((m) => m.kind === 'ami-not-owned').map((m) => [m.resourceId ?? '', m]),
    );
    expect(Object.keys(manual).sort()).toEqual([SHARED_AMI, AMAZON_AMI].sort());
    expect(manual[SHARED_AMI]).toMatchObject({ accountId: ACCOUNT, owner: { accountId: OWNER } });
    expect(manual[SHARED_AMI]!.reason).toMatch(
      /owned by account 444444444444, shared with this account: only its owner can set ImdsSupport=v2.0\. Ask account 444444444444 to set it .*or copy the image into this account/,
    );
    expect(manual[AMAZON_AMI]).toMatchObject({ owner: { accountId: OWNER, alias: 'amazon' } });
    expect(manual[AMAZON_AMI]!.reason).toMatch(/owned by account 444444444444 \(amazon\), public/);

    const out = await tempDir();
    const r = await runCli(
      ['report', '--assessment', assessmentFile, '--plan', planFile, '--out', out, '--format', 'md'],
      process.env,
    );
    expect(r.code, r.stderr).toBe(0);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain('### Lock-in to do by hand');
    expect(md).toContain(`| ami-not-owned | ${ACCOUNT} / ${REGION} | ${AMAZON_AMI} | ${OWNER} (amazon) |`);
    // What each group launches, and the launches never measured.
    expect(md).toMatch(
      /\| Auto Scaling group \| batch-asg \| batch-lc \| 111111111111 \/ us-east-1 \| launch configuration, HttpTokens optional \|/,
    );
    expect(md).toMatch(/mixed instances policy: web-lt \(\$Default\); overrides: worker-lt \(\$Latest\)/);
    expect(md).toMatch(/no instance launched from launch template worker-lt in the 14-day lookback was seen/);

    // Proving belongs to the lock-in wave: refused with any other, before anything is read or changed.
    const wrong = await runCli(['enforce', '--plan', planFile, '--wave', '0', '--yes', '--prove-launch'], process.env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--prove-launch goes with --wave lockin, not --wave 0');
  }, 120_000);

  it('a template with a snapshot mapping: the new version keeps it and every other member of the source; only MetadataOptions change', async () => {
    const s = await setup();
    const source = await versionData(s, WEB_LT, '1');
    expect(source.BlockDeviceMappings![0]!.Ebs!.SnapshotId).toBe(ROOT_SNAPSHOT);
    const r = await s.lockin();
    expect(r.code, r.stderr).toBe(0);
    expect(await defaultVersion(s, WEB_LT)).toBe(2);
    const made = await versionData(s, WEB_LT, '2');
    // Field by field: everything but MetadataOptions is the source's, the root snapshot included.
    expect(withoutMetadata(made)).toEqual(withoutMetadata(source));
    expect(made.BlockDeviceMappings![0]!.Ebs!.SnapshotId).toBe(ROOT_SNAPSHOT);
    const hop = thePlan.lockIn.find((x) => x.resourceId === WEB_LT)!.target.httpPutResponseHopLimit;
    expect(made.MetadataOptions).toEqual({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: hop,
      HttpEndpoint: 'enabled',
      InstanceMetadataTags: 'enabled',
    });
    // The same for the templates without block devices.
    for (const id of [WORKER_LT, GOLDEN_LT]) {
      expect(withoutMetadata(await versionData(s, id, '2'))).toEqual(withoutMetadata(await versionData(s, id, '1')));
      expect((await versionData(s, id, '2')).MetadataOptions).toMatchObject({ HttpTokens: 'required' });
    }
    // Only web-lt had launches within the lookback: the others are flagged as never measured.
    const warned = r.out!.lockIn!.steps.filter((x) => x.warnings.length > 0).map((x) => x.id);
    expect(warned).toContain(`launch-template:${ACCOUNT}:${REGION}:${WORKER_LT}`);
    expect(warned).not.toContain(`launch-template:${ACCOUNT}:${REGION}:${WEB_LT}`);
    expect(r.stderr).toMatch(/LAUNCH_UNMEASURED|never measured/);
  }, 120_000);

  it('a launch-configuration group: moved to a template made from its configuration, journaled; rollback moves it back, exactly as before, and keeps the template', async () => {
    const s = await setup();
    const groupBefore = await group(s, 'batch-asg');
    const lcBefore = await launchConfiguration(s, 'batch-lc');
    expect(groupBefore.LaunchConfigurationName).toBe('batch-lc');

    const r = await s.lockin();
    expect(r.code, r.stderr).toBe(0);
    const step = r.out!.lockIn!.steps.find((x) => x.kind === 'launch-configuration-migration')!;
    expect(step).toMatchObject({ id: `launch-configuration:${ACCOUNT}:${REGION}:batch-asg`, outcome: 'applied' });
    const moved = await group(s, 'batch-asg');
    expect(moved.LaunchConfigurationName).toBeUndefined();
    expect(moved.LaunchTemplate).toMatchObject({ LaunchTemplateName: 'batch-lc', Version: '$Default' });
    const templateId = moved.LaunchTemplate!.LaunchTemplateId!;
    // The template is the configuration, member by member as AWS maps it, with tokens required.
    expect(await versionData(s, templateId, '$Default')).toEqual({
      ImageId: OWN_AMI,
      InstanceType: 'c5.large',
      KeyName: 'batch-ops',
      UserData: 'IyEvYmluL2Jhc2gKZWNobyBiYXRjaA==',
      EbsOptimized: false,
      IamInstanceProfile: { Name: 'batch-instance-profile' },
      Monitoring: { Enabled: false },
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { SnapshotId: LC_SNAPSHOT, VolumeSize: 50, VolumeType: 'gp3' } },
        { DeviceName: '/dev/sdc', NoDevice: '' },
      ],
      SecurityGroupIds: ['sg-0c1b2c3d4e5f6a002'],
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
    });
    // Journaled before the change with the exact previous launch source, and after with what was made.
    const recs = (await lockInRecords(s.journal)).filter(
      (x) => 'target' in x && x.target.kind === 'auto-scaling-group' && x.target.autoScalingGroupName === 'batch-asg',
    );
    expect(recs.map((x) => x.type)).toEqual(['intent', 'result']);
    expect(recs[0]).toMatchObject({
      action: 'apply',
      previous: {
        launchConfigurationName: 'batch-lc',
        launchTemplateId: null,
        launchTemplateName: null,
        launchTemplateVersion: null,
        mixedInstancesPolicy: false,
      },
      desired: { launchConfigurationName: null, launchTemplateName: 'batch-lc', launchTemplateVersion: '$Default' },
    });
    expect(recs[1]).toMatchObject({
      outcome: 'ok',
      detail: { launchTemplateId: templateId, launchConfigurationName: 'batch-lc', templateCreated: true },
    });

    const rb = await s.rollback();
    expect(rb.code, rb.stderr).toBe(0);
    const restored = rb.out!.lockIn.find((x) => x.target === 'Auto Scaling group batch-asg')!;
    expect(restored.outcome).toBe('restored');
    expect(restored.message).toContain(
      `is kept (instances it launched still name it, and lock-in reuses it): delete it with \`aws ec2 delete-launch-template --launch-template-id ${templateId}\``,
    );
    // Exactly as before: the group (instances included) and the configuration; the template still exists.
    expect(await group(s, 'batch-asg')).toEqual(groupBefore);
    expect(await launchConfiguration(s, 'batch-lc')).toEqual(lcBefore);
    expect(await defaultVersion(s, templateId)).toBe(1);

    // Lock-in again reuses the template it made: no second CreateLaunchTemplate.
    const creates = s.sim.counters.get('ec2.CreateLaunchTemplate');
    const again = await s.lockin();
    expect(again.code, again.stderr).toBe(0);
    expect(s.sim.counters.get('ec2.CreateLaunchTemplate')).toBe(creates);
    expect((await group(s, 'batch-asg')).LaunchTemplate?.LaunchTemplateId).toBe(templateId);
  }, 180_000);

  it('a mixed instances group: its template and the one an override names get tokens required; rollback restores both, and the group never changed', async () => {
    const s = await setup();
    const groupBefore = await group(s, 'web-mixed-asg');
    const r = await s.lockin();
    expect(r.code, r.stderr).toBe(0);
    for (const id of [WEB_LT, WORKER_LT]) {
      const step = r.out!.lockIn!.steps.find((x) => x.id === `launch-template:${ACCOUNT}:${REGION}:${id}`)!;
      expect(step.outcome).toBe('applied');
      expect(await defaultVersion(s, id)).toBe(2);
      expect((await versionData(s, id, '$Default')).MetadataOptions?.HttpTokens).toBe('required');
    }
    expect(thePlan.lockIn.find((x) => x.resourceId === WORKER_LT)!.affects).toEqual(['web-mixed-asg']);
    // The group names $Default and $Latest: the new versions reach it without touching it.
    expect(await group(s, 'web-mixed-asg')).toEqual(groupBefore);

    const rb = await s.rollback();
    expect(rb.code, rb.stderr).toBe(0);
    expect(await defaultVersion(s, WEB_LT)).toBe(1);
    expect(await defaultVersion(s, WORKER_LT)).toBe(1);
    expect(await group(s, 'web-mixed-asg')).toEqual(groupBefore);
  }, 180_000);

  it('--prove-launch: a canary from each changed template comes up with tokens required and is terminated, journaled', async () => {
    const s = await setup();
    const r = await s.lockin('--prove-launch');
    expect(r.code, r.stderr).toBe(0);
    const proofs = r.out!.lockIn!.proofs;
    const batchTemplate = (await group(s, 'batch-asg')).LaunchTemplate!.LaunchTemplateId!;
    expect(proofs.map((p) => p.launchTemplateId).sort()).toEqual([WEB_LT, WORKER_LT, GOLDEN_LT, batchTemplate].sort());
    for (const p of proofs) expect(p).toMatchObject({ outcome: 'proven', httpTokens: 'required', cleanedUp: true });
    expect(r.out!.message).toMatch(/launches proven 4 of 4/);
    // Every canary carries its tag and is terminated; worker-lt names no instance type: the override's was used.
    const launched = canaries(s.sim);
    expect(launched).toHaveLength(4);
    expect(launched.every((c) => c.terminated)).toBe(true);
    const worker = proofs.find((p) => p.launchTemplateId === WORKER_LT)!;
    expect(launched.find((c) => c.id === worker.instanceId)).toMatchObject({
      tag: worker.canaryId,
      type: 'c6i.xlarge',
    });
    // Journaled as created resources: intent before RunInstances, the instance in the result, then the termination.
    const recs = await lockInRecords(s.journal);
    for (const p of proofs) {
      const mine = recs.filter((x) => 'target' in x && x.target.kind === 'canary' && x.target.canaryId === p.canaryId);
      expect(mine.map((x) => `${x.type}:${'action' in x ? x.action : ''}`)).toEqual([
        'intent:apply',
        'result:apply',
        'intent:rollback',
        'result:rollback',
      ]);
      expect(mine[1]).toMatchObject({ outcome: 'ok', detail: { instanceId: p.instanceId } });
    }
    const st = await s.cli('status', '--plan', s.plan, '--journal', s.journal, '--json');
    expect(st.code, st.stderr).toBe(0);
    const canaryStates = (JSON.parse(st.stdout) as { canaries: { state: string }[] }).canaries.map((c) => c.state);
    expect(canaryStates).toEqual(['terminated', 'terminated', 'terminated', 'terminated']);
  }, 180_000);

  it('a canary that comes up with tokens optional is reported not proven, and still terminated', async () => {
    const s = await setup();
    // The proof of a template whose step is taken as done although its default version still allows IMDSv1 (what a
    // template changed back behind lock-in's back would show).
    const id = `launch-template:${ACCOUNT}:${REGION}:${GOLDEN_LT}`;
    const factory = createAwsClients({
      region: REGION,
      endpointUrl: s.sim.url,
      credentials: { accessKeyId: s.sim.defaultAccessKeyId, secretAccessKey: 'simulated' },
    });
    defer(async () => factory.destroy());
    const journal = await JournalWriter.open({
      file: s.journal,
      planContentHash: thePlan.contentHash,
      tool: { name: 'imdsv2-cutover', version: 'test' },
    });
    let proofs;
    try {
      proofs = await proveLaunches({
        plan: thePlan,
        steps: [
          { id, kind: 'launch-template-version', outcome: 'already-done', message: '', previous: null, warnings: [] },
        ],
        clients: factory.clientsFor({ callerAccount: ACCOUNT }),
        journal,
        reporter: silentReporter,
        timeoutMs: 60_000,
      });
    } finally {
      await journal.close();
    }
    expect(proofs).toEqual([
      expect.objectContaining({
        launchTemplateId: GOLDEN_LT,
        outcome: 'not-proven',
        httpTokens: 'optional',
        cleanedUp: true,
      }),
    ]);
    expect(proofs[0]!.message).toMatch(/NOT proven: canary i-[0-9a-f]+ came up with HttpTokens=optional/);
    expect(canaries(s.sim).every((c) => c.terminated)).toBe(true);
  }, 120_000);

  it('a crash while a canary runs leaves it in the journal: status shows it, rollback terminates it', async () => {
    const s = await setup();
    // Hold the canary's DescribeInstances so that the run is killed while the canary runs.
    s.sim.setFaults({ slowRate: 1, slowMs: 15_000, operations: ['ec2.DescribeInstances'] });
    const killed = await runCli(
      ['enforce', '--plan', s.plan, '--wave', 'lockin', '--journal', s.journal, '--yes', '--prove-launch'].concat([
        '--endpoint-url',
        s.sim.url,
      ]),
      s.env,
      { when: () => canaries(s.sim).some((c) => !c.terminated), afterMs: 150_000 },
    );
    s.sim.setFaults({});
    expect(killed.signal).toBe('SIGKILL');
    const running = canaries(s.sim).filter((c) => !c.terminated);
    expect(running).toHaveLength(1);

    const st = await s.cli('status', '--plan', s.plan, '--journal', s.journal, '--json');
    expect(st.code, st.stderr).toBe(0);
    const shown = (JSON.parse(st.stdout) as { canaries: { canaryId: string; state: string }[] }).canaries;
    expect(shown).toEqual([expect.objectContaining({ canaryId: running[0]!.tag, state: 'to-terminate' })]);
    const text = await s.cli('status', '--plan', s.plan, '--journal', s.journal);
    expect(text.stdout).toContain(`canary ${running[0]!.tag}`);
    expect(text.stdout).toMatch(/may still run: `imdsv2 rollback --journal .* --wave lockin` terminates it/);

    const rb = await s.rollback();
    expect(rb.code, rb.stderr).toBe(0);
    const ended = rb.out!.lockIn.find((x) => x.target.startsWith(`canary ${running[0]!.tag}`))!;
    expect(ended).toMatchObject({ outcome: 'restored' });
    expect(ended.message).toContain(`terminated ${running[0]!.id}`);
    expect(canaries(s.sim).every((c) => c.terminated)).toBe(true);
  }, 240_000);
});
