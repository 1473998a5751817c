import { ServiceError } from '../protocol/errors.js';

/** Opaque paging tokens: the offset, bound to the operation so that a token of another call is refused. */
export function encodeToken(op: string, offset: number, extra = ''): string {
  return Buffer.from(JSON.stringify({ op, offset, extra })).toString('base64url');
}

export function decodeToken(token: string | undefined, op: string, code = 'InvalidParameterValue', extra = ''): number {
  if (token === undefined || token === '') return 0;
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      op?: unknown;
      offset?: unknown;
      extra?: unknown;
    };
    if (
      t.op === op &&
      typeof t.offset === 'number' &&
      Number.isInteger(t.offset) &&
      t.offset >= 0 &&
      (t.extra ?? '') === extra
    )
      return t.offset;
  } catch {
    // fall through to the error below
  }
  throw new ServiceError(code, `Invalid NextToken: ${token.slice(0, 40)}`);
}
