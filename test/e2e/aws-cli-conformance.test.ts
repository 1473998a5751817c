import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { describePrivileged } from '@imdsv2-cutover/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * The AWS CLI (botocore: its own serializers and parsers for every AWS protocol, built from the service models) as an
 * independent client of the simulator. Each row runs one `aws <service> <command>` with `--endpoint-url`, `--region`
 * and `--output json`, credentials in the environment, and checks the parsed JSON against the API reference's shapes,
 * or the error code the CLI reports. Rows run in order and may use what earlier rows found (`ctx`).
 *
 * To add a service's operations, add rows: `scenario` names the bundled scenario the row runs against (one simulator
 * per scenario, started on first use).
 */

interface CliRow {
  /** What the row checks, in words (the test name). */
  name: string;
  scenario: string;
  /** The CLI's service name: ec2, autoscaling, cloudwatch, ssm, sts, ... */
  service: string;
  /** The command and its options; a function of what earlier rows stored in `ctx`. */
  args: string[] | ((ctx: Ctx) => string[]);
  region?: string;
  /** The account whose access key signs the call (default: SCENARIO_ACCOUNT, else 111111111111). */
  account?: string;
  /** The error code the CLI must report (`An error occurred (<code>) ...`); the call must fail. */
  error?: string;
  /** Assertions on the parsed JSON output (or, with `error`, on the error message). */
  expect?: (out: Json, ctx: Ctx) => void;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Ctx = Record<string, string>;

const run = promisify(execFile);
const ACCOUNT = '111111111111';
/** The account that signs a row's calls when the row names none: the scenario's only (or first) account. */
const SCENARIO_ACCOUNT: Record<string, string> = {
  'enforced-defaults': '333333333333',
  'cloudwatch-monitoring': '333333333333',
  'run-command-faults': '333333333333',
};
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const ENFORCED =
  "You can't launch instances with IMDSv1 because httpTokensEnforced is enabled for this account. Either launch the instance with httpTokens=required or contact your account owner to disable httpTokensEnforced using the ModifyInstanceMetadataDefaults API or the account settings in the EC2 console.";

/** The launch data the CLI creates `cli-lt` with: every member the tool must preserve. */
const cliTemplateData = {
  ImageId: 'ami-0bb1b2c3d4e5f6001',
  InstanceType: 'm6i.large',
  KeyName: 'ops',
  IamInstanceProfile: { Name: 'web' },
  UserData: 'ZWNobyBoaQ==',
  Monitoring: { Enabled: true },
  EbsOptimized: true,
  BlockDeviceMappings: [
    {
      DeviceName: '/dev/xvda',
      Ebs: {
        SnapshotId: 'snap-0ccccccccccccccc1',
        VolumeSize: 20,
        VolumeType: 'gp3',
        Encrypted: true,
        DeleteOnTermination: true,
        Iops: 3000,
        Throughput: 125,
      },
    },
    { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
    { DeviceName: '/dev/sdc', NoDevice: '' },
  ],
  NetworkInterfaces: [{ DeviceIndex: 0, Groups: ['sg-0ccccccccccccccc1'], SubnetId: 'subnet-0ccccccccccccccc1' }],
  TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Team', Value: 'web' }] }],
  MetadataOptions: { HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
};

const firstInstance = (out: Json): Json => out.Instances[0] as Json;
const idFromDescription = (a: Json): string => String(a.Description).split(': ')[1]!;

/** A row that finds the instance tagged Name=`name` and stores its id in `ctx[key]`. */
function instanceIdRow(scenario: string, name: string, key: string): CliRow {
  return {
    name: `DescribeInstances --filters Name=tag:Name,Values=${name}`,
    scenario,
    service: 'ec2',
    args: ['describe-instances', '--filters', `Name=tag:Name,Values=${name}`],
    expect(out, ctx) {
      const found = (out.Reservations as Json[]).flatMap((r) => r.Instances as Json[]);
      expect(found).toHaveLength(1);
      expect(found[0]!.InstanceId).toMatch(INSTANCE_ID);
      ctx[key] = found[0]!.InstanceId as string;
    },
  };
}

/** A GetMetricStatistics row over 10:00-11:00 of cloudwatch-monitoring's day: how many datapoints, their total. */
function metricRow(
  name: string,
  m: { instance: string; metric?: string; period: number; datapoints: number; sum: number },
): CliRow {
  const metric = m.metric ?? 'MetadataNoToken';
  return {
    name: `GetMetricStatistics ${metric}: ${name}`,
    scenario: 'cloudwatch-monitoring',
    service: 'cloudwatch',
    args: (ctx) => [
      ...['get-metric-statistics', '--namespace', 'AWS/EC2', '--metric-name', metric, '--statistics', 'Sum'],
      ...['--dimensions', `Name=InstanceId,Value=${ctx[m.instance]!}`, '--period', String(m.period)],
      ...['--start-time', '2026-06-01T10:00:00Z', '--end-time', '2026-06-01T11:00:00Z'],
    ],
    expect(out) {
      expect(out.Label).toBe(metric);
      const points = out.Datapoints as Json[];
      expect(points).toHaveLength(m.datapoints);
      for (const p of points) expect(p.Unit).toBe('Count');
      expect(points.reduce((t, p) => t + (p.Sum as number), 0)).toBe(m.sum);
    },
  };
}

const rows: CliRow[] = [
  // --- EC2: images (templates-and-images: prod 111111111111 sees its own image, one shared by 444444444444 and a
  // public Amazon image) ---
  {
    name: 'DescribeImages: OwnerId, Public, ImageOwnerAlias, ImdsSupport',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['describe-images'],
    expect(out) {
      const byId = new Map((out.Images as Json[]).map((i) => [i.ImageId, i]));
      for (const i of byId.values()) {
        expect(i.ImageId).toMatch(AMI_ID);
        expect(i.State).toBe('available');
        expect(typeof i.Public).toBe('boolean');
      }
      expect(byId.get('ami-0bb1b2c3d4e5f6002')).toMatchObject({ OwnerId: '444444444444', Public: false });
      expect(byId.get('ami-0bb1b2c3d4e5f6003')).toMatchObject({
        OwnerId: '444444444444',
        Public: true,
        ImageOwnerAlias: 'amazon',
        ImdsSupport: 'v2.0',
      });
    },
  },
  {
    name: 'DescribeImages --owners self',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['describe-images', '--owners', 'self'],
    expect: (out) => expect((out.Images as Json[]).map((i): unknown => i.ImageId)).toEqual(['ami-0bb1b2c3d4e5f6001']),
  },
  {
    name: 'ModifyImageAttribute --imds-support v2.0 (EC2 UG example) on an image the caller owns',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['modify-image-attribute', '--image-id', 'ami-0bb1b2c3d4e5f6001', '--imds-support', 'v2.0'],
  },
  {
    name: 'ModifyImageAttribute on a shared image the caller does not own: AuthFailure',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['modify-image-attribute', '--image-id', 'ami-0bb1b2c3d4e5f6002', '--imds-support', 'v2.0'],
    error: 'AuthFailure',
    expect: (out) => expect(out.message).toContain('Not authorized for image:ami-0bb1b2c3d4e5f6002'),
  },
  // --- EC2: launch templates ---
  {
    name: 'CreateLaunchTemplate with block devices, network interfaces, tags and metadata options',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: [
      'create-launch-template',
      '--launch-template-name',
      'cli-lt',
      '--version-description',
      'from the CLI',
      '--launch-template-data',
      JSON.stringify(cliTemplateData),
      '--tag-specifications',
      'ResourceType=launch-template,Tags=[{Key=Owner,Value=web-team}]',
    ],
    expect(out, ctx) {
      expect(out.LaunchTemplate).toMatchObject({
        LaunchTemplateName: 'cli-lt',
        DefaultVersionNumber: 1,
        LatestVersionNumber: 1,
        CreatedBy: `arn:aws:iam::${ACCOUNT}:root`,
        Tags: [{ Key: 'Owner', Value: 'web-team' }],
      });
      expect(out.LaunchTemplate.LaunchTemplateId).toMatch(/^lt-[0-9a-f]{17}$/);
      expect(out.LaunchTemplate.CreateTime).toMatch(ISO_TIME);
      ctx.lt = out.LaunchTemplate.LaunchTemplateId;
    },
  },
  {
    name: 'CreateLaunchTemplate with a name in use: InvalidLaunchTemplateName.AlreadyExistsException',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: [
      'create-launch-template',
      '--launch-template-name',
      'cli-lt',
      '--launch-template-data',
      '{"InstanceType":"t3.micro"}',
    ],
    error: 'InvalidLaunchTemplateName.AlreadyExistsException',
  },
  {
    name: 'DescribeLaunchTemplateVersions returns every member as created',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['describe-launch-template-versions', '--launch-template-id', ctx.lt!, '--versions', '1'],
    expect(out) {
      const v = out.LaunchTemplateVersions[0] as Json;
      expect(v).toMatchObject({ VersionNumber: 1, DefaultVersion: true, VersionDescription: 'from the CLI' });
      expect(v.LaunchTemplateData).toEqual(cliTemplateData);
    },
  },
  {
    name: 'CreateLaunchTemplateVersion --source-version: inherited, MetadataOptions replaced, snapshot dropped',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => [
      'create-launch-template-version',
      '--launch-template-id',
      ctx.lt!,
      '--source-version',
      '1',
      '--launch-template-data',
      '{"MetadataOptions":{"HttpTokens":"required","HttpEndpoint":"enabled","HttpPutResponseHopLimit":2}}',
    ],
    expect(out) {
      const v = out.LaunchTemplateVersion as Json;
      expect(v.VersionNumber).toBe(2);
      expect(v.DefaultVersion).toBe(false);
      expect(v.LaunchTemplateData.MetadataOptions).toEqual({
        HttpTokens: 'required',
        HttpEndpoint: 'enabled',
        HttpPutResponseHopLimit: 2,
      });
      expect(v.LaunchTemplateData.KeyName).toBe('ops');
      expect(v.LaunchTemplateData.BlockDeviceMappings[0].Ebs).not.toHaveProperty('SnapshotId');
      expect(v.LaunchTemplateData.BlockDeviceMappings[0].Ebs.VolumeSize).toBe(20);
    },
  },
  {
    name: 'ModifyLaunchTemplate --default-version',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['modify-launch-template', '--launch-template-id', ctx.lt!, '--default-version', '2'],
    expect: (out) => expect(out.LaunchTemplate).toMatchObject({ DefaultVersionNumber: 2, LatestVersionNumber: 2 }),
  },
  {
    name: 'DescribeLaunchTemplates',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['describe-launch-templates', '--launch-template-names', 'cli-lt', 'web-lt'],
    expect: (out) =>
      expect(
        (out.LaunchTemplates as Json[]).map((t): unknown[] => [t.LaunchTemplateName, t.DefaultVersionNumber]),
      ).toEqual([
        ['cli-lt', 2],
        ['web-lt', 1],
      ]),
  },
  {
    name: 'DescribeLaunchTemplateVersions shows a resolve:ssm image id as given by default',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['describe-launch-template-versions', '--launch-template-name', 'al2023-lt'],
    expect: (out) =>
      expect(out.LaunchTemplateVersions[0].LaunchTemplateData.ImageId).toBe(
        'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      ),
  },
  {
    name: 'DescribeLaunchTemplateVersions --resolve-alias shows the AMI id',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['describe-launch-template-versions', '--launch-template-name', 'al2023-lt', '--resolve-alias'],
    expect: (out) => expect(out.LaunchTemplateVersions[0].LaunchTemplateData.ImageId).toBe('ami-0bb1b2c3d4e5f6003'),
  },
  {
    name: 'DescribeLaunchTemplateVersions for every template ($Latest, account-wide)',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['describe-launch-template-versions', '--versions', '$Latest'],
    expect: (out) => expect((out.LaunchTemplateVersions as Json[]).length).toBe(4),
  },
  // --- EC2: launching (the EC2 UG "Configure instance metadata options for new instances" run-instances examples) ---
  {
    name: 'RunInstances --metadata-options "HttpEndpoint=enabled,HttpTokens=required,HttpPutResponseHopLimit=2"',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: [
      'run-instances',
      '--image-id',
      'ami-0bb1b2c3d4e5f6002',
      '--instance-type',
      'c6i.large',
      '--metadata-options',
      'HttpEndpoint=enabled,HttpTokens=required,HttpPutResponseHopLimit=2',
    ],
    expect(out, ctx) {
      expect(out.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
      expect(out.OwnerId).toBe(ACCOUNT);
      const i = firstInstance(out);
      expect(i.InstanceId).toMatch(INSTANCE_ID);
      expect(i).toMatchObject({
        ImageId: 'ami-0bb1b2c3d4e5f6002',
        InstanceType: 'c6i.large',
        State: { Code: 0, Name: 'pending' },
      });
      expect(i.LaunchTime).toMatch(ISO_TIME);
      expect(i.MetadataOptions).toMatchObject({
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 2,
        HttpEndpoint: 'enabled',
      });
      ctx.launched = i.InstanceId;
    },
  },
  {
    name: 'RunInstances --metadata-options "HttpEndpoint=enabled,HttpProtocolIpv6=enabled"',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: [
      'run-instances',
      '--image-id',
      'ami-0bb1b2c3d4e5f6002',
      '--instance-type',
      'c6i.large',
      '--metadata-options',
      'HttpEndpoint=enabled,HttpProtocolIpv6=enabled',
    ],
    expect: (out) =>
      expect(firstInstance(out).MetadataOptions).toMatchObject({
        HttpEndpoint: 'enabled',
        HttpProtocolIpv6: 'enabled',
        HttpTokens: 'optional',
      }),
  },
  {
    name: 'RunInstances --metadata-options "HttpEndpoint=disabled"',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: [
      'run-instances',
      '--image-id',
      'ami-0bb1b2c3d4e5f6002',
      '--instance-type',
      'c6i.large',
      '--metadata-options',
      'HttpEndpoint=disabled',
    ],
    expect: (out) => expect(firstInstance(out).MetadataOptions.HttpEndpoint).toBe('disabled'),
  },
  {
    name: 'RunInstances --launch-template with a resolve:ssm image: the AMI ImdsSupport v2.0 decides',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['run-instances', '--launch-template', 'LaunchTemplateName=al2023-lt', '--count', '2'],
    expect(out) {
      expect(out.Instances).toHaveLength(2);
      expect(firstInstance(out)).toMatchObject({
        ImageId: 'ami-0bb1b2c3d4e5f6003',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
      });
    },
  },
  {
    name: 'DescribeInstances: the launched instance is running with its options applied',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['describe-instances', '--instance-ids', ctx.launched!],
    expect(out) {
      const i = out.Reservations[0].Instances[0] as Json;
      expect(i.State).toEqual({ Code: 16, Name: 'running' });
      expect(i.MetadataOptions).toMatchObject({ State: 'applied', HttpTokens: 'required' });
    },
  },
  {
    name: 'TerminateInstances --dry-run: DryRunOperation',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['terminate-instances', '--instance-ids', ctx.launched!, '--dry-run'],
    error: 'DryRunOperation',
  },
  {
    name: 'TerminateInstances with an unknown instance id: InvalidInstanceID.NotFound',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['terminate-instances', '--instance-ids', ctx.launched!, 'i-0000000000000dead'],
    error: 'InvalidInstanceID.NotFound',
  },
  {
    name: 'TerminateInstances (the AWS CLI example): shutting-down from running',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['terminate-instances', '--instance-ids', ctx.launched!],
    expect(out, ctx) {
      expect(out.TerminatingInstances).toEqual([
        {
          InstanceId: ctx.launched,
          CurrentState: { Code: 32, Name: 'shutting-down' },
          PreviousState: { Code: 16, Name: 'running' },
        },
      ]);
    },
  },
  {
    name: 'DescribeInstances: the terminated instance is listed as terminated; TerminateInstances again succeeds',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['describe-instances', '--instance-ids', ctx.launched!],
    expect: (out) => expect(out.Reservations[0].Instances[0].State).toEqual({ Code: 48, Name: 'terminated' }),
  },
  {
    name: 'TerminateInstances of a terminated instance: idempotent',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['terminate-instances', '--instance-ids', ctx.launched!],
    expect: (out) =>
      expect(out.TerminatingInstances[0]).toMatchObject({
        CurrentState: { Code: 48, Name: 'terminated' },
        PreviousState: { Code: 48, Name: 'terminated' },
      }),
  },
  {
    name: 'DescribeInstances --filters Name=metadata-options.http-tokens,Values=optional (EC2 UG transition example)',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: [
      'describe-instances',
      '--filters',
      'Name=metadata-options.http-tokens,Values=optional',
      '--query',
      'Reservations[*].Instances[*].[InstanceId]',
    ],
    expect: (out) => {
      const ids = (out as unknown as string[][][]).flat(2);
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(id).toMatch(INSTANCE_ID);
    },
  },
  {
    name: 'RunInstances with an image the account cannot see: InvalidAMIID.NotFound',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: ['run-instances', '--image-id', 'ami-0000000000000dead', '--instance-type', 't3.micro'],
    error: 'InvalidAMIID.NotFound',
  },
  {
    name: 'RunInstances resolving to tokens optional under HttpTokensEnforced: UnsupportedOperation',
    scenario: 'launch-rehearsal',
    region: 'eu-west-1',
    service: 'ec2',
    args: ['run-instances', '--launch-template', 'LaunchTemplateName=app-v1'],
    error: 'UnsupportedOperation',
    expect: (out) => expect(out.message).toBe(ENFORCED),
  },
  {
    name: 'RunInstances --dry-run under HttpTokensEnforced with tokens required: DryRunOperation',
    scenario: 'launch-rehearsal',
    region: 'eu-west-1',
    service: 'ec2',
    args: ['run-instances', '--launch-template', 'LaunchTemplateName=app-unset', '--dry-run'],
    error: 'DryRunOperation',
  },
  // --- Auto Scaling ---
  {
    name: 'DescribeLaunchConfigurations with MetadataOptions',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: ['describe-launch-configurations', '--launch-configuration-names', 'batch-lc'],
    expect(out) {
      const lc = out.LaunchConfigurations[0] as Json;
      expect(lc).toMatchObject({
        LaunchConfigurationName: 'batch-lc',
        ImageId: 'ami-0bb1b2c3d4e5f6001',
        InstanceType: 'c5.large',
        SecurityGroups: ['sg-0bb1b2c3d4e5f6002'],
        InstanceMonitoring: { Enabled: true },
        MetadataOptions: { HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
      });
      expect(lc.CreatedTime).toMatch(ISO_TIME);
      expect(lc.LaunchConfigurationARN).toMatch(/^arn:aws:autoscaling:us-east-1:111111111111:launchConfiguration:/);
    },
  },
  {
    name: 'CreateLaunchConfiguration --metadata-options',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: [
      'create-launch-configuration',
      '--launch-configuration-name',
      'cli-lc',
      '--image-id',
      'ami-0bb1b2c3d4e5f6001',
      '--instance-type',
      't3.small',
      '--metadata-options',
      'HttpTokens=required,HttpPutResponseHopLimit=2,HttpEndpoint=enabled',
    ],
  },
  {
    name: 'CreateLaunchConfiguration with a name in use: AlreadyExists',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: [
      'create-launch-configuration',
      '--launch-configuration-name',
      'cli-lc',
      '--image-id',
      'ami-0bb1b2c3d4e5f6001',
      '--instance-type',
      't3.small',
    ],
    error: 'AlreadyExists',
  },
  {
    name: 'DescribeAutoScalingGroups: a launch-configuration group and a mixed policy naming another template',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: ['describe-auto-scaling-groups', '--auto-scaling-group-names', 'batch-asg', 'web-mixed-asg'],
    expect(out) {
      const [batch, mixed] = out.AutoScalingGroups as Json[];
      expect(batch).toMatchObject({ LaunchConfigurationName: 'batch-lc', MinSize: 1, MaxSize: 10, DesiredCapacity: 3 });
      expect(batch!.Instances[0]).toMatchObject({
        LaunchConfigurationName: 'batch-lc',
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
      });
      expect(mixed!.MixedInstancesPolicy.LaunchTemplate.Overrides[1]).toMatchObject({
        InstanceType: 'c6i.large',
        LaunchTemplateSpecification: { LaunchTemplateName: 'golden-lt', Version: '1' },
      });
      expect(mixed!.CreatedTime).toMatch(ISO_TIME);
    },
  },
  {
    name: 'UpdateAutoScalingGroup --launch-template: a launch-configuration group moves to a template',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: [
      'update-auto-scaling-group',
      '--auto-scaling-group-name',
      'batch-asg',
      '--launch-template',
      'LaunchTemplateName=cli-lt,Version=$Default',
    ],
  },
  {
    name: 'SetDesiredCapacity: scale out from the template',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: ['set-desired-capacity', '--auto-scaling-group-name', 'batch-asg', '--desired-capacity', '4'],
  },
  {
    name: 'DescribeScalingActivities: the launch, newest first',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: ['describe-scaling-activities', '--auto-scaling-group-name', 'batch-asg'],
    expect(out, ctx) {
      const a = out.Activities[0] as Json;
      expect(a).toMatchObject({ AutoScalingGroupName: 'batch-asg', StatusCode: 'Successful', Progress: 100 });
      expect(a.ActivityId).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.StartTime).toMatch(ISO_TIME);
      expect(a.Cause).toContain(
        'a user request explicitly set group desired capacity changing the desired capacity from 3 to 4.',
      );
      ctx.scaled = idFromDescription(a);
    },
  },
  {
    name: 'DescribeInstances: the instance the group launched has the template options',
    scenario: 'templates-and-images',
    service: 'ec2',
    args: (ctx) => ['describe-instances', '--instance-ids', ctx.scaled!],
    expect(out) {
      const i = out.Reservations[0].Instances[0] as Json;
      expect(i.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
      const tags = Object.fromEntries((i.Tags as Json[]).map((t) => [t.Key, t.Value]));
      expect(tags).toMatchObject({
        'aws:autoscaling:groupName': 'batch-asg',
        'aws:ec2launchtemplate:version': '2',
        Team: 'web',
      });
    },
  },
  {
    name: 'UpdateAutoScalingGroup --launch-configuration-name: the group moves back (rollback)',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: [
      'update-auto-scaling-group',
      '--auto-scaling-group-name',
      'batch-asg',
      '--launch-configuration-name',
      'batch-lc',
    ],
  },
  {
    name: 'UpdateAutoScalingGroup --mixed-instances-policy with an override naming another template',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: [
      'update-auto-scaling-group',
      '--auto-scaling-group-name',
      'reports-asg',
      '--mixed-instances-policy',
      JSON.stringify({
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateName: 'cli-lt', Version: '$Latest' },
          Overrides: [
            { InstanceType: 'm6i.large' },
            { InstanceType: 'c6i.large', LaunchTemplateSpecification: { LaunchTemplateName: 'golden-lt' } },
          ],
        },
        InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 100 },
      }),
    ],
  },
  {
    name: 'DescribeAutoScalingGroups: back on the launch configuration; the other on the mixed policy',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: ['describe-auto-scaling-groups', '--auto-scaling-group-names', 'batch-asg', 'reports-asg'],
    expect(out) {
      const [batch, reports] = out.AutoScalingGroups as Json[];
      expect(batch!.LaunchConfigurationName).toBe('batch-lc');
      expect(batch).not.toHaveProperty('LaunchTemplate');
      expect(reports).not.toHaveProperty('LaunchConfigurationName');
      expect(reports!.MixedInstancesPolicy).toMatchObject({
        LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: 'cli-lt', Version: '$Latest' } },
        InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 100 },
      });
    },
  },
  {
    name: 'SetDesiredCapacity above MaxSize: ValidationError',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: ['set-desired-capacity', '--auto-scaling-group-name', 'batch-asg', '--desired-capacity', '99'],
    error: 'ValidationError',
    expect: (out) =>
      expect(out.message).toContain('New SetDesiredCapacity value 99 is above max value 10 for the AutoScalingGroup.'),
  },
  {
    name: 'StartInstanceRefresh --desired-configuration',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: [
      'start-instance-refresh',
      '--auto-scaling-group-name',
      'batch-asg',
      '--desired-configuration',
      '{"LaunchTemplate":{"LaunchTemplateName":"cli-lt","Version":"$Latest"}}',
      '--preferences',
      '{"MinHealthyPercentage":50,"InstanceWarmup":60,"SkipMatching":true}',
    ],
    expect(out, ctx) {
      expect(out.InstanceRefreshId).toMatch(/^[0-9a-f-]{36}$/);
      ctx.refresh = out.InstanceRefreshId;
    },
  },
  {
    name: 'DescribeInstanceRefreshes',
    scenario: 'templates-and-images',
    service: 'autoscaling',
    args: (ctx) => [
      'describe-instance-refreshes',
      '--auto-scaling-group-name',
      'batch-asg',
      '--instance-refresh-ids',
      ctx.refresh!,
    ],
    expect(out, ctx) {
      const r = out.InstanceRefreshes[0] as Json;
      expect(r).toMatchObject({
        InstanceRefreshId: ctx.refresh,
        AutoScalingGroupName: 'batch-asg',
        Status: 'InProgress',
        Preferences: { MinHealthyPercentage: 50, InstanceWarmup: 60, SkipMatching: true },
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'cli-lt', Version: '$Latest' } },
      });
      expect(r.StartTime).toMatch(ISO_TIME);
      expect(typeof r.PercentageComplete).toBe('number');
      expect(typeof r.InstancesToUpdate).toBe('number');
    },
  },
  {
    name: 'SetDesiredCapacity on a group whose template allows IMDSv1 under HttpTokensEnforced',
    scenario: 'launch-rehearsal',
    region: 'eu-west-1',
    service: 'autoscaling',
    args: ['set-desired-capacity', '--auto-scaling-group-name', 'api-v1-asg', '--desired-capacity', '3'],
  },
  {
    name: 'DescribeScalingActivities: the failed launch with EC2 message',
    scenario: 'launch-rehearsal',
    region: 'eu-west-1',
    service: 'autoscaling',
    args: ['describe-scaling-activities', '--auto-scaling-group-name', 'api-v1-asg'],
    expect(out) {
      const a = out.Activities[0] as Json;
      expect(a.StatusCode).toBe('Failed');
      expect(a.Description).toBe(
        `Launching a new EC2 instance.  Status Reason: ${ENFORCED} Launching EC2 instance failed.`,
      );
      expect(String(a.StatusMessage).length).toBeLessThanOrEqual(255);
    },
  },
  // --- EC2: instance metadata options and account defaults (enforced-defaults: us-east-1 enforces IMDSv2, eu-west-1's
  // defaults are managed by a declarative policy; EC2 UG "Modify instance metadata options for existing instances") ---
  instanceIdRow('enforced-defaults', 'still-optional-1', 'optional'),
  instanceIdRow('enforced-defaults', 'gone', 'gone'),
  {
    name: 'GetInstanceMetadataDefaults: required, hop limit 2, HttpTokensEnforced enabled, managed by the account',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: ['get-instance-metadata-defaults'],
    expect: (out) =>
      expect(out.AccountLevel).toEqual({
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 2,
        HttpTokensEnforced: 'enabled',
        ManagedBy: 'account',
      }),
  },
  {
    name: 'GetInstanceMetadataDefaults where a declarative policy manages them: ManagedBy, ManagedExceptionMessage',
    scenario: 'enforced-defaults',
    region: 'eu-west-1',
    service: 'ec2',
    args: ['get-instance-metadata-defaults'],
    expect: (out) =>
      expect(out.AccountLevel).toEqual({
        ManagedBy: 'declarative-policy',
        ManagedExceptionMessage: "IMDS defaults are set by the platform team's declarative policy (ticket PLAT-123).",
      }),
  },
  {
    name: 'ModifyInstanceMetadataDefaults under a declarative policy: OperationNotPermitted',
    scenario: 'enforced-defaults',
    region: 'eu-west-1',
    service: 'ec2',
    args: ['modify-instance-metadata-defaults', '--http-tokens', 'required'],
    error: 'OperationNotPermitted',
    expect: (out) => expect(out.message).toContain('PLAT-123'),
  },
  {
    name: 'ModifyInstanceMetadataOptions --http-tokens optional under HttpTokensEnforced: UnsupportedOperation',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => ['modify-instance-metadata-options', '--instance-id', ctx.optional!, '--http-tokens', 'optional'],
    error: 'UnsupportedOperation',
    expect: (out) => expect(out.message).toBe(ENFORCED),
  },
  {
    name: 'ModifyInstanceMetadataOptions on a terminated instance: IncorrectInstanceState',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => ['modify-instance-metadata-options', '--instance-id', ctx.gone!, '--http-tokens', 'required'],
    error: 'IncorrectInstanceState',
  },
  {
    name: 'ModifyInstanceMetadataOptions --http-tokens required --http-endpoint enabled (EC2 UG: require IMDSv2)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => [
      ...['modify-instance-metadata-options', '--instance-id', ctx.optional!],
      ...['--http-tokens', 'required', '--http-endpoint', 'enabled'],
    ],
    expect(out, ctx) {
      expect(out.InstanceId).toBe(ctx.optional);
      expect(out.InstanceMetadataOptions).toMatchObject({
        State: 'pending',
        HttpTokens: 'required',
        HttpEndpoint: 'enabled',
      });
      expect(Object.keys(out.InstanceMetadataOptions as Json).sort()).toEqual([
        'HttpEndpoint',
        'HttpProtocolIpv6',
        'HttpPutResponseHopLimit',
        'HttpTokens',
        'InstanceMetadataTags',
        'State',
      ]);
    },
  },
  {
    name: 'ModifyInstanceMetadataOptions --http-put-response-hop-limit 3 (EC2 UG: change the hop limit)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => [
      ...['modify-instance-metadata-options', '--instance-id', ctx.optional!],
      ...['--http-put-response-hop-limit', '3', '--http-endpoint', 'enabled'],
    ],
    expect: (out) =>
      expect(out.InstanceMetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 3 }),
  },
  {
    name: 'ModifyInstanceMetadataOptions --http-put-response-hop-limit 65: InvalidParameterValue (1 to 64)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => [
      ...['modify-instance-metadata-options', '--instance-id', ctx.optional!],
      ...['--http-put-response-hop-limit', '65'],
    ],
    error: 'InvalidParameterValue',
  },
  {
    name: 'ModifyInstanceMetadataOptions --http-protocol-ipv6 enabled (EC2 UG: the IPv6 endpoint)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => [
      ...['modify-instance-metadata-options', '--instance-id', ctx.optional!],
      ...['--http-protocol-ipv6', 'enabled', '--http-endpoint', 'enabled'],
    ],
    expect: (out) => expect(out.InstanceMetadataOptions).toMatchObject({ HttpProtocolIpv6: 'enabled' }),
  },
  {
    name: 'ModifyInstanceMetadataOptions --instance-metadata-tags enabled (EC2 UG: tags in metadata)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => [
      'modify-instance-metadata-options',
      '--instance-id',
      ctx.optional!,
      '--instance-metadata-tags',
      'enabled',
    ],
    expect: (out) => expect(out.InstanceMetadataOptions).toMatchObject({ InstanceMetadataTags: 'enabled' }),
  },
  {
    name: 'ModifyInstanceMetadataOptions --http-endpoint disabled (EC2 UG: turn off access to IMDS)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => ['modify-instance-metadata-options', '--instance-id', ctx.optional!, '--http-endpoint', 'disabled'],
    expect: (out) =>
      expect(out.InstanceMetadataOptions).toMatchObject({ HttpEndpoint: 'disabled', HttpTokens: 'required' }),
  },
  {
    name: 'ModifyInstanceMetadataOptions --dry-run: DryRunOperation',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => [
      ...['modify-instance-metadata-options', '--instance-id', ctx.optional!],
      ...['--http-endpoint', 'enabled', '--dry-run'],
    ],
    error: 'DryRunOperation',
  },
  {
    name: 'DescribeInstances: the options as modified, State of the terminated instance',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => ['describe-instances', '--instance-ids', ctx.optional!, ctx.gone!],
    expect(out, ctx) {
      const byId = new Map(
        (out.Reservations as Json[]).flatMap((r) => r.Instances as Json[]).map((i) => [i.InstanceId, i]),
      );
      expect(byId.get(ctx.optional)!.MetadataOptions).toMatchObject({
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 3,
        HttpEndpoint: 'disabled',
        HttpProtocolIpv6: 'enabled',
        InstanceMetadataTags: 'enabled',
      });
      expect(byId.get(ctx.gone)!.State).toEqual({ Code: 48, Name: 'terminated' });
    },
  },
  {
    name: 'ModifyInstanceMetadataDefaults --http-tokens no-preference --http-tokens-enforced disabled (lift enforcement)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: ['modify-instance-metadata-defaults', '--http-tokens', 'no-preference', '--http-tokens-enforced', 'disabled'],
    expect: (out) => expect(out.Return).toBe(true),
  },
  {
    name: 'ModifyInstanceMetadataOptions --http-tokens optional --http-endpoint enabled (EC2 UG: restore IMDSv1)',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: (ctx) => [
      ...['modify-instance-metadata-options', '--instance-id', ctx.optional!],
      ...['--http-tokens', 'optional', '--http-endpoint', 'enabled'],
    ],
    expect: (out) =>
      expect(out.InstanceMetadataOptions).toMatchObject({ HttpTokens: 'optional', HttpEndpoint: 'enabled' }),
  },
  {
    name: 'GetInstanceMetadataDefaults after the change: enforcement off, hop limit kept',
    scenario: 'enforced-defaults',
    service: 'ec2',
    args: ['get-instance-metadata-defaults'],
    expect: (out) =>
      expect(out.AccountLevel).toEqual({
        HttpPutResponseHopLimit: 2,
        HttpTokensEnforced: 'disabled',
        ManagedBy: 'account',
      }),
  },
  // --- CloudWatch (cloudwatch-monitoring, simulated now 2026-06-01T12:00Z; datapoints of 10:00-11:00 are in) ---
  instanceIdRow('cloudwatch-monitoring', 'v1-caller-1', 'v1'),
  instanceIdRow('cloudwatch-monitoring', 'quiet-basic-1', 'basic'),
  instanceIdRow('cloudwatch-monitoring', 'quiet-detailed-1', 'detailed'),
  instanceIdRow('cloudwatch-monitoring', 'required-with-v1-caller', 'required'),
  instanceIdRow('cloudwatch-monitoring', 'stopped', 'stopped'),
  {
    name: 'ListMetrics --metric-name MetadataNoToken: one metric per instance, dimension InstanceId',
    scenario: 'cloudwatch-monitoring',
    service: 'cloudwatch',
    args: ['list-metrics', '--namespace', 'AWS/EC2', '--metric-name', 'MetadataNoToken'],
    expect(out, ctx) {
      const ids = (out.Metrics as Json[]).map((m) => {
        expect(m.Dimensions).toHaveLength(1);
        expect(m.Dimensions[0].Name).toBe('InstanceId');
        return m.Dimensions[0].Value as string;
      });
      expect(ids).toContain(ctx.v1);
      expect(new Set(ids).size).toBe(ids.length);
    },
  },
  metricRow('a v1 caller at 12 calls an hour, basic monitoring: 12 five-minute sums of 1', {
    instance: 'v1',
    period: 300,
    datapoints: 12,
    sum: 12,
  }),
  metricRow('a quiet instance, basic monitoring, Period 60: only the 12 five-minute datapoints, each 0', {
    instance: 'basic',
    period: 60,
    datapoints: 12,
    sum: 0,
  }),
  metricRow('a quiet instance, detailed monitoring, Period 60: 60 one-minute zeros', {
    instance: 'detailed',
    period: 60,
    datapoints: 60,
    sum: 0,
  }),
  metricRow('tokens required: no MetadataNoToken datapoints', {
    instance: 'required',
    period: 300,
    datapoints: 0,
    sum: 0,
  }),
  metricRow('tokens required: MetadataNoTokenRejected counts the refused IMDSv1 calls (6 an hour)', {
    instance: 'required',
    metric: 'MetadataNoTokenRejected',
    period: 300,
    datapoints: 12,
    sum: 6,
  }),
  metricRow('a stopped instance publishes nothing', { instance: 'stopped', period: 300, datapoints: 0, sum: 0 }),
  {
    name: 'GetMetricData MetricStat Sum, Period 3600: Complete, newest first',
    scenario: 'cloudwatch-monitoring',
    service: 'cloudwatch',
    args: (ctx) => [
      'get-metric-data',
      '--start-time',
      '2026-06-01T08:00:00Z',
      '--end-time',
      '2026-06-01T11:00:00Z',
      '--metric-data-queries',
      JSON.stringify([
        {
          Id: 'm0',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/EC2',
              MetricName: 'MetadataNoToken',
              Dimensions: [{ Name: 'InstanceId', Value: ctx.v1 }],
            },
            Period: 3600,
            Stat: 'Sum',
          },
        },
      ]),
    ],
    expect(out) {
      const r = out.MetricDataResults[0] as Json;
      expect(r).toMatchObject({ Id: 'm0', StatusCode: 'Complete', Values: [12, 12, 12] });
      const t = (r.Timestamps as (string | number)[]).map((x) => (typeof x === 'number' ? x * 1000 : Date.parse(x)));
      expect(t).toEqual([
        Date.parse('2026-06-01T10:00:00Z'),
        Date.parse('2026-06-01T09:00:00Z'),
        Date.parse('2026-06-01T08:00:00Z'),
      ]);
    },
  },
  // --- Systems Manager Run Command (run-command-faults) ---
  instanceIdRow('run-command-faults', 'healthy-1', 'healthy'),
  instanceIdRow('run-command-faults', 'unmanaged', 'unmanaged'),
  instanceIdRow('run-command-faults', 'terminated', 'terminated'),
  instanceIdRow('run-command-faults', 'not-permitted', 'notPermitted'),
  instanceIdRow('run-command-faults', 'agent-offline', 'offline'),
  {
    name: 'DescribeInstanceInformation: managed nodes only, with PingStatus',
    scenario: 'run-command-faults',
    service: 'ssm',
    args: ['describe-instance-information'],
    expect(out, ctx) {
      const byId = new Map((out.InstanceInformationList as Json[]).map((i) => [i.InstanceId, i]));
      expect(byId.size).toBe(50);
      expect(byId.get(ctx.healthy)).toMatchObject({ PingStatus: 'Online', PlatformType: 'Linux' });
      expect(byId.get(ctx.offline)).toMatchObject({ PingStatus: 'ConnectionLost' });
      expect(byId.has(ctx.unmanaged!)).toBe(false);
      expect(byId.has(ctx.terminated!)).toBe(false);
    },
  },
  ...(['unmanaged', 'terminated', 'notPermitted'] as const).map((bad): CliRow => ({
    name: `SendCommand naming one ${bad} instance among good ones: InvalidInstanceId for the whole call`,
    scenario: 'run-command-faults',
    service: 'ssm',
    args: (ctx) => [
      ...['send-command', '--document-name', 'AWS-RunShellScript'],
      ...['--instance-ids', ctx.healthy!, ctx[bad]!, '--parameters', 'commands=["id"]'],
    ],
    error: 'InvalidInstanceId',
  })),
  {
    name: 'SendCommand to 51 instances: ValidationException (at most 50 InstanceIds)',
    scenario: 'run-command-faults',
    service: 'ssm',
    args: (ctx) => [
      ...['send-command', '--document-name', 'AWS-RunShellScript', '--parameters', 'commands=["id"]'],
      ...['--instance-ids', ...Array.from({ length: 51 }, () => ctx.healthy!)],
    ],
    error: 'ValidationException',
  },
  {
    name: 'SendCommand AWS-RunShellScript: a CommandId, status Pending',
    scenario: 'run-command-faults',
    service: 'ssm',
    args: (ctx) => [
      ...['send-command', '--document-name', 'AWS-RunShellScript', '--timeout-seconds', '600'],
      ...['--instance-ids', ctx.healthy!, '--parameters', 'commands=["id"]', '--max-errors', '0'],
    ],
    expect(out, ctx) {
      expect(out.Command.CommandId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(out.Command).toMatchObject({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [ctx.healthy],
        MaxErrors: '0',
        Status: 'Pending',
        TargetCount: 1,
      });
      ctx.command = out.Command.CommandId as string;
    },
  },
  {
    name: 'ListCommandInvocations --details: one invocation with its aws:runShellScript plugin',
    scenario: 'run-command-faults',
    service: 'ssm',
    args: (ctx) => ['list-command-invocations', '--command-id', ctx.command!, '--details'],
    expect(out, ctx) {
      const inv = out.CommandInvocations as Json[];
      expect(inv).toHaveLength(1);
      expect(inv[0]).toMatchObject({
        CommandId: ctx.command,
        InstanceId: ctx.healthy,
        DocumentName: 'AWS-RunShellScript',
      });
      expect(['Pending', 'InProgress', 'Success']).toContain(inv[0]!.Status);
      for (const p of inv[0]!.CommandPlugins as Json[]) expect(p.Name).toBe('aws:runShellScript');
    },
  },
  // --- STS and Organizations in the aws-cn partition (partition-cn) ---
  {
    name: 'GetCallerIdentity in aws-cn: an arn:aws-cn ARN',
    scenario: 'partition-cn',
    region: 'cn-north-1',
    account: '444444444444',
    service: 'sts',
    args: ['get-caller-identity'],
    expect: (out) =>
      expect(out).toMatchObject({
        Account: '444444444444',
        Arn: expect.stringMatching(/^arn:aws-cn:iam::444444444444:/),
      }),
  },
  {
    name: 'AssumeRole with an arn:aws role ARN from aws-cn: AccessDenied',
    scenario: 'partition-cn',
    region: 'cn-north-1',
    account: '444444444444',
    service: 'sts',
    args: [
      ...['assume-role', '--role-session-name', 'imdsv2-cutover'],
      ...['--role-arn', 'arn:aws:iam::555555555555:role/OrganizationAccountAccessRole'],
    ],
    error: 'AccessDenied',
  },
  {
    name: 'AssumeRole with the arn:aws-cn role ARN: assumed-role ARN in aws-cn, credentials expiring',
    scenario: 'partition-cn',
    region: 'cn-north-1',
    account: '444444444444',
    service: 'sts',
    args: [
      ...['assume-role', '--role-session-name', 'imdsv2-cutover'],
      ...['--role-arn', 'arn:aws-cn:iam::555555555555:role/OrganizationAccountAccessRole'],
    ],
    expect(out) {
      expect(out.AssumedRoleUser.Arn).toBe(
        'arn:aws-cn:sts::555555555555:assumed-role/OrganizationAccountAccessRole/imdsv2-cutover',
      );
      expect(out.Credentials.Expiration).toMatch(ISO_TIME);
      expect(out.Credentials.AccessKeyId).toMatch(/^ASIA/);
    },
  },
  {
    name: 'ListAccounts in aws-cn: arn:aws-cn organizations ARNs',
    scenario: 'partition-cn',
    region: 'cn-northwest-1',
    account: '444444444444',
    service: 'organizations',
    args: ['list-accounts'],
    expect: (out) =>
      expect((out.Accounts as Json[]).map((a): unknown => a.Arn)).toEqual([
        expect.stringMatching(/^arn:aws-cn:organizations::444444444444:account\/o-[a-z0-9]+\/444444444444$/),
        expect.stringMatching(/^arn:aws-cn:organizations::444444444444:account\/o-[a-z0-9]+\/555555555555$/),
      ]),
  },
];

const sims = new Map<string, Promise<Simulator>>();
const ctx: Ctx = {};
afterAll(async () => {
  for (const s of sims.values()) await (await s).stop();
});

function simulatorFor(scenario: string): Promise<Simulator> {
  let s = sims.get(scenario);
  if (!s) {
    s = startSimulator({ scenario, throttling: false });
    sims.set(scenario, s);
  }
  return s;
}

/** Runs one row's CLI command; the parsed JSON, or `{ code, message }` of the error the CLI reported. */
async function cli(row: CliRow): Promise<{ ok: true; out: Json } | { ok: false; code: string; message: string }> {
  const sim = await simulatorFor(row.scenario);
  const args = typeof row.args === 'function' ? row.args(ctx) : row.args;
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: `AKIA${row.account ?? SCENARIO_ACCOUNT[row.scenario] ?? ACCOUNT}TEST`,
    AWS_SECRET_ACCESS_KEY: 'simulated',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
  };
  const full = [
    row.service,
    ...args,
    '--endpoint-url',
    sim.url,
    '--region',
    row.region ?? 'us-east-1',
    '--output',
    'json',
  ];
  try {
    const { stdout } = await run('aws', full, { env, timeout: 60_000 });
    return { ok: true, out: stdout.trim() === '' ? {} : (JSON.parse(stdout) as Json) };
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? e);
    const m =
      /An error occurred \(([^)]+)\) when calling the \w+ operation(?: \(reached max retries: \d+\))?: (.*)/s.exec(
        stderr,
      );
    if (!m) throw new Error(`aws ${full.join(' ')} failed without an AWS error:\n${stderr}`);
    return { ok: false, code: m[1]!, message: m[2]!.trim() };
  }
}

describePrivileged('AWS CLI against the simulator', { awsCli: true }, () => {
  for (const row of rows) {
    it(`${row.service} ${row.name}`, async () => {
      const r = await cli(row);
      if (row.error !== undefined) {
        expect(r.ok ? 'the call succeeded' : r.code).toBe(row.error);
        if (!r.ok) row.expect?.({ message: r.message }, ctx);
        return;
      }
      if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
      row.expect?.(r.out, ctx);
    }, 90_000);
  }
});
