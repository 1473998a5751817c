import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Assessment, ScenarioInput } from '@imdsv2-cutover/core';
import { contentHash } from '@imdsv2-cutover/core';
import { scenarioFrom, startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, planFor, runCli, writePlan } from '../e2e/enforce-helpers.js';
import { imdsv2, readAssessment, UNSAFE_TERMINAL } from './helpers.js';
import { tally } from './tally.js';

/** Tag values and process command lines a hostile host or tagger could set. */
const HOSTILE = [
  '\u001b[2J\u001b[H\u001b]0;owned\u0007cleared your screen',
  '\u009b31mC1 CSI\u0085NEL',
  'safe\u202Egnp.exe\u202C \u2066isolate\u2069',
  '<script>window.__pwned=1</script>',
  '"><img src=x onerror=alert(1)>',
  '=HYPERLINK("http://evil.example","x")',
  "+cmd|' /C calc'!A0",
  '| *md* [link](javascript:alert(1)) <b>',
  'nul\u0000byte\rcarriage',
  '日本語 🙂 e\u0301',
  'x'.repeat(5000),
];

const tempDir = useTempDirs('imdsv2-rel-hostile-');
let sim: Simulator;
let out: string;
let assessment: Assessment;
let stdout = '';

beforeAll(async () => {
  const groups: NonNullable<ScenarioInput['instanceGroups']> = HOSTILE.map((h, i) => ({
    name: `g${i}`,
    account: '111111111111',
    region: 'us-east-1',
    count: 2,
    tags: { Owner: h, Environment: i % 2 ? 'prod' : h, [`k${i}${h.slice(0, 40)}`]: h },
    callers: [{ process: { comm: h.slice(0, 15), argv: `${h} --password hunter2` }, imds: 'v1' as const }],
  }));
  sim = await startSimulator({
    scenario: scenarioFrom({
      schema: { name: 'imdsv2-cutover/scenario', version: 1 },
      name: 'hostile',
      now: '2025-06-30T06:00:00Z',
      emitZeroDatapoints: true,
      regions: ['us-east-1'],
      accounts: [{ id: '111111111111', name: '\u001b[31maccount' }],
      instanceGroups: [...groups, { name: 'quiet', account: '111111111111', region: 'us-east-1', count: 6 }],
    }),
    port: 0,
    throttling: false,
  });
  out = mkdtempSync(path.join(tmpdir(), 'imdsv2-rel-hostile-assess-'));
  const r = await imdsv2(['assess', '--endpoint-url', sim.url, '--regions', 'us-east-1', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  stdout = r.stdout + r.stderr;
  assessment = await readAssessment(out);
  tally({ scenarios: 1, badInputs: HOSTILE.length });
});
afterAll(async () => {
  await sim.stop();
  rmSync(out, { recursive: true, force: true });
});

function safe(text: string, what: string) {
  const m = UNSAFE_TERMINAL.exec(text);
  expect(
    m,
    `${what}: raw U+${m?.[0].codePointAt(0)?.toString(16)} near ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 30), (m?.index ?? 0) + 30))}`,
  ).toBeNull();
}

describe('hostile tags and names reach no terminal raw', () => {
  it('assess summary', () => {
    expect(
      assessment.instances.some((i) => i.tags.Owner?.includes('cleared your screen')),
      JSON.stringify([
        assessment.instances.length,
        assessment.instances[0]?.tags,
        assessment.regions,
        stdout.slice(0, 500),
      ]),
    ).toBe(true);
    safe(stdout, 'assess');
  });

  it('plan --explain, plan summary, diff and status', async () => {
    const dir = await tempDir();
    const file = path.join(out, 'assessment.json');
    const target = assessment.instances.find((i) => i.tags.Owner?.includes('cleared your screen'))!.instanceId;
    const runs = [
      await imdsv2(['plan', '--assessment', file, '--out', path.join(dir, 'plan.json')]),
      await imdsv2(['plan', '--assessment', file, '--explain', target]),
    ];
    const other = JSON.parse(readFileSync(file, 'utf8')) as Assessment;
    other.id = 'later';
    other.instances[0]!.tags.Owner = `${HOSTILE[1]} changed`;
    other.instances[1]!.metadataOptions.httpTokens = 'required';
    other.instances[1]!.readiness = { status: 'enforced', reasons: [] };
    const otherFile = path.join(dir, 'later.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(otherFile, JSON.stringify(other)));
    runs.push(await imdsv2(['diff', file, otherFile]));
    // A plan whose wave names are hostile, for status.
    const p = planFor(sim, [[assessment.instances[0]!.instanceId]]);
    const { contentHash: _old, ...body } = p;
    body.waves[0]!.name = HOSTILE.slice(0, 3).join(' ');
    const planFile = path.join(dir, 'hostile-plan.json');
    await writePlan(planFile, { ...body, contentHash: contentHash(body) });
    for (const args of [
      ['enforce', '--plan', planFile, '--wave', '0', '--yes', '--endpoint-url', sim.url, '--max-age', '9999d'],
      ['status', '--plan', planFile],
    ]) {
      const r = await runCli(args, cliEnv(sim));
      runs.push({ code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr });
    }
    tally({ scenarios: 1, badInputs: runs.length });
    for (const [k, r] of runs.entries()) {
      expect(r.code, `${k}: ${r.stderr}`).toBe(0);
      safe(r.stdout + r.stderr, `run ${k}`);
    }
  });

  it('the report escapes them for HTML, Markdown and CSV, and no secret reaches it', () => {
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    const csv = readFileSync(path.join(out, 'instances.csv'), 'utf8');
    expect(html).not.toContain('<script>window.__pwned');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('\u001b');
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('<img src=x');
    // Every CSV cell that begins with a formula character is neutralised (a leading quote).
    const cells = csv.split(/\r\n/).flatMap((row) => row.split(','));
    const formulas = cells.map((c) => c.replace(/^"/, '')).filter((c) => /^[=+@]/.test(c));
    expect(formulas).toEqual([]);
    for (const text of [html, md, csv, JSON.stringify(assessment)]) expect(text).not.toContain('hunter2');
  });
});
