import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_POLICY_YAML } from '@imdsv2-cutover/core';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../packages/report/src/__fixtures__/fleet.js';
import { pool, runCli, snapshotDir } from './helpers.js';
import { tally } from './tally.js';

const tempDir = useTempDirs('imdsv2-rel-bad-');

/** Runs the CLI in `cwd` with a hard time limit. */
const run = (args: string[], cwd: string) => runCli(args, { cwd });

/** A way to damage a file: the new content (or a size for a sparse huge file), and the field the error must name. */
interface Damage {
  name: string;
  apply: (good: string) => string | { hugeBytes: number };
  /** What the error must name: the field, or for a journal the line. */
  field?: string | RegExp;
}

type Json = Record<string, unknown>;
const edit = (change: (d: Json) => void) => (good: string) => {
  const d = JSON.parse(good) as Json;
  change(d);
  return JSON.stringify(d, null, 2);
};
const HUGE = { name: 'huge (1.1 GiB, sparse)', apply: () => ({ hugeBytes: 1.1 * 1024 ** 3 }) };
const TRUNCATED = { name: 'truncated', apply: (g: string) => g.slice(0, Math.floor(g.length / 2)) };
const VERSION = {
  name: 'wrong schema version',
  apply: edit((d) => ((d.schema as Json).version = 99)),
  field: 'version',
};
const NOT_OURS = { name: 'another tool’s JSON', apply: () => '{"Reservations": []}', field: 'schema' };

const assessmentDamage: Damage[] = [
  TRUNCATED,
  VERSION,
  NOT_OURS,
  HUGE,
  {
    name: 'wrong type (instanceId a number)',
    apply: edit((d) => ((d.instances as Json[])[3]!.instanceId = 42)),
    field: 'instanceId',
  },
  {
    name: 'wrong enum (readiness status)',
    apply: edit((d) => (((d.instances as Json[])[0]!.readiness as Json).status = 'fine')),
    field: 'status',
  },
];
const planDamage: Damage[] = [
  TRUNCATED,
  VERSION,
  NOT_OURS,
  HUGE,
  {
    name: 'wrong type (soakSeconds a string)',
    apply: edit((d) => ((d.waves as Json[])[0]!.soakSeconds = '1d')),
    field: 'soakSeconds',
  },
];
const policyDamage: Damage[] = [
  { name: 'truncated mid-mapping', apply: () => 'schema: { name: imdsv2-cutover/policy, version: 1\nwaves:\n  - [' },
  {
    name: 'wrong schema version',
    apply: (g) => g.replace(/version: 1\b/, 'version: 7'),
    field: 'version',
  },
  {
    name: 'wrong type (maxWaveSize a word)',
    apply: () => 'schema: { name: imdsv2-cutover/policy, version: 1 }\nwaves:\n  maxSize: lots\n',
    field: 'maxSize',
  },
  HUGE,
];
const journalDamage: Damage[] = [
  {
    name: 'a corrupt middle line',
    apply: (g) => {
      const lines = g.split('\n');
      lines[2] = lines[2]!.slice(0, 20);
      return lines.join('\n');
    },
    field: /(:| line )3\b/,
  },
  {
    name: 'wrong header version',
    apply: (g) => g.replace(/"version":1/, '"version":5'),
    field: /(:| line )1\b/,
  },
  {
    name: 'wrong type in an intent',
    apply: (g) => {
      const lines = g.split('\n');
      const i = lines.findIndex((l) => l.includes('"type":"intent"'));
      lines[i] = lines[i]!.replace(/"seq":\d+/, '"seq":"three"');
      return lines.join('\n');
    },
    // The journal's record union reports "Invalid input" without the field; the line number is what is named.
    field: /(:| line )\d+\b/,
  },
  HUGE,
];
const scenarioDamage: Damage[] = [
  { name: 'not YAML', apply: () => 'regions: [us-east-1\n  accounts: {' },
  {
    name: 'wrong schema version',
    apply: () => 'schema: { name: imdsv2-cutover/scenario, version: 3 }\nname: x\nregions: [us-east-1]\naccounts: []\n',
    field: 'version',
  },
  {
    name: 'wrong type (count a word)',
    apply: () =>
      [
        'schema: { name: imdsv2-cutover/scenario, version: 1 }',
        'name: x',
        'regions: [us-east-1]',
        "accounts: [{ id: '111111111111', name: a }]",
        "instanceGroups: [{ name: g, account: '111111111111', region: us-east-1, count: many }]",
      ].join('\n'),
    field: 'count',
  },
  HUGE,
];

let good: { assessment: string; plan: string; journal: string; policy: string };
beforeAll(() => {
  const f = demoFleet();
  good = {
    assessment: JSON.stringify(f.assessment, null, 2),
    plan: JSON.stringify(f.plan, null, 2),
    journal: `${f.journal.map((l) => JSON.stringify(l)).join('\n')}\n`,
    policy: DEFAULT_POLICY_YAML,
  };
});

/** Commands that read a file of each kind; `F` is the damaged file, the others are good ones in the same directory. */
const readers: Record<string, { damage: () => Damage[]; file: string; commands: string[][] }> = {
  assessment: {
    damage: () => assessmentDamage,
    file: 'bad-assessment.json',
    commands: [
      ['plan', '--assessment', 'F', '--out', 'plan-out.json'],
      ['report', '--assessment', 'F', '--out', 'report-out'],
      ['diff', 'F', 'assessment.json'],
      ['diff', 'assessment.json', 'F'],
      ['merge', 'assessment.json', 'F', '--out', 'merged.json'],
    ],
  },
  plan: {
    damage: () => planDamage,
    file: 'bad-plan.json',
    commands: [
      ['report', '--assessment', 'assessment.json', '--plan', 'F', '--out', 'report-out'],
      [
        'enforce',
        '--plan',
        'F',
        '--wave',
        '0',
        '--yes',
        '--journal',
        'j.jsonl',
        '--endpoint-url',
        'http://127.0.0.1:9',
      ],
      ['status', '--plan', 'F', '--journal', 'journal.jsonl'],
    ],
  },
  policy: {
    damage: () => policyDamage,
    file: 'bad-policy.yaml',
    commands: [['plan', '--assessment', 'assessment.json', '--policy', 'F', '--out', 'plan-out.json']],
  },
  journal: {
    damage: () => journalDamage,
    file: 'bad-journal.jsonl',
    commands: [
      ['report', '--assessment', 'assessment.json', '--journal', 'F', '--out', 'report-out'],
      ['rollback', '--journal', 'F', '--all', '--endpoint-url', 'http://127.0.0.1:9'],
      ['status', '--plan', 'plan.json', '--journal', 'F'],
    ],
  },
  scenario: {
    damage: () => scenarioDamage,
    file: 'bad-scenario.yaml',
    commands: [['simulate', '--scenario', 'F', '--port', '0']],
  },
};

/**
 * The runs for one kind of file: every damage against the first command that reads it; the truncated file against
 * every command; the other damages spread over the other commands in turn (each CLI start costs seconds: trying every
 * damage on every reader would double the suite's time and prove little more, since they share one reading function).
 */
function runsFor(r: { damage: () => Damage[]; commands: string[][] }): [Damage, string[]][] {
  const out: [Damage, string[]][] = [];
  r.damage().forEach((d, i) =>
    r.commands.forEach((cmd, j) => {
      if (j === 0 || i === 0 || (i - 1) % (r.commands.length - 1) === j - 1) out.push([d, cmd]);
    }),
  );
  return out;
}

describe('bad input files: exit 2, an error naming the file and the field, nothing written', () => {
  for (const [kind, r] of Object.entries(readers)) {
    it(`${kind}: every damage, every command that reads it`, async () => {
      const runs = runsFor(r);
      const failures = await pool(runs, 3, async ([d, cmd]) => {
        const dir = await tempDir();
        writeFileSync(path.join(dir, 'assessment.json'), good.assessment);
        writeFileSync(path.join(dir, 'plan.json'), good.plan);
        writeFileSync(path.join(dir, 'journal.jsonl'), good.journal);
        const bad = path.join(dir, r.file);
        const goodText = kind === 'scenario' ? '' : good[kind as keyof typeof good];
        const content = d.apply(goodText);
        if (typeof content === 'string') writeFileSync(bad, content);
        else {
          writeFileSync(bad, '');
          truncateSync(bad, Math.round(content.hugeBytes));
        }
        const before = snapshotDir(dir);
        const res = await run(
          cmd.map((a) => (a === 'F' ? bad : a)),
          dir,
        );
        const label = `${kind} ${d.name}: ${cmd.join(' ')}`;
        const err = res.stderr.replace(/\s+›\s+/g, ' ');
        const problems: string[] = [];
        if (res.code !== 2) problems.push(`${label}: exit ${res.code}\n${res.stderr.slice(0, 600)}`);
        else if (!err.includes(r.file))
          problems.push(`${label}: the error does not name the file\n${err.slice(0, 600)}`);
        else if (d.field && !(typeof d.field === 'string' ? err.includes(d.field) : d.field.test(err)))
          problems.push(`${label}: the error does not name ${String(d.field)}\n${err.slice(0, 600)}`);
        else if (/\n\s+at .+:\d+:\d+\)?\n/.test(res.stderr))
          problems.push(`${label}: a stack trace\n${err.slice(0, 600)}`);
        const after = snapshotDir(dir);
        const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
        if (changed.length > 0) problems.push(`${label}: wrote ${changed.join(', ')}`);
        return problems;
      });
      tally({ scenarios: 1, badInputs: runs.length });
      expect(failures.flat()).toEqual([]);
    });
  }

  it('plan: a tampered contentHash is HASH_MISMATCH, exit 2, and enforce writes no journal', async () => {
    const dir = await tempDir();
    const plan = JSON.parse(good.plan) as { waves: { soakSeconds: number }[] };
    plan.waves[0]!.soakSeconds = 1; // an edit after approval, without a new hash
    const bad = path.join(dir, 'plan.json');
    writeFileSync(bad, JSON.stringify(plan));
    const journal = path.join(dir, 'j.jsonl');
    const res = await run(
      ['enforce', '--plan', bad, '--wave', '0', '--yes', '--journal', journal, '--endpoint-url', 'http://127.0.0.1:9'],
      dir,
    );
    tally({ badInputs: 1 });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain('HASH_MISMATCH');
    expect(res.stderr).toContain('plan.json');
    expect(existsSync(journal)).toBe(false);
    expect(readFileSync(bad, 'utf8')).toBe(JSON.stringify(plan));
  });
});
