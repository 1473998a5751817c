import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../planner/index.js';
import { iamActions, iamPolicy } from './policies.js';

describe('IAM policies', () => {
  it('one account: no AssumeRole and no ListAccounts; with a role both, AssumeRole scoped to that role', () => {
    expect(iamActions('assess')).not.toContain('sts:AssumeRole');
    expect(iamActions('assess')).not.toContain('organizations:ListAccounts');
    const doc = iamPolicy('assess', { roleName: 'ImdsAudit', policy: defaultPolicy() });
    const assume = doc.Statement.find((s) => s.Action.includes('sts:AssumeRole'));
    expect(assume?.Resource).toBe('arn:aws:iam::*:role/ImdsAudit');
    expect(iamActions('assess', { roleName: 'ImdsAudit' })).toContain('organizations:ListAccounts');
  });

  it('writes are scoped to their resource type', () => {
    const doc = iamPolicy('enforce', { policy: defaultPolicy() });
    const modify = doc.Statement.find((s) => s.Action.includes('ec2:ModifyInstanceMetadataOptions'));
    expect(modify?.Resource).toBe('arn:aws:ec2:*:*:instance/*');
    const lock = iamPolicy('lockin', { policy: defaultPolicy() });
    expect(lock.Statement.find((s) => s.Action.includes('ec2:ModifyLaunchTemplate'))?.Resource).toBe(
      'arn:aws:ec2:*:*:launch-template/*',
    );
  });

  it('probes: SendCommand only with the two AWS shell documents; s3:GetObject only on the --probe-output-s3 prefix', () => {
    const doc = iamPolicy('assess', { policy: defaultPolicy() });
    expect(doc.Statement.find((s) => s.Action.includes('ssm:SendCommand'))?.Resource).toEqual([
      'arn:aws:ssm:*::document/AWS-RunShellScript',
      'arn:aws:ssm:*::document/AWS-RunPowerShellScript',
      'arn:aws:ec2:*:*:instance/*',
    ]);
    expect(iamActions('assess')).not.toContain('s3:GetObject');
    const withS3 = iamPolicy('assess', { policy: defaultPolicy(), probeOutputS3: { bucket: 'out', prefix: 'imdsv2' } });
    expect(withS3.Statement.find((s) => s.Action.includes('s3:GetObject'))?.Resource).toBe('arn:aws:s3:::out/imdsv2/*');
  });

  it('lockin: canaries are terminated only by their tag; actions AWS authorizes during other calls are in the document, not among the calls', () => {
    const doc = iamPolicy('lockin', { policy: defaultPolicy() });
    const terminate = doc.Statement.find((s) => s.Action.includes('ec2:TerminateInstances'));
    expect(terminate?.Condition).toEqual({
      StringLike: { 'aws:ResourceTag/imdsv2-cutover:canary': 'imdsv2-canary-*' },
    });
    const documented = doc.Statement.flatMap((s) => s.Action);
    expect(documented).toEqual(expect.arrayContaining(['ec2:CreateTags', 'iam:PassRole']));
    expect(iamActions('lockin')).not.toContain('ec2:CreateTags');
    expect(iamActions('lockin')).not.toContain('iam:PassRole');
    expect(iamActions('lockin')).toEqual(
      expect.arrayContaining(['autoscaling:UpdateAutoScalingGroup', 'ec2:CreateLaunchTemplate', 'ec2:RunInstances']),
    );
  });

  it('refuses a role name IAM would refuse', () => {
    expect(() => iamActions('assess', { roleName: 'bad role!' })).toThrow(/not a valid IAM role name/);
  });

  it.each(['aws', 'aws-cn', 'aws-us-gov'])('every ARN of every phase in %s is in that partition', (partition) => {
    for (const phase of ['assess', 'enforce', 'lockin', 'scp'] as const) {
      const doc = iamPolicy(phase, {
        partition,
        roleName: 'ImdsAudit',
        probeOutputS3: { bucket: 'out', prefix: 'imdsv2' },
        policy: defaultPolicy(),
      });
      const arns = JSON.stringify(doc).match(/arn:[^"]*/g) ?? [];
      expect(arns.length, phase).toBeGreaterThan(0);
      for (const arn of arns) expect(arn.startsWith(`arn:${partition}:`), `${phase}: ${arn}`).toBe(true);
    }
    const assume = iamPolicy('enforce', { partition, roleName: 'ImdsAudit', policy: defaultPolicy() });
    expect(assume.Statement.find((s) => s.Action.includes('sts:AssumeRole'))?.Resource).toBe(
      `arn:${partition}:iam::*:role/ImdsAudit`,
    );
  });

  it('refuses an unknown partition with exit 2', () => {
    expect(() => iamPolicy('assess', { partition: 'aws-china', policy: defaultPolicy() })).toThrow(
      /--partition: "aws-china" is not an AWS partition/,
    );
  });

  it('scp is the planner’s lock-in SCP', () => {
    const scp = iamPolicy('scp', { policy: defaultPolicy() });
    expect(scp.Statement.map((s) => s.Sid)).toContain('RequireImdsV2OnLaunch');
  });
});
