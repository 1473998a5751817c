import type {
  Fleet,
  MetadataOptionValues,
  RegionState,
  SimAccountDefaults,
  SimImage,
  SimLaunchTemplate,
  SimLaunchTemplateVersion,
} from './fleet.js';
import { ServiceError } from './protocol/errors.js';

/**
 * What decides a new instance's settings: EC2's order of precedence for instance metadata options, image resolution
 * (including `resolve:ssm:` parameters) and the account's HttpTokensEnforced. RunInstances and Auto Scaling launches
 * both go through `resolveLaunch`, so a rehearsal shows what a new launch gets after lock-in.
 */

/** EC2's values when nothing else decides (botocore EC2 model, LaunchTemplateInstanceMetadataOptionsRequest). */
export const awsDefaultOptions: MetadataOptionValues = {
  httpTokens: 'optional',
  httpPutResponseHopLimit: 1,
  httpEndpoint: 'enabled',
  httpProtocolIpv6: 'disabled',
  instanceMetadataTags: 'disabled',
};

/** Where an option's value came from, highest precedence first. */
export type OptionSource =
  'launch-parameters' | 'launch-template' | 'launch-configuration' | 'account-default' | 'ami' | 'aws-default';

/** The layers of the precedence; any option may be absent from any layer. */
export interface LaunchOptionLayers {
  /** RunInstances MetadataOptions (level 1, "instance configuration at launch"). */
  request?: Partial<MetadataOptionValues>;
  /** The launch template version's or launch configuration's MetadataOptions (also level 1). */
  template?: Partial<MetadataOptionValues>;
  templateSource?: 'launch-template' | 'launch-configuration';
  /** The account's defaults in the region (level 2). */
  defaults: SimAccountDefaults;
  /** The AMI (level 3): ImdsSupport v2.0 gives tokens required and hop limit 2. */
  image?: Pick<SimImage, 'imdsSupport'>;
}

type Key = keyof MetadataOptionValues;
const keys: readonly Key[] = [
  'httpTokens',
  'httpPutResponseHopLimit',
  'httpEndpoint',
  'httpProtocolIpv6',
  'instanceMetadataTags',
];

/**
 * Each metadata option separately: launch parameters > launch template (or launch configuration) > account default >
 * AMI > AWS default (EC2 UG, "Configure the Instance Metadata Service options", order of precedence: "Each metadata
 * option is evaluated separately"). The AMI decides only HttpTokens and the hop limit; an account hop limit of -1 is no
 * preference. Request parameters win over the template option by option: the guide puts both at level 1 and says no
 * more (RunInstances says request parameters "overwrite the corresponding parameters included in the launch template").
 */
export function resolveLaunchOptions(layers: LaunchOptionLayers): {
  options: MetadataOptionValues;
  sources: Record<Key, OptionSource>;
} {
  const d = layers.defaults;
  const fromDefaults: Partial<MetadataOptionValues> = {
    httpTokens: d.httpTokens,
    httpPutResponseHopLimit:
      d.httpPutResponseHopLimit !== undefined && d.httpPutResponseHopLimit > 0 ? d.httpPutResponseHopLimit : undefined,
    httpEndpoint: d.httpEndpoint,
    instanceMetadataTags: d.instanceMetadataTags,
  };
  const fromImage: Partial<MetadataOptionValues> =
    layers.image?.imdsSupport === 'v2.0' ? { httpTokens: 'required', httpPutResponseHopLimit: 2 } : {};
  const ordered: [Partial<MetadataOptionValues> | undefined, OptionSource][] = [
    [layers.request, 'launch-parameters'],
    [layers.template, layers.templateSource ?? 'launch-template'],
    [fromDefaults, 'account-default'],
    [fromImage, 'ami'],
    [awsDefaultOptions, 'aws-default'],
  ];
  const options = {} as Record<Key, unknown>;
  const sources = {} as Record<Key, OptionSource>;
  for (const k of keys) {
    for (const [layer, source] of ordered) {
      const v = layer?.[k];
      if (v !== undefined) {
        options[k] = v;
        sources[k] = source;
        break;
      }
    }
  }
  return { options: options as unknown as MetadataOptionValues, sources };
}

/**
 * The error EC2 answers a launch that would allow IMDSv1 while the account enforces IMDSv2 (EC2 UG, "Troubleshoot
 * Amazon EC2 instance launch issues": `UnsupportedOperation` with this message).
 */
export const HTTP_TOKENS_ENFORCED_MESSAGE =
  "You can't launch instances with IMDSv1 because httpTokensEnforced is enabled for this account. Either launch the " +
  'instance with httpTokens=required or contact your account owner to disable httpTokensEnforced using the ' +
  'ModifyInstanceMetadataDefaults API or the account settings in the EC2 console.';

/** Throws EC2's `UnsupportedOperation` when HttpTokensEnforced is enabled and the launch would allow IMDSv1. */
export function checkHttpTokensEnforced(defaults: SimAccountDefaults, options: MetadataOptionValues): void {
  if (defaults.httpTokensEnforced === 'enabled' && options.httpTokens !== 'required')
    throw new ServiceError('UnsupportedOperation', HTTP_TOKENS_ENFORCED_MESSAGE);
}

const SSM_PREFIX = 'resolve:ssm:';

/**
 * The AMI id a `resolve:ssm:<name>`, `resolve:ssm:<name>:<version>` or `resolve:ssm:<parameter ARN>` image id maps to
 * now, or undefined when the parameter does not exist for the account. A scenario parameter has one version (1);
 * labels are not modelled.
 */
export function resolveSsmImageId(fleet: Fleet, account: string, region: string, ref: string): string | undefined {
  let rest = ref.slice(SSM_PREFIX.length);
  const arn = /^arn:[^:]+:ssm:[^:]*:\d{12}:parameter(\/.*)$/.exec(rest);
  if (arn) rest = arn[1]!;
  let version: string | undefined;
  const m = /^(.*):([^:/]+)$/.exec(rest);
  if (m) {
    rest = m[1]!;
    version = m[2];
  }
  if (version !== undefined && version !== '1') return undefined;
  return fleet.ssmParameter(account, region, rest);
}

/** True for an image id that names a Systems Manager parameter. */
export const isSsmImageRef = (id: string): boolean => id.startsWith(SSM_PREFIX);

/**
 * The image a launch uses: an AMI id, or a Systems Manager parameter resolved now. EC2 answers `InvalidAMIID.NotFound`
 * for an image the account cannot see (neither its own, shared with it, nor public).
 */
export function resolveImage(fleet: Fleet, account: string, region: string, ref: string): SimImage {
  const id = isSsmImageRef(ref) ? resolveSsmImageId(fleet, account, region, ref) : ref;
  if (id === undefined)
    throw new ServiceError(
      'InvalidParameterValue',
      `The Systems Manager parameter in ${ref} does not exist or has no AMI id for this account and Region.`,
    );
  if (!/^ami-[0-9a-f]{8,17}$/.test(id))
    throw new ServiceError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
  const img = fleet.visibleImage(account, region, id);
  if (!img) throw new ServiceError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
  return img;
}

/** What one launch asks for: request parameters and the template version or launch configuration it names. */
export interface LaunchInput {
  imageId?: string;
  instanceType?: string;
  /** Level-1 options given with the request (RunInstances MetadataOptions). */
  metadataOptions?: Partial<MetadataOptionValues>;
  template?: { lt: SimLaunchTemplate; version: SimLaunchTemplateVersion };
  /** A launch configuration's ImageId, InstanceType and MetadataOptions (Auto Scaling). */
  launchConfiguration?: { imageId: string; instanceType?: string; metadataOptions?: Partial<MetadataOptionValues> };
}

/** A launch, resolved: what the new instances get. */
export interface ResolvedLaunch {
  image: SimImage;
  instanceType: string;
  options: MetadataOptionValues;
  sources: Record<Key, OptionSource>;
}

/**
 * Resolves a launch as EC2 does, or throws the error EC2 answers: `MissingParameter` without an image,
 * `InvalidAMIID.*` for an image the account cannot use, `UnsupportedOperation` when HttpTokensEnforced refuses it.
 * Without an instance type the simulator uses m1.small (older RunInstances references name it the default; the
 * current one names none).
 */
export function resolveLaunch(fleet: Fleet, rs: RegionState, input: LaunchInput): ResolvedLaunch {
  const t = input.template?.version;
  const lc = input.launchConfiguration;
  const imageRef = input.imageId ?? lc?.imageId ?? t?.imageId;
  if (imageRef === undefined)
    throw new ServiceError('MissingParameter', 'The request must contain the parameter ImageId');
  const image = resolveImage(fleet, rs.account, rs.region, imageRef);
  const { options, sources } = resolveLaunchOptions({
    request: input.metadataOptions,
    template: lc ? lc.metadataOptions : t?.metadataOptions,
    templateSource: lc ? 'launch-configuration' : 'launch-template',
    defaults: rs.defaults,
    image,
  });
  checkHttpTokensEnforced(rs.defaults, options);
  return {
    image,
    instanceType: input.instanceType ?? lc?.instanceType ?? t?.instanceType ?? 'm1.small',
    options,
    sources,
  };
}
