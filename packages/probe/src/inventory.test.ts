import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { describe, expect, it } from 'vitest';
import { parseProbeOutput } from './format.js';
import { runLocalInventory, runLocalProbe } from './run-local.js';
import { linuxInventoryScript } from './scripts.js';

const tempDir = useTempDirs('imdsv2-inventory-');

function plant(root: string, rel: string, content = ''): void {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
}

function mkdir(root: string, rel: string): string {
  const p = path.join(root, rel);
  mkdirSync(p, { recursive: true });
  return p;
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

/** A zip (jar, war) of the given entries: `store` keeps entries uncompressed, as Spring Boot requires for BOOT-INF/lib. */
function zip(entries: Record<string, string | Uint8Array>, store = false): Uint8Array {
  const files: Zippable = {};
  for (const [name, data] of Object.entries(entries))
    files[name] = [typeof data === 'string' ? strToU8(data) : data, { level: store ? 0 : 6 }];
  return zipSync(files);
}

const corePom = 'META-INF/maven/com.amazonaws/aws-java-sdk-core/pom.properties';

describe('SDK for Java in the layouts deployments use', () => {
  it('finds it by name, with the Maven group, shaded, nested in fat jars and wars, and from pom.properties', async () => {
    const root = await tempDir();
    const core = (v: string) =>
      zip({
        [corePom]: `#Generated by Maven\nversion=${v}\ngroupId=com.amazonaws\n`,
        'com/amazonaws/sdk/versionInfo.properties': `version=${v}\n`,
      });
    plant(root, 'opt/a/lib/com.amazonaws.aws-java-sdk-core-1.11.245.jar');
    plant(root, 'opt/a/lib/aws-java-sdk-bundle-1.11.271.jar');
    plant(root, 'opt/a/lib/aws-java-sdk-core-1.11.271-sources.jar');
    plant(root, 'opt/a/lib/hadoop-aws-3.1.4.jar');
    plant(root, 'opt/v2/software.amazon.awssdk.aws-core-2.5.0.jar');
    // Spring Boot: nested jars stored, named with their version.
    writeFileSync(
      path.join(mkdir(root, 'srv/boot'), 'app.jar'),
      zip({ 'BOOT-INF/lib/aws-java-sdk-core-1.11.505.jar': core('1.11.505') }, true),
    );
    // An executable Spring Boot jar starts with a launch script before the zip.
    writeFileSync(
      path.join(mkdir(root, 'srv/exec'), 'app.jar'),
      Buffer.concat([
        Buffer.from('#!/bin/bash\nexec java -jar "$0" "$@"\n'),
        zip({ 'BOOT-INF/lib/aws-java-sdk-core-1.12.100.jar': core('1.12.100') }, true),
      ]),
    );
    // A war: nested jars deflated, and this one's name carries no version: pom.properties inside gives it.
    writeFileSync(
      path.join(mkdir(root, 'var/lib/tomcat/webapps'), 'shop.war'),
      zip({ 'WEB-INF/lib/aws-java-sdk-core.jar': core('1.11.400'), 'WEB-INF/lib/other.jar': zip({ 'a.txt': 'x' }) }),
    );
    // A shaded (uber) jar: the SDK's classes and its pom.properties merged into the application's jar.
    writeFileSync(
      path.join(mkdir(root, 'opt/tool'), 'tool-all.jar'),
      zip({
        'META-INF/maven/com.amazonaws/aws-java-sdk-bundle/pom.properties': 'version=1.11.600\n',
        'com/amazonaws/auth/A.class': 'x',
      }),
    );
    // A jar that only mentions the SDK in a nested library without version or pom: found, version unknown.
    writeFileSync(
      path.join(mkdir(root, 'opt/odd'), 'odd.jar'),
      zip({ 'lib/aws-java-sdk-core.jar': zip({ README: 'no version here' }) }),
    );

    const r = await runLocalInventory({ root });
    expect(r.status, r.problems.join()).toBe('ok');
    const java = r.packages
      .filter((p) => p.ecosystem === 'java')
      .map((p) => [path.relative(root, p.path!), p.version, p.status])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(java).toEqual([
      ['opt/a/lib/aws-java-sdk-bundle-1.11.271.jar', '1.11.271', 'outdated'],
      ['opt/a/lib/com.amazonaws.aws-java-sdk-core-1.11.245.jar', '1.11.245', 'outdated'],
      ['opt/odd/odd.jar!/lib/aws-java-sdk-core.jar', '?', 'unknown'],
      [
        'opt/tool/tool-all.jar!/META-INF/maven/com.amazonaws/aws-java-sdk-bundle/pom.properties',
        '1.11.600',
        'outdated',
      ],
      ['opt/v2/software.amazon.awssdk.aws-core-2.5.0.jar', '2.5.0', 'outdated'],
      ['srv/boot/app.jar!/BOOT-INF/lib/aws-java-sdk-core-1.11.505.jar', '1.11.505', 'outdated'],
      ['srv/exec/app.jar!/BOOT-INF/lib/aws-java-sdk-core-1.12.100.jar', '1.12.100', 'ok'],
      [`var/lib/tomcat/webapps/shop.war!/WEB-INF/lib/aws-java-sdk-core.jar!/${corePom}`, '1.11.400', 'outdated'],
    ]);
  }, 120_000);

  it('says so when gzip is missing, instead of guessing', async () => {
    const root = await tempDir();
    writeFileSync(
      path.join(mkdir(root, 'srv'), 'shop.war'),
      zip({ 'WEB-INF/lib/aws-java-sdk-core.jar': zip({ [corePom]: 'version=1.11.400\n' }) }),
    );
    // A PATH whose every tool but gzip comes from the system directories.
    const bin = await tempDir();
    for (const t of [
      'sh',
      'awk',
      'od',
      'tail',
      'head',
      'sed',
      'grep',
      'find',
      'sort',
      'cut',
      'tr',
      'wc',
      'date',
      'mktemp',
      'rm',
      'cat',
      'timeout',
      'readlink',
      'id',
      'uname',
      'basename',
    ])
      for (const d of ['/usr/bin', '/bin'])
        if (existsSync(`${d}/${t}`)) {
          try {
            symlinkSync(`${d}/${t}`, path.join(bin, t));
          } catch {
            /* listed twice */
          }
        }
    const script = linuxInventoryScript({ root }).replace(/^PATH=.*$/m, `PATH=${bin}`);
    const out = spawnSync('/bin/sh', ['-s'], { input: script, encoding: 'utf8', timeout: 60_000 });
    const r = parseProbeOutput(out.stdout);
    expect(r.packages.filter((p) => p.ecosystem === 'java').map((p) => [p.version, p.status])).toEqual([
      ['?', 'unknown'],
    ]);
    expect(r.notes.join()).toMatch(/gzip is missing, so 1 compressed pom.properties or nested jar/);
  }, 60_000);
});

describe('agents found in a file tree', () => {
  it('reads versions from the package database and gives each its IMDS behaviour', async () => {
    const root = await tempDir();
    plant(
      root,
      'var/lib/dpkg/status',
      [
        'Package: amazon-ssm-agent\nStatus: install ok installed\nVersion: 3.0.161.0-1\n',
        'Package: datadog-agent\nStatus: install ok installed\nVersion: 1:7.50.3-1\n',
        'Package: codedeploy-agent\nStatus: install ok installed\nVersion: 1.7.0-92\n',
      ].join('\n'),
    );
    plant(root, 'opt/datadog-agent/bin/agent/agent');
    const r = await runLocalInventory({ root });
    const pkg = (name: string) => r.packages.find((p) => p.name === name);
    expect(pkg('amazon-ssm-agent')).toMatchObject({
      version: '3.0.161.0',
      status: 'ok',
      imdsBehaviour: { behaviour: 'v1-first-fallback', effect: 'noise', advice: expect.stringMatching(/3\.0\.431\.0/) },
    });
    expect(pkg('Datadog Agent')).toMatchObject({
      version: '7.50.3',
      status: 'outdated',
      path: path.join(root, 'opt/datadog-agent/bin/agent/agent'),
      imdsBehaviour: { behaviour: 'v1-only', setting: 'ec2_prefer_imdsv2: true' },
    });
    // Found by its package alone.
    expect(pkg('AWS CodeDeploy agent')).toMatchObject({
      version: '1.7.0',
      status: 'ok',
      path: 'package codedeploy-agent',
    });
  }, 60_000);
});
