import type { LaunchConfiguration } from '@aws-sdk/client-auto-scaling';
import type {
  LaunchTemplateBlockDeviceMapping,
  LaunchTemplateBlockDeviceMappingRequest,
  LaunchTemplateInstanceMetadataOptions,
  LaunchTemplateInstanceMetadataOptionsRequest,
  RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';

/**
 * A lock-in step that cannot be done as planned, for a reason the step's own resources give (not an AWS error): the
 * step fails with `code` and `message` in the journal and the run goes on with the other steps.
 */
export class LockInRefusal extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

/**
 * Launch data as lock-in writes it: a template version's block device mappings passed on explicitly, a template's
 * MetadataOptions complete, and a launch configuration rewritten as launch template data.
 */

/**
 * A version's block device mappings (DescribeLaunchTemplateVersions' response shape) as CreateLaunchTemplateVersion
 * takes them, member by member. CreateLaunchTemplateVersion with SourceVersion inherits the source's mappings, but
 * "Snapshots applied to the block device mapping are ignored when creating a new version unless they are explicitly
 * included" (EC2 API reference, CreateLaunchTemplateVersion, SourceVersion): passing them all, snapshots included,
 * keeps the new version's disks the source's.
 */
export function blockDeviceMappingsRequest(
  mappings: readonly LaunchTemplateBlockDeviceMapping[],
): LaunchTemplateBlockDeviceMappingRequest[] {
  return mappings.map((m) => {
    const out: LaunchTemplateBlockDeviceMappingRequest = {};
    if (m.DeviceName !== undefined) out.DeviceName = m.DeviceName;
    if (m.VirtualName !== undefined) out.VirtualName = m.VirtualName;
    if (m.NoDevice !== undefined) out.NoDevice = m.NoDevice;
    if (m.Ebs !== undefined) {
      const e = m.Ebs;
      out.Ebs = defined({
        Encrypted: e.Encrypted,
        DeleteOnTermination: e.DeleteOnTermination,
        Iops: e.Iops,
        KmsKeyId: e.KmsKeyId,
        SnapshotId: e.SnapshotId,
        VolumeSize: e.VolumeSize,
        VolumeType: e.VolumeType,
        Throughput: e.Throughput,
        VolumeInitializationRate: e.VolumeInitializationRate,
        EbsCardIndex: e.EbsCardIndex,
      });
    }
    return out;
  });
}

/**
 * The MetadataOptions of a new version: the source's (IPv6 endpoint and instance metadata tags kept, `State` left out:
 * it is response-only) with tokens required, the endpoint enabled and the given hop limit. CreateLaunchTemplateVersion
 * replaces MetadataOptions as a whole whether or not the API merges nested members (not documented), so it is sent
 * complete.
 */
export function metadataOptionsRequest(
  source: LaunchTemplateInstanceMetadataOptions | undefined,
  hopLimit: number,
): LaunchTemplateInstanceMetadataOptionsRequest {
  return defined({
    HttpTokens: 'required',
    HttpPutResponseHopLimit: hopLimit,
    HttpEndpoint: 'enabled',
    HttpProtocolIpv6: source?.HttpProtocolIpv6,
    InstanceMetadataTags: source?.InstanceMetadataTags,
  });
}

/**
 * A launch configuration (DescribeLaunchConfigurations) as launch template data, following AWS's mapping member by
 * member (Amazon EC2 Auto Scaling User Guide, "Migrate AWS CloudFormation stacks to launch templates", "Launch
 * configuration mapping reference", and its conversion steps):
 *
 * | launch configuration | launch template |
 * | --- | --- |
 * | ImageId, InstanceType, KeyName, KernelId, UserData, EbsOptimized | the same member |
 * | RamdiskId | RamDiskId |
 * | IamInstanceProfile (a name or an ARN) | IamInstanceProfile.Name or .Arn |
 * | InstanceMonitoring.Enabled | Monitoring.Enabled |
 * | PlacementTenancy | Placement.Tenancy |
 * | SpotPrice | InstanceMarketOptions.SpotOptions.MaxPrice (MarketType spot) |
 * | BlockDeviceMappings (NoDevice true) | BlockDeviceMappings (NoDevice "": "you must specify an empty string for NoDevice in your launch template to have Amazon EC2 omit the device") |
 * | AssociatePublicIpAddress | NetworkInterfaces[DeviceIndex 0].AssociatePublicIpAddress, the security groups then in its Groups ("you must copy the security groups to the Groups property of the network interface instead") |
 * | SecurityGroups | SecurityGroupIds (ids), or SecurityGroups (names, default VPC) |
 * | MetadataOptions | MetadataOptions: tokens required, endpoint enabled, `hopLimit` |
 * | ClassicLinkVPCId, ClassicLinkVPCSecurityGroups | "Not available": the step is refused |
 *
 * The guide recommends dropping SpotPrice (Spot at the current price) or moving to a mixed instances policy; lock-in
 * keeps the group's purchase option as it is (the mapping's InstanceMarketOptions) and says so in `notes`.
 * Throws LockInRefusal `LaunchConfigurationNotMappable` when the configuration holds what a launch template cannot.
 */
export function templateDataFromLaunchConfiguration(
  lc: LaunchConfiguration,
  hopLimit: number,
): { data: RequestLaunchTemplateData; notes: string[] } {
  const name = lc.LaunchConfigurationName ?? '(unnamed)';
  const unmappable: string[] = [];
  if (lc.ClassicLinkVPCId) unmappable.push('ClassicLinkVPCId');
  if ((lc.ClassicLinkVPCSecurityGroups ?? []).length > 0) unmappable.push('ClassicLinkVPCSecurityGroups');
  const groups = lc.SecurityGroups ?? [];
  const ids = groups.filter((g) => g.startsWith('sg-'));
  const names = groups.filter((g) => !g.startsWith('sg-'));
  if (lc.AssociatePublicIpAddress !== undefined && names.length > 0)
    unmappable.push('SecurityGroups by name with AssociatePublicIpAddress (a network interface takes group ids only)');
  if (unmappable.length > 0) {
    throw new LockInRefusal(
      'LaunchConfigurationNotMappable',
      `launch configuration ${name} holds what a launch template cannot (${unmappable.join(', ')}): migrate the group to a launch template by hand (Auto Scaling UG, "Migrate your Auto Scaling groups to launch templates")`,
    );
  }
  const notes: string[] = [];
  const data: RequestLaunchTemplateData = defined({
    ImageId: lc.ImageId,
    InstanceType: lc.InstanceType as RequestLaunchTemplateData['InstanceType'],
    KeyName: lc.KeyName || undefined,
    KernelId: lc.KernelId || undefined,
    RamDiskId: lc.RamdiskId || undefined,
    UserData: lc.UserData || undefined,
    EbsOptimized: lc.EbsOptimized,
  });
  if (lc.IamInstanceProfile)
    data.IamInstanceProfile = lc.IamInstanceProfile.startsWith('arn:')
      ? { Arn: lc.IamInstanceProfile }
      : { Name: lc.IamInstanceProfile };
  if (lc.InstanceMonitoring?.Enabled !== undefined) data.Monitoring = { Enabled: lc.InstanceMonitoring.Enabled };
  if (lc.PlacementTenancy) data.Placement = { Tenancy: lc.PlacementTenancy as 'default' };
  if (lc.SpotPrice) {
    data.InstanceMarketOptions = { MarketType: 'spot', SpotOptions: { MaxPrice: lc.SpotPrice } };
    notes.push(
      `${name} requests Spot Instances at up to ${lc.SpotPrice}: the template keeps that (InstanceMarketOptions); AWS recommends a mixed instances policy instead`,
    );
  }
  if ((lc.BlockDeviceMappings ?? []).length > 0) {
    data.BlockDeviceMappings = lc.BlockDeviceMappings!.map((m) =>
      defined({
        DeviceName: m.DeviceName,
        VirtualName: m.VirtualName,
        NoDevice: m.NoDevice === true ? '' : undefined,
        Ebs: m.Ebs
          ? defined({
              SnapshotId: m.Ebs.SnapshotId,
              VolumeSize: m.Ebs.VolumeSize,
              VolumeType: m.Ebs.VolumeType as 'gp3',
              DeleteOnTermination: m.Ebs.DeleteOnTermination,
              Iops: m.Ebs.Iops,
              Encrypted: m.Ebs.Encrypted,
              Throughput: m.Ebs.Throughput,
            })
          : undefined,
      }),
    );
  }
  if (lc.AssociatePublicIpAddress !== undefined) {
    data.NetworkInterfaces = [
      defined({
        DeviceIndex: 0,
        AssociatePublicIpAddress: lc.AssociatePublicIpAddress,
        Groups: ids.length > 0 ? ids : undefined,
      }),
    ];
  } else {
    if (ids.length > 0) data.SecurityGroupIds = ids;
    if (names.length > 0) data.SecurityGroups = names;
  }
  data.MetadataOptions = { HttpTokens: 'required', HttpPutResponseHopLimit: hopLimit, HttpEndpoint: 'enabled' };
  return { data, notes };
}

/** The object without its undefined members (the SDK would send them as absent anyway; tests compare exactly). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
