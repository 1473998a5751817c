import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describePrivileged, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../packages/cli/bin/run.js', import.meta.url));
const env = { ...process.env, NO_COLOR: '1' };
const tempDir = useTempDirs();

describe('imdsv2 simulate', () => {
  it('serves the demo scenario, prints the endpoint as JSON, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'simulate', '--port', '0', '--json'], { env });
    let out = '';
    child.stdout.setEncoding('utf8');
    const doc = await new Promise<{ endpoint: string; instances: number; accounts: unknown[] }>((resolve, reject) => {
      child.stdout.on('data', (c: string) => {
        out += c;
        try {
          resolve(JSON.parse(out) as { endpoint: string; instances: number; accounts: unknown[] });
        } catch {
          // not a whole document yet
        }
      });
      child.on('exit', (code) => reject(new Error(`simulate exited ${code} before printing its endpoint`)));
    });
    expect(doc.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(doc.instances).toBe(500);
    expect(doc.accounts).toHaveLength(2);
    const res = await fetch(doc.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(res.headers.get('date')).toBeTruthy();
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('refuses a bad scenario file with exit 2, naming the file and the field', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'fleet.yaml');
    writeFileSync(file, 'schema: {name: imdsv2-cutover/scenario, version: 1}\nname: x\nnow: yesterday\n');
    const r = spawnSync(process.execPath, [bin, 'simulate', '--scenario', file, '--port', '0'], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('fleet.yaml');
    expect(r.stderr).toContain('now');
  });
});

describePrivileged('imdsv2 probe local', { root: true, bpftrace: true }, () => {
  it('probes this host and prints a probe report with --json', () => {
    const r = spawnSync(process.execPath, [bin, 'probe', 'local', '--window', '3s', '--json'], {
      env,
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { schema: { name: string }; tracer: string; host: { platform: string } };
    expect(report.schema.name).toBe('imdsv2-cutover/probe-report');
    expect(report.tracer).toBe('bpftrace');
    expect(report.host.platform).toBe('linux');
  });

  it('refuses a bad --window with exit 2', () => {
    const r = spawnSync(process.execPath, [bin, 'probe', 'local', '--window', 'soon'], { env, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--window');
  });
});
