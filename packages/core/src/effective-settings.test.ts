import { describe, expect, it } from 'vitest';
import { launchesImdsV1, resolveEffectiveSettings, type LaunchSettingsInputs } from './effective-settings.js';
import type { AccountDefaults } from './schemas/assessment.js';

const noDefaults: AccountDefaults = {
  httpTokens: 'no-preference',
  httpPutResponseHopLimit: -1,
  httpEndpoint: 'no-preference',
  instanceMetadataTags: 'no-preference',
  httpTokensEnforced: 'no-preference',
  managedBy: 'account',
};
const requiredDefaults: AccountDefaults = { ...noDefaults, httpTokens: 'required', httpPutResponseHopLimit: 2 };

type Row = [string, LaunchSettingsInputs, string, string, string, boolean];
// name, inputs, tokens@source, hop@source, endpoint@source, launchesImdsV1
const table: Row[] = [
  ['nothing set: AWS defaults', {}, 'optional@aws-default', '1@aws-default', 'enabled@aws-default', true],
  [
    'no-preference defaults fall through',
    { accountDefaults: noDefaults },
    'optional@aws-default',
    '1@aws-default',
    'enabled@aws-default',
    true,
  ],
  [
    'account default required',
    { accountDefaults: requiredDefaults },
    'required@account-default',
    '2@account-default',
    'enabled@aws-default',
    false,
  ],
  [
    'template optional beats account default required',
    { template: { httpTokens: 'optional' }, accountDefaults: requiredDefaults },
    'optional@launch-template',
    '2@account-default',
    'enabled@aws-default',
    true,
  ],
  [
    'AMI v2.0 gives required and hop 2',
    { imageImdsSupport: 'v2.0', accountDefaults: noDefaults },
    'required@ami',
    '2@ami',
    'enabled@aws-default',
    false,
  ],
  [
    'account default optional beats AMI v2.0',
    { imageImdsSupport: 'v2.0', accountDefaults: { ...noDefaults, httpTokens: 'optional' } },
    'optional@account-default',
    '2@ami',
    'enabled@aws-default',
    true,
  ],
  [
    'template hop only: tokens still from AMI',
    { template: { httpPutResponseHopLimit: 3 }, imageImdsSupport: 'v2.0' },
    'required@ami',
    '3@launch-template',
    'enabled@aws-default',
    false,
  ],
  [
    'endpoint disabled never launches v1',
    { template: { httpEndpoint: 'disabled' } },
    'optional@aws-default',
    '1@aws-default',
    'disabled@launch-template',
    false,
  ],
  [
    'account default endpoint disabled',
    { accountDefaults: { ...noDefaults, httpEndpoint: 'disabled' } },
    'optional@aws-default',
    '1@aws-default',
    'disabled@account-default',
    false,
  ],
  [
    'null defaults (not readable) fall through',
    {
      accountDefaults: {
        httpTokens: null,
        httpPutResponseHopLimit: null,
        httpEndpoint: null,
        instanceMetadataTags: null,
        httpTokensEnforced: null,
        managedBy: null,
      },
    },
    'optional@aws-default',
    '1@aws-default',
    'enabled@aws-default',
    true,
  ],
];

describe('resolveEffectiveSettings', () => {
  it.each(table)('%s', (_name, inputs, tokens, hop, endpoint, v1) => {
    const s = resolveEffectiveSettings(inputs);
    expect(`${s.httpTokens.value}@${s.httpTokens.source}`).toBe(tokens);
    expect(`${s.httpPutResponseHopLimit.value}@${s.httpPutResponseHopLimit.source}`).toBe(hop);
    expect(`${s.httpEndpoint.value}@${s.httpEndpoint.source}`).toBe(endpoint);
    expect(launchesImdsV1(s)).toBe(v1);
  });
});
