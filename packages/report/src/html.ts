import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import Handlebars from 'handlebars';
import { jsonForScript, splitCode, visible, visibleDeep } from './escape.js';
import type { TrendPoint } from '@imdsv2-cutover/core';
import type { InstanceRow, ReportModel, StatusCount } from './model.js';
import { STATUS_ORDER } from './model.js';
import { miniBar, readinessBar, sparkline, trendChart } from './svg.js';

/**
 * The self-contained HTML report. The body comes from a Handlebars template (`{{x}}` only: every value is
 * HTML-escaped); the document shell, the inline CSS and script, and the instance data as JSON are put together here so
 * that none of them passes through a template. The Content-Security-Policy allows exactly the inline style and script
 * by hash, and no request of any kind.
 */

const templatesDir = new URL('../templates/', import.meta.url);

/** A run this long without a space or hyphen may break anywhere (class `long`); other text wraps between words. */
const LONG_RUN = /[^\s-]{16,}/;

let cached: { body: Handlebars.TemplateDelegate; css: string; js: string } | undefined;

function assets() {
  if (cached) return cached;
  const hb = Handlebars.create();
  const nf = new Intl.NumberFormat('en-US');
  hb.registerHelper('num', (n: unknown) => (typeof n === 'number' ? nf.format(n) : ''));
  hb.registerHelper('pct', (n: unknown) => (typeof n === 'number' ? `${Math.round(n * 1000) / 10}%` : ''));
  hb.registerHelper('calls', (n: unknown) => (typeof n === 'number' ? nf.format(n) : 'unknown'));
  hb.registerHelper('count', (xs: unknown) => (Array.isArray(xs) ? xs.length : 0));
  hb.registerHelper('join', (xs: unknown) => (Array.isArray(xs) ? xs.map(String).join(', ') : ''));
  hb.registerHelper('dt', (iso: unknown) =>
    typeof iso === 'string' && iso !== '' ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '',
  );
  // SVG built in code from numbers and the tool's own labels; SafeString keeps Handlebars from escaping the markup.
  hb.registerHelper('readinessChart', (c: StatusCount[]) => new hb.SafeString(readinessBar(c)));
  hb.registerHelper('miniChart', (c: number[]) => new hb.SafeString(miniBar(c, STATUS_ORDER)));
  hb.registerHelper('sharePct', (n: unknown) => (typeof n === 'number' ? `${n}%` : 'n/a'));
  hb.registerHelper('trendChart', (t: TrendPoint[]) => new hb.SafeString(trendChart(t)));
  hb.registerHelper('spark', (d: { date: string; sum: number }[]) => new hb.SafeString(sparkline(d)));
  // Untrusted text with a very long unbroken run (a path, a hostile string) may break anywhere; names and ids do not.
  hb.registerHelper('long', (text: unknown) => (typeof text === 'string' && LONG_RUN.test(text) ? ' long' : ''));
  // Text whose backtick pairs mark code: every piece escaped, code pieces in <code>.
  hb.registerHelper(
    'rich',
    (text: unknown) =>
      new hb.SafeString(
        splitCode(typeof text === 'string' ? text : '')
          .map((p) => {
            const t = hb.Utils.escapeExpression(p.text);
            // A short piece without spaces (an id, a flag) never breaks inside.
            return p.code ? `<code${/^\S{1,40}$/.test(p.text) ? ' class="id"' : ''}>${t}</code>` : t;
          })
          .join(''),
      ),
  );
  const body = hb.compile(readFileSync(new URL('report.hbs', templatesDir), 'utf8'), {
    strict: true,
    knownHelpersOnly: false,
  });
  cached = {
    body,
    css: readFileSync(new URL('report.css', templatesDir), 'utf8'),
    js: readFileSync(new URL('report.js', templatesDir), 'utf8'),
  };
  return cached;
}

export interface HtmlOptions {
  /** Rows of the appendix rendered as HTML (readable without script); all rows are in the embedded data. */
  inlineRows?: number;
  /** Rows of the appendix printed at most (the print note says when instances.csv holds more). Default 5,000. */
  printRows?: number;
}

/**
 * Appendix columns, in order; shared by the static table and the script (which reads them from the JSON). The CSV has
 * every field (ASG, HttpTokens, hop limit, reasons...); the page keeps the columns a reviewer scans, so that they fit.
 */
function columns(withJournal: boolean) {
  const cols: { key: keyof InstanceRow; label: string; numeric?: boolean; untrusted?: boolean }[] = [
    { key: 'instanceId', label: 'Instance' },
    { key: 'name', label: 'Name', untrusted: true },
    { key: 'accountId', label: 'Account' },
    { key: 'region', label: 'Region' },
    { key: 'status', label: 'Readiness' },
    ...(withJournal ? [{ key: 'execution' as const, label: 'Execution' }] : []),
    { key: 'environment', label: 'Env', untrusted: true },
    { key: 'owner', label: 'Owner', untrusted: true },
    { key: 'imdsv1Calls', label: 'IMDSv1 calls', numeric: true },
    { key: 'culprit', label: 'Culprit', untrusted: true },
    { key: 'wave', label: 'Wave' },
  ];
  return cols.map((c) => ({ numeric: false, untrusted: false, ...c }));
}

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The Content-Security-Policy for a document whose only inline style and script are `css` and `js`. */
export function contentSecurityPolicy(css: string, js: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspHash(css)}`,
    `script-src ${cspHash(js)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * The appendix data for the page's script: the rows as JSON, gzip-compressed and base64-encoded (the page unpacks
 * them with the browser's DecompressionStream), so that 100,000 instances fit an attachment. The envelope is JSON
 * made safe for a script element.
 */
export function appendixData(columns: { key: string }[], rows: unknown[][], printRows: number): string {
  const packed = gzipSync(Buffer.from(JSON.stringify(rows), 'utf8'), { level: 6 }).toString('base64');
  return jsonForScript({ columns, count: rows.length, printRows, encoding: 'gzip-base64', rows: packed });
}

/** Renders the model as one self-contained HTML document. */
export function renderHtml(model: ReportModel, options: HtmlOptions = {}): string {
  const { body, css, js } = assets();
  const limit = options.inlineRows ?? 1000;
  const printRows = options.printRows ?? 5000;
  // Control and bidi characters become visible escapes in every string before any formatting.
  const m = visibleDeep(model);
  const cols = columns(m.journal !== null);
  const html = body({
    ...m,
    hasDates: m.waves.some((w) => w.start !== ''),
    scpJson: m.scp ? JSON.stringify(m.scp, null, 2) : '',
    columns: cols,
    inlineRows: m.rows.slice(0, limit),
    rowsTruncated: m.rows.length > limit,
  });
  const data = appendixData(
    cols,
    m.rows.map((r) => cols.map((c) => r[c.key])),
    printRows,
  );
  const title = Handlebars.Utils.escapeExpression(visible(`${m.title} (${m.summary.total} instances)`));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(css, js)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${css}</style>
</head>
<body>
${html}
<script type="application/json" id="instance-data">${data}</script>
<script>${js}</script>
</body>
</html>
`;
}
