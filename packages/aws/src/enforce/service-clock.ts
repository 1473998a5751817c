import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EC2Client } from '@aws-sdk/client-ec2';

const MIDDLEWARE = 'imdsv2ServiceClock';

interface RawResponse {
  response?: { headers?: Record<string, string | undefined> };
}

/**
 * The service's clock, learnt from the `Date` header of every AWS response. Soak times and metric windows are measured
 * on it rather than on the local clock: a skewed laptop clock must not shorten a soak, and against the simulator's
 * accelerated clock a 24-hour soak passes in seconds. Between responses, time advances at the local rate from the last
 * observation (the header has one-second resolution).
 */
export class ServiceClock {
  private offsetMs: number | null = null;

  constructor(private readonly localNow: () => number = Date.now) {}

  /** Records a `Date` header value. */
  observe(date: string | undefined): void {
    if (!date) return;
    const t = Date.parse(date);
    if (!Number.isNaN(t)) this.offsetMs = t - this.localNow();
  }

  /** True once a response has been seen. */
  get synced(): boolean {
    return this.offsetMs !== null;
  }

  /** Now on the service's clock (the local clock until a response has been seen). */
  now(): number {
    return this.localNow() + (this.offsetMs ?? 0);
  }

  /**
   * Adds a middleware that reads the raw response's `Date` header, successful or not (a DryRun answer is an error).
   * It sits at the low end of the deserialize step, next to the HTTP handler, so it sees the response before errors
   * are parsed. Re-attaching replaces the previous clock's middleware.
   */
  attach(client: EC2Client | CloudWatchClient): void {
    const stack = client.middlewareStack as unknown as {
      remove(name: string): boolean;
      add(mw: unknown, opts: { step: string; name: string; priority: string }): void;
    };
    stack.remove(MIDDLEWARE);
    stack.add(
      (next: (a: unknown) => Promise<RawResponse>) => async (args: unknown) => {
        const out = await next(args);
        this.observe(out.response?.headers?.date ?? out.response?.headers?.Date);
        return out;
      },
      { step: 'deserialize', name: MIDDLEWARE, priority: 'low' },
    );
  }
}
