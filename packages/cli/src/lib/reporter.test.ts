import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliReporter } from './reporter.js';

function capture(isTTY: boolean) {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  Object.assign(stream, { isTTY });
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, text: () => chunks.join('') };
}

describe('CliReporter', () => {
  it('off a TTY: one plain line per phase and warning, progress only when complete', () => {
    const { stream, text } = capture(false);
    const r = new CliReporter({ stream });
    r.emit({ type: 'phase', phase: 'discover', message: 'Discovering instances', scope: { region: 'us-east-1' } });
    r.emit({ type: 'progress', phase: 'discover', done: 1000, total: 3000, unit: 'instances' });
    r.emit({ type: 'progress', phase: 'discover', done: 3000, total: 3000, unit: 'instances' });
    r.emit({ type: 'warning', code: 'REGION_FAILED', message: 'eu-west-3: OptInRequired' });
    r.emit({ type: 'debug', message: 'hidden unless verbose' });
    const out = text();
    expect(out).not.toContain('1000/3000');
    expect(out).toContain('discover: 3000/3000 instances');
    expect(out).toContain('[us-east-1] Discovering instances');
    expect(out).toMatch(/warning.*eu-west-3: OptInRequired/);
    expect(out).not.toContain('hidden');
    expect(out).not.toContain('\r');
  });

  it('off a TTY: a soak prints a plain line for each minute it advances, and its end', () => {
    const { stream, text } = capture(false);
    const r = new CliReporter({ stream });
    const scope = { wave: 0 };
    for (const done of [0, 30, 59, 60, 90, 125, 170, 180])
      r.emit({ type: 'progress', phase: 'soak', done, total: 180, unit: 's', scope });
    const lines = text()
      .split('\n')
      .filter((l) => l.includes('soak:'));
    expect(lines).toEqual([
      '[wave 0] soak: 0/180 s',
      '[wave 0] soak: 60/180 s',
      '[wave 0] soak: 125/180 s',
      '[wave 0] soak: 180/180 s',
    ]);
  });

  it('escapes hostile text from AWS before it reaches the terminal', () => {
    const { stream, text } = capture(false);
    new CliReporter({ stream }).emit({
      type: 'info',
      message: 'tag \x1b]0;pwned\x07',
      scope: { instanceId: 'i-1\x1b[2J' },
    });
    expect(text()).not.toContain('\x1b]');
    expect(text()).toContain('\\x1b]0;pwned\\x07');
    expect(text()).toContain('i-1\\x1b[2J');
  });

  it('on a TTY rewrites the progress line in place and clears it before the next line', () => {
    const { stream, text } = capture(true);
    const r = new CliReporter({ stream });
    r.emit({ type: 'progress', phase: 'measure', done: 500, total: 1000 });
    r.emit({ type: 'info', message: 'done' });
    expect(text()).toMatch(/\r\x1b\[2K.*measure: 500\/1000/);
    expect(text()).toMatch(/\r\x1b\[2Kdone\n$/);
  });

  it('off a TTY: the run-wide count of regions and accounts every interval and when done, no line per region', () => {
    const { stream, text } = capture(false);
    let clock = 0;
    const r = new CliReporter({ stream, progressIntervalMs: 10_000, now: () => clock });
    const overall = (done: number, accounts: number, total?: number) =>
      r.emit({
        type: 'progress',
        phase: 'assess',
        done,
        ...(total === undefined ? {} : { total }),
        unit: 'regions',
        also: { done: accounts, ...(total === undefined ? {} : { total: total / 4 }), unit: 'accounts' },
      });
    overall(0, 0);
    clock = 3_000;
    overall(10, 2);
    r.emit({ type: 'progress', phase: 'measure', done: 25, total: 25, unit: 'series', scope: { region: 'us-east-1' } });
    clock = 12_000;
    overall(400, 100, 4000);
    clock = 13_000;
    overall(401, 100, 4000);
    clock = 60_000;
    overall(4000, 1000, 4000);
    const lines = text().trim().split('\n');
    expect(lines).toEqual([
      'assess: 0 regions, 0 accounts',
      'assess: 400/4000 regions, 100/1000 accounts',
      'assess: 4000/4000 regions, 1000/1000 accounts',
    ]);
  });

  it('on a TTY shows the run-wide count beside the latest detail', () => {
    const { stream, text } = capture(true);
    const r = new CliReporter({ stream });
    r.emit({
      type: 'progress',
      phase: 'assess',
      done: 3,
      total: 8,
      unit: 'regions',
      also: { done: 1, total: 2, unit: 'accounts' },
    });
    r.emit({ type: 'progress', phase: 'discover', done: 2000, unit: 'instances', scope: { region: 'eu-west-1' } });
    expect(text()).toContain('assess: 3/8 regions, 1/2 accounts · [eu-west-1] discover: 2000 instances');
  });
});
