import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Assessment, AssessmentDiff, GateResult, Instance } from '@imdsv2-cutover/core';
import { generateFleet, makeAssessment, makeMetric, makeProbeReport, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../packages/cli/bin/run.js', import.meta.url));

function imdsv2(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

const tempDir = useTempDirs('imdsv2-diff-');
const base = generateFleet({ count: 40, seed: 11 });

function later(change: (a: Assessment) => void): Assessment {
  const a = structuredClone(base);
  a.id = 'run-2';
  a.createdAt = '2026-11-21T12:00:00.000Z';
  change(a);
  return a;
}

function first(a: Assessment, status: Instance['readiness']['status']): Instance {
  return a.instances.find((i) => i.readiness.status === status)!;
}

async function pair(change: (a: Assessment) => void): Promise<[string, string]> {
  const dir = await tempDir();
  const oldFile = path.join(dir, 'old.json');
  const newFile = path.join(dir, 'new.json');
  await writeFile(oldFile, JSON.stringify(base));
  await writeFile(newFile, JSON.stringify(later(change)));
  return [oldFile, newFile];
}

/** What `imdsv2 diff --json` prints. */
interface DiffJson {
  diff: AssessmentDiff;
  gates: GateResult;
}

const ALL = 'new-v1-callers,regressions,blocked-increase,incomplete';

describe('imdsv2 diff (built CLI)', () => {
  it.each<[string, (a: Assessment) => void, string, RegExp]>([
    [
      'a new IMDSv1 caller',
      (a) => (first(a, 'ready').probe = { outcome: 'ok', report: makeProbeReport() }),
      'new-v1-callers',
      /Gate failed: new-v1-callers: .*new IMDSv1 caller python3/,
    ],
    [
      'an instance back to optional',
      (a) =>
        (a.instances.find((i) => i.metadataOptions.httpTokens === 'required')!.metadataOptions.httpTokens = 'optional'),
      'regressions',
      /Gate failed: regressions: .* is back to HttpTokens=optional/,
    ],
    [
      'one more blocked instance',
      (a) => (first(a, 'ready').readiness = { status: 'blocked', reasons: [] }),
      'blocked-increase',
      /Gate failed: blocked-increase: blocked instances went from \d+ to \d+ \(\+1\)/,
    ],
    [
      'a failed region',
      (a) => {
        a.complete = false;
        a.regions[0]!.status = 'failed';
        a.regions[0]!.error = { code: 'AccessDenied', message: 'denied' };
      },
      'incomplete',
      /Gate failed: incomplete: \d{12}\/[a-z0-9-]+ failed: AccessDenied denied/,
    ],
  ])('%s fails its gate with exit 3 and passes the others', async (_name, change, gate, line) => {
    const [oldFile, newFile] = await pair(change);
    const failing = imdsv2('diff', oldFile, newFile, '--fail-on', ALL);
    expect(failing.status).toBe(3);
    expect(failing.stdout).toMatch(line);
    expect(failing.stdout.match(/^Gate failed: /gm)).toHaveLength(1);
    expect(failing.stderr).toContain('GATE_FAILED');
    const others = ALL.split(',').filter((g) => g !== gate);
    const passing = imdsv2('diff', oldFile, newFile, '--fail-on', others.join(','));
    expect(passing.status).toBe(0);
    expect(passing.stdout).toContain(`Gates passed: ${others.join(', ')}`);
  });

  it('with --json prints one document with the diff, the gate results and the error, and exits 3', async () => {
    const [oldFile, newFile] = await pair((a) => {
      first(a, 'ready').metrics = { noToken: makeMetric(40) };
    });
    const r = imdsv2('diff', oldFile, newFile, '--fail-on', ALL, '--json');
    expect(r.status).toBe(3);
    const out = JSON.parse(r.stdout) as DiffJson & { error: { code: string } };
    expect(out.diff.callsStarted).toHaveLength(1);
    expect(out.gates.failed.map((f) => f.gate)).toEqual(['new-v1-callers']);
    expect(out.error.code).toBe('GATE_FAILED');
  });

  it('exits 0 with --json when nothing failed, and reports the enforced-share change', async () => {
    const [oldFile, newFile] = await pair((a) => {
      const i = first(a, 'ready');
      i.metadataOptions.httpTokens = 'required';
      i.readiness = { status: 'enforced', reasons: [] };
    });
    const r = imdsv2('diff', oldFile, newFile, '--fail-on', ALL, '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.diff.newlyEnforced).toHaveLength(1);
    expect(out.diff.enforcedShare.deltaPoints).toBeGreaterThan(0);
    expect(out.gates.failed).toEqual([]);
  });

  it('refuses an unknown gate with exit 2, naming it and the valid ones', async () => {
    const [oldFile, newFile] = await pair(() => undefined);
    const r = imdsv2('diff', oldFile, newFile, '--fail-on', 'regressions,new-callers');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown gate "new-callers"');
    expect(r.stderr.replace(/\s+›\s+/g, ' ')).toContain('new-v1-callers, regressions, blocked-increase, incomplete');
  });

  it('escapes hostile strings from hosts in the summary', async () => {
    const [oldFile, newFile] = await pair((a) => {
      const report = makeProbeReport();
      report.v1Callers[0]!.comm = 'evil\u001b[2J';
      first(a, 'ready').probe = { outcome: 'ok', report };
    });
    const r = imdsv2('diff', oldFile, newFile);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).toContain('evil\\x1b[2J');
  });
});

describe('imdsv2 merge (built CLI)', () => {
  async function shards(overlap: boolean): Promise<{ dir: string; files: string[] }> {
    const dir = await tempDir();
    const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
    const files: string[] = [];
    for (const [k, region] of regions.entries()) {
      const instances = base.instances.filter(
        (i) => i.region === region || (overlap && k === 1 && i.region === regions[0]),
      );
      const file = path.join(dir, `shard-${region}.json`);
      await writeFile(file, JSON.stringify(makeAssessment(instances, { id: `shard-${k}` })));
      files.push(file);
    }
    return { dir, files };
  }

  it('merges disjoint shards into one assessment that diffs as unchanged against the whole', async () => {
    const { dir, files } = await shards(false);
    const out = path.join(dir, 'all.json');
    const r = imdsv2('merge', ...files, '--out', out, '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ shards: 3, instances: base.instances.length, complete: true });
    const whole = path.join(dir, 'whole.json');
    await writeFile(whole, JSON.stringify(base));
    const d = imdsv2('diff', whole, out, '--fail-on', ALL, '--json');
    expect(d.status).toBe(0);
    const diff = JSON.parse(d.stdout).diff;
    expect([diff.added, diff.removed, diff.newlyEnforced, diff.regressions]).toEqual([[], [], [], []]);
  });

  it('refuses overlapping shards with exit 2, naming the files and keys, and writes nothing', async () => {
    const { dir, files } = await shards(true);
    const out = path.join(dir, 'all.json');
    const r = imdsv2('merge', ...files, '--out', out);
    expect(r.status).toBe(2);
    const msg = r.stderr.replace(/\s+›\s+/g, ' ');
    expect(msg).toMatch(/overlapping shards: \d+ \(account, region\) pairs/);
    expect(msg).toContain('shard-us-east-1.json and');
    expect(msg).toContain('shard-eu-west-1.json');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a shard that is not an assessment with exit 2, naming the file', async () => {
    const { dir, files } = await shards(false);
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{"schema":{"name":"imdsv2-cutover/plan","version":1}}');
    const r = imdsv2('merge', files[0]!, bad, '--out', path.join(dir, 'all.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('bad.json');
  });
});
