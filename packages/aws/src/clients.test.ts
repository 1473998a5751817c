import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CutoverError } from '@imdsv2-cutover/core';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsClients } from './clients.js';

const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' };

/** STS of one partition: the caller's ARN, and AssumeRole answering with the assumed-role ARN it was asked for. */
function stsOf(partition: string, account: string, answerPartition = partition) {
  sts.on(GetCallerIdentityCommand).resolves({ Account: account, Arn: `arn:${partition}:iam::${account}:user/ops` });
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string; RoleSessionName: string }) => {
    const [, , , , member, role] = input.RoleArn.split(':');
    return {
      Credentials: {
        AccessKeyId: 'ASIA',
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: new Date(Date.now() + 3_600_000),
      },
      AssumedRoleUser: {
        AssumedRoleId: 'AROA:x',
        Arn: `arn:${answerPartition}:sts::${member}:assumed-role/${role!.replace('role/', '')}/${input.RoleSessionName}`,
      },
    };
  });
}

const roleArnsAssumed = () => sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn);

describe('AwsClients: the caller’s partition', () => {
  it.each([
    ['aws', 'us-east-1', '111111111111'],
    ['aws-cn', 'cn-north-1', '444444444444'],
    ['aws-us-gov', 'us-gov-west-1', '666666666661'],
  ])('in %s, assumes roles by ARNs of that partition and records each account’s', async (partition, region, caller) => {
    stsOf(partition, caller);
    const clients = createAwsClients({ region, credentials });
    try {
      expect(await clients.callerIdentity()).toEqual({
        account: caller,
        arn: `arn:${partition}:iam::${caller}:user/ops`,
        partition,
      });
      await clients.useRole('555555555555', 'OrganizationAccountAccessRole')();
      await clients.useRole('555555555556', 'team/ImdsAudit')();
      expect(roleArnsAssumed()).toEqual([
        `arn:${partition}:iam::555555555555:role/OrganizationAccountAccessRole`,
        `arn:${partition}:iam::555555555556:role/team/ImdsAudit`,
      ]);
      expect(clients.partitionOf(caller)).toBe(partition);
      expect(clients.partitionOf('555555555555')).toBe(partition);
      expect(clients.partitionOf('999999999999')).toBeUndefined();
      // GetCallerIdentity is asked once, however many roles and callers.
      await clients.callerAccount();
      expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
    } finally {
      clients.destroy();
    }
  });

  it('a role is assumed in the caller’s partition even when no one asked who the caller is first', async () => {
    stsOf('aws-cn', '444444444444');
    const clients = createAwsClients({ region: 'cn-northwest-1', credentials });
    try {
      await clients.useRole('555555555555', 'R')();
      expect(roleArnsAssumed()).toEqual(['arn:aws-cn:iam::555555555555:role/R']);
    } finally {
      clients.destroy();
    }
  });

  it('refuses an AssumeRole answer outside the caller’s partition', async () => {
    stsOf('aws-cn', '444444444444', 'aws');
    const clients = createAwsClients({ region: 'cn-north-1', credentials });
    try {
      await expect(clients.useRole('555555555555', 'R')()).rejects.toThrow(
        /answered with arn:aws:sts::555555555555:assumed-role\/R\/imdsv2-cutover, outside the caller's partition aws-cn/,
      );
      expect(clients.partitionOf('555555555555')).toBeUndefined();
    } finally {
      clients.destroy();
    }
  });

  it('a region of another partition than the credentials is BAD_USAGE naming both, and a region to use', async () => {
    stsOf('aws-cn', '444444444444');
    const clients = createAwsClients({ region: 'us-east-1', credentials });
    try {
      const err = await clients.callerIdentity().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CutoverError);
      expect((err as CutoverError).code).toBe('BAD_USAGE');
      expect((err as CutoverError).message).toBe(
        'The region us-east-1 is in partition aws, but the credentials are in aws-cn (arn:aws-cn:iam::444444444444:user/ops)',
      );
      expect((err as CutoverError).suggestions.join(' ')).toContain('--region cn-north-1');
      // Nothing cached: a later call asks again.
      await clients.callerIdentity().catch(() => undefined);
      expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(2);
    } finally {
      clients.destroy();
    }
  });
});
