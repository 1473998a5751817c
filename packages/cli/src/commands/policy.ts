import { Flags } from '@oclif/core';
import type { IamPhase } from '@imdsv2-cutover/core';
import { IAM_PHASES, PARTITION_IDS } from '@imdsv2-cutover/core';
import type { PolicyResult } from '@imdsv2-cutover/engine/policy';
import { BaseCommand } from '../base-command.js';
import { awsFlags, connectionOf } from '../lib/flags.js';

export type { PolicyResult } from '@imdsv2-cutover/engine/policy';

export default class Policy extends BaseCommand<typeof Policy> {
  static override description =
    'Print a least-privilege IAM policy for a phase, or the lock-in service control policy.\n\n' +
    "assess: read-only discovery and metrics. enforce: change instance metadata options, guard and rollback (also what rollback and status --live need). lockin: launch templates, groups moved off launch configurations, account defaults, AMI flag, --prove-launch canaries (with the actions EC2 authorizes during those calls: tag-on-create, iam:PassRole). scp: the SCP that keeps IMDSv1 from coming back, from the rollout policy's lockIn settings. With --role-name the policy is for the principal that runs the tool across accounts (adds sts:AssumeRole on that role, and organizations:ListAccounts for assess --org); without it, for one account, which is also what the role in each member account needs. Every ARN is in the partition of the accounts (--partition; default: the partition of --region or the profile's region, else aws). Makes no AWS call. See docs/iam.md.";

  static override examples = [
    '<%= config.bin %> policy --for assess > assess-policy.json',
    '<%= config.bin %> policy --for assess --role-name ImdsAudit',
    '<%= config.bin %> policy --for assess --probe-output-s3 s3://my-ssm-output/imdsv2',
    '<%= config.bin %> policy --for enforce --role-name imdsv2-cutover-admin',
    '<%= config.bin %> policy --for enforce --partition aws-cn',
    '<%= config.bin %> policy --for scp --policy policy.yaml --region us-gov-west-1',
    '<%= config.bin %> policy --for lockin --json',
  ];

  static override flags = {
    for: Flags.string({ description: 'Which policy to print.', options: [...IAM_PHASES], required: true }),
    partition: Flags.string({
      description:
        'The partition of the accounts the policy is for; every ARN is written in it. Default: the partition of --region (AWS_REGION, AWS_DEFAULT_REGION, the profile’s region), else aws.',
      options: [...PARTITION_IDS],
    }),
    policy: Flags.string({
      description: 'With --for scp: the rollout policy (YAML) whose lockIn settings shape the SCP. Default: defaults.',
    }),
    'probe-output-s3': Flags.string({
      description:
        'With --for assess: the s3://bucket/prefix given to `assess --probe-output-s3` (adds s3:GetObject on it).',
    }),
    profile: awsFlags.profile,
    region: awsFlags.region,
    'role-name': Flags.string({ description: 'The role assumed in other accounts (scopes sts:AssumeRole to it).' }),
  };

  public async run(): Promise<PolicyResult> {
    const f = this.flags;
    const { runPolicy } = await import('@imdsv2-cutover/engine/policy');
    const result = await runPolicy({
      phase: f.for as IamPhase,
      connection: connectionOf(f),
      ...(f.policy === undefined ? {} : { policyFile: f.policy }),
      ...(f['role-name'] === undefined ? {} : { roleName: f['role-name'] }),
      ...(f['probe-output-s3'] === undefined ? {} : { probeOutputS3: f['probe-output-s3'] }),
      ...(f.partition === undefined ? {} : { partition: f.partition }),
    });
    // The bare document, so it can be redirected into a file for `aws iam create-policy --policy-document file://...`.
    if (!this.jsonEnabled()) this.log(JSON.stringify(result.document, null, 2));
    return result;
  }
}
