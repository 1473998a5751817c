import PQueue from 'p-queue';

/** Services whose calls are made from the caller's own account whatever the target (global, no regional buckets). */
const GLOBAL_SERVICES = new Set(['sts', 'organizations']);

/** 0 for the calls that chain (pages), 1 for GetMetricData, 2 for the rest. */
function criticality(operation: string): number {
  if (operation === 'DescribeInstances') return 0;
  if (operation === 'GetMetricData') return 1;
  return 2;
}

/** Calls in flight per service (EC2, CloudWatch, ...) across the whole run, by default. */
export const DEFAULT_SERVICE_CONCURRENCY = 32;
/** Calls in flight per account (all its regions and regional services together), by default. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 8;

export interface CallLimitsOptions {
  /** Calls in flight per service (`ec2`, `cloudwatch`, `autoscaling`, `sts`, ...). Default 32. */
  perService?: number;
  /** Calls in flight per account to its regional services (EC2, CloudWatch, Auto Scaling, SSM). Default 8. */
  perAccount?: number;
}

/** The most calls that were in flight at once, per service and over all accounts (for tests and benchmarks). */
export interface CallLimitsPeak {
  perService: Record<string, number>;
  /** The highest number of calls any one account had in flight. */
  perAccount: number;
}

/**
 * Bounds the calls a run has in flight per service and per account, and orders the waiting calls by the region they
 * belong to: regions registered first are served first, so regions finish one after another (progress moves, partial
 * results do not pile up) while every slot stays busy. Calls of unregistered scopes (the organization's account list,
 * AssumeRole) come before all others, since they gate whole accounts.
 *
 * Why these bounds: AWS throttles per account and region (EC2's token buckets, CloudWatch's TPS), so a per-account
 * bound keeps each account's buckets from being drained by a run over many regions, and a per-service bound keeps the
 * client's own CPU and sockets from being the thing that fails at 1,000 accounts. A region's calls form a chain
 * (DescribeInstances pages follow each other), so many regions are in progress at once, bounded only by these slots.
 */
export class CallLimits {
  readonly perService: number;
  readonly perAccount: number;
  private readonly services = new Map<string, PQueue>();
  private readonly accounts = new Map<string, PQueue>();
  private readonly ranks = new Map<string, number>();
  private readonly inFlight = { service: new Map<string, number>(), account: new Map<string, number>() };
  private readonly peaks: CallLimitsPeak = { perService: {}, perAccount: 0 };

  constructor(options: CallLimitsOptions = {}) {
    this.perService = options.perService ?? DEFAULT_SERVICE_CONCURRENCY;
    this.perAccount = options.perAccount ?? DEFAULT_ACCOUNT_CONCURRENCY;
    if (!(Number.isInteger(this.perService) && this.perService >= 1))
      throw new RangeError(`perService must be a whole number >= 1, got ${this.perService}`);
    if (!(Number.isInteger(this.perAccount) && this.perAccount >= 1))
      throw new RangeError(`perAccount must be a whole number >= 1, got ${this.perAccount}`);
  }

  /** Gives a region its place in the order (first registered, first served); registering twice keeps the first. */
  register(account: string | undefined, region: string): void {
    const key = `${account ?? ''}/${region}`;
    if (!this.ranks.has(key)) this.ranks.set(key, this.ranks.size + 1);
  }

  /**
   * Runs one call of `service` in `account` (undefined: the base credentials' account) and `region` once a slot of
   * the account (regional services only) and of the service are free.
   */
  async run<T>(
    service: string,
    account: string | undefined,
    region: string,
    fn: () => Promise<T>,
    operation = '',
  ): Promise<T> {
    // p-queue serves higher priorities first: rank 1 (the first region) is -1, unregistered scopes 0.
    const rank = this.ranks.get(`${account ?? ''}/${region}`) ?? 0;
    const priority = -rank;
    // Within an account, calls on a region's critical path go first, whatever their region: DescribeInstances pages
    // (a chain: each needs the previous page's token), then GetMetricData (the last batch ends the region), then the
    // short calls that can wait. Across accounts (the service queue) the region order alone decides.
    const accountPriority = -(criticality(operation) * 1_000_000 + rank);
    const inService = () =>
      this.queue(this.services, service, this.perService).add(() => this.track(service, account, fn), {
        priority,
        throwOnTimeout: true,
      });
    if (GLOBAL_SERVICES.has(service)) return inService();
    return this.queue(this.accounts, account ?? '', this.perAccount).add(inService, {
      priority: accountPriority,
      throwOnTimeout: true,
    });
  }

  /** The most calls in flight at once so far. */
  peak(): CallLimitsPeak {
    return { perService: { ...this.peaks.perService }, perAccount: this.peaks.perAccount };
  }

  private queue(map: Map<string, PQueue>, key: string, concurrency: number): PQueue {
    let q = map.get(key);
    if (!q) {
      q = new PQueue({ concurrency });
      map.set(key, q);
    }
    return q;
  }

  private async track<T>(service: string, account: string | undefined, fn: () => Promise<T>): Promise<T> {
    const s = (this.inFlight.service.get(service) ?? 0) + 1;
    this.inFlight.service.set(service, s);
    this.peaks.perService[service] = Math.max(this.peaks.perService[service] ?? 0, s);
    const regional = !GLOBAL_SERVICES.has(service);
    const key = account ?? '';
    if (regional) {
      const a = (this.inFlight.account.get(key) ?? 0) + 1;
      this.inFlight.account.set(key, a);
      this.peaks.perAccount = Math.max(this.peaks.perAccount, a);
    }
    try {
      return await fn();
    } finally {
      this.inFlight.service.set(service, this.inFlight.service.get(service)! - 1);
      if (regional) this.inFlight.account.set(key, this.inFlight.account.get(key)! - 1);
    }
  }
}
