import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { runLocalProbe } from './run-local.js';

const tempDir = useTempDirs('imdsv2-inventory-');

function plant(root: string, rel: string, content = ''): void {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
}

describe('static inventory (linux probe against a planted tree)', () => {
  it('finds old SDKs and ignores new ones', async () => {
    const root = await tempDir();
    const site = 'usr/lib/python3/dist-packages';
    mkdirSync(path.join(root, site, 'botocore-1.12.0.dist-info'), { recursive: true });
    mkdirSync(path.join(root, site, 'botocore-1.34.0.dist-info'), { recursive: true });
    mkdirSync(path.join(root, 'usr/local/lib/python3.8/site-packages/boto-2.49.0.egg-info'), { recursive: true });
    plant(root, 'srv/app/node_modules/aws-sdk/package.json', '{\n  "name": "aws-sdk",\n  "version": "2.500.0"\n}\n');
    plant(root, 'srv/new/node_modules/aws-sdk/package.json', '{\n  "name": "aws-sdk",\n  "version": "2.1500.0"\n}\n');
    plant(root, 'opt/svc/lib/aws-java-sdk-core-1.11.500.jar');
    plant(root, 'opt/svc2/lib/aws-java-sdk-core-1.12.600.jar');
    plant(
      root,
      'var/www/vendor/aws/aws-sdk-php/src/Sdk.php',
      "<?php\nclass Sdk {\n    const VERSION = '3.100.0';\n}\n",
    );

    const r = await runLocalProbe({ windowSeconds: 1, root });
    expect(r.status, r.problems.join('; ')).toBe('ok');
    const found = r.packages
      .filter((p) => p.path?.startsWith(root))
      .map((p) => [p.name, p.version, p.status, path.relative(root, p.path!)])
      .sort((a, b) => String(a[3]).localeCompare(String(b[3])));
    expect(found).toEqual([
      ['aws-java-sdk', '1.11.500', 'outdated', 'opt/svc/lib/aws-java-sdk-core-1.11.500.jar'],
      ['aws-java-sdk', '1.12.600', 'ok', 'opt/svc2/lib/aws-java-sdk-core-1.12.600.jar'],
      ['aws-sdk', '2.500.0', 'outdated', 'srv/app/node_modules/aws-sdk'],
      ['aws-sdk', '2.1500.0', 'ok', 'srv/new/node_modules/aws-sdk'],
      ['botocore', '1.12.0', 'outdated', `${site}/botocore-1.12.0.dist-info`],
      ['botocore', '1.34.0', 'ok', `${site}/botocore-1.34.0.dist-info`],
      ['boto', '2.49.0', 'never-supports', 'usr/local/lib/python3.8/site-packages/boto-2.49.0.egg-info'],
      ['aws-sdk-php', '3.100.0', 'outdated', 'var/www/vendor/aws/aws-sdk-php'],
    ]);
    const old = r.packages.find((p) => p.name === 'botocore' && p.status === 'outdated');
    expect(old?.minimumVersion).toBe('1.13.25');
    expect(old?.advice).toMatch(/1\.13\.25/);
  }, 60_000);

  it('ingests the packet analyzer log (both line forms) as historic evidence', async () => {
    const root = await tempDir();
    plant(
      root,
      'var/log/imds/imds-trace.log',
      [
        '[2022-12-20T11:03:58] [WARNING] IMDSv1(!) (pid:1016:curl argv:curl http://169.254.169.254/latest/meta-data/) called by -> (pid:1015:makeCalls.sh argv:/bin/bash ./makeCalls.sh) -> (pid:32678:zsh argv:-zsh)',
        '[2025-10-17 12:57:51,577] [WARNING] imdsv1(!) (pid:1016:curl argv:curl http://169.254.169.254/latest/meta-data/) called by -> (pid:1015:makecalls.sh argv:/bin/bash ./makecalls.sh) req details: get /latest/meta-data/ http/1.1, host: 169.254.169.254, user-agent: curl/8.0, accept: */*',
        '[2025-10-17 12:58:00,000] [INFO] IMDSv2 (pid:2000:aws argv:aws s3 ls)',
        '[2025-10-17 12:58:01,000] [WARNING] IMDSv1(!) {MISSING PAYLOAD} (pid:3:x argv:x)',
      ].join('\n') + '\n',
    );
    // The probe reads the log under its root only for this test; on a host the root is /.
    const r = await runLocalProbe({ windowSeconds: 1, root });
    expect(r.historicLog).toEqual({
      path: '/var/log/imds/imds-trace.log',
      v1Lines: 2,
      v2Lines: 1,
      // The {MISSING PAYLOAD} entry: counted, not evidence.
      undecidedLines: 1,
    });
    const hist = r.v1Callers.filter((c) => c.evidence === 'historic-log');
    expect(hist).toHaveLength(1);
    expect(hist[0]).toMatchObject({
      comm: 'curl',
      argv: 'curl http://169.254.169.254/latest/meta-data/',
      requests: 2,
      paths: ['/latest/meta-data/'],
    });
    expect(hist[0]!.parents.map((p) => p.comm)).toEqual(['makeCalls.sh', 'zsh']);
  }, 60_000);
});
