import type { IamPhase, IamPolicyDocument } from '@imdsv2-cutover/core';
import { defaultPolicy, iamActions, iamPolicy, policyKind } from '@imdsv2-cutover/core';
import { type ConnectionConfig, type PartitionSource, resolvePartition } from './connection.js';
import { readYamlDocument } from './files.js';

/** What `imdsv2 policy` is asked to print. */
export interface PolicyRequest {
  phase: IamPhase;
  /** With `scp`: the rollout policy (YAML) whose lockIn settings shape the SCP; default: the defaults. */
  policyFile?: string;
  /** The role assumed in other accounts (scopes sts:AssumeRole to it). */
  roleName?: string;
  /** `s3://bucket/prefix` given to `assess --probe-output-s3`. */
  probeOutputS3?: string;
  /** `--partition`; default: the partition of the region the region rule finds, else `aws`. */
  partition?: string;
  /** `--profile` and `--region`, for the default partition. */
  connection: ConnectionConfig;
}

export interface PolicyResult {
  phase: IamPhase;
  /** The partition every ARN of the document is in, and where it came from. */
  partition: string;
  partitionSource: PartitionSource;
  /** The IAM actions the document allows (empty for the SCP, which denies). */
  actions: string[];
  document: IamPolicyDocument;
}

/**
 * `imdsv2 policy`: the least-privilege IAM policy of a phase, or the lock-in SCP, with every ARN in the partition of
 * the accounts it is for (`--partition`, else that of `--region` or the profile's region, else `aws`), so that it can
 * be printed ahead of time, before any credentials exist. Makes no AWS call. Errors: BAD_USAGE for an unknown
 * partition, role name or S3 URL; BAD_INPUT for a bad rollout policy file or an SCP admin ARN of another partition.
 */
export async function runPolicy(r: PolicyRequest): Promise<PolicyResult> {
  const rollout = r.policyFile === undefined ? defaultPolicy() : await readYamlDocument(policyKind, r.policyFile);
  const { partition, source } = await resolvePartition(r.connection, r.partition);
  const opts = {
    partition,
    ...(r.roleName === undefined ? {} : { roleName: r.roleName }),
    // The S3 URL parser lives with the probe runner, which loads the AWS SDK: only when the flag is given.
    ...(r.probeOutputS3 === undefined
      ? {}
      : { probeOutputS3: (await import('@imdsv2-cutover/aws')).parseS3Url(r.probeOutputS3) }),
  };
  const document = iamPolicy(r.phase, { ...opts, policy: rollout });
  return {
    phase: r.phase,
    partition,
    partitionSource: source,
    actions: r.phase === 'scp' ? [] : iamActions(r.phase, opts),
    document,
  };
}
