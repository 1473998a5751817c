import { Flags } from '@oclif/core';
import type { IamPhase, IamPolicyDocument } from '@imdsv2-cutover/core';
import { IAM_PHASES, defaultPolicy, iamActions, iamPolicy, policyKind } from '@imdsv2-cutover/core';
import { BaseCommand } from '../base-command.js';

export interface PolicyResult {
  phase: IamPhase;
  /** The IAM actions the document allows (empty for the SCP, which denies). */
  actions: string[];
  document: IamPolicyDocument;
}

export default class Policy extends BaseCommand<typeof Policy> {
  static override description =
    'Print a least-privilege IAM policy for a phase, or the lock-in service control policy.\n\n' +
    "assess: read-only discovery and metrics. enforce: change instance metadata options, guard and rollback (also what rollback and status --live need). lockin: launch templates, account defaults, AMI flag. scp: the SCP that keeps IMDSv1 from coming back, from the rollout policy's lockIn settings. With --role-name the policy is for the principal that runs the tool across accounts (adds sts:AssumeRole on that role, and organizations:ListAccounts for assess --org); without it, for one account, which is also what the role in each member account needs. See docs/iam.md.";

  static override examples = [
    '<%= config.bin %> policy --for assess > assess-policy.json',
    '<%= config.bin %> policy --for assess --role-name ImdsAudit',
    '<%= config.bin %> policy --for assess --probe-output-s3 s3://my-ssm-output/imdsv2',
    '<%= config.bin %> policy --for enforce --role-name imdsv2-cutover-admin',
    '<%= config.bin %> policy --for scp --policy policy.yaml',
    '<%= config.bin %> policy --for lockin --json',
  ];

  static override flags = {
    for: Flags.string({ description: 'Which policy to print.', options: [...IAM_PHASES], required: true }),
    policy: Flags.string({
      description: 'With --for scp: the rollout policy (YAML) whose lockIn settings shape the SCP. Default: defaults.',
    }),
    'probe-output-s3': Flags.string({
      description:
        'With --for assess: the s3://bucket/prefix given to `assess --probe-output-s3` (adds s3:GetObject on it).',
    }),
    'role-name': Flags.string({ description: 'The role assumed in other accounts (scopes sts:AssumeRole to it).' }),
  };

  public async run(): Promise<PolicyResult> {
    const phase = this.flags.for as IamPhase;
    const rollout =
      this.flags.policy === undefined
        ? defaultPolicy()
        : await (await import('@imdsv2-cutover/engine/files')).readYamlDocument(policyKind, this.flags.policy);
    const roleName = this.flags['role-name'];
    const s3 = this.flags['probe-output-s3'];
    const opts = {
      ...(roleName === undefined ? {} : { roleName }),
      // The S3 URL parser lives with the probe runner, which loads the AWS SDK: only when the flag is given.
      ...(s3 === undefined ? {} : { probeOutputS3: (await import('@imdsv2-cutover/aws')).parseS3Url(s3) }),
    };
    const document = iamPolicy(phase, { ...opts, policy: rollout });
    const result: PolicyResult = { phase, actions: phase === 'scp' ? [] : iamActions(phase, opts), document };
    // The bare document, so it can be redirected into a file for `aws iam create-policy --policy-document file://...`.
    if (!this.jsonEnabled()) this.log(JSON.stringify(document, null, 2));
    return result;
  }
}
