import { CutoverError, iamPhasesOf } from '@imdsv2-cutover/core';

/**
 * Where a failed AWS call went, attached to the error by the client factory's middleware (`AwsClients`): the IAM
 * action (`ec2:DescribeInstances`), the account (undefined: the account of the base credentials) and the region.
 */
export interface AwsCallContext {
  action: string;
  accountId: string | undefined;
  region: string;
}

const CONTEXT = Symbol.for('imdsv2-cutover.awsCall');

/** Attaches `ctx` to an error thrown by an AWS call (once: the innermost call that failed names the place). */
export function attachCallContext(e: unknown, ctx: AwsCallContext): void {
  if (e !== null && typeof e === 'object' && !(CONTEXT in e)) {
    Object.defineProperty(e, CONTEXT, { value: ctx, enumerable: false });
  }
}

/** The call an AWS error came from, when a client of the factory sent it. */
export function callContextOf(e: unknown): AwsCallContext | undefined {
  return e !== null && typeof e === 'object' ? (e as Record<symbol, AwsCallContext | undefined>)[CONTEXT] : undefined;
}

/**
 * The code of an AWS SDK v3 exception (its `name`, e.g. `UnauthorizedOperation`, `ThrottlingException`), of a query
 * protocol error (`Code`), or of a network error (`code`, e.g. `ECONNRESET`); `Error` when none is found. The one
 * helper every package uses to read an AWS error's code.
 */
export function awsErrorCode(e: unknown): string {
  if (e === null || typeof e !== 'object') return 'Error';
  const err = e as { name?: unknown; Code?: unknown; code?: unknown };
  if (typeof err.Code === 'string' && err.Code !== '') return err.Code;
  if (typeof err.name === 'string' && err.name !== '' && err.name !== 'Error') return err.name;
  if (typeof err.code === 'string' && err.code !== '') return err.code;
  return 'Error';
}

/** The code and message of an AWS SDK or network error, as assessments and journals record it. */
export function awsErrorInfo(e: unknown): { code: string; message: string } {
  if (e instanceof Error) {
    const message = e.message || (e instanceof AggregateError ? e.errors.map(String).join('; ') : String(e));
    return { code: awsErrorCode(e), message };
  }
  return { code: 'Error', message: String(e) };
}

const ACCESS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthFailure',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** True for errors of the network or the service being down rather than of the request. */
export function isUnreachable(e: unknown): boolean {
  const code = awsErrorCode(e);
  if (NETWORK.has(code)) return true;
  const msg = e instanceof Error ? e.message : '';
  const status = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return (
    /socket hang up|ECONNRESET|ECONNREFUSED|connect ETIMEDOUT/.test(msg) ||
    (status !== undefined && status >= 500 && !THROTTLED.has(code))
  );
}

/** True for throttling errors (the SDK retried and gave up). */
export function isThrottled(e: unknown): boolean {
  return THROTTLED.has(awsErrorCode(e));
}

/** True for errors that mean the credentials may not make the call. */
export function isAccessDenied(e: unknown): boolean {
  return ACCESS.has(awsErrorCode(e));
}

/** `account 111111111111 region us-east-1, ec2:DescribeInstances` (or `your credentials' account`). */
export function whereText(ctx: AwsCallContext, callerAccount?: string): string {
  const account = ctx.accountId ?? callerAccount;
  return `${ctx.action} in account ${account ?? 'of your credentials'}, region ${ctx.region}`;
}

/**
 * Turns an AWS (or network) error that reached the user into a `CutoverError` that names the account, region and
 * operation and says what to do: ACCESS_DENIED (the `imdsv2 policy --for PHASE` that grants the action), AWS_THROTTLED,
 * AWS_UNREACHABLE, or AWS_ERROR with the service's code. `doing` says what the tool was doing ("preflight of wave 1"),
 * `phase` which policy the command needs. A `CutoverError` passes through unchanged.
 */
export function awsFailure(
  e: unknown,
  o: { doing?: string; phase?: 'assess' | 'enforce' | 'lockin'; callerAccount?: string } = {},
): CutoverError {
  if (e instanceof CutoverError) return e;
  const { code, message } = awsErrorInfo(e);
  const ctx = callContextOf(e);
  const where = ctx ? whereText(ctx, o.callerAccount) : 'an AWS call';
  const doing = o.doing ? `${o.doing}: ` : '';
  if (isAccessDenied(e)) {
    const granting = ctx ? iamPhasesOf(ctx.action) : [];
    const phases = o.phase && granting.includes(o.phase) ? [o.phase] : granting;
    return new CutoverError('ACCESS_DENIED', `${doing}${where} was refused: ${code}: ${message}`, {
      cause: e,
      suggestions: [
        ...(phases.length > 0
          ? [`Grant the permissions printed by \`imdsv2 policy --for ${phases[0]}\` to the identity you run with.`]
          : ['Check the identity you run with (--profile, AWS_PROFILE, --role-name) and its permissions.']),
        'Expired or wrong credentials fail the same way: `aws sts get-caller-identity` shows which identity is used.',
      ],
      details: { code, ...(ctx ?? {}) },
    });
  }
  if (isThrottled(e)) {
    return new CutoverError(
      'AWS_THROTTLED',
      `${doing}${where} was still throttled after the SDK's retries: ${code}: ${message}`,
      {
        cause: e,
        suggestions: [
          'Other tools in the account share the same API rate: run again later, or lower --concurrency.',
          'Everything done so far is kept (journal, history); a re-run continues where this one stopped.',
        ],
        details: { code, ...(ctx ?? {}) },
      },
    );
  }
  if (isUnreachable(e)) {
    return new CutoverError('AWS_UNREACHABLE', `${doing}${where} could not be reached: ${code}: ${message}`, {
      cause: e,
      suggestions: [
        'Check the network path to the endpoint (proxy, VPC endpoint, --endpoint-url) and the AWS Health Dashboard for the region.',
        'Run the same command again: nothing is lost by a failed call.',
      ],
      details: { code, ...(ctx ?? {}) },
    });
  }
  return new CutoverError('AWS_ERROR', `${doing}${where} failed: ${code}: ${message}`, {
    cause: e,
    suggestions: ['See the AWS error code above; run again with --verbose for the details of every call.'],
    details: { code, ...(ctx ?? {}) },
  });
}
