import { annotateImdsBehaviour, ProbeReport, type ProbeReport as ProbeReportT } from '@imdsv2-cutover/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, parseProbeOutput, renderProbeOutput } from './format.js';

function sampleReport(): ProbeReportT {
  return ProbeReport.parse({
    schema: { name: 'imdsv2-cutover/probe-report', version: 1 },
    formatVersion: 1,
    probeVersion: '0.1.0',
    status: 'ok',
    host: {
      hostname: 'web-1',
      instanceId: 'i-0123456789abcdef0',
      os: 'Amazon Linux 2023',
      kernel: '6.1.0',
      platform: 'linux',
    },
    tracer: 'bpftrace',
    windowSeconds: 60,
    startedAt: '2025-01-01T00:00:00Z',
    endedAt: '2025-01-01T00:01:00Z',
    v1Callers: [
      {
        pid: 42,
        comm: 'python3',
        exe: '/usr/bin/python3.9',
        argv: 'python3 /opt/app/poll.py --region us-east-1',
        user: 'app',
        uid: 1000,
        parents: [{ pid: 1, comm: 'systemd', argv: '/sbin/init' }],
        container: { id: 'a'.repeat(64), runtime: 'docker', cgroup: `/system.slice/docker-${'a'.repeat(64)}.scope` },
        requests: 120,
        paths: ['/latest/meta-data/iam/security-credentials/', '/latest/meta-data/instance-id'],
        firstSeen: '2025-01-01T00:00:01Z',
        lastSeen: '2025-01-01T00:00:59Z',
        evidence: 'confirmed',
      },
    ],
    v2Callers: [{ pid: 7, comm: 'amazon-ssm-agen', exe: '/usr/bin/amazon-ssm-agent', requests: 4 }],
    tokenRequests: 2,
    packages: [
      {
        ecosystem: 'python',
        name: 'botocore',
        version: '1.12.0',
        path: '/usr/lib/python3/dist-packages/botocore-1.12.0.egg-info',
        minimumVersion: '1.13.25',
        status: 'outdated',
        advice: 'Upgrade botocore to 1.13.25 or later.',
      },
    ],
    containers: { detected: true, runtimes: ['containerd', 'docker'] },
    historicLog: { path: '/var/log/imds/imds-trace.log', v1Lines: 3, v2Lines: 10 },
    notes: ['probe ran 61s'],
  });
}

describe('value encoding', () => {
  it('round-trips any string and never emits a separator, = or control character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = encodeValue(s);
        expect(e).toMatch(/^[A-Za-z0-9._~/:@+%-]*$/);
        expect(decodeValue(e)).toBe(Buffer.from(s, 'utf8').toString('utf8'));
      }),
    );
  });
  it('rejects text that is not an encoded value', () => {
    expect(decodeValue('a b')).toBeUndefined();
    expect(decodeValue('%zz')).toBeUndefined();
  });
});

describe('render and parse', () => {
  it('parse(render(r)) gives r back, with the IMDS behaviour of known components filled in', () => {
    const r = sampleReport();
    const back = parseProbeOutput(renderProbeOutput(r));
    expect(back).toEqual(annotateImdsBehaviour(r));
    expect(back.packages[0]!.imdsBehaviour).toMatchObject({ component: 'botocore', behaviour: 'v1-only' });
  });

  it('a hostile argv cannot forge records', () => {
    const r = sampleReport();
    r.v1Callers[0]!.argv = 'evil\nV1 pid=1 comm=fake requests=999\nEND records=1 \u001b[31m=\u0000 ü';
    r.v1Callers[0]!.comm = 'x y=z';
    const text = renderProbeOutput(r);
    expect(text.split('\n').filter((l) => l.startsWith('V1 '))).toHaveLength(1);
    const back = parseProbeOutput(text);
    expect(back.status).toBe('ok');
    expect(back.v1Callers).toHaveLength(1);
    expect(back.v1Callers[0]!.argv).toBe(r.v1Callers[0]!.argv);
    expect(back.v1Callers[0]!.comm).toBe('x y=z');
  });

  it('redacts secrets again when parsing', () => {
    const r = sampleReport();
    r.v1Callers[0]!.argv = 'mysql -u root -pHunter2 --password=s3cret';
    r.v1Callers[0]!.parents = [{ pid: 9, comm: 'sh', argv: 'sh -c AWS_SECRET_ACCESS_KEY=abcd ./run' }];
    const back = parseProbeOutput(renderProbeOutput(r));
    expect(back.v1Callers[0]!.argv).toBe('mysql -u root -p*** --password=***');
    expect(back.v1Callers[0]!.parents[0]!.argv).toBe('sh -c AWS_SECRET_ACCESS_KEY=*** ./run');
  });

  it('caps output to the budget, marks truncation and the parser reports it', () => {
    const r = sampleReport();
    r.v1Callers = Array.from({ length: 400 }, (_, i) => ({
      ...r.v1Callers[0]!,
      pid: i + 1,
      argv: `worker ${'x'.repeat(100)} ${i}`,
    }));
    const text = renderProbeOutput(r);
    expect(text.length).toBeLessThanOrEqual(24_000);
    expect(text).toMatch(/^TRUNCATED omitted=\d+$/m);
    const back = parseProbeOutput(text);
    expect(back.status).toBe('truncated');
    expect(back.v1Callers.length).toBeGreaterThan(10);
    expect(back.problems.join()).toMatch(/capped its output/);
  });

  it('output cut in transit (no END) is truncated, not invalid', () => {
    const text = renderProbeOutput(sampleReport());
    const back = parseProbeOutput(text.slice(0, Math.floor(text.length / 2)));
    expect(back.status).toBe('truncated');
    expect(back.problems.join()).toMatch(/no END line/);
  });

  it.each([
    ['empty output', '', /printed nothing/],
    ['not probe output', 'bash: line 1: sh: command not found\n', /not probe output/],
    ['a newer format', 'IMDSV2PROBE 2 probe=9.0 platform=linux\nEND records=0\n', /version 2 is not supported/],
    [
      'a forged record line',
      'IMDSV2PROBE 1 probe=0.1.0 platform=linux\nV1 pid=1 comm=a b\nEND records=1\n',
      /not a record/,
    ],
  ])('%s is invalid with a reason', (_name, text, reason) => {
    const back = parseProbeOutput(text);
    expect(back.status).toBe('invalid');
    expect(back.problems.join('\n')).toMatch(reason);
  });

  it('END count mismatch is reported', () => {
    const text = renderProbeOutput(sampleReport()).replace(/^NOTE .*\n/m, '');
    expect(parseProbeOutput(text).status).toBe('truncated');
  });

  it('never throws and always returns a valid report (fuzz: random text)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (s) => {
        const r = parseProbeOutput(s);
        expect(ProbeReport.safeParse(r).success).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated real output (fuzz: line edits)', () => {
    const lines = renderProbeOutput(sampleReport()).split('\n');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(lines.length), fc.string({ maxLength: 40 }), fc.boolean()), { maxLength: 6 }),
        (edits) => {
          const l = [...lines];
          for (const [i, s, insert] of edits) {
            if (insert) l.splice(i, 0, s);
            else l[i % l.length] = (l[i % l.length] ?? '').slice(0, s.length) + s;
          }
          const r = parseProbeOutput(l.join('\n'));
          expect(ProbeReport.safeParse(r).success).toBe(true);
          expect(['ok', 'truncated', 'invalid']).toContain(r.status);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips arbitrary callers (fuzz)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 60 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ comm: text, exe: text, argv: text, path: text, n: fc.nat(1_000_000) }), { maxLength: 5 }),
        (cs) => {
          const r = sampleReport();
          r.v1Callers = cs.map((c, i) => ({
            pid: i,
            comm: c.comm || '?',
            exe: c.exe || undefined,
            argv: c.argv || undefined,
            parents: [],
            requests: c.n,
            paths: c.path ? [c.path] : [],
            evidence: 'confirmed' as const,
          }));
          for (const c of r.v1Callers) for (const k of ['exe', 'argv'] as const) if (c[k] === undefined) delete c[k];
          const back = parseProbeOutput(renderProbeOutput(r));
          expect(back.status).toBe('ok');
          expect(back.v1Callers.map((c) => [c.comm, c.exe, c.requests, c.paths])).toEqual(
            r.v1Callers.map((c) => [c.comm, c.exe, c.requests, c.paths]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
