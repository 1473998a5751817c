import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../scripts/manifest.mjs', import.meta.url));
const manifestFile = fileURLToPath(new URL('../oclif.manifest.json', import.meta.url));

describe('oclif.manifest.json', () => {
  // oclif reads command ids, flags and help from the manifest without importing the commands: a stale one would hide a
  // new command or show old flags in --help, and a missing one makes every start-up import every command.
  it('exists and matches the built commands (run `pnpm build` when this fails)', async () => {
    const run = await promisify(execFile)(process.execPath, [script, '--check']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('lists every command with its flags', () => {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      commands: Record<string, { flags: Record<string, unknown> }>;
    };
    expect(Object.keys(manifest.commands).sort()).toEqual(
      [
        'assess',
        'demo',
        'diff',
        'enforce',
        'merge',
        'plan',
        'policy',
        'probe:local',
        'report',
        'rollback',
        'simulate',
        'status',
      ].sort(),
    );
    expect(Object.keys(manifest.commands.assess!.flags)).toContain('regions');
    expect(Object.keys(manifest.commands.assess!.flags)).toContain('json');
  });

  // oclif wraps help text to the terminal itself: a line break in a description shows as a break in mid-sentence.
  it('has no line break inside a paragraph of any description or flag description', () => {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      commands: Record<string, { description?: string; flags: Record<string, { description?: string }> }>;
    };
    const broken: string[] = [];
    for (const [id, c] of Object.entries(manifest.commands)) {
      const texts: [string, string | undefined][] = [
        [`${id}: description`, c.description],
        ...Object.entries(c.flags).map(([name, f]): [string, string | undefined] => [`${id} --${name}`, f.description]),
      ];
      for (const [where, text] of texts)
        for (const para of (text ?? '').split('\n\n')) if (para.includes('\n')) broken.push(`${where}: ${para}`);
    }
    expect(broken).toEqual([]);
  });
});
