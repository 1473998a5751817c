import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import {
  AWS_PARTITIONS,
  CutoverError,
  iamRoleArn,
  partitionOfArn,
  partitionOfRegion,
  terminalSafe,
} from '@imdsv2-cutover/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  InitializeMiddleware,
  MiddlewareStack,
} from '@smithy/types';

import type { CallLimits } from './call-limits.js';
import type { ClientsFor } from './enforce/types.js';
import { attachCallContext } from './errors.js';
import { ServiceClock } from './service-clock.js';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** The clients the tool uses, by the IAM service prefix of their actions. */
const clientClasses = {
  ec2: EC2Client,
  cloudwatch: CloudWatchClient,
  ssm: SSMClient,
  s3: S3Client,
  autoscaling: AutoScalingClient,
  sts: STSClient,
  organizations: OrganizationsClient,
} as const;
export type AwsService = keyof typeof clientClasses;
type ClientOf<S extends AwsService> = InstanceType<(typeof clientClasses)[S]>;

export interface AwsClientsConfig {
  /** Named profile of the shared config files; the SDK's default credential chain when absent. */
  profile?: string;
  /** Region of global calls (STS, Organizations) and the default region. */
  region: string;
  /** Send every call here (the simulator, a proxy). */
  endpointUrl?: string;
  /** Base credentials; replaces the default chain (tests, library users). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK attempts per call, adaptive retry. Default 8: a throttled region should finish, only slower. */
  maxAttempts?: number;
  /** Expected parallel calls per endpoint: sizes the keep-alive socket pool. Default 16. */
  concurrency?: number;
  /** Version named in the user agent; defaults to this package's version. */
  toolVersion?: string;
  /**
   * Turn off the SDK's clock-skew correction. Needed against the simulator's accelerated clock, where the server time
   * moves between any two responses and the SDK would otherwise retry every error as a "skew fix". The service time
   * (`serviceNow`) does not depend on it. Default: on when `endpointUrl` is set.
   */
  disableClockSkewCorrection?: boolean;
}

/** Where a client points: an account (undefined = the base credentials' account) and a region. */
export interface ClientScope {
  accountId?: string;
  region: string;
}

/** One command sent, as an IAM action (`ec2:DescribeInstances`), with where it went. */
export interface SentCommand {
  action: string;
  accountId: string | undefined;
  region: string;
}

/**
 * Lists every command the clients sent, so that tests can check call counts and the IAM actions each phase needs.
 * Only counts are kept per action, plus the distinct actions per account and region.
 */
export class CommandLog {
  private readonly counts = new Map<string, number>();
  record(c: SentCommand): void {
    this.counts.set(c.action, (this.counts.get(c.action) ?? 0) + 1);
  }
  /** Calls per IAM action, sorted by action. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
  reset(): void {
    this.counts.clear();
  }
}

/**
 * Credentials from STS AssumeRole, cached until five minutes before they expire. The STS call goes through this
 * factory's own STS client so it honours the endpoint, retries and the command log. The role ARN is asked for when
 * the role is first assumed (it needs the caller's partition); `onAssumed` sees the assumed-role ARN of every answer.
 * Expiry is judged on the service's clock (`now`), the clock STS stated it on: a skewed local clock, or a simulator on
 * simulated time, would otherwise see every credential as expired and assume the role again for every call.
 */
function assumeRoleProvider(
  sts: STSClient,
  roleArnOf: () => Promise<string>,
  sessionName: string,
  onAssumed: (assumedRoleArn: string | undefined) => void,
  now: () => number,
): AwsCredentialIdentityProvider {
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  return async () => {
    if (cached && (cached.expiration === undefined || cached.expiration.getTime() - now() > 300_000)) return cached;
    pending ??= (async () => {
      try {
        const roleArn = await roleArnOf();
        const out = await sts.send(
          new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 3600 }),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
        onAssumed(out.AssumedRoleUser?.Arn);
        cached = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          expiration: c.Expiration,
        };
        return cached;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}

/**
 * The one place AWS clients are made. Clients are created on first use and cached per (account, region, service); they
 * share one keep-alive connection pool sized to the concurrency, adaptive retry, the tool's user agent and, with
 * `endpointUrl`, one endpoint. Accounts other than the base one are reached through `useRole(accountId, roleName)`.
 * Assess, probe and enforce all ask this factory for `ec2({ accountId, region })` and so on.
 */
export class AwsClients {
  readonly config: Readonly<AwsClientsConfig>;
  readonly log = new CommandLog();
  /** The service's clock, from the `Date` header of every response any client of this factory receives. */
  readonly clock = new ServiceClock();
  /**
   * Bounds on calls in flight per service and per account (`assess` sets them for its run); every call of every client
   * of this factory waits for its slots. Unset: no bound but the connection pool.
   */
  limits: CallLimits | undefined;
  private readonly handler: NodeHttpHandler;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly base: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  private readonly accountCredentials = new Map<string, AwsCredentialIdentityProvider>();
  private readonly cache = new Map<string, unknown>();
  private identity: Promise<CallerIdentity> | undefined;
  private caller: CallerIdentity | undefined;
  /** The partition of each account, from the answer that reached it (GetCallerIdentity, AssumeRole). */
  private readonly partitions = new Map<string, string>();

  constructor(config: AwsClientsConfig) {
    this.config = config;
    const maxSockets = Math.max(4, config.concurrency ?? 16);
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets }),
      https: new https.Agent({ keepAlive: true, maxSockets }),
    };
    this.handler = new NodeHttpHandler({ httpAgent: this.agents.http, httpsAgent: this.agents.https });
    this.base =
      config.credentials ?? fromNodeProviderChain(config.profile === undefined ? {} : { profile: config.profile });
  }

  /**
   * Makes `accountId` reachable by assuming `arn:<partition>:iam::<accountId>:role/<roleName>` with the base
   * credentials, in the partition of the caller's identity (GetCallerIdentity, asked once): an account lives in one
   * partition and STS cannot reach a role of another. Returns the credentials provider; awaiting it performs the
   * AssumeRole, which is how callers find out early that a role cannot be assumed. An answer whose assumed-role ARN is
   * in another partition than the caller's is refused (AWS never gives one).
   */
  useRole(accountId: string, roleName: string): AwsCredentialIdentityProvider {
    let provider = this.accountCredentials.get(accountId);
    if (!provider) {
      let partition = '';
      const roleArnOf = async () => {
        partition = (await this.callerIdentity()).partition;
        return iamRoleArn(partition, accountId, roleName);
      };
      const onAssumed = (assumed: string | undefined) => {
        const answered = assumed === undefined ? null : partitionOfArn(assumed);
        if (answered !== null && answered !== partition) {
          throw new Error(
            `AssumeRole into account ${accountId} answered with ${assumed}, outside the caller's partition ${partition}`,
          );
        }
        this.partitions.set(accountId, answered ?? partition);
      };
      provider = assumeRoleProvider(
        this.sts({ region: this.config.region }),
        roleArnOf,
        'imdsv2-cutover',
        onAssumed,
        () => this.clock.now(),
      );
      this.accountCredentials.set(accountId, provider);
    }
    return provider;
  }

  /**
   * The per-(account, region) view that enforce, rollback and status take. An account other than `callerAccount` is
   * reached through `roleName` when one is given; without a role every account uses the base credentials (a plan for
   * one account, or credentials that can act in every account of the plan).
   */
  clientsFor(opts: { roleName?: string; callerAccount?: string } = {}): ClientsFor {
    const scope = (accountId: string, region: string): ClientScope => {
      if (opts.roleName === undefined || accountId === opts.callerAccount) return { region };
      this.useRole(accountId, opts.roleName);
      return { accountId, region };
    };
    return {
      ec2: (accountId, region) => this.ec2(scope(accountId, region)),
      cloudwatch: (accountId, region) => this.cloudwatch(scope(accountId, region)),
      autoScaling: (accountId, region) => this.autoScaling(scope(accountId, region)),
    };
  }

  /**
   * Who the base credentials are (STS GetCallerIdentity, asked once): the account, the ARN and its partition, the
   * partition every ARN the tool builds is in. Errors: BAD_USAGE (exit 2) when the configured region is in another
   * partition than the credentials (`--region us-east-1` with China credentials): its calls could never succeed.
   */
  async callerIdentity(): Promise<CallerIdentity> {
    this.identity ??= (async () => {
      const out = await this.sts({ region: this.config.region }).send(new GetCallerIdentityCommand({}));
      if (!out.Account) throw new Error('GetCallerIdentity returned no account');
      const partition = out.Arn === undefined ? null : partitionOfArn(out.Arn);
      if (partition === null) throw new Error(`GetCallerIdentity returned no ARN with a partition (${out.Arn})`);
      assertRegionInPartition(this.config.region, partition, out.Arn!);
      this.caller = { account: out.Account, arn: out.Arn!, partition };
      this.partitions.set(out.Account, partition);
      return this.caller;
    })().catch((e: unknown) => {
      this.identity = undefined;
      throw e;
    });
    return this.identity;
  }

  /** The account of the base credentials (STS GetCallerIdentity, asked once). */
  async callerAccount(): Promise<string> {
    return (await this.callerIdentity()).account;
  }

  /** The caller's account once `callerAccount()` has answered (for messages), else undefined. */
  get knownCallerAccount(): string | undefined {
    return this.caller?.account;
  }

  /**
   * The partition of an account, from the answer that reached it: GetCallerIdentity for the caller's own account,
   * the assumed-role ARN of AssumeRole for the others. Undefined until that answer came.
   */
  partitionOf(accountId: string): string | undefined {
    return this.partitions.get(accountId);
  }

  /**
   * The service's current time, from the `Date` header of the last response (call `callerAccount()` first). Metric
   * windows are set on this clock, so a skewed local clock, or a simulator running on simulated time, still gets the
   * window it asked for.
   */
  serviceNow(): Date {
    return new Date(this.clock.now());
  }

  ec2(scope: ClientScope): EC2Client {
    return this.client('ec2', scope);
  }
  cloudwatch(scope: ClientScope): CloudWatchClient {
    return this.client('cloudwatch', scope);
  }
  ssm(scope: ClientScope): SSMClient {
    return this.client('ssm', scope);
  }
  /** S3, for reading probe output that Run Command wrote there (`--probe-output-s3`). */
  s3(scope: ClientScope): S3Client {
    return this.client('s3', scope);
  }
  autoScaling(scope: ClientScope): AutoScalingClient {
    return this.client('autoscaling', scope);
  }
  sts(scope: ClientScope): STSClient {
    return this.client('sts', scope);
  }
  /** Organizations is global: its client lives in the configured region. */
  organizations(scope: Omit<ClientScope, 'region'> = {}): OrganizationsClient {
    return this.client('organizations', { ...scope, region: this.config.region });
  }

  /**
   * Forgets the clients of one account and region (a region an assessment is done with), so that a run over thousands
   * of regions does not keep thousands of clients. The connection pool is shared and stays open; asking for a client
   * of the scope again makes a new one.
   */
  release(scope: ClientScope): void {
    for (const service of Object.keys(clientClasses))
      this.cache.delete(`${scope.accountId ?? ''}/${scope.region}/${service}`);
  }

  /** Closes the pooled connections; clients must not be used afterwards. */
  destroy(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
    this.cache.clear();
  }

  private client<S extends AwsService>(service: S, scope: ClientScope): ClientOf<S> {
    const key = `${scope.accountId ?? ''}/${scope.region}/${service}`;
    const hit = this.cache.get(key);
    if (hit) return hit as ClientOf<S>;
    let credentials = this.base;
    if (scope.accountId !== undefined) {
      const assumed = this.accountCredentials.get(scope.accountId);
      if (assumed) credentials = assumed;
    }
    const Ctor = clientClasses[service] as unknown as new (config: object) => ClientOf<S>;
    const client = new Ctor({
      region: scope.region,
      credentials,
      endpoint: this.config.endpointUrl,
      retryMode: 'adaptive',
      maxAttempts: this.config.maxAttempts ?? 8,
      customUserAgent: `imdsv2-cutover/${this.config.toolVersion ?? pkg.version}`,
      requestHandler: this.handler,
      disableClockSkewCorrection: this.config.disableClockSkewCorrection ?? this.config.endpointUrl !== undefined,
      // S3 through an endpoint URL (the simulator, a proxy) needs path-style addressing; buckets in another region
      // answer with a redirect the client follows.
      ...(service === 's3'
        ? { forcePathStyle: this.config.endpointUrl !== undefined, followRegionRedirects: true }
        : {}),
    });
    this.clock.attach(client, 'imdsv2FactoryClock');
    const log = this.log;
    // Records the call as an IAM action, and names it on any error the call ends with (after the SDK's retries), so
    // that a failure reaching the user says which operation, account and region (`awsFailure`).
    const record: InitializeMiddleware<object, object> = (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      const call = { action: `${service}:${operation}`, accountId: scope.accountId, region: scope.region };
      log.record(call);
      try {
        const limits = this.limits;
        return await (limits
          ? limits.run(service, scope.accountId, scope.region, () => next(args), operation)
          : next(args));
      } catch (e) {
        attachCallContext(e, call);
        throw e;
      }
    };
    (client.middlewareStack as MiddlewareStack<object, object>).add(record, {
      step: 'initialize',
      name: 'imdsv2CommandLog',
    });
    this.cache.set(key, client);
    return client;
  }
}

/** The identity of the base credentials (STS GetCallerIdentity). */
export interface CallerIdentity {
  account: string;
  /** `arn:aws-cn:sts::444444444444:assumed-role/Admin/session`, ... */
  arn: string;
  /** The partition of `arn`: `aws`, `aws-cn`, `aws-us-gov`, ... */
  partition: string;
}

/** Refuses a region of another partition than the credentials' (BAD_USAGE, exit 2), naming both and a fix. */
function assertRegionInPartition(region: string, partition: string, arn: string): void {
  const regionPartition = partitionOfRegion(region);
  if (regionPartition === null || regionPartition === partition) return;
  const known = AWS_PARTITIONS.find((p) => p.id === partition)?.regions ?? [];
  const example = known.includes('us-east-1') ? 'us-east-1' : known[0];
  throw new CutoverError(
    'BAD_USAGE',
    `The region ${region} is in partition ${regionPartition}, but the credentials are in ${partition} (${terminalSafe(arn)})`,
    {
      suggestions: [
        `Pass a region of ${partition}${example ? `, e.g. --region ${example}` : ''}, or use credentials of ${regionPartition}.`,
      ],
    },
  );
}

/** Creates the client factory for one run. */
export function createAwsClients(config: AwsClientsConfig): AwsClients {
  return new AwsClients(config);
}
