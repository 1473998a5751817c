import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseProbeOutput } from './format.js';
import {
  SEND_COMMAND_PARAMETERS_MAX_BYTES,
  checkSendCommandSize,
  compactLinuxProbe,
  linuxInventoryScript,
  linuxProbeScript,
  sendCommandParametersBytes,
} from './scripts.js';

const fixture = (rel: string) => fileURLToPath(new URL(`./__fixtures__/cases/${rel}`, import.meta.url));
const sh = (script: string) => spawnSync('/bin/sh', ['-s'], { input: script, encoding: 'utf8', timeout: 60_000 });

describe('the probe as sent through SSM', () => {
  it('checks the SendCommand parameters against SSM document limit, to the byte', () => {
    const overhead = sendCommandParametersBytes({ commands: [''] });
    const at = { commands: ['x'.repeat(SEND_COMMAND_PARAMETERS_MAX_BYTES - overhead)] };
    expect(sendCommandParametersBytes(at)).toBe(SEND_COMMAND_PARAMETERS_MAX_BYTES);
    expect(checkSendCommandSize(at, 'AWS-RunShellScript')).toBe(SEND_COMMAND_PARAMETERS_MAX_BYTES);
    const over = { commands: [`${at.commands[0]!}y`] };
    expect(() => checkSendCommandSize(over, 'AWS-RunShellScript')).toThrow(
      expect.objectContaining({
        code: 'BAD_INPUT',
        exitCode: 2,
        message: expect.stringContaining(
          `takes ${SEND_COMMAND_PARAMETERS_MAX_BYTES + 1} bytes in the SendCommand request, more than the ${SEND_COMMAND_PARAMETERS_MAX_BYTES} bytes`,
        ),
      }),
    );
    // Multi-byte characters count as the bytes they take, not as characters.
    expect(sendCommandParametersBytes({ commands: ['é'] })).toBe(overhead + 2);
  });

  it('the plain script would not fit; compressed it takes well under half of the limit', () => {
    const plain = linuxProbeScript({ windowSeconds: 60 });
    const compact = compactLinuxProbe(plain);
    expect(sendCommandParametersBytes({ commands: [compact], executionTimeout: ['240'] })).toBeLessThan(
      SEND_COMMAND_PARAMETERS_MAX_BYTES / 2,
    );
    expect(compact.length).toBeLessThan(plain.length / 2);
    // What the simulator and a reader of the command look for stays in clear.
    expect(compact).toMatch(/^WINDOW='60'$/m);
    expect(compact).toMatch(/^MAXOUT='23900'$/m);
    expect(compact).toContain('IMDSV2PROBE');
  });

  it('the compressed probe prints what the plain one prints', () => {
    const plain = linuxInventoryScript({ root: fixture('java-sdk-layouts') });
    const a = parseProbeOutput(sh(plain).stdout);
    const b = parseProbeOutput(sh(compactLinuxProbe(plain)).stdout);
    expect(b.status, b.problems.join()).toBe('ok');
    // Everything but the clock: start and end times and the run time.
    const stable = (r: typeof a) => ({
      ...r,
      startedAt: undefined,
      endedAt: undefined,
      notes: r.notes.filter((n) => !/^probe ran/.test(n)),
    });
    expect(stable(b)).toEqual(stable(a));
    expect(b.packages).toHaveLength(4);
  });

  it('a host without gzip or base64 gets a valid output that says why nothing ran', () => {
    const r = spawnSync('/bin/sh', ['-s'], {
      input: compactLinuxProbe(linuxInventoryScript({ root: fixture('java-sdk-layouts') })),
      encoding: 'utf8',
      env: { PATH: '/nonexistent' },
    });
    const rep = parseProbeOutput(r.stdout);
    expect(rep.status).toBe('ok');
    expect(rep.notes.join()).toMatch(/could not be unpacked on this host: it needs gzip and base64/);
  });
});
