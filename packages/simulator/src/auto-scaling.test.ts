import {
  type Activity,
  AutoScalingClient,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  DescribeLaunchConfigurationsCommand,
  DescribeScalingActivitiesCommand,
  SetDesiredCapacityCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig, rejection } from './__fixtures__/sdk.js';
import { type Simulator, startSimulator } from './index.js';
import { HTTP_TOKENS_ENFORCED_MESSAGE } from './launch.js';

const MINUTE = 60_000;

async function group(asg: AutoScalingClient, name: string) {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return out.AutoScalingGroups![0]!;
}

async function activities(asg: AutoScalingClient, name: string): Promise<Activity[]> {
  return (await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }))).Activities!;
}

async function metadataOf(ec2: EC2Client, ids: string[]) {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  return out
    .Reservations!.flatMap((r) => r.Instances!)
    .map((i) => ({ id: i.InstanceId!, state: i.State!.Name, ...i.MetadataOptions }));
}

describe('launch configurations and mixed instances policies (templates-and-images)', () => {
  let sim: Simulator;
  let asg: AutoScalingClient;
  let ec2: EC2Client;
  beforeAll(async () => {
    sim = await startSimulator({ scenario: 'templates-and-images', throttling: false });
    asg = new AutoScalingClient(clientConfig(sim, 'us-east-1'));
    ec2 = new EC2Client(clientConfig(sim, 'us-east-1'));
  });
  afterAll(async () => sim.stop());

  it('describes launch configurations with their metadata options and the members they were made with', async () => {
    const out = await asg.send(
      new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: ['batch-lc', 'reports-lc'] }),
    );
    const [batch, reports] = out.LaunchConfigurations!;
    expect(batch).toMatchObject({
      LaunchConfigurationName: 'batch-lc',
      ImageId: 'ami-0bb1b2c3d4e5f6001',
      InstanceType: 'c5.large',
      KeyName: 'batch-ops',
      SecurityGroups: ['sg-0bb1b2c3d4e5f6002'],
      IamInstanceProfile: 'batch-instance-profile',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 50, VolumeType: 'gp3' } }],
      MetadataOptions: { HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
    });
    expect(batch!.LaunchConfigurationARN).toMatch(
      /^arn:aws:autoscaling:us-east-1:111111111111:launchConfiguration:[0-9a-f-]{36}:launchConfigurationName\/batch-lc$/,
    );
    // Without MetadataOptions the member is absent.
    expect(reports).not.toHaveProperty('MetadataOptions');
  });

  it('describes groups on launch configurations and on mixed policies whose overrides name other templates', async () => {
    const batch = await group(asg, 'batch-asg');
    expect(batch).toMatchObject({ LaunchConfigurationName: 'batch-lc', DesiredCapacity: 3 });
    expect(batch).not.toHaveProperty('LaunchTemplate');
    expect(batch.Instances![0]).toMatchObject({ LaunchConfigurationName: 'batch-lc', LifecycleState: 'InService' });
    const mixed = await group(asg, 'web-mixed-asg');
    expect(mixed).not.toHaveProperty('LaunchTemplate');
    expect(mixed.MixedInstancesPolicy).toMatchObject({
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateName: 'web-lt', Version: '$Default' },
        Overrides: [
          { InstanceType: 'm6i.large' },
          { InstanceType: 'c6i.large', LaunchTemplateSpecification: { LaunchTemplateName: 'golden-lt', Version: '1' } },
        ],
      },
      InstancesDistribution: { OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 100 },
    });
    const golden = mixed.Instances!.find((i) => i.LaunchTemplate?.LaunchTemplateName === 'golden-lt');
    expect(golden?.InstanceType).toBe('c6i.large');
  });

  it('scales a launch-configuration group out and in, with an activity for each instance', async () => {
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'batch-asg', DesiredCapacity: 5 }));
    const g = await group(asg, 'batch-asg');
    expect(g.DesiredCapacity).toBe(5);
    expect(g.Instances).toHaveLength(5);
    const acts = await activities(asg, 'batch-asg');
    expect(acts.slice(0, 2).map((a) => a.StatusCode)).toEqual(['Successful', 'Successful']);
    expect(acts[0]!.Description).toMatch(/^Launching a new EC2 instance: i-[0-9a-f]{17}$/);
    expect(acts[0]!.Cause).toMatch(
      /^At \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ a user request explicitly set group desired capacity changing the desired capacity from 3 to 5\. {2}At \S+ an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 3 to 5\.$/,
    );
    // New instances get the launch configuration's options (tokens optional, hop limit 1) and run the group's workload.
    const newId = acts[0]!.Description!.split(': ')[1]!;
    expect((await metadataOf(ec2, [newId]))[0]).toMatchObject({ HttpTokens: 'optional', HttpPutResponseHopLimit: 1 });
    expect(sim.fleet.instance(newId)).toMatchObject({ launchConfigurationName: 'batch-lc', group: 'batch' });

    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'batch-asg', DesiredCapacity: 2 }));
    const after = await group(asg, 'batch-asg');
    expect(after.Instances).toHaveLength(2);
    const ended = (await activities(asg, 'batch-asg')).filter((a) => a.Description!.startsWith('Terminating'));
    expect(ended).toHaveLength(3);
    expect(ended[0]!.Cause).toContain(
      'a user request update of AutoScalingGroup constraints to min: 1, max: 10, desired: 2 changing the desired capacity from 5 to 2.',
    );
    const gone = ended.map((a) => a.Description!.split(': ')[1]!);
    expect((await metadataOf(ec2, gone)).every((i) => i.state === 'terminated')).toBe(true);
  });

  it('refuses capacities outside the group size as Auto Scaling does', async () => {
    expect(
      await rejection(
        asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'batch-asg', DesiredCapacity: 11 })),
      ),
    ).toEqual({
      name: 'ValidationError',
      status: 400,
      message: 'New SetDesiredCapacity value 11 is above max value 10 for the AutoScalingGroup.',
    });
    expect(
      await rejection(
        asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'batch-asg', DesiredCapacity: 0 })),
      ),
    ).toMatchObject({ message: 'New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup.' });
    expect(
      await rejection(
        asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'batch-asg', DesiredCapacity: 12 })),
      ),
    ).toMatchObject({ message: 'Desired capacity:12 must be between the specified min size:1 and max size:10' });
  });

  it('moves a launch-configuration group to a new launch template and back (migration and its rollback)', async () => {
    const lc = (await asg.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: ['batch-lc'] })))
      .LaunchConfigurations![0]!;
    const lt = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'batch-lt',
        LaunchTemplateData: {
          ImageId: lc.ImageId,
          InstanceType: lc.InstanceType,
          KeyName: lc.KeyName,
          SecurityGroupIds: lc.SecurityGroups,
          IamInstanceProfile: { Name: lc.IamInstanceProfile },
          MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
        },
      }),
    );
    const id = lt.LaunchTemplate!.LaunchTemplateId!;
    // Both the id and the name, as DescribeAutoScalingGroups shows them, are refused.
    expect(
      await rejection(
        asg.send(
          new UpdateAutoScalingGroupCommand({
            AutoScalingGroupName: 'batch-asg',
            LaunchTemplate: { LaunchTemplateId: id, LaunchTemplateName: 'batch-lt', Version: '1' },
          }),
        ),
      ),
    ).toMatchObject({
      name: 'ValidationError',
      message: 'Valid requests must contain either launchTemplateId or LaunchTemplateName',
    });
    expect(
      await rejection(
        asg.send(
          new UpdateAutoScalingGroupCommand({
            AutoScalingGroupName: 'batch-asg',
            LaunchConfigurationName: 'batch-lc',
            LaunchTemplate: { LaunchTemplateId: id },
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationError' });
    expect(
      await rejection(
        asg.send(
          new UpdateAutoScalingGroupCommand({
            AutoScalingGroupName: 'batch-asg',
            LaunchTemplate: { LaunchTemplateName: 'no-such-lt' },
          }),
        ),
      ),
    ).toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/^You must use a valid fully-formed launch template\./),
    });

    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'batch-asg',
        LaunchTemplate: { LaunchTemplateId: id, Version: '$Latest' },
      }),
    );
    const moved = await group(asg, 'batch-asg');
    expect(moved.LaunchTemplate).toEqual({ LaunchTemplateId: id, LaunchTemplateName: 'batch-lt', Version: '$Latest' });
    expect(moved).not.toHaveProperty('LaunchConfigurationName');
    // Existing instances keep the configuration they were launched with; new ones get the template's.
    expect(moved.Instances!.every((i) => i.LaunchConfigurationName === 'batch-lc')).toBe(true);
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'batch-asg', DesiredCapacity: 3 }));
    const launched = (await group(asg, 'batch-asg')).Instances!.find((i) => i.LaunchTemplate?.LaunchTemplateId === id)!;
    expect((await metadataOf(ec2, [launched.InstanceId!]))[0]).toMatchObject({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
    });

    await asg.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'batch-asg', LaunchConfigurationName: 'batch-lc' }),
    );
    const back = await group(asg, 'batch-asg');
    expect(back).toMatchObject({ LaunchConfigurationName: 'batch-lc' });
    expect(back).not.toHaveProperty('LaunchTemplate');
    expect(
      await rejection(
        asg.send(
          new UpdateAutoScalingGroupCommand({
            AutoScalingGroupName: 'batch-asg',
            LaunchConfigurationName: 'no-such-lc',
          }),
        ),
      ),
    ).toMatchObject({
      name: 'ValidationError',
      message: 'Launch configuration name not found - Launch configuration no-such-lc not found',
    });
  });

  it('creates launch configurations once per name, with their metadata options', async () => {
    await asg.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: 'new-lc',
        ImageId: 'ami-0bb1b2c3d4e5f6001',
        InstanceType: 't3.small',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
      }),
    );
    const made = (await asg.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: ['new-lc'] })))
      .LaunchConfigurations![0]!;
    expect(made.MetadataOptions).toEqual({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
      HttpEndpoint: 'enabled',
    });
    expect(
      await rejection(
        asg.send(
          new CreateLaunchConfigurationCommand({
            LaunchConfigurationName: 'new-lc',
            ImageId: 'ami-0bb1b2c3d4e5f6001',
            InstanceType: 't3.small',
          }),
        ),
      ),
    ).toMatchObject({ name: 'AlreadyExistsFault', status: 400 });
  });

  it('launches a mixed-policy group from its first override (prioritized On-Demand)', async () => {
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'web-mixed-asg', DesiredCapacity: 4 }));
    const acts = await activities(asg, 'web-mixed-asg');
    const id = acts[0]!.Description!.split(': ')[1]!;
    expect(sim.fleet.instance(id)).toMatchObject({ instanceType: 'm6i.large', launchTemplate: { name: 'web-lt' } });
  });
});

describe('launches after lock-in (launch-rehearsal)', () => {
  let sim: Simulator;
  let asgEu: AutoScalingClient;
  let asgUs: AutoScalingClient;
  let ec2Eu: EC2Client;
  let ec2Us: EC2Client;
  beforeAll(async () => {
    sim = await startSimulator({ scenario: 'launch-rehearsal', throttling: false });
    asgEu = new AutoScalingClient(clientConfig(sim, 'eu-west-1'));
    asgUs = new AutoScalingClient(clientConfig(sim, 'us-east-1'));
    ec2Eu = new EC2Client(clientConfig(sim, 'eu-west-1'));
    ec2Us = new EC2Client(clientConfig(sim, 'us-east-1'));
  });
  afterAll(async () => sim.stop());

  it('records a scale-out EC2 refuses under HttpTokensEnforced as a failed activity with EC2 message, and retries', async () => {
    await asgEu.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'api-v1-asg', DesiredCapacity: 3 }));
    const g = await group(asgEu, 'api-v1-asg');
    expect(g.DesiredCapacity).toBe(3);
    expect(g.Instances).toHaveLength(2);
    const [failed] = await activities(asgEu, 'api-v1-asg');
    expect(failed).toMatchObject({
      StatusCode: 'Failed',
      Progress: 100,
      Description: `Launching a new EC2 instance.  Status Reason: ${HTTP_TOKENS_ENFORCED_MESSAGE} Launching EC2 instance failed.`,
    });
    expect(HTTP_TOKENS_ENFORCED_MESSAGE.startsWith(failed!.StatusMessage!.slice(0, 200))).toBe(true);
    expect(failed!.StatusMessage!.length).toBeLessThanOrEqual(255);
    expect(JSON.parse(failed!.Details!)).toHaveProperty('Availability Zone');
    // Auto Scaling keeps trying: a later attempt fails again while the template still allows IMDSv1.
    sim.clock.advance(6 * MINUTE);
    expect((await activities(asgEu, 'api-v1-asg')).filter((a) => a.StatusCode === 'Failed')).toHaveLength(2);
    // Moving the group to a template that requires IMDSv2 lets it reach its capacity.
    await asgEu.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'api-v1-asg',
        LaunchTemplate: { LaunchTemplateName: 'app-v2' },
      }),
    );
    const healed = await group(asgEu, 'api-v1-asg');
    expect(healed.Instances).toHaveLength(3);
    const newest = (await activities(asgEu, 'api-v1-asg'))[0]!;
    expect(newest.StatusCode).toBe('Successful');
    expect((await metadataOf(ec2Eu, [newest.Description!.split(': ')[1]!]))[0]).toMatchObject({
      HttpTokens: 'required',
    });
  });

  it('lets a group whose template leaves the options unset scale out with the account defaults', async () => {
    await asgEu.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'api-unset-asg', DesiredCapacity: 3 }));
    const [ok] = await activities(asgEu, 'api-unset-asg');
    expect(ok!.StatusCode).toBe('Successful');
    expect((await metadataOf(ec2Eu, [ok!.Description!.split(': ')[1]!]))[0]).toMatchObject({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
    });
  });

  it('launches from a launch configuration without MetadataOptions with the account defaults', async () => {
    // eu-west-1 enforces IMDSv2 with account default tokens required: a configuration that says nothing launches.
    await asgEu.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: 'plain-lc',
        ImageId: 'ami-0aa1b2c3d4e5f6003',
        InstanceType: 't3.small',
      }),
    );
    await asgEu.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'api-unset-asg', LaunchConfigurationName: 'plain-lc' }),
    );
    await asgEu.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'api-unset-asg', DesiredCapacity: 4 }));
    const [ok] = await activities(asgEu, 'api-unset-asg');
    expect(ok!.StatusCode).toBe('Successful');
    const id = ok!.Description!.split(': ')[1]!;
    expect((await metadataOf(ec2Eu, [id]))[0]).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
    expect(sim.fleet.instance(id)?.launchConfigurationName).toBe('plain-lc');
    // Back to the template and the scenario's capacity for the tests that follow.
    await asgEu.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'api-unset-asg',
        LaunchTemplate: { LaunchTemplateName: 'app-unset' },
        DesiredCapacity: 3,
      }),
    );
  });

  it('refreshes a group in batches on the simulated clock onto a template that requires IMDSv2', async () => {
    const before = (await group(asgUs, 'web-asg')).Instances!.map((i) => i.InstanceId!);
    const { InstanceRefreshId } = await asgUs.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'web-asg',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'app-v2', Version: '$Latest' } },
      }),
    );
    const refresh = async () =>
      (
        await asgUs.send(
          new DescribeInstanceRefreshesCommand({
            AutoScalingGroupName: 'web-asg',
            InstanceRefreshIds: [InstanceRefreshId!],
          }),
        )
      ).InstanceRefreshes![0]!;
    // 4 instances, MinHealthyPercentage 90: one at a time; the group's 300 s grace period is the warm-up.
    expect(await refresh()).toMatchObject({ Status: 'InProgress', PercentageComplete: 0, InstancesToUpdate: 4 });
    expect(
      await rejection(asgUs.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg' }))),
    ).toMatchObject({ name: 'InstanceRefreshInProgressFault', status: 400 });
    sim.clock.advance(5 * MINUTE);
    expect(await refresh()).toMatchObject({ Status: 'InProgress', PercentageComplete: 25, InstancesToUpdate: 3 });
    sim.clock.advance(15 * MINUTE);
    const done = await refresh();
    expect(done).toMatchObject({
      Status: 'Successful',
      PercentageComplete: 100,
      InstancesToUpdate: 0,
      Preferences: { MinHealthyPercentage: 90, MaxHealthyPercentage: 100, SkipMatching: false },
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'app-v2', Version: '$Latest' } },
    });
    const g = await group(asgUs, 'web-asg');
    // The group takes the desired configuration once the refresh succeeds.
    expect(g.LaunchTemplate).toMatchObject({ LaunchTemplateName: 'app-v2', Version: '$Latest' });
    const now = g.Instances!.map((i) => i.InstanceId!);
    expect(now).toHaveLength(4);
    expect(now.some((id) => before.includes(id))).toBe(false);
    const opts = await metadataOf(ec2Us, now);
    expect(opts.every((o) => o.HttpTokens === 'required' && o.HttpPutResponseHopLimit === 2)).toBe(true);
    // The replacements run the group's software: its IMDSv1 caller now meets HttpTokens=required.
    expect(sim.fleet.callers(now[0]!)?.some((c) => c.imds === 'v1')).toBe(true);
    expect((await metadataOf(ec2Us, before)).every((o) => o.state === 'terminated')).toBe(true);
  });

  it('fails a refresh EC2 refuses to launch: terminate-first loses capacity, launch-first keeps it', async () => {
    // api-unset-asg now has 3 instances; pointing it at app-v1 makes every replacement fail under enforcement.
    const start = (prefs: { MinHealthyPercentage?: number; MaxHealthyPercentage?: number }) =>
      asgEu.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: 'api-unset-asg',
          DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'app-v1' } },
          Preferences: prefs,
        }),
      );
    const first = await start({ MinHealthyPercentage: 100, MaxHealthyPercentage: 110 });
    const refreshes = async () =>
      (await asgEu.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'api-unset-asg' })))
        .InstanceRefreshes!;
    expect((await refreshes())[0]).toMatchObject({
      InstanceRefreshId: first.InstanceRefreshId,
      Status: 'Failed',
      StatusReason: HTTP_TOKENS_ENFORCED_MESSAGE,
    });
    expect((await group(asgEu, 'api-unset-asg')).Instances).toHaveLength(3);
    expect((await group(asgEu, 'api-unset-asg')).LaunchTemplate?.LaunchTemplateName).toBe('app-unset');

    await start({});
    expect((await refreshes())[0]!.Status).toBe('Failed');
    expect((await group(asgEu, 'api-unset-asg')).Instances).toHaveLength(2);
    const acts = await activities(asgEu, 'api-unset-asg');
    expect(acts[0]!.StatusCode).toBe('Failed');
    expect(acts[0]!.Cause).toMatch(/an instance was launched in response to an instance refresh\.$/);
    expect(acts[1]!.Description).toMatch(/^Terminating EC2 instance: i-/);
    expect(acts[1]!.Cause).toMatch(/an instance was taken out of service in response to an instance refresh\./);
    // The group still uses app-unset, so the next attempt to reach the desired capacity succeeds.
    sim.clock.advance(6 * MINUTE);
    expect((await group(asgEu, 'api-unset-asg')).Instances).toHaveLength(3);
  });

  it('skips instances that already match with SkipMatching', async () => {
    const { InstanceRefreshId } = await asgUs.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'web-asg',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'app-v2', Version: '$Latest' } },
        Preferences: { SkipMatching: true },
      }),
    );
    const r = (
      await asgUs.send(
        new DescribeInstanceRefreshesCommand({
          AutoScalingGroupName: 'web-asg',
          InstanceRefreshIds: [InstanceRefreshId!],
        }),
      )
    ).InstanceRefreshes![0]!;
    expect(r).toMatchObject({ Status: 'Successful', PercentageComplete: 100, InstancesToUpdate: 0 });
  });
});
