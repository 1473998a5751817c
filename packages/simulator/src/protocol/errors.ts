/**
 * An error the simulated service answers with. `code` is AWS's error code (what the SDK turns into the exception name);
 * `status` the HTTP status AWS uses for it.
 */
export class ServiceError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fault: 'Sender' | 'Receiver';
  /** For JSON protocols: the modelled exception shape name when it differs from the query code. */
  readonly jsonType: string | undefined;
  /** Extra JSON members (for JSON protocols). */
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    opts: { status?: number; fault?: 'Sender' | 'Receiver'; jsonType?: string; extra?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
    this.status = opts.status ?? 400;
    this.fault = opts.fault ?? (this.status >= 500 ? 'Receiver' : 'Sender');
    this.jsonType = opts.jsonType;
    this.extra = opts.extra;
  }
}

export const invalidParameterValue = (message: string): ServiceError =>
  new ServiceError('InvalidParameterValue', message);

/** Checks an integer parameter against AWS's range and answers as EC2 does. */
export function intInRange(
  name: string,
  raw: string | number | undefined,
  min: number,
  max: number,
  code = 'InvalidParameterValue',
): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const v = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ServiceError(
      code,
      `Value ( ${String(raw)} ) for parameter ${name} is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
  return v;
}
