import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../packages/cli/bin/run.js', import.meta.url));

function imdsv2(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

describe('imdsv2 (built CLI)', () => {
  it('--version names the tool and its version, as oclif would (bin/run.js answers it without loading oclif)', async () => {
    const r = imdsv2('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^imdsv2-cutover\/\d+\.\d+\.\d+ /);
    const config = await Config.load(fileURLToPath(new URL('../../packages/cli/', import.meta.url)));
    expect(r.stdout).toBe(`${config.userAgent}\n`);
  });

  it('--help describes the tool', () => {
    const r = imdsv2('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('IMDSv1 to IMDSv2');
    expect(r.stdout).toContain('$ imdsv2');
  });

  it('an unknown command fails with a non-zero exit code and says so on stderr', () => {
    const r = imdsv2('no-such-command');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no-such-command');
  });
});
