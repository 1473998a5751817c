import { Flags } from '@oclif/core';

/** The AWS connection flags, named as in the AWS CLI. Commands that talk to AWS spread these into their flags. */
export const awsFlags = {
  profile: Flags.string({
    description: 'Named profile from the shared AWS config/credentials files (default: the SDK credential chain).',
    env: 'AWS_PROFILE',
    helpGroup: 'AWS',
  }),
  region: Flags.string({
    description: 'Region for calls that are not region-scoped (STS, Organizations) and the default region to assess.',
    env: 'AWS_REGION',
    helpGroup: 'AWS',
  }),
  'endpoint-url': Flags.string({
    description: 'Send every AWS call to this endpoint (the fleet simulator, or a VPC endpoint proxy).',
    helpGroup: 'AWS',
  }),
};
