import type { AwsValue } from '@imdsv2-cutover/core';
import type { QueryParams } from './protocol/query.js';
import { escapeXml } from './protocol/xml.js';

/**
 * Launch template data, kept generically: an object by API member name (the JSON shape of the SDKs' inputs, e.g.
 * `{ ImageId, BlockDeviceMappings: [{ DeviceName, Ebs: { SnapshotId, VolumeSize } }], MetadataOptions: {...} }`), so
 * that every member EC2 knows round-trips through CreateLaunchTemplate(Version) and DescribeLaunchTemplateVersions even
 * where the simulator gives it no meaning.
 *
 * The EC2 query protocol names a member differently on the way in (the request's `queryName`/`locationName`, lists as
 * `Name.N`) and on the way out (the response's `locationName`, lists as `<nameSet><item>`). Every member keeps its API
 * name on the way in and becomes lowerCamelCase on the way out, except those listed below, taken from the botocore EC2
 * model (`botocore/data/ec2/2016-11-15/service-2.json`, shapes `RequestLaunchTemplateData` and
 * `ResponseLaunchTemplateData` and the shapes they contain). Keys are member paths (list indices left out).
 */
export type LaunchTemplateData = { [member: string]: AwsValue };

/** Member path -> request (query) name, where it is not the member name. */
const requestNames: Readonly<Record<string, string>> = {
  BlockDeviceMappings: 'BlockDeviceMapping',
  NetworkInterfaces: 'NetworkInterface',
  'NetworkInterfaces.Groups': 'SecurityGroupId',
  'NetworkInterfaces.Ipv4Prefixes': 'Ipv4Prefix',
  'NetworkInterfaces.Ipv6Prefixes': 'Ipv6Prefix',
  TagSpecifications: 'TagSpecification',
  'TagSpecifications.Tags': 'Tag',
  ElasticGpuSpecifications: 'ElasticGpuSpecification',
  ElasticInferenceAccelerators: 'ElasticInferenceAccelerator',
  SecurityGroupIds: 'SecurityGroupId',
  SecurityGroups: 'SecurityGroup',
  LicenseSpecifications: 'LicenseSpecification',
  'InstanceRequirements.CpuManufacturers': 'CpuManufacturer',
  'InstanceRequirements.ExcludedInstanceTypes': 'ExcludedInstanceType',
  'InstanceRequirements.InstanceGenerations': 'InstanceGeneration',
  'InstanceRequirements.LocalStorageTypes': 'LocalStorageType',
  'InstanceRequirements.AcceleratorTypes': 'AcceleratorType',
  'InstanceRequirements.AcceleratorManufacturers': 'AcceleratorManufacturer',
  'InstanceRequirements.AcceleratorNames': 'AcceleratorName',
  'InstanceRequirements.AllowedInstanceTypes': 'AllowedInstanceType',
  'InstanceRequirements.BaselinePerformanceFactors.Cpu.References': 'Reference',
  SecondaryInterfaces: 'SecondaryInterface',
  'SecondaryInterfaces.PrivateIpAddresses': 'PrivateIpAddress',
};

/** Member path -> response (XML) element name, where it is not the lowerCamelCase member name. */
const responseNames: Readonly<Record<string, string>> = {
  BlockDeviceMappings: 'blockDeviceMappingSet',
  NetworkInterfaces: 'networkInterfaceSet',
  'NetworkInterfaces.Groups': 'groupSet',
  'NetworkInterfaces.Ipv6Addresses': 'ipv6AddressesSet',
  'NetworkInterfaces.PrivateIpAddresses': 'privateIpAddressesSet',
  'NetworkInterfaces.Ipv4Prefixes': 'ipv4PrefixSet',
  'NetworkInterfaces.Ipv6Prefixes': 'ipv6PrefixSet',
  TagSpecifications: 'tagSpecificationSet',
  'TagSpecifications.Tags': 'tagSet',
  ElasticGpuSpecifications: 'elasticGpuSpecificationSet',
  ElasticInferenceAccelerators: 'elasticInferenceAcceleratorSet',
  SecurityGroupIds: 'securityGroupIdSet',
  SecurityGroups: 'securityGroupSet',
  LicenseSpecifications: 'licenseSet',
  'InstanceRequirements.CpuManufacturers': 'cpuManufacturerSet',
  'InstanceRequirements.ExcludedInstanceTypes': 'excludedInstanceTypeSet',
  'InstanceRequirements.InstanceGenerations': 'instanceGenerationSet',
  'InstanceRequirements.LocalStorageTypes': 'localStorageTypeSet',
  'InstanceRequirements.AcceleratorTypes': 'acceleratorTypeSet',
  'InstanceRequirements.AcceleratorManufacturers': 'acceleratorManufacturerSet',
  'InstanceRequirements.AcceleratorNames': 'acceleratorNameSet',
  'InstanceRequirements.AllowedInstanceTypes': 'allowedInstanceTypeSet',
  'InstanceRequirements.BaselinePerformanceFactors.Cpu.References': 'referenceSet',
  SecondaryInterfaces: 'secondaryInterfaceSet',
  'SecondaryInterfaces.PrivateIpAddresses': 'privateIpAddressesSet',
};

/** List item element names in the response, where they are not `item`. */
const responseItemNames: Readonly<Record<string, string>> = { 'NetworkInterfaces.Groups': 'groupId' };

/** `${parent path}|${request name}` -> member name: the reverse of `requestNames`. */
const membersByRequestName = new Map(
  Object.entries(requestNames).map(([path, q]) => {
    const cut = path.lastIndexOf('.');
    const parent = cut < 0 ? '' : path.slice(0, cut);
    return [`${parent}|${q}`, cut < 0 ? path : path.slice(cut + 1)] as const;
  }),
);

const join = (parent: string, member: string): string => (parent === '' ? member : `${parent}.${member}`);

type Node = { kind: 'struct'; members: Map<string, Node> } | { kind: 'list'; items: Map<number, Node> } | string;

/**
 * Reads `LaunchTemplateData.*` (or any `prefix`) from an EC2 query request into API member names: `LaunchTemplateData.
 * BlockDeviceMapping.1.Ebs.VolumeSize=8` becomes `{ BlockDeviceMappings: [{ Ebs: { VolumeSize: '8' } }] }`. Scalars stay
 * strings, as they arrived. Returns undefined when the request has no such member.
 */
export function parseQueryStructure(p: QueryParams, prefix: string): LaunchTemplateData | undefined {
  const root: Node = { kind: 'struct', members: new Map() };
  let found = false;
  for (const [key, value] of p.entries()) {
    if (!key.startsWith(`${prefix}.`)) continue;
    found = true;
    const segments = key.slice(prefix.length + 1).split('.');
    let node: Node = root;
    let path = '';
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const last = i === segments.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(segments[i + 1]!);
      const make = (): Node => (last ? value : nextIsIndex ? { kind: 'list', items: new Map() } : newStruct());
      if (typeof node === 'string') break; // a scalar with members: malformed, keep the first value
      if (node.kind === 'list') {
        const index = Number(seg);
        const child: Node = node.items.get(index) ?? make();
        node.items.set(index, child);
        node = child;
      } else {
        const member = membersByRequestName.get(`${path}|${seg}`) ?? seg;
        path = join(path, member);
        const child: Node = node.members.get(member) ?? make();
        node.members.set(member, child);
        node = child;
      }
    }
  }
  return found ? (toValue(root) as LaunchTemplateData) : undefined;
}

function newStruct(): Node {
  return { kind: 'struct', members: new Map() };
}

function toValue(node: Node): AwsValue {
  if (typeof node === 'string') return node;
  if (node.kind === 'list') return [...node.items].sort((a, b) => a[0] - b[0]).map(([, n]) => toValue(n));
  const out: LaunchTemplateData = {};
  for (const [k, v] of node.members) out[k] = toValue(v);
  return out;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function scalarText(v: AwsValue): string {
  return escapeXml(typeof v === 'string' ? v : JSON.stringify(v));
}

function valueXml(value: AwsValue, path: string): string {
  if (Array.isArray(value)) {
    const item = responseItemNames[path] ?? 'item';
    return value.map((v) => `<${item}>${valueXml(v, path)}</${item}>`).join('');
  }
  if (typeof value === 'object') return structureXml(value, path);
  return scalarText(value);
}

/** Writes a structure as EC2 answers it (`<blockDeviceMappingSet><item>...`), by the response names above. */
export function structureXml(data: LaunchTemplateData, path = ''): string {
  let out = '';
  for (const [member, value] of Object.entries(data)) {
    const memberPath = join(path, member);
    const name = responseNames[memberPath] ?? lowerFirst(member);
    out += `<${name}>${valueXml(value, memberPath)}</${name}>`;
  }
  return out;
}

function clone<T extends AwsValue>(v: T): T {
  return structuredClone(v);
}

/**
 * A new version's data from its source version (CreateLaunchTemplateVersion with SourceVersion): "the new version
 * inherits the launch parameters from the source version. If you specify additional launch parameters for the new
 * version, they overwrite any corresponding launch parameters inherited from the source version", each top-level
 * member as a whole; and "Snapshots applied to the block device mapping are ignored when creating a new version unless
 * they are explicitly included": inherited block device mappings lose their `Ebs.SnapshotId` (EC2 API reference,
 * CreateLaunchTemplateVersion, SourceVersion).
 */
export function inheritFromSource(source: LaunchTemplateData, given: LaunchTemplateData): LaunchTemplateData {
  const out: LaunchTemplateData = {};
  for (const [k, v] of Object.entries(source)) out[k] = clone(v);
  if (given.BlockDeviceMappings === undefined && Array.isArray(out.BlockDeviceMappings)) {
    for (const m of out.BlockDeviceMappings) {
      if (m && typeof m === 'object' && !Array.isArray(m)) {
        const ebs = m.Ebs;
        if (ebs && typeof ebs === 'object' && !Array.isArray(ebs)) delete ebs.SnapshotId;
      }
    }
  }
  for (const [k, v] of Object.entries(given)) out[k] = clone(v);
  return out;
}

/** A member as a structure, or undefined when it is absent or not one. */
export function structureMember(data: LaunchTemplateData | undefined, member: string): LaunchTemplateData | undefined {
  const v = data?.[member];
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** A member as text (numbers and booleans as JSON), or undefined. */
export function textMember(data: LaunchTemplateData | undefined, member: string): string | undefined {
  const v = data?.[member];
  if (v === undefined || typeof v === 'object') return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The tags a LaunchTemplateData's TagSpecifications give instances (ResourceType `instance`). */
export function instanceTags(data: LaunchTemplateData | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const specs = data?.TagSpecifications;
  if (!Array.isArray(specs)) return out;
  for (const s of specs) {
    if (!s || typeof s !== 'object' || Array.isArray(s) || s.ResourceType !== 'instance' || !Array.isArray(s.Tags))
      continue;
    for (const t of s.Tags)
      if (t && typeof t === 'object' && !Array.isArray(t) && typeof t.Key === 'string')
        out[t.Key] = textMember(t, 'Value') ?? '';
  }
  return out;
}
