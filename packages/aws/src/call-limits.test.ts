import { describe, expect, it } from 'vitest';
import { CallLimits } from './call-limits.js';

/** A call that stays in flight until released. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { done, open };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CallLimits', () => {
  it('never has more calls in flight than allowed per service and per account', async () => {
    const limits = new CallLimits({ perService: 3, perAccount: 2 });
    let inFlight = 0;
    let most = 0;
    const call = (ms: number) => async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
    };
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      const account = `11111111111${i % 3}`;
      calls.push(limits.run(i % 2 ? 'ec2' : 'cloudwatch', account, 'us-east-1', call(5 + (i % 4))));
    }
    await Promise.all(calls);
    const peak = limits.peak();
    expect(peak.perService.ec2).toBeLessThanOrEqual(3);
    expect(peak.perService.cloudwatch).toBeLessThanOrEqual(3);
    expect(peak.perAccount).toBe(2);
    // 3 accounts x 2 calls, but at most 3 per service: 6 at once over the two services.
    expect(most).toBeLessThanOrEqual(6);
    expect(most).toBeGreaterThanOrEqual(4);
  });

  it('global services (STS) are bounded per service only', async () => {
    const limits = new CallLimits({ perService: 4, perAccount: 1 });
    const g = gate();
    const calls = Array.from({ length: 4 }, () => limits.run('sts', undefined, 'us-east-1', () => g.done));
    await tick();
    expect(limits.peak().perService.sts).toBe(4);
    g.open();
    await Promise.all(calls);
  });

  it('serves the regions registered first before later ones, whatever order their calls come in', async () => {
    const limits = new CallLimits({ perService: 1, perAccount: 8 });
    limits.register('111111111111', 'us-east-1');
    limits.register('222222222222', 'us-east-1');
    const busy = gate();
    const first = limits.run('ec2', '999999999999', 'eu-west-1', () => busy.done); // takes the one slot
    const order: string[] = [];
    const later = limits.run('ec2', '222222222222', 'us-east-1', async () => void order.push('second region'));
    const earlier = limits.run('ec2', '111111111111', 'us-east-1', async () => void order.push('first region'));
    await tick();
    busy.open();
    await Promise.all([first, later, earlier]);
    expect(order).toEqual(['first region', 'second region']);
  });

  it('refuses a bound below 1', () => {
    expect(() => new CallLimits({ perService: 0 })).toThrow(/perService/);
    expect(() => new CallLimits({ perAccount: 1.5 })).toThrow(/perAccount/);
  });
});
