import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The probe redacts command lines on the host, in awk, before anything is printed (the parser redacts again). This
 * runs that awk function from the shipped helpers (assets/awklib.awk, embedded in the script) on a table of command lines.
 */
const lib = readFileSync(new URL('../assets/awklib.awk', import.meta.url), 'utf8');
const program = `${lib}\n{ print redact($0) }\n`;

function shellRedact(lines: string[]): string[] {
  const r = spawnSync('awk', [program], { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').slice(0, lines.length);
}

describe("the probe script's own redaction", () => {
  const cases: [string, string[], string[]][] = [
    ['python3 v1.py --password hunter2 X=1', ['hunter2'], ['python3 v1.py --password=', 'X=1']],
    ['mysql -u root --password=abc123 db', ['abc123'], ['mysql -u root --password=', ' db']],
    ['mysql -u root -pS3cret db', ['S3cret'], ['mysql -u root -p', ' db']],
    ['app --token abc --api-key=def --secret=', ['abc', 'def'], ['--token=', '--api-key=', '--secret=']],
    ['app --pass=x1 --passwd y2', ['x1', 'y2'], ['--pass=', '--passwd=']],
    [
      'env AWS_SECRET_ACCESS_KEY=wJalrXUt AWS_SESSION_TOKEN=FQoG aws s3 ls',
      ['wJalrXUt', 'FQoG'],
      ['AWS_SECRET_ACCESS_KEY=', 'aws s3 ls'],
    ],
    [
      'curl -H Authorization: Bearer eyJhb.x https://u:pw9@h.example/p?token=t0k&x=1',
      ['eyJhb.x', 'pw9', 't0k'],
      ['https://', 'h.example/p?token=', '&x=1'],
    ],
    ['curl -H X-aws-ec2-metadata-token: AQAEAb12', ['AQAEAb12'], ['X-aws-ec2-metadata-token: ']],
  ];
  it.each(cases)('%s', (line, secrets, kept) => {
    const [out] = shellRedact([line]);
    for (const s of secrets) expect(out, out).not.toContain(s);
    for (const k of kept) expect(out, out).toContain(k);
  });
});
