import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { demoFleet } from '../../packages/report/src/__fixtures__/fleet.js';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../../packages/cli/bin/run.js');

async function imdsv2(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('imdsv2 report', () => {
  const tempDir = useTempDirs();

  async function inputs() {
    const dir = await tempDir();
    const f = demoFleet({ hostile: true });
    const files = { a: path.join(dir, 'a.json'), p: path.join(dir, 'p.json'), j: path.join(dir, 'j.jsonl') };
    writeFileSync(files.a, JSON.stringify(f.assessment));
    writeFileSync(files.p, JSON.stringify(f.plan));
    // A crash mid-append leaves half a line at the end.
    writeFileSync(files.j, `${f.journal.map((l) => JSON.stringify(l)).join('\n')}\n{"type":"wave-st`);
    return { dir, files };
  }

  it('writes report.html, report.md and instances.csv and returns their paths with --json', async () => {
    const { dir, files } = await inputs();
    const out = path.join(dir, 'out');
    const r = await imdsv2([
      'report',
      '--assessment',
      files.a,
      '--plan',
      files.p,
      '--journal',
      files.j,
      '--out',
      out,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { files: Record<string, string>; instances: number; warnings: string[] };
    expect(result.files).toEqual({
      html: path.join(out, 'report.html'),
      md: path.join(out, 'report.md'),
      csv: path.join(out, 'instances.csv'),
    });
    expect(result.instances).toBe(40);
    expect(result.warnings[0]).toMatch(/left out \d+ bytes after the last newline/);
    const html = readFileSync(result.files.html!, 'utf8');
    expect(html).toContain(`imdsv2 rollback --journal ${files.j} --all`);
    expect(html).toContain('Execution so far');
  });

  it('writes only the formats asked for and prints their paths', async () => {
    const { dir, files } = await inputs();
    const out = path.join(dir, 'out');
    const r = await imdsv2(['report', '--assessment', files.a, '--out', out, '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(path.join(out, 'report.md'));
    expect(existsSync(path.join(out, 'report.html'))).toBe(false);
    const jira = await imdsv2(['report', '--assessment', files.a, '--out', out, '--format', 'jira']);
    expect(jira.code).toBe(0);
    expect(jira.stdout.trim()).toBe(path.join(out, 'report-jira.txt'));
    expect(readFileSync(path.join(out, 'report-jira.txt'), 'utf8')).toMatch(/^h1\. IMDSv2 cutover: change review$/m);
  });

  it('exits 2 and writes nothing when an input is bad', async () => {
    const { dir, files } = await inputs();
    const out = path.join(dir, 'out');
    const lines = readFileSync(files.j, 'utf8').split('\n');
    lines[2] = '{"type":"intent"}';
    writeFileSync(files.j, lines.join('\n'));
    for (const args of [
      ['--assessment', files.p],
      ['--assessment', files.a, '--plan', files.a],
      ['--assessment', files.a, '--journal', files.j],
      ['--assessment', files.a, '--format', 'pdf'],
      ['--assessment', path.join(dir, 'missing.json')],
    ]) {
      const r = await imdsv2(['report', ...args, '--out', out]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(existsSync(out)).toBe(false);
    }
  });
});
