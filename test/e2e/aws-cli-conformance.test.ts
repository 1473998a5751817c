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
  /** The account whose access key signs the call (default 111111111111). */
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
    AWS_ACCESS_KEY_ID: `AKIA${row.account ?? ACCOUNT}TEST`,
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
