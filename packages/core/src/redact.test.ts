import { describe, expect, it } from 'vitest';
import { redactCommandLine } from './redact.js';

describe('redactCommandLine', () => {
  it.each([
    ['--password x', 'app --password hunter2 --verbose', 'app --password *** --verbose'],
    ['--password=x', 'app --password=hunter2', 'app --password=***'],
    ['--db-password is not a known option but -password is', 'tool -password hunter2', 'tool -password ***'],
    ['--token', 'vault login --token=s.abc', 'vault login --token=***'],
    ['mysql -pSECRET', 'mysql -u root -pHunter2 db', 'mysql -u root -p*** db'],
    ['mysql -p SECRET', '/usr/bin/mysql -p Hunter2 db', '/usr/bin/mysql -p *** db'],
    ['sshpass -p', 'sshpass -p hunter2 ssh host', 'sshpass -p *** ssh host'],
    ['-p of other tools is kept', 'ssh -p 2222 host', 'ssh -p 2222 host'],
    [
      'AWS_SECRET_ACCESS_KEY',
      'env AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG aws s3 ls',
      'env AWS_SECRET_ACCESS_KEY=*** aws s3 ls',
    ],
    ['AWS_SESSION_TOKEN', 'AWS_SESSION_TOKEN=FQoGZXIvYXdzE run', 'AWS_SESSION_TOKEN=*** run'],
    [
      'Authorization: Bearer',
      "curl -H 'Authorization: Bearer eyJhbGciOi' https://x",
      "curl -H 'Authorization: Bearer ***' https://x",
    ],
    [
      'IMDS token header',
      'curl -H X-aws-ec2-metadata-token: AQAEAbcd http://169.254.169.254/',
      'curl -H X-aws-ec2-metadata-token: *** http://169.254.169.254/',
    ],
    ['URL user:pass', 'git clone https://bob:s3cret@github.com/x.git', 'git clone https://bob:***@github.com/x.git'],
    ['token= query', 'curl https://x/cb?token=abc&x=1', 'curl https://x/cb?token=***&x=1'],
    [
      'secret= and apikey= query',
      'curl "https://x/?a=1&secret=zz&apikey=yy"',
      'curl "https://x/?a=1&secret=***&apikey=***"',
    ],
    [
      'plain command untouched',
      'python3 /opt/app/poll.py --region us-east-1',
      'python3 /opt/app/poll.py --region us-east-1',
    ],
    ['prototype names are not tools', 'valueOf -p x', 'valueOf -p x'],
  ])('%s', (_name, input, expected) => {
    expect(redactCommandLine(input)).toBe(expected);
  });
});
