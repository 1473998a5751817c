import { iamWildcardMatch } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { CutoverError } from '../errors.js';
import { Policy, type PolicyInput } from '../schemas/policy.js';
import { generateScp } from './lock-in.js';

/**
 * A small evaluator of the Deny statements the SCP uses, after the IAM User Guide ("Condition operators"): "If the key
 * that you specify in a policy condition is not present in the request context, the values do not match and the
 * condition is false. If the policy condition requires that the key is not matched, such as StringNotLike or
 * ArnNotLike, and the right key is not present, the condition is true"; `Null` is true when the key is absent; all
 * operators of a statement must hold (AND); ArnLike compares each of the six colon-delimited parts with `*` and `?`
 * wildcards. An operator it does not know fails the test, so a new statement cannot go unevaluated.
 */
type Context = Record<string, string>;
interface Request {
  action: string;
  resource: string;
  context: Context;
}
interface Statement {
  Sid: string;
  Effect: string;
  Action: string;
  Resource: string;
  Condition?: Record<string, Record<string, unknown>>;
}

function arnLike(pattern: string, value: string): boolean {
  const split = (s: string) => {
    const parts = s.split(':');
    return [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  return p.every((part, i) => iamWildcardMatch(part, v[i] ?? ''));
}

function holds(op: string, key: string, want: unknown, ctx: Context): boolean {
  const have = Object.entries(ctx).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
  const wants = (Array.isArray(want) ? want : [want]).map(String);
  switch (op) {
    case 'Null':
      return wants[0] === 'true' ? have === undefined : have !== undefined;
    case 'StringNotEquals':
      return have === undefined || !wants.includes(have);
    case 'ArnNotLike':
      return have === undefined || !wants.some((w) => arnLike(w, have));
    case 'NumericGreaterThan':
      return have !== undefined && Number(have) > Number(wants[0]);
    case 'NumericLessThan':
      return have !== undefined && Number(have) < Number(wants[0]);
    default:
      throw new Error(`the test evaluator does not know condition operator ${op}`);
  }
}

function deniedBy(scp: Record<string, unknown>, req: Request): string[] {
  return (scp.Statement as Statement[])
    .filter(
      (s) =>
        s.Effect === 'Deny' &&
        iamWildcardMatch(s.Action, req.action) &&
        (s.Resource === '*' || arnLike(s.Resource, req.resource)) &&
        Object.entries(s.Condition ?? {}).every(([op, keys]) =>
          Object.entries(keys).every(([key, want]) => holds(op, key, want, req.context)),
        ),
    )
    .map((s) => s.Sid);
}

const policyOf = (lockIn: PolicyInput['lockIn'] = {}) =>
  Policy.parse({ schema: { name: 'imdsv2-cutover/policy', version: 1 }, lockIn });

const OPS = 'arn:aws-cn:iam::555555555555:role/ops';
const ADMIN = 'arn:aws-cn:iam::555555555555:role/imdsv2-cutover-admin';
const INSTANCE = 'arn:aws-cn:ec2:cn-north-1:555555555555:instance/i-0123456789abcdef0';
const modify = (principal: string, attrs: Record<string, string>): Request => ({
  action: 'ec2:ModifyInstanceMetadataOptions',
  resource: INSTANCE,
  context: {
    'aws:PrincipalARN': principal,
    ...Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`ec2:Attribute/${k}`, v])),
  },
});
const launch = (keys: Record<string, string>): Request => ({
  action: 'ec2:RunInstances',
  resource: INSTANCE,
  context: { 'aws:PrincipalARN': OPS, ...keys },
});

describe('the lock-in SCP', () => {
  const scp = generateScp(policyOf({ scpMaxHopLimit: 2, scpDenyImdsV1Credentials: true }), 'aws-cn');

  it('denies re-enabling IMDSv1 with the Null guard of AWS’s example, on instances of the partition', () => {
    const deny = (scp.Statement as Statement[]).find((s) => s.Sid === 'DenyReenablingImdsV1')!;
    // EC2 User Guide, "Work with instance metadata", "Deny opt-out of IMDSv2": exactly this condition, the Null value
    // a JSON boolean, plus our admin exception.
    expect(deny).toEqual({
      Sid: 'DenyReenablingImdsV1',
      Effect: 'Deny',
      Action: 'ec2:ModifyInstanceMetadataOptions',
      Resource: 'arn:aws-cn:ec2:*:*:instance/*',
      Condition: {
        StringNotEquals: { 'ec2:Attribute/HttpTokens': 'required' },
        Null: { 'ec2:Attribute/HttpTokens': false },
        ArnNotLike: { 'aws:PrincipalARN': 'arn:aws-cn:iam::*:role/imdsv2-cutover-admin' },
      },
    });
  });

  it.each<[string, Request, string[]]>([
    ['raising the hop limit to 2', modify(OPS, { HttpPutResponseHopLimit: '2' }), []],
    ['turning on instance tags', modify(OPS, { InstanceMetadataTags: 'enabled' }), []],
    ['requiring tokens', modify(OPS, { HttpTokens: 'required', HttpPutResponseHopLimit: '2' }), []],
    ['making tokens optional', modify(OPS, { HttpTokens: 'optional' }), ['DenyReenablingImdsV1']],
    ['making tokens optional, as the admin role (rollback)', modify(ADMIN, { HttpTokens: 'optional' }), []],
    ['a launch with tokens required', launch({ 'ec2:MetadataHttpTokens': 'required' }), []],
    ['a launch with tokens optional', launch({ 'ec2:MetadataHttpTokens': 'optional' }), ['RequireImdsV2OnLaunch']],
    [
      // The reading under which the key is taken from the request only: a launch that relies on its launch template
      // or the account default carries no key, and StringNotEquals on an absent key is true.
      'a launch without the key in the request',
      launch({}),
      ['RequireImdsV2OnLaunch'],
    ],
    [
      'a launch above the hop limit ceiling',
      launch({ 'ec2:MetadataHttpTokens': 'required', 'ec2:MetadataHttpPutResponseHopLimit': '3' }),
      ['LimitHopLimitOnLaunch'],
    ],
    [
      'a call signed with credentials fetched over IMDSv1',
      { action: 's3:GetObject', resource: 'arn:aws-cn:s3:::bucket/key', context: { 'ec2:RoleDelivery': '1.0' } },
      ['DenyCredentialsFromImdsV1'],
    ],
    [
      'a call signed with credentials fetched over IMDSv2',
      { action: 's3:GetObject', resource: 'arn:aws-cn:s3:::bucket/key', context: { 'ec2:RoleDelivery': '2.0' } },
      [],
    ],
  ])('%s', (_name, req, denied) => {
    expect(deniedBy(scp, req)).toEqual(denied);
  });

  it('the evaluator catches a missing Null guard: without it a hop-limit change is denied', () => {
    const unguarded = structuredClone(scp) as { Statement: Statement[] };
    delete unguarded.Statement.find((s) => s.Sid === 'DenyReenablingImdsV1')!.Condition!.Null;
    expect(deniedBy(unguarded, modify(OPS, { HttpPutResponseHopLimit: '2' }))).toEqual(['DenyReenablingImdsV1']);
  });

  it('an SCP written for another partition matches none of this partition’s instances', () => {
    const aws = generateScp(policyOf(), 'aws');
    expect(deniedBy(aws, modify(OPS, { HttpTokens: 'optional' }))).toEqual([]);
    expect(deniedBy(generateScp(policyOf(), 'aws-cn'), modify(OPS, { HttpTokens: 'optional' }))).toEqual([
      'DenyReenablingImdsV1',
    ]);
  });

  it.each(['aws', 'aws-cn', 'aws-us-gov'])('every ARN of the SCP in %s is in that partition', (partition) => {
    const text = JSON.stringify(generateScp(policyOf({ scpMaxHopLimit: 2 }), partition));
    const arns = text.match(/arn:[^"]*/g) ?? [];
    expect(arns.length).toBeGreaterThanOrEqual(4);
    for (const arn of arns) expect(arn.startsWith(`arn:${partition}:`), arn).toBe(true);
  });

  it('the admin principal: {partition} filled in, a wildcard partition kept, a literal other partition refused', () => {
    const admin = (arn: string, partition: string) =>
      (generateScp(policyOf({ scpAdminPrincipalArn: arn }), partition).Statement as Statement[])[1]!.Condition!
        .ArnNotLike!['aws:PrincipalARN'];
    expect(admin('arn:{partition}:iam::*:role/ops-admin', 'aws-us-gov')).toBe('arn:aws-us-gov:iam::*:role/ops-admin');
    expect(admin('arn:*:iam::*:role/ops-admin', 'aws-cn')).toBe('arn:*:iam::*:role/ops-admin');
    expect(() => admin('arn:aws:iam::*:role/ops-admin', 'aws-cn')).toThrow(CutoverError);
    expect(() => admin('arn:aws:iam::*:role/ops-admin', 'aws-cn')).toThrow(
      /lockIn\.scpAdminPrincipalArn: "arn:aws:iam::\*:role\/ops-admin" is in partition aws, but the accounts are in aws-cn/,
    );
  });
});
