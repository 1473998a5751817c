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
});
