import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { fakeGoBinary, goBuildInfo, legacyModinfo } from './__fixtures__/go-buildinfo.js';
import { runLocalInventory, runLocalProbe } from './run-local.js';

const tempDir = useTempDirs('imdsv2-go-');

function plant(root: string, rel: string, content: Buffer): string {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  chmodSync(p, 0o755);
  return p;
}

const goPackages = (r: Awaited<ReturnType<typeof runLocalInventory>>, root?: string) =>
  r.packages
    .filter((p) => p.ecosystem === 'go')
    .map((p) => [root ? path.relative(root, p.path!) : p.path, p.name, p.version, p.status])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

describe('Go build info (what go version -m prints)', () => {
  it('reads aws-sdk-go and aws-sdk-go-v2 from binaries on disk and in container image layers', async () => {
    const root = await tempDir();
    const sum = 'h1:0000000000000000000000000000000000000000000=';
    plant(
      root,
      'usr/local/bin/old-v1',
      fakeGoBinary(goBuildInfo({ deps: [{ path: 'github.com/aws/aws-sdk-go', version: 'v1.20.0', sum }] })),
    );
    plant(
      root,
      'opt/svc/bin/new-v2',
      fakeGoBinary(
        goBuildInfo({
          deps: [
            { path: 'github.com/aws/aws-sdk-go-v2', version: 'v1.17.0' },
            { path: 'github.com/aws/aws-sdk-go-v2/service/s3', version: 'v1.30.0' },
          ],
        }),
      ),
    );
    // go.mod replaced the SDK: what was built is the replacement's version.
    plant(
      root,
      'opt/fork/bin/replaced',
      fakeGoBinary(
        goBuildInfo({
          deps: [
            {
              path: 'github.com/aws/aws-sdk-go',
              version: 'v1.44.0',
              replace: { path: 'github.com/acme/aws-sdk-go', version: 'v1.19.0' },
            },
          ],
        }),
      ),
    );
    // Before Go 1.18 the module info was a plain string; the sentinels still frame it.
    plant(
      root,
      'usr/local/bin/legacy',
      fakeGoBinary(legacyModinfo({ deps: [{ path: 'github.com/aws/aws-sdk-go', version: 'v1.15.0' }] })),
    );
    // A container image layer on the host is inventoried like the host.
    plant(
      root,
      'var/lib/docker/overlay2/3f9a/diff/usr/local/bin/in-image',
      fakeGoBinary(goBuildInfo({ deps: [{ path: 'github.com/aws/aws-sdk-go', version: 'v1.25.0' }] })),
    );
    // Not Go at all, and Go without the SDK.
    plant(root, 'usr/local/bin/script', Buffer.from('#!/bin/sh\necho dep\tgithub.com/aws/aws-sdk-go\tv1.0.0\n'));
    plant(
      root,
      'usr/local/bin/no-sdk',
      fakeGoBinary(goBuildInfo({ deps: [{ path: 'golang.org/x/net', version: 'v0.1.0' }] })),
    );

    const r = await runLocalInventory({ root });
    expect(r.status, r.problems.join()).toBe('ok');
    const found = goPackages(r, root);
    expect(found).toContainEqual(['usr/local/bin/old-v1', 'aws-sdk-go', '1.20.0', 'outdated']);
    expect(found).toContainEqual(['opt/svc/bin/new-v2', 'aws-sdk-go-v2', '1.17.0', 'ok']);
    expect(found).toContainEqual(['opt/fork/bin/replaced', 'aws-sdk-go', '1.19.0', 'outdated']);
    expect(found).toContainEqual(['usr/local/bin/legacy', 'aws-sdk-go', '1.15.0', 'outdated']);
    expect(found).toContainEqual([
      'var/lib/docker/overlay2/3f9a/diff/usr/local/bin/in-image',
      'aws-sdk-go',
      '1.25.0',
      'outdated',
    ]);
    // The shell script that merely prints such a line starts it mid-line; only real build-info lines count.
    expect(found.map((f) => f[0])).not.toContain('usr/local/bin/no-sdk');
    expect(found).toHaveLength(5);
  }, 120_000);

  it('reads a running process whose binary is reachable only through /proc/<pid>/exe', async () => {
    const dir = await tempDir();
    // A real executable (sleep) carrying build info, deleted once it runs: no path on disk leads to it any more.
    const exe = path.join(dir, 'vanished-agent');
    const sleep = spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim();
    copyFileSync(sleep, exe);
    writeFileSync(
      exe,
      Buffer.concat([
        readFileSync(exe),
        goBuildInfo({ deps: [{ path: 'github.com/aws/aws-sdk-go', version: 'v1.12.0' }] }),
      ]),
    );
    chmodSync(exe, 0o755);
    const child = spawn(exe, ['300'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      unlinkSync(exe);
      const empty = await tempDir();
      const r = await runLocalProbe({ windowSeconds: 1, root: empty });
      const mine = r.packages.filter((p) => p.path?.startsWith(`/proc/${child.pid}/exe`));
      expect(mine.map((p) => [p.name, p.version, p.status])).toEqual([['aws-sdk-go', '1.12.0', 'outdated']]);
      expect(mine[0]!.path).toContain('vanished-agent (deleted)');
    } finally {
      child.kill('SIGKILL');
    }
  }, 180_000);

  const hasGo = spawnSync('go', ['version']).status === 0;
  it.runIf(hasGo)(
    'reads a binary built by the Go toolchain (scripts/make-go-fixture.sh)',
    async () => {
      const root = await tempDir();
      const script = fileURLToPath(new URL('../scripts/make-go-fixture.sh', import.meta.url));
      const out = path.join(root, 'usr/local/bin/real-go');
      mkdirSync(path.dirname(out), { recursive: true });
      const b = spawnSync('sh', [script, out, 'v1.23.5'], { encoding: 'utf8', timeout: 300_000 });
      expect(b.status, b.stderr).toBe(0);
      const r = await runLocalInventory({ root });
      expect(goPackages(r, root)).toEqual([['usr/local/bin/real-go', 'aws-sdk-go', '1.23.5', 'outdated']]);
    },
    360_000,
  );
  if (!hasGo) console.log('go-buildinfo.test: no Go toolchain here; the test of a toolchain-built binary is skipped');
});
