import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImdsCaller, ProbeReport } from '@imdsv2-cutover/core';
import { describe, expect, it } from 'vitest';

/**
 * The real-world cases (host file trees rebuilt from public reports: packet-analyzer logs and a Java deployment),
 * each read through `imdsv2 probe local --root` as a user would, with the answer the case's README gives. The inputs
 * are copies of the shared cases kept with the probe's fixtures.
 */
const bin = fileURLToPath(new URL('../../packages/cli/bin/run.js', import.meta.url));
const cases = fileURLToPath(new URL('../../packages/probe/src/__fixtures__/cases/', import.meta.url));
const env = { ...process.env, NO_COLOR: '1' };

function probeRoot(dir: string): ProbeReport {
  const r = spawnSync(process.execPath, [bin, 'probe', 'local', '--root', path.join(cases, dir), '--json'], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ProbeReport;
}

const parents = (c: ImdsCaller) => c.parents.map((p) => [p.pid, p.comm]);

describe('imdsv2 probe local --root on the shared cases', () => {
  it('analyzer-exited-caller/parent-alive: each exited process is the caller; the script and cron are parents', () => {
    const r = probeRoot('analyzer-exited-caller/parent-alive');
    expect(r.status, r.problems.join()).toBe('ok');
    expect(r.tracer).toBe('none');
    expect(r.historicLog).toMatchObject({ v1Lines: 2, undecidedLines: 0 });
    // Two exited pids are two processes: each is kept under its own pid with its one request.
    expect(r.v1Callers.map((c) => [c.pid, c.comm, c.argv, c.requests, c.paths, c.evidence])).toEqual([
      [31337, '?', undefined, 1, ['/latest/meta-data/iam/security-credentials/'], 'historic-log'],
      [31338, '?', undefined, 1, ['/latest/meta-data/iam/security-credentials/app-role'], 'historic-log'],
    ]);
    for (const c of r.v1Callers) {
      expect(parents(c)).toEqual([
        [31336, 'nightly-sync.sh'],
        [1200, 'cron'],
      ]);
      expect(c.firstSeen).toMatch(/^2025-06-29T02:00:01/);
    }
  });

  it('analyzer-exited-caller/only-cron-alive: the exited pid is the caller, nothing is blamed on cron', () => {
    const r = probeRoot('analyzer-exited-caller/only-cron-alive');
    expect(r.v1Callers).toHaveLength(1);
    const c = r.v1Callers[0]!;
    expect([c.pid, c.comm, c.argv, c.requests, c.paths, c.evidence]).toEqual([
      48211,
      '?',
      undefined,
      1,
      ['/latest/meta-data/iam/security-credentials/app-role'],
      'historic-log',
    ]);
    expect(parents(c)).toEqual([
      [48210, '?'],
      [1200, 'cron'],
    ]);
    expect(r.v1Callers.some((x) => x.comm === 'cron' || x.pid === 1200)).toBe(false);
  });

  it('analyzer-thread-name-with-spaces: the .NET thread pool worker with its pid, argv and both requests', () => {
    const r = probeRoot('analyzer-thread-name-with-spaces');
    expect(r.v1Callers).toHaveLength(1);
    const c = r.v1Callers[0]!;
    expect([c.pid, c.comm, c.argv, c.requests]).toEqual([
      4100,
      '.net tp worker',
      '/usr/bin/dotnet /srv/orders/orders-api.dll',
      2,
    ]);
    expect(parents(c)).toEqual([[1, 'systemd']]);
  });

  it('analyzer-parent-chain: every parent in order, every digit of every pid kept', () => {
    const r = probeRoot('analyzer-parent-chain');
    expect(r.v1Callers).toHaveLength(1);
    expect(r.v1Callers[0]!.pid).toBe(52001);
    expect(parents(r.v1Callers[0]!)).toEqual([
      [52000, 'run-export'],
      [987, 'cron'],
      [1, 'systemd'],
    ]);
  });

  it('java-sdk-layouts: four outdated SDK for Java findings, the fat jar one with its nested path', () => {
    const r = probeRoot('java-sdk-layouts');
    const root = path.join(cases, 'java-sdk-layouts');
    const java = r.packages
      .filter((p) => p.ecosystem === 'java')
      .map((p) => [path.relative(root, p.path!), p.name, p.version, p.status])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(java).toEqual([
      ['opt/breadboard/lib/com.amazonaws.aws-java-sdk-core-1.11.245.jar', 'aws-java-sdk', '1.11.245', 'outdated'],
      ['opt/control/lib/aws-java-sdk-core-1.11.500.jar', 'aws-java-sdk', '1.11.500', 'outdated'],
      ['opt/hadoop/share/hadoop/tools/lib/aws-java-sdk-bundle-1.11.271.jar', 'aws-java-sdk', '1.11.271', 'outdated'],
      ['srv/billing/billing.jar!/BOOT-INF/lib/aws-java-sdk-core-1.11.505.jar', 'aws-java-sdk', '1.11.505', 'outdated'],
    ]);
  });

  it('refuses a --root that is not a directory with exit 2, naming it', () => {
    const missing = path.join(cases, 'no-such-dir');
    const r = spawnSync(process.execPath, [bin, 'probe', 'local', '--root', missing], { env, encoding: 'utf8' });
    expect(r.status).toBe(2);
    // oclif wraps long messages: compare the words.
    const words = r.stderr.replace(/[\s›]+/g, ' ');
    expect(words).toContain('no-such-dir" is not a directory');
    expect(words).toContain('BAD_INPUT');
  });
});
