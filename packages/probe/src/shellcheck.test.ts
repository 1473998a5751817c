import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { linuxProbeScript } from './scripts.js';

/** The probe script must be shellcheck-clean as POSIX sh, as written and as generated (parameters baked in). */
describe('shellcheck', () => {
  const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;
  it.runIf(hasShellcheck || process.env.CI === 'true')('passes on the Linux probe (template and generated)', () => {
    const file = fileURLToPath(new URL('../assets/linux-probe.sh', import.meta.url));
    const a = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
    expect(a.stdout + a.stderr).toBe('');
    expect(a.status).toBe(0);
    const b = spawnSync('shellcheck', ['-s', 'sh', '-'], {
      input: linuxProbeScript({ windowSeconds: 30 }),
      encoding: 'utf8',
    });
    expect(b.stdout + b.stderr).toBe('');
    expect(b.status).toBe(0);
  });
});
