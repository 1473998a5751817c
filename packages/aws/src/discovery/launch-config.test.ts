import {
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeLaunchConfigurationsCommand,
} from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  discoverGroups,
  discoverImages,
  discoverLaunchConfigurations,
  discoverTemplateVersions,
  templateVersion,
} from './launch-config.js';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);
const config = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const ec2 = new EC2Client(config);
const asg = new AutoScalingClient(config);
afterEach(() => {
  ec2Mock.reset();
  asgMock.reset();
});

const v = (id: string, n: number, isDefault: boolean, tokens?: 'required'): LaunchTemplateVersion => ({
  LaunchTemplateId: id,
  LaunchTemplateName: `name-${id}`,
  VersionNumber: n,
  DefaultVersion: isDefault,
  LaunchTemplateData: { ImageId: 'ami-1', ...(tokens ? { MetadataOptions: { HttpTokens: tokens } } : {}) },
});

describe('discoverTemplateVersions', () => {
  it('reads $Default and $Latest of every template with the account-wide form, following pages', async () => {
    ec2Mock
      .on(DescribeLaunchTemplateVersionsCommand)
      .resolvesOnce({ LaunchTemplateVersions: [v('lt-a', 1, true), v('lt-a', 3, false, 'required')], NextToken: 't' })
      .resolvesOnce({ LaunchTemplateVersions: [v('lt-b', 2, true)] });
    const t = await discoverTemplateVersions(ec2);
    const calls = ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand);
    // The SDK paginator reuses one input object, so only the last state of it can be checked.
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input).toMatchObject({
      Versions: ['$Default', '$Latest'],
      MaxResults: 200,
      NextToken: 't',
    });
    expect(calls[1]!.args[0].input.LaunchTemplateId).toBeUndefined();
    const a = t.get('lt-a')!;
    expect([a.defaultVersion.versionNumber, a.latestVersion.versionNumber]).toEqual([1, 3]);
    expect(templateVersion(a, '$Latest')!.options).toEqual({ httpTokens: 'required' });
    expect(templateVersion(a, undefined)!.options).toEqual({});
    expect(t.get('lt-b')!.latestVersion.versionNumber).toBe(2);
  });

  it('falls back to one call per template when the account-wide form is refused', async () => {
    ec2Mock
      .on(DescribeLaunchTemplateVersionsCommand, { Versions: ['$Default', '$Latest'], MaxResults: 200 })
      .rejects(Object.assign(new Error('need an id'), { name: 'MissingParameter' }))
      .on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-a' })
      .resolves({ LaunchTemplateVersions: [v('lt-a', 1, true)] });
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-a' }] });
    const t = await discoverTemplateVersions(ec2);
    expect([...t.keys()]).toEqual(['lt-a']);
    expect(ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand)).toHaveLength(2);
  });

  it('other errors are not swallowed', async () => {
    ec2Mock
      .on(DescribeLaunchTemplateVersionsCommand)
      .rejects(Object.assign(new Error('no'), { name: 'UnauthorizedOperation' }));
    await expect(discoverTemplateVersions(ec2)).rejects.toThrow('no');
  });
});

describe('discoverImages', () => {
  it('leaves out deregistered images (InvalidAMIID.NotFound) and still reads the rest of the batch', async () => {
    const notFound = Object.assign(new Error("The image id '[ami-0bad, ami-0dead]' does not exist"), {
      name: 'InvalidAMIID.NotFound',
    });
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(notFound)
      .resolvesOnce({ Images: [{ ImageId: 'ami-0a', ImdsSupport: 'v2.0' }, { ImageId: 'ami-0c' }] });
    const images = await discoverImages(ec2, ['ami-0c', 'ami-0bad', 'ami-0a', 'ami-0dead']);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[1]!.args[0].input.ImageIds).toEqual(['ami-0a', 'ami-0c']);
    expect([...images.values()].map((i) => [i.imageId, i.imdsSupport])).toEqual([
      ['ami-0a', 'v2.0'],
      ['ami-0c', null],
    ]);
  });

  it('still fails on other errors', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(Object.assign(new Error('no'), { name: 'UnauthorizedOperation' }));
    await expect(discoverImages(ec2, ['ami-0a'])).rejects.toThrow('no');
  });
});

describe('discoverImages: owners', () => {
  it('keeps OwnerId, ImageOwnerAlias and Public: only the owner can set ImdsSupport', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        { ImageId: 'ami-0own', OwnerId: '111111111111', Public: false },
        { ImageId: 'ami-0pub', OwnerId: '137112412989', ImageOwnerAlias: 'amazon', Public: true },
      ],
    });
    const images = await discoverImages(ec2, ['ami-0own', 'ami-0pub']);
    expect(images.get('ami-0own')).toEqual({
      imageId: 'ami-0own',
      imdsSupport: null,
      ownerId: '111111111111',
      public: false,
    });
    expect(images.get('ami-0pub')).toMatchObject({ ownerId: '137112412989', ownerAlias: 'amazon', public: true });
  });
});

describe('discoverGroups and discoverLaunchConfigurations', () => {
  it('reads the mixed instances policy template and every override that names its own', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'mixed',
          MinSize: 0,
          MaxSize: 2,
          DesiredCapacity: 1,
          DefaultCooldown: 300,
          AvailabilityZones: [],
          HealthCheckType: 'EC2',
          CreatedTime: new Date(0),
          MixedInstancesPolicy: {
            LaunchTemplate: {
              LaunchTemplateSpecification: { LaunchTemplateName: 'web', Version: '$Default' },
              Overrides: [
                { InstanceType: 'm6i.large' },
                { InstanceType: 'c6i.large', LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0b', Version: '3' } },
              ],
            },
          },
        },
        {
          AutoScalingGroupName: 'lc',
          LaunchConfigurationName: 'batch-lc',
          MinSize: 0,
          MaxSize: 2,
          DesiredCapacity: 0,
          DefaultCooldown: 300,
          AvailabilityZones: [],
          HealthCheckType: 'EC2',
          CreatedTime: new Date(0),
        },
      ],
    });
    const [mixed, lc] = await discoverGroups(asg);
    expect(mixed).toMatchObject({
      launchTemplate: { name: 'web', version: '$Default' },
      overrideLaunchTemplates: [{ launchTemplateId: 'lt-0b', version: '3' }],
    });
    expect(lc!.overrideLaunchTemplates).toBeUndefined();
    expect(lc!.launchConfigurationName).toBe('batch-lc');
  });

  it('reads launch configurations 50 names a call, with their MetadataOptions (absent ones as unset)', async () => {
    const names = Array.from({ length: 51 }, (_, k) => `lc-${String(k).padStart(2, '0')}`);
    asgMock.on(DescribeLaunchConfigurationsCommand).callsFake((input: { LaunchConfigurationNames: string[] }) => ({
      LaunchConfigurations: input.LaunchConfigurationNames.map((n) => ({
        LaunchConfigurationName: n,
        ImageId: 'ami-1',
        InstanceType: 't3.micro',
        CreatedTime: new Date(0),
        ...(n === 'lc-00' ? { MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 } } : {}),
      })),
    }));
    const lcs = await discoverLaunchConfigurations(asg, [...names, 'lc-00']);
    const calls = asgMock.commandCalls(DescribeLaunchConfigurationsCommand);
    expect(calls.map((c) => c.args[0].input.LaunchConfigurationNames!.length)).toEqual([50, 1]);
    expect(lcs.size).toBe(51);
    expect(lcs.get('lc-00')).toEqual({ httpTokens: 'required', httpPutResponseHopLimit: 2 });
    expect(lcs.get('lc-01')).toEqual({});
  });
});
