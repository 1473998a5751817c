import type { AccountDefaults, EffectiveLaunchSettings, TemplateMetadataOptions } from './schemas/assessment.js';

/** What decides the metadata settings of an instance launched now: each layer may leave any option unset. */
export interface LaunchSettingsInputs {
  /** Metadata options of the launch template version used (absent when launched without a template). */
  template?: TemplateMetadataOptions | null;
  /** The account's IMDS defaults in the region (`no-preference` and -1 fall through). */
  accountDefaults?: AccountDefaults | null;
  /** The AMI's ImdsSupport attribute: `v2.0` gives tokens required and hop limit 2. */
  imageImdsSupport?: 'v2.0' | null;
}

/** EC2's behaviour when nothing else says otherwise. */
export const AWS_DEFAULT_SETTINGS = {
  httpTokens: 'optional',
  httpPutResponseHopLimit: 1,
  httpEndpoint: 'enabled',
} as const;

type Sourced<T> = { value: T; source: 'launch-template' | 'account-default' | 'ami' | 'aws-default' };

function firstSet<T>(...layers: [T | undefined | null, Sourced<T>['source']][]): Sourced<T> {
  for (const [value, source] of layers) {
    if (value !== undefined && value !== null) return { value, source };
  }
  throw new Error('firstSet needs a final layer with a value');
}

function fromDefault<T extends string>(value: T | 'no-preference' | null | undefined): T | undefined {
  return value === 'no-preference' || value === null ? undefined : value;
}

/**
 * The metadata settings a newly launched instance would get, option by option: launch template version > account
 * default > AMI ImdsSupport > AWS default (EC2 UG, "Order of precedence for instance metadata options").
 */
export function resolveEffectiveSettings(inputs: LaunchSettingsInputs): EffectiveLaunchSettings {
  const t = inputs.template ?? {};
  const d = inputs.accountDefaults;
  const v2Ami = inputs.imageImdsSupport === 'v2.0';
  const hopDefault = d?.httpPutResponseHopLimit;
  return {
    httpTokens: firstSet(
      [t.httpTokens, 'launch-template'],
      [fromDefault(d?.httpTokens), 'account-default'],
      [v2Ami ? ('required' as const) : undefined, 'ami'],
      [AWS_DEFAULT_SETTINGS.httpTokens, 'aws-default'],
    ),
    httpPutResponseHopLimit: firstSet<number>(
      [t.httpPutResponseHopLimit, 'launch-template'],
      [hopDefault !== undefined && hopDefault !== null && hopDefault > 0 ? hopDefault : undefined, 'account-default'],
      [v2Ami ? 2 : undefined, 'ami'],
      [AWS_DEFAULT_SETTINGS.httpPutResponseHopLimit, 'aws-default'],
    ),
    httpEndpoint: firstSet(
      [t.httpEndpoint, 'launch-template'],
      [fromDefault(d?.httpEndpoint), 'account-default'],
      [AWS_DEFAULT_SETTINGS.httpEndpoint, 'aws-default'],
    ),
  };
}

/** True when an instance launched with these settings would accept IMDSv1 calls. */
export function launchesImdsV1(settings: EffectiveLaunchSettings): boolean {
  return settings.httpTokens.value === 'optional' && settings.httpEndpoint.value === 'enabled';
}
