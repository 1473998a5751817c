import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';

/** What a privileged test needs from the machine. */
export interface Needs {
  /** Running as uid 0 (network namespaces, bpftrace, mounting tracefs). */
  root?: boolean;
  /** The `bpftrace` binary. */
  bpftrace?: boolean;
  /** `ip netns` from iproute2. */
  netns?: boolean;
  /** A Chromium binary for headless browser tests. */
  chromium?: boolean;
  /** `curl` (a real IMDS client inside namespaces). */
  curl?: boolean;
  /** `python3` (a second real IMDS client). */
  python3?: boolean;
  /** `pdftotext` from poppler-utils (reads back a printed report). */
  pdftotext?: boolean;
  /** The AWS CLI (`aws`), the independent client the simulator's conformance tests run. */
  awsCli?: boolean;
}

function hasCommand(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

/** Where Debian (and most distributions) put Chromium; `CHROMIUM_PATH` overrides. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

/**
 * Arguments for headless Chromium on a machine with no network: without the background-networking flags Chromium
 * keeps trying to reach Google's services, and a test that counts requests would see them.
 */
export const chromiumArgs: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Lists, in words, what this machine lacks of `needs` (empty when it can run the test). */
export function missing(needs: Needs): string[] {
  const out: string[] = [];
  if (needs.root && process.getuid?.() !== 0) out.push('root (uid 0)');
  if (needs.bpftrace && !hasCommand('bpftrace')) out.push('bpftrace');
  if (needs.netns && !hasCommand('ip', ['netns', 'list'])) out.push('ip netns (iproute2)');
  if (needs.curl && !hasCommand('curl')) out.push('curl');
  if (needs.python3 && !hasCommand('python3')) out.push('python3');
  if (needs.awsCli && !hasCommand('aws')) out.push('the AWS CLI (aws)');
  if (needs.chromium && chromiumPath() === undefined) out.push('chromium (set CHROMIUM_PATH)');
  if (needs.pdftotext && !hasCommand('pdftotext', ['-v'])) out.push('pdftotext (poppler-utils)');
  return out;
}

/** True when the suite runs in CI, where privileged tests must run rather than skip. */
export const inCI = process.env.CI === 'true';

/**
 * A `describe` for tests that need privileges or system tools. Where the machine lacks them the suite is skipped with a
 * printed reason; under `CI=true` it is not skipped but fails, because CI installs everything and a skip there would hide
 * a missing install step.
 */
export function describePrivileged(name: string, needs: Needs, body: () => void): void {
  const lacking = missing(needs);
  if (lacking.length === 0) {
    describe(name, body);
    return;
  }
  const reason = `needs ${lacking.join(', ')}`;
  if (inCI) {
    describe(name, () => {
      it(`has what it needs (${reason})`, () => {
        throw new Error(`CI=true, but this machine lacks ${lacking.join(', ')}; .ci/run must install it`);
      });
    });
    return;
  }
  process.stderr.write(`SKIPPED "${name}": ${reason}\n`);
  describe.skip(`${name} [skipped: ${reason}]`, body);
}
