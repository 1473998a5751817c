import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY_YAML, parseJsonDocument, planKind, verifyPlanHash } from '@imdsv2-cutover/core';
import { makeAssessment, makeInstance, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';

// Runs the built CLI (`pnpm build` first, as `pnpm test` does), the way a user does.
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/run.js');
const run = (cwd: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, 'plan', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const assessment = makeAssessment([
  makeInstance({ instanceId: 'i-0000000000000001' }),
  makeInstance({ instanceId: 'i-0000000000000002', tags: { Environment: 'prod', Application: 'api' } }),
  makeInstance({
    instanceId: 'i-0000000000000003',
    readiness: {
      status: 'blocked',
      reasons: [{ code: 'imdsv1-calls-seen', severity: 'blocker', message: '12 calls' }],
    },
  }),
]);

// Each run starts Node and oclif (about a second on a busy machine): allow time.
describe('imdsv2 plan (built CLI)', { timeout: 180_000 }, () => {
  const tempDir = useTempDirs();

  it('writes the default policy, refuses to overwrite it without --force, and plans from it', async () => {
    const dir = await tempDir();
    expect(run(dir, '--init-policy', 'policy.yaml').code).toBe(0);
    expect(await readFile(path.join(dir, 'policy.yaml'), 'utf8')).toBe(DEFAULT_POLICY_YAML);
    await writeFile(path.join(dir, 'policy.yaml'), '# mine\n');
    const again = run(dir, '--init-policy', 'policy.yaml');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    expect(await readFile(path.join(dir, 'policy.yaml'), 'utf8')).toBe('# mine\n');
    expect(run(dir, '--init-policy', 'policy.yaml', '--force').code).toBe(0);

    await writeFile(path.join(dir, 'a.json'), JSON.stringify(assessment));
    const r = run(dir, '--assessment', 'a.json', '--policy', 'policy.yaml', '--out', 'out/plan.json');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/canary/);
    expect(r.stdout).toMatch(/Not in a wave: 1 \(blocked 1\)/);
    const text = await readFile(path.join(dir, 'out/plan.json'), 'utf8');
    const plan = parseJsonDocument(planKind, text, 'plan.json');
    verifyPlanHash(plan, 'plan.json');
    expect(plan.waves.flatMap((w) => w.instances.map((e) => e.instanceId)).sort()).toEqual([
      'i-0000000000000001',
      'i-0000000000000002',
    ]);
    // Same inputs, byte-identical file.
    expect(run(dir, '--assessment', 'a.json', '--policy', 'policy.yaml', '--out', 'second.json').code).toBe(0);
    expect(await readFile(path.join(dir, 'second.json'), 'utf8')).toBe(text);
  });

  it('returns the plan summary with --json, and explains one instance', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'a.json'), JSON.stringify(assessment));
    const r = run(dir, '--assessment', 'a.json', '--json', '--start-date', '2026-12-01');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      action: string;
      summary: { waves: { notBefore: string }[]; held: unknown };
    };
    expect(result.action).toBe('plan');
    expect(result.summary.waves[0]!.notBefore).toBe('2026-12-01T00:00:00.000Z');
    expect(result.summary.held).toEqual({ total: 1, byStatus: { blocked: 1 } });
    expect(existsSync(path.join(dir, 'plan.json'))).toBe(true);

    const why = run(dir, '--assessment', 'a.json', '--explain', 'i-0000000000000003');
    expect(why.code).toBe(0);
    expect(why.stdout).toContain('Held, not in any wave (readiness blocked).');
    const missing = run(dir, '--assessment', 'a.json', '--explain', 'i-0000000000000099');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('i-0000000000000099 is not in the assessment');
  });

  it.each([
    ['invalid YAML', 'canary: [unclosed\n', /not valid YAML/],
    [
      'a schema error',
      'schema: {name: imdsv2-cutover/policy, version: 1}\nwaves: {maxGroupShare: 2}\n',
      /waves.maxGroupShare/,
    ],
    ['another file kind', 'schema: {name: imdsv2-cutover/plan, version: 1}\n', /not the expected rollout policy/],
  ])('exits 2 and writes nothing on a policy with %s', async (_what, policy, message) => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'a.json'), JSON.stringify(assessment));
    await writeFile(path.join(dir, 'p.yaml'), policy);
    const r = run(dir, '--assessment', 'a.json', '--policy', 'p.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(path.join(dir, 'plan.json'))).toBe(false);
  });

  it('exits 2 and writes nothing on a missing or truncated assessment, or a bad start date', async () => {
    const dir = await tempDir();
    expect(run(dir, '--assessment', 'nope.json').code).toBe(2);
    await writeFile(path.join(dir, 'a.json'), JSON.stringify(assessment).slice(0, 100));
    const truncated = run(dir, '--assessment', 'a.json');
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toContain('not valid JSON');
    await writeFile(path.join(dir, 'b.json'), JSON.stringify(assessment));
    expect(run(dir, '--assessment', 'b.json', '--start-date', 'soon').code).toBe(2);
    expect(run(dir).code).toBe(2);
    expect(existsSync(path.join(dir, 'plan.json'))).toBe(false);
  });
});
