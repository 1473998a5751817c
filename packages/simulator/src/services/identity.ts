import { randomBytes } from 'node:crypto';
import type { JsonService, QueryService } from '../context.js';
import { ServiceError } from '../protocol/errors.js';
import { el, isoTime } from '../protocol/xml.js';
import { decodeToken, encodeToken } from './paging.js';

/** STS (awsQuery 2011-06-15) and Organizations (JSON 1.1): who the caller is, other accounts' keys, the account list. */

export const stsService: QueryService = {
  kind: 'query',
  name: 'sts',
  xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
  ec2: false,
  handlers: {
    GetCallerIdentity(call) {
      const assumed = call.accessKey.startsWith('ASIA') && call.sim.issuedKeys.has(call.accessKey);
      const partition = call.sim.fleet.partition(call.account);
      const arn = assumed
        ? `arn:${partition}:sts::${call.account}:assumed-role/simulated/session`
        : `arn:${partition}:iam::${call.account}:user/simulator`;
      return `${el('Arn', arn)}${el('UserId', assumed ? 'AROASIMULATED:session' : 'AIDASIMULATOR')}${el('Account', call.account)}`;
    },
    AssumeRole(call, p) {
      const roleArn = p.require('RoleArn');
      const session = p.require('RoleSessionName');
      const m = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(roleArn);
      if (!m) throw new ServiceError('ValidationError', `${roleArn} is invalid`);
      const [, rolePartition, account, role] = m as unknown as [string, string, string, string];
      const callerPartition = call.sim.fleet.partition(call.account);
      const target = call.sim.fleet.account(account);
      // An account lives in one partition and STS of one partition cannot reach another's roles: a role ARN of another
      // partition (a hard-coded `arn:aws`, say) is refused like a role that does not trust the caller.
      if (
        !target ||
        target.deniedRoles.includes(role) ||
        rolePartition !== callerPartition ||
        target.partition !== callerPartition
      ) {
        throw new ServiceError(
          'AccessDenied',
          `User: arn:${callerPartition}:iam::${call.account}:user/simulator is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
          { status: 403 },
        );
      }
      const duration = Number(p.get('DurationSeconds') ?? 3600);
      if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
        throw new ServiceError(
          'ValidationError',
          `1 validation error detected: Value '${p.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
        );
      }
      const accessKeyId = `ASIA${account}${randomBytes(2).toString('hex').toUpperCase()}`;
      call.sim.issuedKeys.set(accessKeyId, account);
      return (
        `<Credentials>${el('AccessKeyId', accessKeyId)}${el('SecretAccessKey', randomBytes(20).toString('base64'))}` +
        `${el('SessionToken', randomBytes(32).toString('base64'))}${el('Expiration', isoTime(call.nowMs + duration * 1000))}</Credentials>` +
        `<AssumedRoleUser>${el('AssumedRoleId', `AROA${account}:${session}`)}${el('Arn', `arn:${rolePartition}:sts::${account}:assumed-role/${role}/${session}`)}</AssumedRoleUser>`
      );
    },
  },
  category: () => 'sts.all',
};

export const organizationsService: JsonService = {
  kind: 'json',
  name: 'organizations',
  contentType: 'application/x-amz-json-1.1',
  namespace: 'com.amazonaws.organizations',
  queryCompatible: false,
  handlers: {
    ListAccounts(call, body) {
      const fleet = call.sim.fleet;
      if (call.account !== fleet.organizationMaster) {
        throw new ServiceError(
          'AccessDeniedException',
          "You don't have permissions to access this resource: only the management account can list accounts.",
        );
      }
      const max = body.MaxResults === undefined ? 20 : Number(body.MaxResults);
      if (!Number.isInteger(max) || max < 1 || max > 20)
        throw new ServiceError('InvalidInputException', 'MaxResults must be between 1 and 20.', {
          extra: { Reason: 'INVALID_INPUT' },
        });
      const start = decodeToken(body.NextToken as string | undefined, 'ListAccounts', 'InvalidInputException');
      const page = fleet.accounts.slice(start, start + max);
      call.items = page.length;
      return {
        Accounts: page.map((a) => ({
          Id: a.id,
          Arn: `arn:${a.partition}:organizations::${fleet.organizationMaster}:account/o-simulated/${a.id}`,
          Email: a.email,
          Name: a.name,
          Status: 'ACTIVE',
          State: 'ACTIVE',
          JoinedMethod: a.id === fleet.organizationMaster ? 'CREATED' : 'INVITED',
          JoinedTimestamp: new Date(fleet.startMs - 400 * 86_400_000),
        })),
        NextToken: start + max < fleet.accounts.length ? encodeToken('ListAccounts', start + max) : undefined,
      };
    },
  },
  category: () => 'organizations.all',
};
