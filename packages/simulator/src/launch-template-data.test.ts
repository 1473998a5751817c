import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  ModifyImageAttributeCommand,
  type RequestLaunchTemplateData,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig, rejection } from './__fixtures__/sdk.js';
import { type Simulator, startSimulator } from './index.js';
import { inheritFromSource } from './launch-template-data.js';

// Bundled scenario `templates-and-images`.
const OWN_AMI = 'ami-0bb1b2c3d4e5f6001';
const SHARED_AMI = 'ami-0bb1b2c3d4e5f6002';
const PUBLIC_AMI = 'ami-0bb1b2c3d4e5f6003';
const AL2023 = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

let sim: Simulator;
let ec2: EC2Client;
beforeAll(async () => {
  sim = await startSimulator({ scenario: 'templates-and-images', throttling: false });
  ec2 = new EC2Client(clientConfig(sim, 'us-east-1'));
});
afterAll(async () => sim.stop());

async function versionData(name: string, version: string, resolveAlias?: boolean) {
  const out = await ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      LaunchTemplateName: name,
      Versions: [version],
      ...(resolveAlias ? { ResolveAlias: true } : {}),
    }),
  );
  return out.LaunchTemplateVersions![0]!.LaunchTemplateData!;
}

/** Everything the tool must preserve, and members the simulator gives no meaning, with nested lists. */
const fullData: RequestLaunchTemplateData = {
  ImageId: OWN_AMI,
  InstanceType: 'm6i.xlarge',
  KeyName: 'web-ops',
  IamInstanceProfile: { Arn: 'arn:aws:iam::111111111111:instance-profile/web' },
  SecurityGroupIds: ['sg-0aaaaaaaaaaaaaaa1', 'sg-0aaaaaaaaaaaaaaa2'],
  NetworkInterfaces: [
    {
      DeviceIndex: 0,
      AssociatePublicIpAddress: false,
      Groups: ['sg-0aaaaaaaaaaaaaaa3'],
      SubnetId: 'subnet-0aaaaaaaaaaaaaaa1',
      Ipv4Prefixes: [{ Ipv4Prefix: '10.0.0.0/28' }],
    },
  ],
  UserData: 'IyEvYmluL2Jhc2gKZWNobyBoaQ==',
  TagSpecifications: [
    { ResourceType: 'instance', Tags: [{ Key: 'Application', Value: 'web' }] },
    { ResourceType: 'volume', Tags: [{ Key: 'Backup', Value: 'daily' }] },
  ],
  Monitoring: { Enabled: true },
  EbsOptimized: true,
  MetadataOptions: {
    HttpTokens: 'required',
    HttpPutResponseHopLimit: 2,
    HttpEndpoint: 'enabled',
    InstanceMetadataTags: 'enabled',
  },
  BlockDeviceMappings: [
    {
      DeviceName: '/dev/xvda',
      Ebs: {
        SnapshotId: 'snap-0aaaaaaaaaaaaaaa1',
        VolumeSize: 30,
        VolumeType: 'gp3',
        Encrypted: true,
        DeleteOnTermination: true,
        Iops: 3000,
        Throughput: 125,
        KmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
      },
    },
    { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
    { DeviceName: '/dev/sdc', NoDevice: '' },
  ],
  CreditSpecification: { CpuCredits: 'unlimited' },
  Placement: { Tenancy: 'default', AvailabilityZone: 'us-east-1a' },
  InstanceRequirements: {
    VCpuCount: { Min: 2, Max: 8 },
    MemoryMiB: { Min: 4096 },
    CpuManufacturers: ['intel', 'amd'],
    ExcludedInstanceTypes: ['t2.*'],
  },
  CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
};

describe('launch template data', () => {
  it('round-trips every member through CreateLaunchTemplate and DescribeLaunchTemplateVersions', async () => {
    const created = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'roundtrip-lt',
        LaunchTemplateData: fullData,
        VersionDescription: 'all members',
        TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'Owner', Value: 'web-team' }] }],
      }),
    );
    expect(created.LaunchTemplate).toMatchObject({ DefaultVersionNumber: 1, LatestVersionNumber: 1 });
    expect(created.LaunchTemplate?.Tags).toEqual([{ Key: 'Owner', Value: 'web-team' }]);
    expect(await versionData('roundtrip-lt', '1')).toEqual(fullData);
    expect(
      await rejection(
        ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'roundtrip-lt', LaunchTemplateData: fullData })),
      ),
    ).toMatchObject({ name: 'InvalidLaunchTemplateName.AlreadyExistsException', status: 400 });
    const listed = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['roundtrip-lt'] }));
    expect(listed.LaunchTemplates?.[0]?.LaunchTemplateId).toBe(created.LaunchTemplate?.LaunchTemplateId);
  });

  it('SourceVersion: inherits each top-level member, a given member replaces it whole, inherited snapshots are dropped', async () => {
    const out = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'roundtrip-lt',
        SourceVersion: '1',
        LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' } },
      }),
    );
    const v2 = out.LaunchTemplateVersion!.LaunchTemplateData!;
    // "overwrite any corresponding launch parameters": MetadataOptions as a whole (the hop limit is not kept).
    expect(v2.MetadataOptions).toEqual({ HttpTokens: 'required', HttpEndpoint: 'enabled' });
    // "Snapshots applied to the block device mapping are ignored ... unless they are explicitly included."
    expect(v2.BlockDeviceMappings![0]!.Ebs).toEqual({
      ...fullData.BlockDeviceMappings![0]!.Ebs,
      SnapshotId: undefined,
    });
    expect(v2.BlockDeviceMappings![0]!.Ebs).not.toHaveProperty('SnapshotId');
    expect(v2.BlockDeviceMappings!.slice(1)).toEqual(fullData.BlockDeviceMappings!.slice(1));
    const { MetadataOptions: _m, BlockDeviceMappings: _b, ...rest } = fullData;
    expect(v2).toMatchObject(rest);

    // Explicitly included: the snapshot stays.
    const withSnapshot = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'roundtrip-lt',
        SourceVersion: '1',
        LaunchTemplateData: { BlockDeviceMappings: fullData.BlockDeviceMappings },
      }),
    );
    expect(withSnapshot.LaunchTemplateVersion!.LaunchTemplateData!.BlockDeviceMappings).toEqual(
      fullData.BlockDeviceMappings,
    );

    // Without SourceVersion: only what is given.
    const bare = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'roundtrip-lt',
        LaunchTemplateData: { ImageId: OWN_AMI },
      }),
    );
    expect(bare.LaunchTemplateVersion!.LaunchTemplateData).toEqual({ ImageId: OWN_AMI });
  });

  it('keeps the scenario version made from a source without its root snapshot', async () => {
    const v1 = await versionData('web-lt', '1');
    const v2 = await versionData('web-lt', '2');
    expect(v1.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId).toBe('snap-0bb1b2c3d4e5f6001');
    expect(v2.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId).toBeUndefined();
    expect(v1.BlockDeviceMappings?.slice(2)).toEqual([
      { DeviceName: '/dev/sdc', VirtualName: 'ephemeral0' },
      { DeviceName: '/dev/sdd', NoDevice: '' },
    ]);
  });

  it('shows resolve:ssm image ids as given, and the AMI they map to with ResolveAlias', async () => {
    expect((await versionData('al2023-lt', '$Latest')).ImageId).toBe(AL2023);
    expect((await versionData('al2023-lt', '$Latest', true)).ImageId).toBe(PUBLIC_AMI);
    // The account's own parameter.
    expect((await versionData('golden-lt', '1', true)).ImageId).toBe(SHARED_AMI);
    // A parameter that does not exist cannot be used in a template.
    expect(
      await rejection(
        ec2.send(
          new CreateLaunchTemplateCommand({
            LaunchTemplateName: 'no-param-lt',
            LaunchTemplateData: { ImageId: 'resolve:ssm:/no/such/parameter' },
          }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidParameterValue' });
    // A launch resolves the parameter: the public image has ImdsSupport v2.0.
    const run = await ec2.send(
      new RunInstancesCommand({ MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateName: 'al2023-lt' } }),
    );
    expect(run.Instances![0]).toMatchObject({
      ImageId: PUBLIC_AMI,
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
    });
  });

  it('inheritFromSource leaves the source untouched', () => {
    const source = { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-1', VolumeSize: 8 } }] };
    const copy = inheritFromSource(source, { KeyName: 'k' });
    expect(copy).toEqual({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8 } }], KeyName: 'k' });
    expect(source.BlockDeviceMappings[0]!.Ebs.SnapshotId).toBe('snap-1');
  });
});

describe('images and their owners', () => {
  it('describes owner, public flag and owner alias; Owners=self keeps the account own images', async () => {
    const all = await ec2.send(new DescribeImagesCommand({}));
    const byId = new Map(all.Images!.map((i) => [i.ImageId, i]));
    expect(byId.get(OWN_AMI)).toMatchObject({ OwnerId: '111111111111', Public: false });
    expect(byId.get(SHARED_AMI)).toMatchObject({ OwnerId: '444444444444', Public: false });
    expect(byId.get(PUBLIC_AMI)).toMatchObject({
      OwnerId: '444444444444',
      Public: true,
      ImageOwnerAlias: 'amazon',
      ImdsSupport: 'v2.0',
    });
    const self = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(self.Images!.map((i) => i.ImageId)).toEqual([OWN_AMI]);
    const amazon = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    expect(amazon.Images!.map((i) => i.ImageId)).toEqual([PUBLIC_AMI]);
  });

  it('refuses ModifyImageAttribute ImdsSupport on an image the caller does not own with AuthFailure', async () => {
    for (const id of [SHARED_AMI, PUBLIC_AMI]) {
      expect(
        await rejection(ec2.send(new ModifyImageAttributeCommand({ ImageId: id, ImdsSupport: { Value: 'v2.0' } }))),
      ).toEqual({ name: 'AuthFailure', status: 400, message: `Not authorized for image:${id}` });
    }
    // Even a DryRun: the caller is not authorized for the image.
    expect(
      await rejection(
        ec2.send(
          new ModifyImageAttributeCommand({ ImageId: SHARED_AMI, ImdsSupport: { Value: 'v2.0' }, DryRun: true }),
        ),
      ),
    ).toMatchObject({ name: 'AuthFailure' });
    // ImdsSupport has one value, v2.0 (botocore EC2 model, ImdsSupportValues).
    expect(
      await rejection(ec2.send(new ModifyImageAttributeCommand({ ImageId: OWN_AMI, ImdsSupport: { Value: 'v1.0' } }))),
    ).toMatchObject({ name: 'InvalidParameterValue' });
    // The owner can.
    const owner = new EC2Client(clientConfig(sim, 'us-east-1', '444444444444'));
    await owner.send(new ModifyImageAttributeCommand({ ImageId: PUBLIC_AMI, ImdsSupport: { Value: 'v2.0' } }));
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: OWN_AMI, ImdsSupport: { Value: 'v2.0' } }));
    const own = await ec2.send(new DescribeImagesCommand({ ImageIds: [OWN_AMI] }));
    expect(own.Images![0]!.ImdsSupport).toBe('v2.0');
  });

  it('launches from a shared image the account does not own', async () => {
    const run = await ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ImageId: SHARED_AMI }));
    expect(run.Instances![0]!.ImageId).toBe(SHARED_AMI);
    // Another account does not see prod's private image; the owner of the shared one does see it.
    const other = new EC2Client(clientConfig(sim, 'us-east-1', '444444444444'));
    expect(await rejection(other.send(new DescribeImagesCommand({ ImageIds: [OWN_AMI] })))).toMatchObject({
      name: 'InvalidAMIID.NotFound',
    });
    const shared = await other.send(new DescribeImagesCommand({ ImageIds: [SHARED_AMI] }));
    expect(shared.Images![0]!.OwnerId).toBe('444444444444');
  });
});
