import { describe, expect, it } from 'vitest';
import { CutoverError } from '../errors.js';
import {
  PARTITION_IDS,
  arnPatternFor,
  assertKnownPartition,
  assessmentPartition,
  iamRoleArn,
  partitionOfArn,
  partitionOfRegions,
  withPartition,
} from './arn.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CutoverError) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected a CutoverError');
}

describe('ARNs per partition', () => {
  it('knows the three commercial and sovereign partitions the tool is tested in', () => {
    expect(PARTITION_IDS).toEqual(expect.arrayContaining(['aws', 'aws-cn', 'aws-us-gov']));
  });

  it.each([
    ['arn:aws:iam::111111111111:user/Alice', 'aws'],
    ['arn:aws-cn:sts::444444444444:assumed-role/OrganizationAccountAccessRole/imdsv2-cutover', 'aws-cn'],
    ['arn:aws-us-gov:iam::666666666661:user/simulator', 'aws-us-gov'],
    ['arn:aws-iso-b:ec2:us-isob-east-1:123456789012:instance/i-0abc', 'aws-iso-b'],
    ['arn:*:iam::*:role/x', null],
    ['arn::iam::1:role/x', null],
    ['not-an-arn', null],
    ['', null],
  ])('the partition of %s is %s', (arn, partition) => {
    expect(partitionOfArn(arn)).toBe(partition);
  });

  it.each([
    ['aws', '111111111111', 'Audit', 'arn:aws:iam::111111111111:role/Audit'],
    [
      'aws-cn',
      '555555555555',
      'OrganizationAccountAccessRole',
      'arn:aws-cn:iam::555555555555:role/OrganizationAccountAccessRole',
    ],
    ['aws-us-gov', '666666666662', 'ops/imds-admin', 'arn:aws-us-gov:iam::666666666662:role/ops/imds-admin'],
  ])('the role ARN in %s for %s/%s', (partition, account, role, arn) => {
    expect(iamRoleArn(partition, account, role)).toBe(arn);
    expect(partitionOfArn(iamRoleArn(partition, account, role))).toBe(partition);
  });

  it('fills every {partition} placeholder', () => {
    expect(withPartition('arn:{partition}:ec2:*:*:instance/*', 'aws-cn')).toBe('arn:aws-cn:ec2:*:*:instance/*');
    expect(withPartition('arn:aws:s3:::b/*', 'aws-cn')).toBe('arn:aws:s3:::b/*');
  });

  it('a user ARN pattern: placeholder filled, wildcard partition kept, another literal partition refused', () => {
    expect(arnPatternFor('arn:{partition}:iam::*:role/admin', 'aws-us-gov', 'x')).toBe(
      'arn:aws-us-gov:iam::*:role/admin',
    );
    expect(arnPatternFor('arn:aws-cn:iam::*:role/admin', 'aws-cn', 'x')).toBe('arn:aws-cn:iam::*:role/admin');
    expect(arnPatternFor('arn:*:iam::*:role/admin', 'aws-cn', 'x')).toBe('arn:*:iam::*:role/admin');
    expect(codeOf(() => arnPatternFor('arn:aws:iam::*:role/admin', 'aws-cn', 'lockIn.scpAdminPrincipalArn'))).toBe(
      'BAD_INPUT: lockIn.scpAdminPrincipalArn: "arn:aws:iam::*:role/admin" is in partition aws, but the accounts are in aws-cn',
    );
    expect(codeOf(() => arnPatternFor('role/admin', 'aws', 'x'))).toMatch(/^BAD_INPUT: x: "role\/admin" is not an ARN/);
  });

  it('refuses an unknown partition name with exit 2 naming it', () => {
    expect(() => assertKnownPartition('aws-cn', '--partition')).not.toThrow();
    expect(codeOf(() => assertKnownPartition('china', '--partition'))).toBe(
      'BAD_USAGE: --partition: "china" is not an AWS partition',
    );
  });

  it('the partition of a set of regions: one, none, or refused when mixed', () => {
    expect(partitionOfRegions(['cn-north-1', 'cn-northwest-1'], 'r')).toBe('aws-cn');
    expect(partitionOfRegions(['us-gov-west-1'], 'r')).toBe('aws-us-gov');
    expect(partitionOfRegions([], 'r')).toBeNull();
    expect(codeOf(() => partitionOfRegions(['us-east-1', 'cn-north-1'], 'the plan'))).toBe(
      'BAD_INPUT: the plan spans two partitions: us-east-1 is in aws, cn-north-1 in aws-cn',
    );
  });

  it('the partition of an assessment: recorded, else from its regions, else aws; a contradiction is refused', () => {
    const a = (
      partition: string | undefined,
      regions: string[],
      accounts: { accountId: string; partition?: string }[] = [],
    ) => ({
      scope: { ...(partition === undefined ? {} : { partition }), regions },
      regions: regions.map((region) => ({ region })),
      accounts,
    });
    expect(assessmentPartition(a('aws-cn', ['cn-north-1']))).toBe('aws-cn');
    expect(assessmentPartition(a(undefined, ['us-gov-east-1']))).toBe('aws-us-gov');
    expect(assessmentPartition(a(undefined, []))).toBe('aws');
    expect(assessmentPartition(a('aws-cn', []))).toBe('aws-cn');
    expect(codeOf(() => assessmentPartition(a('aws', ['cn-north-1'])))).toMatch(
      /^BAD_INPUT: the assessment records partition aws but assessed regions of aws-cn \(cn-north-1\)/,
    );
    const mixed = a(
      'aws-cn',
      ['cn-north-1'],
      [
        { accountId: '444444444444', partition: 'aws-cn' },
        { accountId: '111111111111', partition: 'aws' },
      ],
    );
    expect(codeOf(() => assessmentPartition(mixed))).toBe(
      'BAD_INPUT: the assessment mixes partitions: account 111111111111 is in aws, the assessment in aws-cn',
    );
  });
});
