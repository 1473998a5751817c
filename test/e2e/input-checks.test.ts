import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, pool, runCli, snapshotDir } from '../reliability/helpers.js';

/**
 * Input is checked before any work, with one answer shape (docs/troubleshooting.md): exit 2, a short message naming
 * the value and what to do, and under --json one small JSON document `{"error": {code, message, suggestions,
 * exitCode}}` on stdout and nothing of oclif's internals. Drives the built CLI.
 */

const tempDir = useTempDirs('imdsv2-input-');
const manifest = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../packages/cli/oclif.manifest.json', import.meta.url)), 'utf8'),
) as { commands: Record<string, { flags: Record<string, { required?: boolean }> }> };
const commandIds = Object.keys(manifest.commands);

interface Run extends CliRun {
  ms: number;
}

/** Runs the CLI (an unreachable endpoint would make any AWS call fail, not hang), timing it. */
async function imdsv2(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const started = Date.now();
  const r = await runCli(args, opts);
  return { ...r, ms: Date.now() - started } satisfies Run;
}

/** The one JSON error document: exactly these keys, nothing of oclif's parse state, no stack. */
function jsonError(r: Run): { code: string; message: string; suggestions: string[]; exitCode: number } {
  const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; suggestions: string[] } };
  expect(Object.keys(doc)).toEqual(['error']);
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'exitCode', 'message', 'suggestions']);
  expect(r.stdout).not.toMatch(/"(oclif|parse|stack|config)"/);
  expect(r.stdout.length).toBeLessThan(1000);
  return doc.error as ReturnType<typeof jsonError>;
}

/** The words of a human error on stderr, oclif's line wrapping and ` ›` margins undone. */
const words = (s: string) => s.replace(/\s+›\s+/g, ' ').replace(/\s+/g, ' ');

/** Arguments that satisfy a command's required arguments (diff and merge take files), so the flag is what fails. */
const positional: Record<string, string[]> = { diff: ['a.json', 'b.json'], merge: ['a.json', 'b.json'] };

describe('a bad or missing flag, for every command', () => {
  const required = commandIds.flatMap((id) =>
    Object.entries(manifest.commands[id]!.flags)
      .filter(([, f]) => f.required)
      .map(([name]) => [id, name] as const),
  );
  const args = (id: string, ...rest: string[]) => [...id.split(':'), ...(positional[id] ?? []), ...rest];
  const runs = new Map<string, Run>();
  beforeAll(async () => {
    const all = [
      ...commandIds.map((id) => args(id, '--no-such-flag', '--json')),
      ...commandIds.map((id) => args(id, '--no-such-flag')),
      ...required.map(([id]) => args(id, '--json')),
    ];
    const results = await pool(all, 3, (a) => imdsv2(a));
    all.forEach((a, i) => runs.set(a.join(' '), results[i]!));
  }, 300_000);

  it('the manifest lists the commands this test walks, and every command with a required flag', () => {
    expect(commandIds.length).toBeGreaterThanOrEqual(12);
    expect(required.map(([id]) => id).sort()).toEqual(
      expect.arrayContaining(['enforce', 'merge', 'policy', 'report', 'rollback', 'status']),
    );
  });

  it.each(commandIds)('%s: an unknown flag with --json is one small JSON error, exit 2', (id) => {
    const r = runs.get(args(id, '--no-such-flag', '--json').join(' '))!;
    expect(r.code).toBe(2);
    const e = jsonError(r);
    expect(e).toMatchObject({ code: 'BAD_USAGE', exitCode: 2 });
    expect(e.message).toContain('--no-such-flag');
    expect(e.suggestions.join(' ')).toContain(`imdsv2 ${id.replace(':', ' ')} --help`);
    expect(r.stderr).toBe('');
  });

  it.each(commandIds)('%s: an unknown flag without --json is a short message on stderr, exit 2', (id) => {
    const r = runs.get(args(id, '--no-such-flag').join(' '))!;
    expect(r.code).toBe(2);
    expect(words(r.stderr)).toContain('Nonexistent flag: --no-such-flag');
    expect(words(r.stderr)).toContain('Code: BAD_USAGE');
    // No usage dump, no stack: a few lines.
    expect(r.stderr).not.toMatch(/^USAGE/m);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(6);
    expect(r.stdout).toBe('');
  });

  it.each(required)('%s: missing required --%s with --json is one small JSON error, exit 2', (id, flag) => {
    const r = runs.get(args(id, '--json').join(' '))!;
    expect(r.code).toBe(2);
    const e = jsonError(r);
    expect(e.code).toBe('BAD_USAGE');
    expect(e.message).toContain(`--${flag}`);
    expect(r.stderr).toBe('');
  });

  it('a flag value of the wrong type, an option not offered and a flag without its value', async () => {
    const cases: [string[], RegExp][] = [
      [['simulate', '--port', '99999'], /--port: Expected an integer less than or equal to 65535.*99999/],
      [['policy', '--for', 'nope'], /--for=nope to be one of: assess, enforce, lockin, scp/],
      [['plan', '--out'], /Flag --out expects a value/],
      [['diff', 'a.json'], /missing required argument: NEW/],
    ];
    for (const [args, message] of cases) {
      const json = await imdsv2([...args.slice(0, 1), '--json', ...args.slice(1)]);
      expect(json.code, args.join(' ')).toBe(2);
      expect(jsonError(json).message).toMatch(message);
      const human = await imdsv2(args);
      expect(human.code, args.join(' ')).toBe(2);
      expect(words(human.stderr)).toMatch(message);
    }
  });

  it('a mistyped flag gets the closest flag', async () => {
    const r = await imdsv2(['plan', '--assesment', 'assessment.json', '--json']);
    expect(r.code).toBe(2);
    expect(jsonError(r).suggestions).toContain('Did you mean --assessment?');
  });
});

describe('region names, before any work', () => {
  const dead = 'http://127.0.0.1:9';
  const cases: [string, string[]][] = [
    ['assess --region', ['assess', '--region', 'us-eest-1', '--endpoint-url', dead]],
    ['assess --regions', ['assess', '--regions', 'us-east-1,eu-wset-1', '--endpoint-url', dead]],
    ['enforce --region', ['enforce', '--plan', 'plan.json', '--wave', '0', '--region', 'us-eest-1']],
    ['rollback --region', ['rollback', '--journal', 'j.jsonl', '--all', '--region', 'us-eest-1']],
    ['status --region', ['status', '--plan', 'plan.json', '--region', 'us-eest-1']],
  ];

  it.each(cases)('%s: a typo is exit 2 naming the value and the closest region', async (_label, args) => {
    const dir = await tempDir();
    const before = snapshotDir(dir);
    const r = await imdsv2(args, { cwd: dir });
    expect(r.code).toBe(2);
    const text = words(r.stderr);
    const typo = args.includes('--regions') ? 'eu-wset-1' : 'us-eest-1';
    const near = args.includes('--regions') ? 'eu-west-1' : 'us-east-1';
    expect(text).toContain(`"${typo}" is not an AWS region (did you mean ${near}?)`);
    expect(text).toContain(args.includes('--regions') ? '--regions:' : '--region:');
    // Checked first: not the missing plan or journal, not the confirmation, not the unreachable endpoint.
    expect(text).not.toMatch(/no such|confirmation|reached|ECONNREFUSED/);
    expect(snapshotDir(dir)).toEqual(before);

    const json = await imdsv2([...args, '--json'], { cwd: dir });
    expect(json.code).toBe(2);
    expect(jsonError(json)).toMatchObject({ code: 'BAD_USAGE', exitCode: 2 });
  });

  it('AWS_REGION with a typo is named as AWS_REGION', async () => {
    const r = await imdsv2(['status', '--plan', 'plan.json', '--json'], { env: { AWS_REGION: 'eu-wset-1' } });
    expect(r.code).toBe(2);
    expect(jsonError(r).message).toBe('AWS_REGION: "eu-wset-1" is not an AWS region (did you mean eu-west-1?)');
  });

  it('a region added with IMDSV2_EXTRA_REGIONS passes the check', async () => {
    const r = await imdsv2(['status', '--plan', 'no-such-plan.json', '--region', 'xx-new-1', '--json'], {
      env: { IMDSV2_EXTRA_REGIONS: 'xx-new-1' },
    });
    expect(r.code).toBe(2);
    expect(jsonError(r).message).toContain('no-such-plan.json');
  });
});

describe('a mistyped command', () => {
  it('says "did you mean" with the closest command, exit 2', async () => {
    const r = await imdsv2(['assses', '--regions', 'us-east-1']);
    expect(r.code).toBe(2);
    const text = words(r.stderr);
    expect(text).toContain('"assses" is not an imdsv2 command (did you mean assess?)');
    expect(text).toContain('imdsv2 assess --regions us-east-1');
  });

  it('finds a command under a topic', async () => {
    const r = await imdsv2(['probe', 'lcal']);
    expect(r.code).toBe(2);
    expect(words(r.stderr)).toContain('(did you mean probe local?)');
  });

  it('with --json is one small JSON error', async () => {
    const r = await imdsv2(['enfroce', '--json']);
    expect(r.code).toBe(2);
    const e = jsonError(r);
    expect(e).toMatchObject({ code: 'BAD_USAGE', exitCode: 2 });
    expect(e.message).toContain('did you mean enforce?');
  });

  it('guesses nothing when nothing is close', async () => {
    const r = await imdsv2(['xyzzy-quux']);
    expect(r.code).toBe(2);
    expect(words(r.stderr)).toContain('"xyzzy-quux" is not an imdsv2 command');
    expect(r.stderr).not.toContain('did you mean');
  });
});

describe('simulate on a port in use', () => {
  let holder: Server;
  let port: number;
  beforeAll(async () => {
    // The test's own listener on a port the system picked: whatever else runs on the machine, this one is taken.
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('is exit 2 naming the port, with the hint of --port 0', async () => {
    const r = await imdsv2(['simulate', '--port', String(port)]);
    expect(r.code).toBe(2);
    const text = words(r.stderr);
    expect(text).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(text).toContain('--port 0');
  });

  it('with --json is one small JSON error', async () => {
    const r = await imdsv2(['simulate', '--port', String(port), '--json']);
    expect(r.code).toBe(2);
    const e = jsonError(r);
    expect(e.code).toBe('BAD_USAGE');
    expect(e.message).toContain(`port ${port}`);
    expect(e.suggestions.join(' ')).toContain('--port 0');
  });
});

describe('one date grammar and one duration grammar across flags', () => {
  it('plan and report take the same dates, checked before any file is read', async () => {
    for (const cmd of [
      ['plan', '--assessment', 'missing.json'],
      ['report', '--assessment', 'missing.json'],
    ]) {
      for (const bad of ['12/01/2026', '2026-02-30', '2026-12-01T09:00:00']) {
        const r = await imdsv2([...cmd, '--start-date', bad, '--json']);
        expect(r.code, `${cmd[0]} ${bad}`).toBe(2);
        expect(jsonError(r).message).toBe(`--start-date ${JSON.stringify(bad)} is not an ISO 8601 date or date-time`);
      }
      for (const good of ['2026-12-01', '2026-12-01T09:00:00Z']) {
        const r = await imdsv2([...cmd, '--start-date', good, '--json']);
        expect(r.code, `${cmd[0]} ${good}`).toBe(2);
        // Accepted: what fails is the missing assessment.
        expect(jsonError(r).message).toContain('missing.json');
      }
    }
  });

  it('simulate durations take the unit like every other duration flag', async () => {
    for (const [flag, value] of [
      ['--apply-delay', '5'],
      ['--extra-latency', '50'],
      ['--metric-delay', '3'],
    ]) {
      const r = await imdsv2(['simulate', '--port', '0', flag!, value!, '--json']);
      expect(r.code, flag).toBe(2);
      expect(jsonError(r).message).toBe(`${flag} "${value}" is not a duration: a bare number has no unit`);
    }
  });
});
