import { partitionOfRegion } from '@imdsv2-cutover/core';
import type { Call, QueryService } from '../context.js';
import {
  type MetadataOptionValues,
  type RegionState,
  type SimInstance,
  type SimLaunchTemplate,
  resolveLaunchTemplateVersion,
} from '../fleet.js';
import { ServiceError, intInRange } from '../protocol/errors.js';
import type { QueryParams } from '../protocol/query.js';
import { el, escapeXml, isoTime, list, wrap } from '../protocol/xml.js';
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
      return (i) => m(stateName(i));
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

function stateName(i: SimInstance): 'running' | 'stopped' | 'terminated' {
  return i.terminated ? 'terminated' : i.running ? 'running' : 'stopped';
}

/** EC2 instance state codes (API reference, InstanceState): 16 running, 48 terminated, 80 stopped. */
const stateCode = { running: 16, terminated: 48, stopped: 80 } as const;

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

function instanceXml(call: Call, i: SimInstance): string {
  const ipDash = i.privateIp.replace(/\./g, '-');
  const state = stateName(i);
  const partition = partitionOf(i.region);
  const dnsSuffix = i.region === 'us-east-1' ? 'ec2.internal' : `${i.region}.compute.internal`;
  return (
    `<item><reservationId>${i.reservationId}</reservationId><ownerId>${i.account}</ownerId><groupSet/><instancesSet><item>` +
    `<instanceId>${i.id}</instanceId>${el('imageId', i.imageId)}` +
    `<instanceState><code>${stateCode[state]}</code><name>${state}</name></instanceState>` +
    `<privateDnsName>ip-${ipDash}.${dnsSuffix}</privateDnsName><dnsName/>${i.running ? '<reason/>' : '<reason>User initiated</reason>'}` +
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
    `<metadataOptions>${metadataOptionsXml(i.options, call.sim.fleet.optionsState(i, call.nowMs))}</metadataOptions>` +
    `</item></instancesSet></item>`
  );
}

function describeInstances(call: Call, p: QueryParams): string {
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
  let candidates: SimInstance[];
  if (ids.length > 0) {
    candidates = [];
    const missing: string[] = [];
    for (const id of ids) {
      if (!instanceIdRe.test(id)) throw new ServiceError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
      const inst = call.sim.fleet.instance(id);
      if (!inst || inst.account !== call.account || inst.region !== call.region) missing.push(id);
      else candidates.push(inst);
    }
    if (missing.length === 1)
      throw new ServiceError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]!}' does not exist`);
    if (missing.length > 1)
      throw new ServiceError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  } else candidates = regionState(call).instances;
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
    `<latestVersionNumber>${lt.versions.length}</latestVersionNumber>`
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
  return list('launchTemplates', page, launchTemplateXml) + next;
}

function templateVersionXml(lt: SimLaunchTemplate, v: SimLaunchTemplate['versions'][number]): string {
  const mo = v.metadataOptions;
  const moXml = mo
    ? `<metadataOptions><state>applied</state>${el('httpTokens', mo.httpTokens)}${el('httpPutResponseHopLimit', mo.httpPutResponseHopLimit)}${el('httpEndpoint', mo.httpEndpoint)}${el('httpProtocolIpv6', mo.httpProtocolIpv6)}${el('instanceMetadataTags', mo.instanceMetadataTags)}</metadataOptions>`
    : '';
  return (
    `${el('launchTemplateId', lt.id)}${el('launchTemplateName', lt.name)}<versionNumber>${v.versionNumber}</versionNumber>${el('versionDescription', v.description)}` +
    `<createTime>${isoTime(v.createTimeMs)}</createTime><createdBy>arn:${partitionOf(lt.region)}:iam::${lt.account}:root</createdBy>` +
    `<defaultVersion>${v.versionNumber === lt.defaultVersion}</defaultVersion>` +
    `<launchTemplateData>${el('imageId', v.imageId)}${el('instanceType', v.instanceType)}${moXml}</launchTemplateData>`
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
  return list('launchTemplateVersionSet', page, ([lt, v]) => templateVersionXml(lt, v)) + next;
}

function createLaunchTemplateVersion(call: Call, p: QueryParams): string {
  const lt = findTemplate(call, p.get('LaunchTemplateId'), p.get('LaunchTemplateName'));
  const source = p.get('SourceVersion');
  const base = source === undefined ? undefined : resolveLaunchTemplateVersion(lt, source);
  if (source !== undefined && !base)
    throw new ServiceError(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${source} for template ${lt.id}.`,
    );
  const d = 'LaunchTemplateData.';
  const mo = `${d}MetadataOptions.`;
  const ed = ['enabled', 'disabled'] as const;
  const given: Partial<MetadataOptionValues> = {
    httpTokens: enumValue('HttpTokens', p.get(`${mo}HttpTokens`), ['optional', 'required'] as const),
    httpPutResponseHopLimit: intInRange('HttpPutResponseHopLimit', p.get(`${mo}HttpPutResponseHopLimit`), 1, 64),
    httpEndpoint: enumValue('HttpEndpoint', p.get(`${mo}HttpEndpoint`), ed),
    httpProtocolIpv6: enumValue('HttpProtocolIpv6', p.get(`${mo}HttpProtocolIpv6`), ed),
    instanceMetadataTags: enumValue('InstanceMetadataTags', p.get(`${mo}InstanceMetadataTags`), ed),
  };
  dryRunCheck(p);
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
      return wrap('launchTemplateVersion', templateVersionXml(lt, made));
    }
  }
  const hasGiven = Object.values(given).some((v) => v !== undefined);
  const metadataOptions =
    hasGiven || base?.metadataOptions
      ? { ...base?.metadataOptions, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) }
      : undefined;
  const v = {
    versionNumber: lt.versions.length + 1,
    description: p.get('VersionDescription'),
    createTimeMs: call.nowMs,
    imageId: p.get(`${d}ImageId`) ?? base?.imageId,
    instanceType: p.get(`${d}InstanceType`) ?? base?.instanceType,
    metadataOptions,
    clientToken: token,
    sourceVersion: base?.versionNumber,
  };
  lt.versions.push(v);
  return wrap('launchTemplateVersion', templateVersionXml(lt, v));
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

function findImage(call: Call, id: string): RegionState['images'][number] {
  const img = regionState(call).images.find((i) => i.id === id);
  if (!/^ami-[0-9a-f]{8,17}$/.test(id))
    throw new ServiceError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
  if (!img) throw new ServiceError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
  return img;
}

function describeImages(call: Call, p: QueryParams): string {
  const ids = p.list('ImageId');
  const images = ids.length > 0 ? ids.map((id) => findImage(call, id)) : regionState(call).images;
  return list(
    'imagesSet',
    images,
    (i) =>
      `${el('imageId', i.id)}${el('name', i.name)}<imageState>available</imageState><imageOwnerId>${i.account}</imageOwnerId><isPublic>false</isPublic>` +
      `<architecture>x86_64</architecture><imageType>machine</imageType>${i.platform === 'windows' ? '<platform>windows</platform><platformDetails>Windows</platformDetails>' : '<platformDetails>Linux/UNIX</platformDetails>'}` +
      `<rootDeviceType>ebs</rootDeviceType>${el('imdsSupport', i.imdsSupport)}`,
  );
}

function modifyImageAttribute(call: Call, p: QueryParams): string {
  const img = findImage(call, p.require('ImageId'));
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
    CreateLaunchTemplateVersion: createLaunchTemplateVersion,
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
    return 'ec2.mutate-template-image';
  },
};
