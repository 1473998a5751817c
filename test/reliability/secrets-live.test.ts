import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { linuxProbeScript, parseProbeOutput } from '@imdsv2-cutover/probe';
import { ImdsNamespace, waitForOwnProbeTrace } from '@imdsv2-cutover/probe/testing';
import { describePrivileged } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tally } from './tally.js';

/**
 * The probe's own redaction, proven on a live host: a real IMDSv1 caller whose command line carries secrets, and a
 * real IMDSv2 caller whose session tokens cross the traced socket. The raw output the probe prints (what SSM would
 * store) must hold none of them; the parser's second redaction is tested separately (parsers.test.ts).
 */

const SECRETS = {
  password: 'hunter2-PW-6c1f',
  awsKey: 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY',
  bearer: 'eyJhbGciOiJIUzI1NiJ9.SECRETBEARER',
  urlPass: 'urlpass-9d2e',
};

const V1_CALLER = `
import os, sys, time, urllib.request
while not os.path.exists('GO'): time.sleep(0.05)
for _ in range(3):
    urllib.request.urlopen('http://169.254.169.254/latest/meta-data/iam/security-credentials/').read()
`;

const V2_CALLER = `
import os, time, urllib.request
while not os.path.exists('GO'): time.sleep(0.05)
with open('tokens.txt', 'w') as f:
    for _ in range(3):
        t = urllib.request.urlopen(urllib.request.Request('http://169.254.169.254/latest/api/token', method='PUT', headers={'X-aws-ec2-metadata-token-ttl-seconds': '60'})).read().decode()
        f.write(t + '\\n'); f.flush()
        urllib.request.urlopen(urllib.request.Request('http://169.254.169.254/latest/meta-data/', headers={'X-aws-ec2-metadata-token': t})).read()
`;

describePrivileged('probe redaction on a live host', { root: true, bpftrace: true, netns: true, python3: true }, () => {
  let ns: ImdsNamespace;
  let raw = '';
  let tokens: string[] = [];

  beforeAll(async () => {
    ns = await ImdsNamespace.create();
    writeFileSync(path.join(ns.dir, 'v1.py'), V1_CALLER);
    writeFileSync(path.join(ns.dir, 'v2.py'), V2_CALLER);
    const argv = [
      'python3',
      'v1.py',
      '--password',
      SECRETS.password,
      `AWS_SECRET_ACCESS_KEY=${SECRETS.awsKey}`,
      `Authorization: Bearer ${SECRETS.bearer}`,
      `https://deploy:${SECRETS.urlPass}@git.example.com/repo`,
    ];
    ns.spawn(['sh', '-c', `cd ${ns.dir} && exec "$@"`, 'sh', ...argv]);
    ns.spawn(['sh', '-c', `cd ${ns.dir} && exec python3 v2.py`]);
    const script = linuxProbeScript({ windowSeconds: 8 });
    const child = spawn('/bin/sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
    child.stdin.end(script);
    // Release the callers once this probe traces (not another probe on the machine, nor a directory a killed run left).
    await waitForOwnProbeTrace().catch(() => undefined);
    writeFileSync(path.join(ns.dir, 'GO'), '');
    await done;
    raw = Buffer.concat(out).toString('utf8');
    tokens = readFileSync(path.join(ns.dir, 'tokens.txt'), 'utf8').split('\n').filter(Boolean);
  }, 240_000);

  afterAll(() => ns?.close());

  it('names the IMDSv1 caller, with its command line redacted by the probe itself', () => {
    const report = parseProbeOutput(raw, { platform: 'linux' });
    tally({ scenarios: 1 });
    // This test's caller, by pid: other processes on the machine may call IMDS during the window.
    const caller = report.v1Callers.find((c) => ns.startedHere(c) && c.argv?.includes('v1.py'));
    expect(caller, raw.slice(0, 2000)).toBeDefined();
    expect(caller!.requests).toBe(3);
    expect(
      caller!.argv,
      raw
        .split('\n')
        .filter((l) => l.startsWith('V1'))
        .join('\n'),
    ).toContain('--password');
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(raw.includes(secret), `${name} in the probe's raw output`).toBe(false);
      expect(raw.includes(encodeURIComponent(secret)), `${name} (percent-encoded) in the raw output`).toBe(false);
    }
  });

  it('never captures an IMDS session token', () => {
    expect(tokens.length).toBe(3);
    for (const t of tokens) {
      expect(t.length).toBeGreaterThan(20);
      expect(raw.includes(t)).toBe(false);
      expect(raw.includes(encodeURIComponent(t))).toBe(false);
    }
  });
});
