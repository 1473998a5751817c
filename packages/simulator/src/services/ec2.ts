import { partitionOfRegion } from '@imdsv2-cutover/core';
import { advanceAutoScaling } from '../auto-scaling.js';
import type { Call, QueryService } from '../context.js';
import {
  type MetadataOptionValues,
  type RegionState,
  type SimImage,
  type SimInstance,
  type SimLaunchTemplate,
  type SimLaunchTemplateVersion,
  resolveLaunchTemplateVersion,
  templateVersion,
} from '../fleet.js';
import { isSsmImageRef, resolveLaunch, resolveSsmImageId } from '../launch.js';
import {
  type LaunchTemplateData,
  inheritFromSource,
  instanceTags,
  parseQueryStructure,
  structureMember,
  structureXml,
  textMember,
} from '../launch-template-data.js';
import { ServiceError, intInRange } from '../protocol/errors.js';
import type { QueryParams } from '../protocol/query.js';
import { el, escapeXml, isoTime, list, wrap } from '../protocol/xml.js';
import { hexId } from '../random.js';
import { decodeToken, encodeToken } from './paging.js';

/** EC2 (ec2Query protocol, API version 2016-11-15). */

const instanceIdRe = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** The ARN partition of a resource in `region` (`aws`, `aws-cn`, `aws-us-gov`). */
function partitionOf(region: string): string {
  return partitionOfRegion(region) ?? 'aws';
}

function regionState(call: Call): RegionState {
  return call.sim.fleet.region(call.account, call.region)!;
}

function dryRunCheck(p: QueryParams): void {
  if (p.bool('DryRun'))
    throw new ServiceError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', { status: 412 });
}

function findInstance(call: Call, id: string): SimInstance {
  if (!instanceIdRe.test(id)) throw new ServiceError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const inst = call.sim.fleet.instance(id);
  if (!inst || inst.account !== call.account || inst.region !== call.region) {
    throw new ServiceError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  }
  return inst;
}

function enumValue<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ServiceError(
      'InvalidParameterValue',
      `Value (${raw}) for parameter ${name} is invalid. Valid values: ${allowed.join(', ')}.`,
    );
  }
  return raw as T;
}

/** EC2 filter values allow `*` and `?` wildcards. */
function valueMatcher(values: string[]): (v: string | undefined) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const v of values) {
    if (/[*?]/.test(v))
      patterns.push(
        new RegExp(
          `^${v
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
          's',
        ),
      );
    else exact.add(v);
  }
  return (v) => v !== undefined && (exact.has(v) || patterns.some((p) => p.test(v)));
}

type InstancePredicate = (inst: SimInstance, nowMs: number) => boolean;

function instanceFilter(call: Call, name: string, values: string[]): InstancePredicate {
  const m = valueMatcher(values);
  const fleet = call.sim.fleet;
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return (i) => m(i.tags[key]);
  }
  switch (name) {
    case 'instance-id':
      return (i) => m(i.id);
    case 'instance-state-name':
      return (i) => m(fleet.stateName(i));
    case 'instance-type':
      return (i) => m(i.instanceType);
    case 'image-id':
      return (i) => m(i.imageId);
    case 'platform':
      return (i) => i.platform === 'windows' && m('windows');
    case 'availability-zone':
      return (i) => m(i.availabilityZone);
    case 'tag-key':
      return (i) => Object.keys(i.tags).some((k) => m(k));
    case 'metadata-options.http-tokens':
      return (i) => m(i.options.httpTokens);
    case 'metadata-options.http-endpoint':
      return (i) => m(i.options.httpEndpoint);
    case 'metadata-options.http-put-response-hop-limit':
      return (i) => m(String(i.options.httpPutResponseHopLimit));
    case 'metadata-options.http-protocol-ipv6':
      return (i) => m(i.options.httpProtocolIpv6);
    case 'metadata-options.instance-metadata-tags':
      return (i) => m(i.options.instanceMetadataTags);
    case 'metadata-options.state':
      return (i, now) => m(fleet.optionsState(i, now));
    default:
      throw new ServiceError('InvalidParameterValue', `The filter '${name}' is invalid`);
  }
}

function metadataOptionsXml(o: MetadataOptionValues, state: string): string {
  return (
    el('state', state) +
    el('httpTokens', o.httpTokens) +
    el('httpPutResponseHopLimit', o.httpPutResponseHopLimit) +
    el('httpEndpoint', o.httpEndpoint) +
    el('httpProtocolIpv6', o.httpProtocolIpv6) +
    el('instanceMetadataTags', o.instanceMetadataTags)
  );
}

function tagSetXml(tags: Record<string, string>): string {
  let out = '<tagSet>';
  for (const k in tags) out += `<item><key>${escapeXml(k)}</key><value>${escapeXml(tags[k]!)}</value></item>`;
  return `${out}</tagSet>`;
}

/** EC2 instance state codes (API reference, InstanceState): 0 pending, 16 running, 48 terminated, 80 stopped. */
const stateCodes = { pending: 0, running: 16, stopped: 80, terminated: 48 } as const;

/** One instance as EC2 describes it; `state` overrides the instance's own (RunInstances answers `pending`). */
function instanceBodyXml(call: Call, i: SimInstance, state?: 'pending'): string {
  const ipDash = i.privateIp.replace(/\./g, '-');
  const partition = partitionOf(i.region);
  const dnsSuffix = i.region === 'us-east-1' ? 'ec2.internal' : `${i.region}.compute.internal`;
  const name = state ?? call.sim.fleet.stateName(i);
  return (
    `<instanceId>${i.id}</instanceId>${el('imageId', i.imageId)}` +
    `<instanceState><code>${stateCodes[name]}</code><name>${name}</name></instanceState>` +
    `<privateDnsName>ip-${ipDash}.${dnsSuffix}</privateDnsName><dnsName/>${name === 'stopped' || name === 'terminated' ? '<reason>User initiated</reason>' : '<reason/>'}` +
    `<amiLaunchIndex>0</amiLaunchIndex><productCodes/>${el('instanceType', i.instanceType)}<launchTime>${isoTime(i.launchTimeMs)}</launchTime>` +
    `<placement><availabilityZone>${i.availabilityZone}</availabilityZone><groupName/><tenancy>default</tenancy></placement>` +
    (i.platform === 'windows'
      ? '<platform>windows</platform><platformDetails>Windows</platformDetails>'
      : '<platformDetails>Linux/UNIX</platformDetails>') +
    `<monitoring><state>${i.detailedMonitoring ? 'enabled' : 'disabled'}</state></monitoring>` +
    `<privateIpAddress>${i.privateIp}</privateIpAddress><architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>` +
    (i.ssm.managed
      ? `<iamInstanceProfile><arn>arn:${partition}:iam::${i.account}:instance-profile/ssm-managed</arn><id>AIPA${i.account}SSM</id></iamInstanceProfile>`
      : '') +
    tagSetXml(i.tags) +
    `<metadataOptions>${metadataOptionsXml(i.options, call.sim.fleet.optionsState(i, call.nowMs))}</metadataOptions>`
  );
}

function instanceXml(call: Call, i: SimInstance): string {
  return (
    `<item><reservationId>${i.reservationId}</reservationId><ownerId>${i.account}</ownerId><groupSet/><instancesSet><item>` +
    instanceBodyXml(call, i) +
    `</item></instancesSet></item>`
  );
}

/**
 * The instances `ids` name, in that order, or EC2's error for the whole request: `InvalidInstanceID.Malformed` for a
 * malformed id, `InvalidInstanceID.NotFound` naming every id the account does not have in the region.
 */
function instancesById(call: Call, ids: readonly string[]): SimInstance[] {
  const found: SimInstance[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    if (!instanceIdRe.test(id)) throw new ServiceError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    const inst = call.sim.fleet.instance(id);
    if (!inst || inst.account !== call.account || inst.region !== call.region) missing.push(id);
    else found.push(inst);
  }
  if (missing.length === 1)
    throw new ServiceError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]!}' does not exist`);
  if (missing.length > 1)
    throw new ServiceError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  return found;
}

function describeInstances(call: Call, p: QueryParams): string {
  // Auto Scaling launches and terminates on the simulated clock: bring the groups up to now first.
  advanceAutoScaling(call.sim.fleet, regionState(call), call.nowMs);
  const ids = p.list('InstanceId');
  const maxRaw = p.get('MaxResults');
  if (ids.length > 0 && maxRaw !== undefined) {
    throw new ServiceError(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  const max = intInRange('MaxResults', maxRaw, 5, 1000) ?? 1000;
  const predicates = p.filters().map((f) => instanceFilter(call, f.name, f.values));
  const candidates = ids.length > 0 ? instancesById(call, ids) : regionState(call).instances;
  const start = decodeToken(p.get('NextToken'), 'DescribeInstances');
  let out = '<reservationSet>';
  let taken = 0;
  let next: number | undefined;
  for (let k = start; k < candidates.length; k++) {
    const inst = candidates[k]!;
    if (!predicates.every((f) => f(inst, call.nowMs))) continue;
    if (taken === max) {
      next = k;
      break;
    }
    out += instanceXml(call, inst);
    taken++;
  }
  out += '</reservationSet>';
  call.items = taken;
  return out + (next === undefined ? '' : el('nextToken', encodeToken('DescribeInstances', next)));
}

function modifyInstanceMetadataOptions(call: Call, p: QueryParams): string {
  const inst = findInstance(call, p.require('InstanceId'));
  const httpTokens = enumValue('HttpTokens', p.get('HttpTokens'), ['optional', 'required'] as const);
  const hop = intInRange('HttpPutResponseHopLimit', p.get('HttpPutResponseHopLimit'), 1, 64);
  const ed = ['enabled', 'disabled'] as const;
  const httpEndpoint = enumValue('HttpEndpoint', p.get('HttpEndpoint'), ed);
  const ipv6 = enumValue('HttpProtocolIpv6', p.get('HttpProtocolIpv6'), ed);
  const tags = enumValue('InstanceMetadataTags', p.get('InstanceMetadataTags'), ed);
  if ([httpTokens, hop, httpEndpoint, ipv6, tags].every((v) => v === undefined)) {
    throw new ServiceError(
      'InvalidParameterCombination',
      'At least one of HttpTokens, HttpPutResponseHopLimit, HttpEndpoint, HttpProtocolIpv6 or InstanceMetadataTags must be specified.',
    );
  }
  dryRunCheck(p);
  if (inst.terminated) {
    throw new ServiceError(
      'IncorrectInstanceState',
      `The instance '${inst.id}' is not in a state from which it can be modified.`,
    );
  }
  // EC2 User Guide, "Modify instance metadata options for existing instances": with httpTokensEnforced enabled for
  // the account in the Region, "an attempt to set httpTokens to optional will result in an UnsupportedOperation
  // exception" (message as the guide's troubleshooting section prints it).
  if (httpTokens === 'optional' && regionState(call).defaults.httpTokensEnforced === 'enabled') {
    throw new ServiceError('UnsupportedOperation', HTTP_TOKENS_ENFORCED_MESSAGE);
  }
  const next: MetadataOptionValues = {
    httpTokens: httpTokens ?? inst.options.httpTokens,
    httpPutResponseHopLimit: hop ?? inst.options.httpPutResponseHopLimit,
    httpEndpoint: httpEndpoint ?? inst.options.httpEndpoint,
    httpProtocolIpv6: ipv6 ?? inst.options.httpProtocolIpv6,
    instanceMetadataTags: tags ?? inst.options.instanceMetadataTags,
  };
  call.sim.fleet.setOptions(inst, next, call.nowMs, call.sim.applyDelayMs);
  return `<instanceId>${inst.id}</instanceId><instanceMetadataOptions>${metadataOptionsXml(next, 'pending')}</instanceMetadataOptions>`;
}

/**
 * The error message AWS documents for IMDSv1 refused by httpTokensEnforced (EC2 User Guide, "Troubleshoot Amazon EC2
 * instance launch issues" and "Modify instance metadata options for existing instances"; the same text for both).
 */
export const HTTP_TOKENS_ENFORCED_MESSAGE =
  "You can't launch instances with IMDSv1 because httpTokensEnforced is enabled for this account. Either launch the instance with httpTokens=required or contact your account owner to disable httpTokensEnforced using the ModifyInstanceMetadataDefaults API or the account settings in the EC2 console.";

/** The default message of an Organizations EC2 declarative policy (Organizations User Guide, "Declarative policies"). */
const DECLARATIVE_POLICY_MESSAGE = 'This action is denied due to an organizational policy in effect';

function getInstanceMetadataDefaults(call: Call, _p: QueryParams): string {
  const d = regionState(call).defaults;
  return wrap(
    'accountLevel',
    el('httpTokens', d.httpTokens) +
      el('httpPutResponseHopLimit', d.httpPutResponseHopLimit) +
      el('httpEndpoint', d.httpEndpoint) +
      el('instanceMetadataTags', d.instanceMetadataTags) +
      el('managedBy', d.managedBy) +
      (d.managedBy === 'declarative-policy'
        ? el('managedExceptionMessage', d.managedExceptionMessage ?? DECLARATIVE_POLICY_MESSAGE)
        : '') +
      el('httpTokensEnforced', d.httpTokensEnforced),
  );
}

function modifyInstanceMetadataDefaults(call: Call, p: QueryParams): string {
  const d = regionState(call).defaults;
  const np = 'no-preference';
  const httpTokens = enumValue('HttpTokens', p.get('HttpTokens'), ['optional', 'required', np] as const);
  const hop = intInRange('HttpPutResponseHopLimit', p.get('HttpPutResponseHopLimit'), -1, 64);
  if (hop === 0)
    throw new ServiceError(
      'InvalidParameterValue',
      'Value ( 0 ) for parameter HttpPutResponseHopLimit is invalid. Expecting -1 or a value between 1 and 64.',
    );
  const endpoint = enumValue('HttpEndpoint', p.get('HttpEndpoint'), ['enabled', 'disabled', np] as const);
  const mdTags = enumValue('InstanceMetadataTags', p.get('InstanceMetadataTags'), ['enabled', 'disabled', np] as const);
  const enforced = enumValue('HttpTokensEnforced', p.get('HttpTokensEnforced'), ['enabled', 'disabled', np] as const);
  if ([httpTokens, hop, endpoint, mdTags, enforced].every((v) => v === undefined)) {
    throw new ServiceError('InvalidParameterCombination', 'At least one instance metadata default must be specified.');
  }
  dryRunCheck(p);
  // Declarative policies are enforced in the service's control plane, not by IAM (Organizations User Guide): DryRun
  // still answers DryRunOperation. The error code of the refusal is not documented (docs/simulator-fidelity.md).
  if (d.managedBy === 'declarative-policy') {
    throw new ServiceError('OperationNotPermitted', d.managedExceptionMessage ?? DECLARATIVE_POLICY_MESSAGE);
  }
  const pick = <T extends string>(
    v: T | undefined,
    cur: Exclude<T, 'no-preference'> | undefined,
  ): Exclude<T, 'no-preference'> | undefined =>
    v === undefined ? cur : v === np ? undefined : (v as Exclude<T, 'no-preference'>);
  d.httpTokens = pick(httpTokens, d.httpTokens);
  d.httpEndpoint = pick(endpoint, d.httpEndpoint);
  d.instanceMetadataTags = pick(mdTags, d.instanceMetadataTags);
  d.httpTokensEnforced = pick(enforced, d.httpTokensEnforced);
  if (hop !== undefined) d.httpPutResponseHopLimit = hop === -1 ? undefined : hop;
  return '<return>true</return>';
}

function describeRegions(call: Call, p: QueryParams): string {
  const acct = call.sim.fleet.account(call.account)!;
  const wanted = p.list('RegionName');
  const unknown = wanted.filter((r) => !acct.regions.includes(r));
  if (unknown.length > 0) throw new ServiceError('InvalidParameterValue', `Invalid region: ${unknown.join(', ')}`);
  const regions = wanted.length > 0 ? wanted : acct.regions;
  return list(
    'regionInfo',
    regions,
    (r) =>
      `${el('regionName', r)}${el('regionEndpoint', `ec2.${r}.amazonaws.com`)}<optInStatus>opt-in-not-required</optInStatus>`,
  );
}

function findTemplate(call: Call, id: string | undefined, name: string | undefined): SimLaunchTemplate {
  const rs = regionState(call);
  if (id !== undefined) {
    const lt = rs.launchTemplates.find((t) => t.id === id);
    if (!lt)
      throw new ServiceError(
        'InvalidLaunchTemplateId.NotFound',
        `The specified launch template, with template ID ${id}, does not exist.`,
      );
    return lt;
  }
  if (name !== undefined) {
    const lt = rs.launchTemplates.find((t) => t.name === name);
    if (!lt)
      throw new ServiceError(
        'InvalidLaunchTemplateName.NotFoundException',
        `The specified launch template, with template name ${name}, does not exist.`,
      );
    return lt;
  }
  throw new ServiceError(
    'MissingParameter',
    'The request must include either a launch template ID or a launch template name.',
  );
}

function launchTemplateXml(lt: SimLaunchTemplate): string {
  return (
    `${el('launchTemplateId', lt.id)}${el('launchTemplateName', lt.name)}<createTime>${isoTime(lt.createTimeMs)}</createTime>` +
    `<createdBy>arn:${partitionOf(lt.region)}:iam::${lt.account}:root</createdBy><defaultVersionNumber>${lt.defaultVersion}</defaultVersionNumber>` +
    `<latestVersionNumber>${lt.versions.length}</latestVersionNumber>` +
    (lt.tags && Object.keys(lt.tags).length > 0 ? tagSetXml(lt.tags) : '')
  );
}

function describeLaunchTemplates(call: Call, p: QueryParams): string {
  const rs = regionState(call);
  const ids = p.list('LaunchTemplateId');
  const names = p.list('LaunchTemplateName');
  const max = intInRange('MaxResults', p.get('MaxResults'), 1, 200) ?? 200;
  let items = rs.launchTemplates;
  if (ids.length > 0 || names.length > 0) {
    items = [
      ...ids.map((id) => findTemplate(call, id, undefined)),
      ...names.map((n) => findTemplate(call, undefined, n)),
    ];
  }
  for (const f of p.filters()) {
    const m = valueMatcher(f.values);
    if (f.name === 'launch-template-name') items = items.filter((t) => m(t.name));
    else throw new ServiceError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
  }
  const start = decodeToken(p.get('NextToken'), 'DescribeLaunchTemplates');
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? el('nextToken', encodeToken('DescribeLaunchTemplates', start + max)) : '';
  call.items = page.length;
  return list('launchTemplates', page, launchTemplateXml) + next;
}

function templateVersionXml(
  call: Call,
  lt: SimLaunchTemplate,
  v: SimLaunchTemplateVersion,
  resolveAlias: boolean,
): string {
  let data = v.data;
  // ResolveAlias: the AMI id the parameter maps to now instead of the `resolve:ssm:` text (DescribeLaunchTemplateVersions).
  if (resolveAlias && v.imageId !== undefined && isSsmImageRef(v.imageId)) {
    const ami = resolveSsmImageId(call.sim.fleet, call.account, call.region, v.imageId);
    if (ami !== undefined) data = { ...data, ImageId: ami };
  }
  return (
    `${el('launchTemplateId', lt.id)}${el('launchTemplateName', lt.name)}<versionNumber>${v.versionNumber}</versionNumber>${el('versionDescription', v.description)}` +
    `<createTime>${isoTime(v.createTimeMs)}</createTime><createdBy>arn:${partitionOf(lt.region)}:iam::${lt.account}:root</createdBy>` +
    `<defaultVersion>${v.versionNumber === lt.defaultVersion}</defaultVersion>` +
    `<launchTemplateData>${structureXml(data)}</launchTemplateData>`
  );
}

function describeLaunchTemplateVersions(call: Call, p: QueryParams): string {
  const wanted = p.list('LaunchTemplateVersion');
  const max = intInRange('MaxResults', p.get('MaxResults'), 1, 200) ?? 200;
  let pairs: [SimLaunchTemplate, SimLaunchTemplate['versions'][number]][];
  if (p.get('LaunchTemplateId') === undefined && p.get('LaunchTemplateName') === undefined) {
    // The account-wide form: $Latest and/or $Default of every launch template in the region, as AWS documents it.
    if (wanted.length === 0 || wanted.some((w) => w !== '$Latest' && w !== '$Default')) {
      throw new ServiceError(
        'MissingParameter',
        'The request must contain the parameter LaunchTemplateId or LaunchTemplateName, unless only $Latest or $Default versions are requested.',
      );
    }
    pairs = [];
    for (const lt of regionState(call).launchTemplates) {
      const seen = new Set<number>();
      for (const w of wanted) {
        const v = resolveLaunchTemplateVersion(lt, w);
        if (v && !seen.has(v.versionNumber)) {
          seen.add(v.versionNumber);
          pairs.push([lt, v]);
        }
      }
    }
  } else {
    const lt = findTemplate(call, p.get('LaunchTemplateId'), p.get('LaunchTemplateName'));
    const minV = p.get('MinVersion');
    const maxV = p.get('MaxVersion');
    let versions = lt.versions;
    if (wanted.length > 0) {
      versions = wanted.map((w) => {
        const v = resolveLaunchTemplateVersion(lt, w);
        if (!v)
          throw new ServiceError(
            'InvalidLaunchTemplateId.VersionNotFound',
            `Could not find launch template version ${w} for template ${lt.id}.`,
          );
        return v;
      });
    }
    if (minV !== undefined) versions = versions.filter((v) => v.versionNumber >= Number(minV));
    if (maxV !== undefined) versions = versions.filter((v) => v.versionNumber <= Number(maxV));
    pairs = versions.map((v) => [lt, v]);
  }
  const start = decodeToken(p.get('NextToken'), 'DescribeLaunchTemplateVersions');
  const page = pairs.slice(start, start + max);
  const next =
    start + max < pairs.length ? el('nextToken', encodeToken('DescribeLaunchTemplateVersions', start + max)) : '';
  const resolveAlias = p.bool('ResolveAlias');
  call.items = page.length;
  return list('launchTemplateVersionSet', page, ([lt, v]) => templateVersionXml(call, lt, v, resolveAlias)) + next;
}

/**
 * Checks LaunchTemplateData as EC2 does where the simulator gives it meaning: MetadataOptions values, and a
 * `resolve:ssm:` ImageId whose parameter must exist ("You must create a Systems Manager parameter before you can use it
 * in a launch template", Amazon EC2 Auto Scaling UG, "Use AWS Systems Manager parameters instead of AMI IDs").
 */
function validateTemplateData(call: Call, data: LaunchTemplateData): void {
  const mo = structureMember(data, 'MetadataOptions');
  if (mo) {
    const ed = ['enabled', 'disabled'] as const;
    enumValue('HttpTokens', textMember(mo, 'HttpTokens'), ['optional', 'required'] as const);
    intInRange('HttpPutResponseHopLimit', textMember(mo, 'HttpPutResponseHopLimit'), 1, 64);
    enumValue('HttpEndpoint', textMember(mo, 'HttpEndpoint'), ed);
    enumValue('HttpProtocolIpv6', textMember(mo, 'HttpProtocolIpv6'), ed);
    enumValue('InstanceMetadataTags', textMember(mo, 'InstanceMetadataTags'), ed);
  }
  const image = textMember(data, 'ImageId');
  if (
    image !== undefined &&
    isSsmImageRef(image) &&
    !resolveSsmImageId(call.sim.fleet, call.account, call.region, image)
  )
    throw new ServiceError('InvalidParameterValue', `The Systems Manager parameter in ${image} does not exist.`);
}

/** Tags of `TagSpecification.N` entries of one resource type. */
function tagSpecifications(p: QueryParams, resourceType: string): Record<string, string> {
  const out: Record<string, string> = {};
  const specs = parseQueryStructure(p, 'TagSpecification');
  for (const spec of Object.values(specs ?? {})) {
    if (!spec || typeof spec !== 'object' || Array.isArray(spec) || spec.ResourceType !== resourceType) continue;
    const tags = spec.Tag;
    if (!Array.isArray(tags)) continue;
    for (const t of tags)
      if (t && typeof t === 'object' && !Array.isArray(t) && typeof t.Key === 'string')
        out[t.Key] = textMember(t, 'Value') ?? '';
  }
  return out;
}

/** CreateLaunchTemplate: a new template whose version 1 (the default) holds the LaunchTemplateData as given. */
function createLaunchTemplate(call: Call, p: QueryParams): string {
  const name = p.require('LaunchTemplateName');
  if (!/^[a-zA-Z0-9().\-/_]{3,128}$/.test(name))
    throw new ServiceError(
      'InvalidLaunchTemplateName.MalformedException',
      `The launch template name ${name} is invalid: it must be 3 to 128 characters of letters, numbers and ( ) . - / _.`,
    );
  const data = parseQueryStructure(p, 'LaunchTemplateData');
  if (!data) throw new ServiceError('MissingParameter', 'The request must contain the parameter LaunchTemplateData');
  validateTemplateData(call, data);
  const rs = regionState(call);
  if (rs.launchTemplates.some((t) => t.name === name))
    throw new ServiceError(
      'InvalidLaunchTemplateName.AlreadyExistsException',
      `Launch template name already in use: the specified launch template name ${name} is already in use.`,
    );
  dryRunCheck(p);
  const lt: SimLaunchTemplate = {
    id: `lt-${hexId(`lt/${call.account}/${call.region}/${name}/${call.nowMs}`, call.sim.fleet.scenario.seed, 17)}`,
    name,
    account: call.account,
    region: call.region,
    createTimeMs: call.nowMs,
    defaultVersion: 1,
    versions: [templateVersion(1, call.nowMs, data, { description: p.get('VersionDescription') })],
    tags: tagSpecifications(p, 'launch-template'),
  };
  rs.launchTemplates.push(lt);
  return wrap('launchTemplate', launchTemplateXml(lt));
}

/**
 * CreateLaunchTemplateVersion: with SourceVersion, the new version inherits the source's LaunchTemplateData and each
 * given top-level member replaces the inherited one; inherited block device mappings lose their snapshot ids
 * (`inheritFromSource`). Without it, the version holds only what is given. A repeated ClientToken returns the version
 * the first call made.
 */
function createLaunchTemplateVersion(call: Call, p: QueryParams): string {
  const lt = findTemplate(call, p.get('LaunchTemplateId'), p.get('LaunchTemplateName'));
  const source = p.get('SourceVersion');
  const base = source === undefined ? undefined : resolveLaunchTemplateVersion(lt, source);
  if (source !== undefined && !base)
    throw new ServiceError(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${source} for template ${lt.id}.`,
    );
  const given = parseQueryStructure(p, 'LaunchTemplateData') ?? {};
  validateTemplateData(call, given);
  dryRunCheck(p);
  const resolveAlias = p.bool('ResolveAlias');
  // Idempotency: a retried call with the same ClientToken returns the version the first call made.
  const token = p.get('ClientToken');
  if (token !== undefined) {
    for (const t of regionState(call).launchTemplates) {
      const made = t.versions.find((x) => x.clientToken === token);
      if (!made) continue;
      if (t !== lt || (source !== undefined && made.sourceVersion !== base?.versionNumber))
        throw new ServiceError(
          'IdempotentParameterMismatch',
          `The client token ${token} was already used with different parameters.`,
        );
      return wrap('launchTemplateVersion', templateVersionXml(call, lt, made, resolveAlias));
    }
  }
  const data = base ? inheritFromSource(base.data, given) : given;
  const v = templateVersion(lt.versions.length + 1, call.nowMs, data, {
    description: p.get('VersionDescription'),
    clientToken: token,
    sourceVersion: base?.versionNumber,
  });
  lt.versions.push(v);
  return wrap('launchTemplateVersion', templateVersionXml(call, lt, v, resolveAlias));
}

function modifyLaunchTemplate(call: Call, p: QueryParams): string {
  const lt = findTemplate(call, p.get('LaunchTemplateId'), p.get('LaunchTemplateName'));
  const def = p.get('SetDefaultVersion');
  if (def !== undefined) {
    const v = resolveLaunchTemplateVersion(lt, def);
    if (!v)
      throw new ServiceError(
        'InvalidLaunchTemplateId.VersionNotFound',
        `Could not find launch template version ${def} for template ${lt.id}.`,
      );
    dryRunCheck(p);
    lt.defaultVersion = v.versionNumber;
  } else dryRunCheck(p);
  return wrap('launchTemplate', launchTemplateXml(lt));
}

/** An image the account can see (its own, shared with it, or public), or EC2's InvalidAMIID error. */
function findImage(call: Call, id: string): SimImage {
  if (!/^ami-[0-9a-f]{8,17}$/.test(id))
    throw new ServiceError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
  const img = call.sim.fleet.visibleImage(call.account, call.region, id);
  if (!img) throw new ServiceError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
  return img;
}

/**
 * DescribeImages: by ImageId (each must be visible), else every image the account can see; `Owner.N` keeps images
 * owned by `self`, an account id, or an owner alias (`amazon`, `aws-marketplace`, `aws-backup-vault`).
 */
function describeImages(call: Call, p: QueryParams): string {
  const ids = p.list('ImageId');
  let images =
    ids.length > 0 ? ids.map((id) => findImage(call, id)) : call.sim.fleet.visibleImages(call.account, call.region);
  const owners = p.list('Owner');
  if (owners.length > 0)
    images = images.filter((i) =>
      owners.some((o) => (o === 'self' ? i.owner === call.account : o === i.owner || o === i.ownerAlias)),
    );
  call.items = images.length;
  return list(
    'imagesSet',
    images,
    (i) =>
      `${el('imageId', i.id)}${el('name', i.name)}<imageState>available</imageState>${el('imageOwnerId', i.owner)}${el('imageOwnerAlias', i.ownerAlias)}<isPublic>${i.public}</isPublic>` +
      `<architecture>x86_64</architecture><imageType>machine</imageType>${i.platform === 'windows' ? '<platform>windows</platform><platformDetails>Windows</platformDetails>' : '<platformDetails>Linux/UNIX</platformDetails>'}` +
      `<rootDeviceType>ebs</rootDeviceType>${el('imdsSupport', i.imdsSupport)}`,
  );
}

/**
 * ModifyImageAttribute (ImdsSupport only). Only the image's owner may change it: for a shared or public image EC2's
 * exact answer is not documented; the simulator answers `AuthFailure` "Not authorized for image:<id>", what EC2 answers
 * for an attribute call on an image the caller does not own (see docs/simulator-fidelity.md).
 */
function modifyImageAttribute(call: Call, p: QueryParams): string {
  const img = findImage(call, p.require('ImageId'));
  if (img.owner !== call.account) throw new ServiceError('AuthFailure', `Not authorized for image:${img.id}`);
  const value = p.get('ImdsSupport.Value') ?? (p.get('Attribute') === 'imdsSupport' ? p.get('Value') : undefined);
  if (value === undefined)
    throw new ServiceError(
      'InvalidParameterCombination',
      'The simulator supports only the imdsSupport attribute (ImdsSupport.Value=v2.0).',
    );
  if (value !== 'v2.0')
    throw new ServiceError(
      'InvalidParameterValue',
      `Value (${value}) for parameter ImdsSupport is invalid. The only valid value is v2.0, and it cannot be removed once set.`,
    );
  dryRunCheck(p);
  img.imdsSupport = 'v2.0';
  return '<return>true</return>';
}

/** The MetadataOptions of a RunInstances request, validated; absent options left out. */
function requestMetadataOptions(p: QueryParams): Partial<MetadataOptionValues> {
  const ed = ['enabled', 'disabled'] as const;
  const out: Partial<MetadataOptionValues> = {
    httpTokens: enumValue('HttpTokens', p.get('MetadataOptions.HttpTokens'), ['optional', 'required'] as const),
    httpPutResponseHopLimit: intInRange(
      'HttpPutResponseHopLimit',
      p.get('MetadataOptions.HttpPutResponseHopLimit'),
      1,
      64,
    ),
    httpEndpoint: enumValue('HttpEndpoint', p.get('MetadataOptions.HttpEndpoint'), ed),
    httpProtocolIpv6: enumValue('HttpProtocolIpv6', p.get('MetadataOptions.HttpProtocolIpv6'), ed),
    instanceMetadataTags: enumValue('InstanceMetadataTags', p.get('MetadataOptions.InstanceMetadataTags'), ed),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/**
 * RunInstances: launches MaxCount running instances (capacity is never short) from the request and the launch template
 * it names. Metadata options follow EC2's precedence (`resolveLaunch`); a launch that would allow IMDSv1 while the
 * account enforces IMDSv2 fails with `UnsupportedOperation`, and so does its DryRun (the launch is refused before the
 * permission check would succeed).
 */
function runInstances(call: Call, p: QueryParams): string {
  const min = intInRange('MinCount', p.require('MinCount'), 1, 1000);
  const max = intInRange('MaxCount', p.require('MaxCount'), 1, 1000);
  if (min! > max!)
    throw new ServiceError('InvalidParameterValue', `MinCount (${min}) must not be greater than MaxCount (${max}).`);
  const rs = regionState(call);
  const ltId = p.get('LaunchTemplate.LaunchTemplateId');
  const ltName = p.get('LaunchTemplate.LaunchTemplateName');
  let template: { lt: SimLaunchTemplate; version: SimLaunchTemplateVersion } | undefined;
  if (ltId !== undefined || ltName !== undefined) {
    const lt = findTemplate(call, ltId, ltName);
    const wanted = p.get('LaunchTemplate.Version') ?? '$Default';
    const version = resolveLaunchTemplateVersion(lt, wanted);
    if (!version)
      throw new ServiceError(
        'InvalidLaunchTemplateId.VersionNotFound',
        `Could not find launch template version ${wanted} for template ${lt.id}.`,
      );
    template = { lt, version };
  }
  const launch = resolveLaunch(call.sim.fleet, rs, {
    imageId: p.get('ImageId'),
    instanceType: p.get('InstanceType'),
    metadataOptions: requestMetadataOptions(p),
    template,
  });
  dryRunCheck(p);
  const tdata = template?.version.data;
  const monitoring = p.get('Monitoring.Enabled') ?? textMember(structureMember(tdata, 'Monitoring'), 'Enabled');
  const made = call.sim.fleet.launchInstances(rs, launch, max!, call.nowMs, {
    tags: { ...instanceTags(tdata), ...tagSpecifications(p, 'instance') },
    launchTemplate: template && {
      id: template.lt.id,
      name: template.lt.name,
      version: p.get('LaunchTemplate.Version') ?? '$Default',
      versionNumber: template.version.versionNumber,
    },
    detailedMonitoring: monitoring === 'true',
    ssmManaged:
      p.get('IamInstanceProfile.Arn') !== undefined ||
      p.get('IamInstanceProfile.Name') !== undefined ||
      structureMember(tdata, 'IamInstanceProfile') !== undefined,
  });
  return (
    `<reservationId>${made[0]!.reservationId}</reservationId><ownerId>${call.account}</ownerId><groupSet/>` +
    list('instancesSet', made, (i) => instanceBodyXml(call, i, 'pending'))
  );
}

/**
 * TerminateInstances: "This operation is idempotent; if you terminate an instance more than once, each call succeeds";
 * "If you specify multiple instances and the request fails (for example, because of a single incorrect instance ID),
 * none of the instances are terminated" (EC2 API reference, TerminateInstances). The answer is each instance's state
 * change, `shutting-down` (32) from its previous state as in the AWS CLI's example, or `terminated` (48) for one
 * already terminated. The simulator finishes the termination at once: DescribeInstances shows `terminated` from then
 * on (EC2 takes a while; the instance stays listed about an hour). Termination protection is not modelled.
 */
function terminateInstances(call: Call, p: QueryParams): string {
  const ids = p.list('InstanceId');
  if (ids.length === 0) throw new ServiceError('MissingParameter', 'The request must contain the parameter InstanceId');
  const found = instancesById(call, ids);
  dryRunCheck(p);
  const state = (name: 'running' | 'stopped' | 'terminated' | 'shutting-down') =>
    `<code>${name === 'shutting-down' ? 32 : stateCodes[name]}</code><name>${name}</name>`;
  const changes = found.map((inst) => {
    const before = call.sim.fleet.stateName(inst);
    if (before !== 'terminated') call.sim.fleet.terminate(inst, call.nowMs);
    const now = before === 'terminated' ? 'terminated' : 'shutting-down';
    return `<instanceId>${inst.id}</instanceId><currentState>${state(now)}</currentState><previousState>${state(before)}</previousState>`;
  });
  return list('instancesSet', changes, (x) => x);
}

const describeOps = new Set([
  'DescribeInstances',
  'DescribeRegions',
  'DescribeLaunchTemplates',
  'DescribeLaunchTemplateVersions',
  'DescribeImages',
  'GetInstanceMetadataDefaults',
]);

export const ec2Service: QueryService = {
  kind: 'query',
  name: 'ec2',
  xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  ec2: true,
  handlers: {
    DescribeInstances: describeInstances,
    ModifyInstanceMetadataOptions: modifyInstanceMetadataOptions,
    GetInstanceMetadataDefaults: getInstanceMetadataDefaults,
    ModifyInstanceMetadataDefaults: modifyInstanceMetadataDefaults,
    DescribeRegions: describeRegions,
    DescribeLaunchTemplates: describeLaunchTemplates,
    DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
    CreateLaunchTemplate: createLaunchTemplate,
    CreateLaunchTemplateVersion: createLaunchTemplateVersion,
    RunInstances: runInstances,
    TerminateInstances: terminateInstances,
    ModifyLaunchTemplate: modifyLaunchTemplate,
    DescribeImages: describeImages,
    ModifyImageAttribute: modifyImageAttribute,
  },
  category(op, p) {
    if (op === 'DescribeInstances') {
      const unbounded =
        p.get('MaxResults') === undefined && p.list('InstanceId').length === 0 && p.filters().length === 0;
      return unbounded ? 'ec2.describe-unfiltered' : 'ec2.describe';
    }
    if (describeOps.has(op)) return 'ec2.describe';
    if (op === 'ModifyInstanceMetadataOptions') return 'ec2.modify-instance-metadata-options';
    if (op === 'ModifyInstanceMetadataDefaults') return 'ec2.modify-instance-metadata-defaults';
    if (op === 'RunInstances') return 'ec2.run-instances';
    if (op === 'TerminateInstances') return 'ec2.terminate-instances';
    return 'ec2.mutate-template-image';
  },
};
