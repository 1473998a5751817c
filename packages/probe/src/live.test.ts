import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ProbeReport } from '@imdsv2-cutover/core';
import { describePrivileged } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runLocalProbe } from './run-local.js';
import { ImdsNamespace } from './testing/netns.js';
import { waitForOwnProbeTrace } from './testing/probe-start.js';

/**
 * The probe proven for real: real clients inside a network namespace call a fake IMDS on 169.254.169.254, the probe
 * traces the whole machine with bpftrace and must name exactly the IMDSv1 callers with their counts.
 */

const URL_BASE = 'http://169.254.169.254';

/**
 * The probe reports IMDSv2 callers summed by program name (comm and executable), without pid or parents: to count its
 * own whatever else on the machine calls IMDS, the test runs its IMDSv2 clients under names of this run (symlinks to
 * curl and to the Python interpreter; a process's comm is the name it was started by).
 */
const RUN = randomBytes(3).toString('hex');
const V2CURL = `c2-${RUN}`;
const V2PY = `p2-${RUN}`;

/** Every caller waits for the go-file, so all its requests fall inside the trace window. */
const CALLERS = {
  // 5 IMDSv1 calls by curl, each its own process, from one shell loop.
  curlV1: `while [ ! -e GO ]; do sleep 0.05; done; for i in 1 2 3 4 5; do curl -s -o /dev/null ${URL_BASE}/latest/meta-data/instance-id; done`,
  // 3 IMDSv2 calls by curl (token PUT, then GET with the token).
  curlV2: `while [ ! -e GO ]; do sleep 0.05; done; for i in 1 2 3; do T=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${URL_BASE}/latest/api/token); ./$V2CURL -s -o /dev/null -H "X-aws-ec2-metadata-token: $T" ${URL_BASE}/latest/meta-data/ami-id; done`,
  // 2 IMDSv2 calls whose token header comes after a 400-byte User-Agent.
  curlLongUa: `while [ ! -e GO ]; do sleep 0.05; done; UA=$(printf 'u%.0s' $(seq 1 400)); for i in 1 2; do T=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${URL_BASE}/latest/api/token); ./$V2CURL -s -o /dev/null -A "$UA" -H "X-aws-ec2-metadata-token: $T" ${URL_BASE}/latest/meta-data/instance-type; done`,
};

const PY_V1 = `
import os, time, urllib.request
while not os.path.exists('GO'): time.sleep(0.05)
for _ in range(4):
    urllib.request.urlopen('${URL_BASE}/latest/meta-data/local-ipv4').read()
`;

const PY_V2 = `
import os, time, urllib.request
while not os.path.exists('GO'): time.sleep(0.05)
for _ in range(3):
    t = urllib.request.urlopen(urllib.request.Request('${URL_BASE}/latest/api/token', method='PUT', headers={'X-aws-ec2-metadata-token-ttl-seconds': '60'})).read().decode()
    urllib.request.urlopen(urllib.request.Request('${URL_BASE}/latest/meta-data/iam/', headers={'X-aws-ec2-metadata-token': t})).read()
`;

/** Keep-alive: one connection opened (and used once) before the window, then 3 IMDSv1 GETs on it during the window. */
const PY_KEEPALIVE = `
import http.client, os, time
c = http.client.HTTPConnection('169.254.169.254', 80)
c.request('GET', '/latest/meta-data/'); c.getresponse().read()
port = c.sock.getsockname()[1]
while not os.path.exists('GO'): time.sleep(0.05)
for _ in range(3):
    c.request('GET', '/latest/dynamic/instance-identity/document'); c.getresponse().read()
assert c.sock.getsockname()[1] == port, 'connection was not reused'
print('same-connection', port)
time.sleep(30)
`;

/** IMDSv2 with the request split over two sends: request line and User-Agent first, token header in the second. */
const PY_SPLIT = `
import os, socket, time, urllib.request
while not os.path.exists('GO'): time.sleep(0.05)
for _ in range(2):
    t = urllib.request.urlopen(urllib.request.Request('${URL_BASE}/latest/api/token', method='PUT', headers={'X-aws-ec2-metadata-token-ttl-seconds': '60'})).read().decode()
    s = socket.create_connection(('169.254.169.254', 80))
    s.sendall(b'GET /latest/meta-data/ HTTP/1.1\\r\\nHost: 169.254.169.254\\r\\nUser-Agent: ' + b'x' * 400 + b'\\r\\n')
    time.sleep(0.05)
    s.sendall(b'X-aws-ec2-metadata-token: ' + t.encode() + b'\\r\\nConnection: close\\r\\n\\r\\n')
    s.recv(65536); s.close()
`;

describePrivileged(
  'linux probe against real IMDS clients',
  { root: true, bpftrace: true, netns: true, curl: true, python3: true },
  () => {
    let ns: ImdsNamespace;
    let report: ProbeReport;
    let keepAliveOut = '';

    beforeAll(async () => {
      ns = await ImdsNamespace.create();
      const inDir = (body: string) => ['sh', '-c', `cd ${ns.dir} && ${body}`];
      for (const [name, body] of Object.entries({ v1: PY_V1, v2: PY_V2, keepalive: PY_KEEPALIVE, split: PY_SPLIT })) {
        writeFileSync(path.join(ns.dir, `caller_${name}.py`), body);
      }
      symlinkSync(
        spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim(),
        path.join(ns.dir, V2CURL),
      );
      const python = spawnSync('python3', ['-c', 'import os, sys; print(os.path.realpath(sys.executable))'], {
        encoding: 'utf8',
      });
      symlinkSync(python.stdout.trim(), path.join(ns.dir, V2PY));
      const ka = ns.spawn(inDir('exec python3 caller_keepalive.py'));
      ka.stdout?.on('data', (b: Buffer) => (keepAliveOut += b.toString()));
      for (const body of Object.values(CALLERS)) ns.spawn(inDir(`V2CURL=${V2CURL}; ${body}`));
      ns.spawn(inDir('exec python3 caller_v1.py'));
      for (const name of ['v2', 'split']) ns.spawn(inDir(`exec ./${V2PY} caller_${name}.py`));
      // Let the keep-alive client open its connection before the probe starts.
      for (let i = 0; i < 50 && ns.log().length === 0; i++) await new Promise((r) => setTimeout(r, 100));

      const probe = runLocalProbe({ windowSeconds: 12, root: ns.dir });
      // Release the callers once this probe traces (a failure to trace is reported by the tests through tracerNote).
      await waitForOwnProbeTrace().catch(() => undefined);
      writeFileSync(path.join(ns.dir, 'GO'), '');
      report = await probe;
    }, 240_000);

    afterAll(() => ns?.close());

    it('traced with bpftrace and parsed cleanly', () => {
      expect(report.tracer, report.tracerNote).toBe('bpftrace');
      expect(report.status, report.problems.join('; ')).toBe('ok');
      expect(keepAliveOut).toContain('same-connection');
    });

    it('names exactly the IMDSv1 callers it started, with their counts and paths', () => {
      // Only this test's processes: whatever else on the machine calls IMDS during the window is not asserted on.
      const summary = report.v1Callers
        .filter((c) => ns.startedHere(c))
        .map((c) => ({
          comm: c.comm,
          exeBase: path.basename(c.exe ?? ''),
          argv: c.argv ?? '',
          requests: c.requests,
          paths: c.paths,
        }))
        .sort((a, b) => a.paths.join().localeCompare(b.paths.join()));
      expect(summary).toEqual([
        {
          comm: 'python3',
          exeBase: expect.stringMatching(/^python3/),
          argv: expect.stringMatching(/python3 caller_keepalive\.py$/),
          requests: 3,
          paths: ['/latest/dynamic/instance-identity/document'],
        },
        {
          comm: 'curl',
          exeBase: 'curl',
          argv: `curl -s -o /dev/null ${URL_BASE}/latest/meta-data/instance-id`,
          requests: 5,
          paths: ['/latest/meta-data/instance-id'],
        },
        {
          comm: 'python3',
          exeBase: expect.stringMatching(/^python3/),
          argv: expect.stringMatching(/python3 caller_v1\.py$/),
          requests: 4,
          paths: ['/latest/meta-data/local-ipv4'],
        },
      ]);
      const log = ns.log();
      expect(log.filter((e) => e.kind === 'v1' && e.path === '/latest/meta-data/instance-id')).toHaveLength(5);
      for (const c of report.v1Callers.filter((x) => ns.startedHere(x))) {
        expect(c.evidence).toBe('confirmed');
        expect(c.uid).toBe(0);
        expect(c.user).toBe('root');
        expect(c.parents.length).toBeGreaterThan(0);
        expect(c.firstSeen).toBeDefined();
      }
    });

    it('counts IMDSv2 callers and token requests, never as IMDSv1', () => {
      const v2 = new Map<string, number>();
      for (const c of report.v2Callers) v2.set(c.comm, (v2.get(c.comm) ?? 0) + c.requests);
      // curl: 3 plain + 2 with a 400-byte User-Agent; python3: 3 urllib + 2 split across sends.
      expect(v2.get(V2CURL)).toBe(5);
      expect(v2.get(V2PY)).toBe(5);
      for (const c of report.v1Callers) expect([V2CURL, V2PY]).not.toContain(c.comm);
      // Token requests are one count over the whole machine (the report does not attribute them): this test's 10,
      // which the fake IMDS of its namespace logged, are among them.
      expect(ns.log().filter((e) => e.kind === 'token')).toHaveLength(3 + 2 + 3 + 2);
      expect(report.tokenRequests).toBeGreaterThanOrEqual(3 + 2 + 3 + 2);
      // None of this test's requests went unclassified (undecided is also a machine-wide count): every GET the fake
      // IMDS answered is counted above, but the keep-alive client's first one, made before the window.
      const ours = report.v1Callers.filter((c) => ns.startedHere(c)).reduce((n, c) => n + c.requests, 0) + 5 + 5;
      expect(ours).toBe(ns.log().filter((e) => e.kind !== 'token').length - 1);
    });
  },
);
