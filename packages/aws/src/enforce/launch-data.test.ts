import type { LaunchConfiguration } from '@aws-sdk/client-auto-scaling';
import { describe, expect, it } from 'vitest';
import {
  LockInRefusal,
  blockDeviceMappingsRequest,
  metadataOptionsRequest,
  templateDataFromLaunchConfiguration,
} from './launch-data.js';

const base: LaunchConfiguration = {
  LaunchConfigurationName: 'batch-lc',
  ImageId: 'ami-0bb1b2c3d4e5f6001',
  InstanceType: 'c5.large',
  CreatedTime: new Date(0),
};

describe('templateDataFromLaunchConfiguration: AWS’s launch configuration mapping, member by member', () => {
  it('maps every member a launch template has, with tokens required', () => {
    const { data, notes } = templateDataFromLaunchConfiguration(
      {
        ...base,
        KeyName: 'batch-ops',
        SecurityGroups: ['sg-0bb1b2c3d4e5f6002'],
        UserData: 'IyEvYmluL2Jhc2g=',
        KernelId: 'aki-1',
        RamdiskId: 'ari-1',
        IamInstanceProfile: 'batch-instance-profile',
        InstanceMonitoring: { Enabled: false },
        EbsOptimized: true,
        PlacementTenancy: 'dedicated',
        SpotPrice: '0.05',
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/xvda',
            Ebs: { SnapshotId: 'snap-1', VolumeSize: 50, VolumeType: 'gp3', Encrypted: true },
          },
          { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
          { DeviceName: '/dev/sdc', NoDevice: true },
        ],
        MetadataOptions: { HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
      },
      2,
    );
    expect(data).toEqual({
      ImageId: 'ami-0bb1b2c3d4e5f6001',
      InstanceType: 'c5.large',
      KeyName: 'batch-ops',
      KernelId: 'aki-1',
      RamDiskId: 'ari-1',
      UserData: 'IyEvYmluL2Jhc2g=',
      EbsOptimized: true,
      IamInstanceProfile: { Name: 'batch-instance-profile' },
      Monitoring: { Enabled: false },
      Placement: { Tenancy: 'dedicated' },
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { MaxPrice: '0.05' } },
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-1', VolumeSize: 50, VolumeType: 'gp3', Encrypted: true } },
        { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
        { DeviceName: '/dev/sdc', NoDevice: '' },
      ],
      SecurityGroupIds: ['sg-0bb1b2c3d4e5f6002'],
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
    });
    expect(notes).toEqual([expect.stringMatching(/Spot Instances at up to 0.05/)]);
  });

  it('an instance profile ARN stays an ARN; security group names go to SecurityGroups', () => {
    const { data } = templateDataFromLaunchConfiguration(
      {
        ...base,
        IamInstanceProfile: 'arn:aws:iam::111111111111:instance-profile/batch',
        SecurityGroups: ['sg-0aaaaaaaaaaaaaaa1', 'default'],
      },
      1,
    );
    expect(data).toMatchObject({
      IamInstanceProfile: { Arn: 'arn:aws:iam::111111111111:instance-profile/batch' },
      SecurityGroupIds: ['sg-0aaaaaaaaaaaaaaa1'],
      SecurityGroups: ['default'],
    });
  });

  it('AssociatePublicIpAddress becomes the primary network interface, which then holds the security groups', () => {
    const { data } = templateDataFromLaunchConfiguration(
      { ...base, AssociatePublicIpAddress: false, SecurityGroups: ['sg-0aaaaaaaaaaaaaaa1'] },
      1,
    );
    expect(data.NetworkInterfaces).toEqual([
      { DeviceIndex: 0, AssociatePublicIpAddress: false, Groups: ['sg-0aaaaaaaaaaaaaaa1'] },
    ]);
    expect(data.SecurityGroupIds).toBeUndefined();
  });

  it.each([
    ['ClassicLink', { ClassicLinkVPCId: 'vpc-1', ClassicLinkVPCSecurityGroups: ['sg-1'] }, /ClassicLinkVPCId/],
    ['group names with a public IP choice', { AssociatePublicIpAddress: true, SecurityGroups: ['web'] }, /by name/],
  ])('refuses what a launch template cannot hold: %s', (_what, extra, message) => {
    const refuse = () => templateDataFromLaunchConfiguration({ ...base, ...extra }, 1);
    expect(refuse).toThrow(LockInRefusal);
    expect(refuse).toThrow(message);
  });
});

describe('blockDeviceMappingsRequest and metadataOptionsRequest', () => {
  it('passes every mapping on, snapshots included, from the response shape to the request shape', () => {
    expect(
      blockDeviceMappingsRequest([
        {
          DeviceName: '/dev/xvda',
          Ebs: {
            SnapshotId: 'snap-1',
            VolumeSize: 30,
            VolumeType: 'gp3',
            Iops: 3000,
            Throughput: 125,
            Encrypted: true,
          },
        },
        { DeviceName: '/dev/sdd', NoDevice: '' },
      ]),
    ).toEqual([
      {
        DeviceName: '/dev/xvda',
        Ebs: { SnapshotId: 'snap-1', VolumeSize: 30, VolumeType: 'gp3', Iops: 3000, Throughput: 125, Encrypted: true },
      },
      { DeviceName: '/dev/sdd', NoDevice: '' },
    ]);
  });

  it('keeps the source’s IPv6 endpoint and instance tags, drops State, requires tokens', () => {
    expect(
      metadataOptionsRequest(
        { State: 'applied', HttpTokens: 'optional', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' },
        2,
      ),
    ).toEqual({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
      HttpEndpoint: 'enabled',
      InstanceMetadataTags: 'enabled',
    });
  });
});
