import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ProbeReport } from '@imdsv2-cutover/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseProbeOutput } from './format.js';

/**
 * The probe's reader of the AWS packet analyzer's log (assets/analyzer-log.awk), run with the host's awk exactly as the
 * probe runs it, on logs in every form the analyzer has written (src/imds_snoop.py of aws/aws-imds-packet-analyzer).
 */
const asset = (n: string) => fileURLToPath(new URL(`../assets/${n}`, import.meta.url));
const awks = ['mawk', 'gawk', 'busybox', 'original-awk'].filter((a) => spawnSync('which', [a]).status === 0);

function readLog(log: string, awk = 'awk'): ReturnType<typeof parseProbeOutput> {
  const args = ['-v', 'tz=+00:00', '-v', 'path=/var/log/imds/imds-trace.log', '-v', 'maxcallers=50'];
  const cmd = awk === 'busybox' ? ['busybox', 'awk'] : [awk];
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...args, '-f', asset('awklib.awk'), '-f', asset('analyzer-log.awk')], {
    input: log,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, LC_ALL: 'C' },
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  return parseProbeOutput(['IMDSV2PROBE 1 probe=t platform=linux', ...lines, `END records=${lines.length}`].join('\n'));
}

const v1 = (chain: string, details = ' req details: get /latest/meta-data/ http/1.1, host: 169.254.169.254') =>
  `[2025-06-29 02:00:01,104] [WARNING] imdsv1(!) ${chain}${details}`;

describe('packet analyzer log', () => {
  it('keeps the caller whose /proc entry was gone, and a chain where every process had exited', () => {
    const r = readLog(
      `${v1('(pid:48211 unable to get argv information) called by -> (pid:48210 unable to get argv information) -> (pid:1200 unable to get argv information)')}\n`,
    );
    expect(r.v1Callers).toEqual([
      expect.objectContaining({
        pid: 48211,
        comm: '?',
        requests: 1,
        evidence: 'historic-log',
        paths: ['/latest/meta-data/'],
        parents: [
          { pid: 48210, comm: '?' },
          { pid: 1200, comm: '?' },
        ],
      }),
    ]);
    expect(r.v1Callers[0]!.argv).toBeUndefined();
  });

  it('counts and reports the entries it could not classify, never as IMDSv1', () => {
    const r = readLog(
      [
        '[2025-06-29 02:00:01,104] [ERROR] {MISSING PAYLOAD} imdsv1(!) (pid:77:curl argv:curl -s http://169.254.169.254/) req details: ',
        '[2025-06-29 02:00:02,104] [ERROR] {MISSING PAYLOAD} imdsv1(!) (pid:78 unable to get argv information) req details: ',
        '[2025-06-29 02:00:03,104] [ERROR] imdsv2 (pid:79:aws argv:aws s3 ls) req details: ',
        v1('(pid:80:python3 argv:python3 /opt/x.py)'),
      ].join('\n'),
    );
    expect(r.historicLog).toMatchObject({ v1Lines: 1, v2Lines: 0, undecidedLines: 3 });
    expect(r.v1Callers.map((c) => c.comm)).toEqual(['python3']);
    expect(r.notes.join()).toMatch(/3 entries could not be classified.*curl\(77\), \?\(78\), aws\(79\)/);
  });

  it('makes an IMDSv1 caller of unknown name from a line that names no process', () => {
    const r = readLog(`${v1('')}\n[2025-06-29 02:00:09,000] [WARNING] IMDSv1(!)\n`);
    expect(r.historicLog?.v1Lines).toBe(2);
    expect(r.v1Callers).toEqual([expect.objectContaining({ pid: 0, comm: '?', requests: 2, parents: [] })]);
  });

  it('reads both line forms and the capitalised one of 2023', () => {
    const r = readLog(
      [
        '[2022-12-20T11:03:58] [WARNING] IMDSv1(!) (pid:1016:curl argv:curl http://169.254.169.254/latest/meta-data/) called by -> (pid:1015:makeCalls.sh argv:/bin/bash ./makeCalls.sh) -> (pid:32678:zsh argv:-zsh)',
        '[2023-07-01 10:00:00,000] [WARNING] IMDSv1(!) (pid:1016:curl argv:curl http://169.254.169.254/latest/meta-data/) called by -> (pid:1015:makeCalls.sh argv:/bin/bash ./makeCalls.sh) Req details: GET /latest/meta-data/ami-id?x=1 HTTP/1.1, Host: 169.254.169.254',
        '[2023-07-01 10:00:01,000] [INFO] IMDSv2 (pid:2000:aws argv:aws s3 ls) Req details: GET /latest/meta-data/ HTTP/1.1, X-aws-ec2-metadata-token: ***',
        '[2023-07-01 10:00:01,000] [INFO] Try to attach multiple kernel functions to make sure the event can be triggered in most cases.',
      ].join('\n'),
    );
    expect(r.historicLog).toMatchObject({ v1Lines: 2, v2Lines: 1, undecidedLines: 0 });
    expect(r.v1Callers).toEqual([
      expect.objectContaining({
        pid: 1016,
        comm: 'curl',
        requests: 2,
        paths: ['/latest/meta-data/ami-id'],
        firstSeen: '2022-12-20T11:03:58+00:00',
        lastSeen: '2023-07-01T10:00:00+00:00',
      }),
    ]);
    expect(r.v1Callers[0]!.parents.map((p) => [p.pid, p.comm, p.argv])).toEqual([
      [1015, 'makeCalls.sh', '/bin/bash ./makeCalls.sh'],
      [32678, 'zsh', '-zsh'],
    ]);
  });

  it('joins an entry whose argv held a newline, and keeps names with spaces, colons and parentheses', () => {
    const r = readLog(
      [
        v1('(pid:4100:.net tp worker argv:/usr/bin/dotnet /srv/a.dll --name "a', ''),
        'b" --x) called by -> (pid:4000:my (weird): name argv:/opt/w) -> (pid:1:systemd argv:/sbin/init) req details: get /latest/meta-data/placement/region http/1.1',
      ].join('\n'),
    );
    expect(r.v1Callers).toHaveLength(1);
    expect(r.v1Callers[0]).toMatchObject({
      pid: 4100,
      comm: '.net tp worker',
      argv: '/usr/bin/dotnet /srv/a.dll --name "a b" --x',
      paths: ['/latest/meta-data/placement/region'],
    });
    expect(r.v1Callers[0]!.parents.map((p) => [p.pid, p.comm])).toEqual([
      [4000, 'my (weird): name'],
      [1, 'systemd'],
    ]);
  });

  it('keeps the busiest callers first and says how many it left out', () => {
    const log = Array.from({ length: 60 }, (_, k) => v1(`(pid:${1000 + k}:job${k} argv:/opt/job${k})`)).join('\n');
    const busy = Array.from({ length: 5 }, () => v1('(pid:7:busy argv:/opt/busy)')).join('\n');
    const r = readLog(`${log}\n${busy}\n`);
    expect(r.v1Callers).toHaveLength(50);
    expect(r.v1Callers[0]).toMatchObject({ comm: 'busy', requests: 5 });
    expect(r.notes.join()).toMatch(/11\+ more IMDSv1 callers not listed \(11 request\(s\)\)/);
  });

  it('redacts secrets from command lines', () => {
    const r = readLog(`${v1('(pid:9:mysql argv:mysql -u root -pHunter2 --password=s3cret)')}\n`);
    expect(r.v1Callers[0]!.argv).toBe('mysql -u root -p*** --password=***');
  });

  it.each(awks)('gives the same answer with %s', (awk) => {
    const log = `${v1('(pid:52001:python3 argv:/usr/bin/python3 /opt/report/export.py) called by -> (pid:52000:run-export argv:/bin/sh /opt/report/run-export) -> (pid:987:cron argv:/usr/sbin/cron -f)')}\n`;
    expect(readLog(log, awk)).toEqual(readLog(log));
  });

  // The pieces logs are made of, recombined at random with random text: whatever the input, the reader prints only
  // valid records, and every IMDSv1 entry ends up in some caller's count.
  const piece = fc.oneof(
    fc.constantFrom(
      '[2025-06-29 02:00:01,104] ',
      '[2022-12-20T11:03:58] ',
      '[WARNING] ',
      '[INFO] ',
      '[ERROR] ',
      'imdsv1(!) ',
      'IMDSv1(!) ',
      'imdsv2 ',
      '{MISSING PAYLOAD} ',
      '(pid:',
      '(pid:123:',
      ' unable to get argv information)',
      ' argv:',
      ')',
      ' called by -> ',
      ' -> ',
      ' req details: get /latest/meta-data/ http/1.1',
      '\n',
      '%',
      '=',
      '\t',
    ),
    fc.string({ maxLength: 12 }),
    fc.nat(99_999_999_999).map(String),
  );
  // A line as the analyzer starts one (often), then anything.
  const line = fc
    .tuple(
      fc.constantFrom('[2025-06-29 02:00:01,104] ', '[2022-12-20T11:03:58] ', ''),
      fc.constantFrom('[WARNING] ', '[INFO] ', '[ERROR] ', ''),
      fc.constantFrom('imdsv1(!) ', 'IMDSv1(!) ', 'IMDSv2 ', '{MISSING PAYLOAD} imdsv1(!) ', ''),
      fc.array(piece, { maxLength: 14 }),
    )
    .map(([t, l, m, rest]) => t + l + m + rest.join(''));
  it('never fails and never loses an IMDSv1 entry (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const log = lines.join('\n');
        const r = readLog(log);
        expect(ProbeReport.safeParse(r).success).toBe(true);
        expect(r.status, r.problems.join()).toBe('ok');
        expect(r.problems).toEqual([]);
        const hist = r.historicLog!;
        expect(r.v1Callers.reduce((n, c) => n + c.requests, 0)).toBe(hist.v1Lines);
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
