import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { imdsv2 } from './assess-helpers.js';

const tempDir = useTempDirs('imdsv2-demo-');
const TRAP = 'i-0c0ffee0000d0e0a1';

interface DemoJson {
  stoppedAfter: string;
  fleet: { instances: number; blocked: number };
  plan: { waves: { kind: string; instances: number }[] } | null;
  enforcement: {
    outcome: string;
    caught: { instanceId: string; calls: number }[];
    rolledBack: string[];
    kept: string[];
  } | null;
  files: { journal?: string; report: { html?: string } };
}

describe('imdsv2 demo', () => {
  it('runs the whole flow: the guard catches the hidden month-end caller on a canary and rolls it back; exit 0 in under 60 s', async () => {
    const out = await tempDir();
    const started = Date.now();
    const r = await imdsv2(['demo', '--out', out]);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(r.stdout).toMatch(new RegExp(`GUARD: ${TRAP} made \\d+ rejected IMDSv1 call`));
    expect(r.stdout).toMatch(new RegExp(`ROLLED BACK: ${TRAP}\\b`));
    expect(r.stdout).toContain('exits 4');
    // The probe ran through SSM: blockers are named by the package on the host, not only by the metric.
    expect(r.stdout).toMatch(/top blockers[\s\S]*EC2Config 4\.9\.4500/);
    expect(r.stdout).toContain(path.join(out, 'report.html'));

    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain(TRAP);
    // The execution table: wave 0 partly rolled back (the other canaries kept IMDSv2), the guard tripped on the trap
    // instance, which reads "ready → rolled back by the guard"; the report says the fleet is simulated and its
    // rollback commands carry the simulator's endpoint.
    expect(html).toContain('<span class="oc oc-rolled-back">partly rolled back</span>');
    expect(html).toMatch(new RegExp(`tripped: ${TRAP}`));
    expect(html).toContain('ready</span> → <span class="ex ex-rolled-back">rolled back by the guard</span>');
    expect(html).toContain(
      'SIMULATED: this assessment comes from the bundled fleet simulator (scenario &quot;demo&quot;',
    );
    expect(html).toMatch(
      /imdsv2 rollback --journal \S+journal\.jsonl --wave 0 --endpoint-url http:\/\/127\.0\.0\.1:\d+/,
    );

    const { records } = await readJournal(path.join(out, 'journal.jsonl'));
    expect(records.find((x) => x.type === 'guard')).toMatchObject({ tripped: true, rejected: [{ instanceId: TRAP }] });
    const rollbacks = records.filter((x) => x.type === 'result' && x.action === 'rollback');
    expect(rollbacks.map((x) => 'target' in x && x.target.kind === 'instance' && x.target.instanceId)).toEqual([TRAP]);
    expect(rollbacks.every((x) => 'outcome' in x && x.outcome === 'ok')).toBe(true);
    expect(records.at(-1)).toMatchObject({ type: 'wave-end', wave: 0, outcome: 'rolled-back' });
    // The other canaries were applied and kept IMDSv2.
    const applied = records.filter((x) => x.type === 'result' && x.action === 'apply');
    expect(applied.length).toBeGreaterThan(1);
  });

  it('runs again in the same folder: a fresh run that says so, exit 0 each time (README command 1 run twice)', async () => {
    const out = await tempDir();
    const first = await imdsv2(['demo', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(path.join(out, 'journal.jsonl.seal'))).toBe(true);
    for (let run = 2; run <= 3; run++) {
      const again = await imdsv2(['demo', '--out', out]);
      expect(again.code, `run ${run}: ${again.stderr}`).toBe(0);
      expect(again.stderr).toContain('holds an earlier demo run: starting a fresh run');
      expect(again.stdout).toMatch(new RegExp(`ROLLED BACK: ${TRAP}\\b`));
      const { records } = await readJournal(path.join(out, 'journal.jsonl'));
      // The journal is the new run's alone: one wave-start.
      expect(records.filter((x) => x.type === 'wave-start')).toHaveLength(1);
    }
  });

  it('--stop-after report writes the assessment, plan and report, enforces nothing; --json has the summary', async () => {
    const out = await tempDir();
    const r = await imdsv2(['demo', '--out', out, '--stop-after', 'report', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as DemoJson;
    expect(res.stoppedAfter).toBe('report');
    expect(res.fleet.instances).toBe(500);
    expect(res.fleet.blocked).toBeGreaterThan(0);
    expect(res.plan?.waves[0]).toMatchObject({ kind: 'canary' });
    expect(res.enforcement).toBeNull();
    expect(res.files.journal).toBeUndefined();
    for (const f of ['assessment.json', 'plan.json', 'policy.yaml', 'report.html', 'report.md', 'instances.csv'])
      expect(existsSync(path.join(out, f)), f).toBe(true);
    expect(existsSync(path.join(out, 'journal.jsonl'))).toBe(false);
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    // The plan is in the report: the trap instance is in the canary wave.
    expect(html).toContain(TRAP);
    expect(html).not.toContain('oc-rolled-back">');
  });
});
