import type { ReadinessStatus } from '@imdsv2-cutover/core';
import type { StatusCount } from './model.js';

/**
 * Inline SVG charts built in code. Only numbers and the tool's own labels go into them; every text is escaped anyway.
 * Each chart carries a text alternative (`role="img"`, `<title>`), and the same figures are in a table next to it.
 */

/** Status colours, chosen for contrast with white text labels and for telling apart in greyscale print. */
export const STATUS_COLOR: Record<ReadinessStatus, string> = {
  enforced: '#1b5e20',
  ready: '#43a047',
  blocked: '#c62828',
  unknown: '#f9a825',
  'imds-disabled': '#546e7a',
  excluded: '#9e9e9e',
};

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** A horizontal stacked bar of instance counts by readiness, with a legend under it. */
export function readinessBar(counts: readonly StatusCount[], width = 720): string {
  const total = counts.reduce((s, c) => s + c.count, 0);
  const h = 34;
  const parts = counts.filter((c) => c.count > 0);
  const alt = `Instances by readiness: ${counts.map((c) => `${c.label} ${c.count}`).join(', ')}.`;
  let x = 0;
  const rects = parts
    .map((c) => {
      const w = total === 0 ? 0 : (c.count / total) * width;
      const pct = Math.round((c.count / total) * 100);
      const label =
        w > 46 ? `<text x="${r1(x + w / 2)}" y="22" text-anchor="middle" class="bar-label">${pct}%</text>` : '';
      const out = `<rect x="${r1(x)}" y="0" width="${r1(w)}" height="${h}" fill="${STATUS_COLOR[c.status]}"><title>${esc(`${c.label}: ${c.count}`)}</title></rect>${label}`;
      x += w;
      return out;
    })
    .join('');
  let lx = 0;
  const legend = counts
    .map((c) => {
      const item = `<rect x="${lx}" y="${h + 12}" width="12" height="12" fill="${STATUS_COLOR[c.status]}"/><text x="${lx + 17}" y="${h + 22}" class="legend">${esc(`${c.label} ${c.count}`)}</text>`;
      lx += 26 + (c.label.length + String(c.count).length + 1) * 7.2;
      return item;
    })
    .join('');
  return `<svg class="chart" viewBox="0 0 ${width} ${h + 30}" width="${width}" height="${h + 30}" role="img" aria-labelledby="readiness-chart-title"><title id="readiness-chart-title">${esc(alt)}</title>${total === 0 ? '' : rects}${legend}</svg>`;
}

/** A small stacked bar for a table row (account and region). */
export function miniBar(counts: readonly number[], statuses: readonly ReadinessStatus[], width = 160): string {
  const total = counts.reduce((s, c) => s + c, 0);
  let x = 0;
  const rects = counts
    .map((n, i) => {
      if (n === 0 || total === 0) return '';
      const w = (n / total) * width;
      const out = `<rect x="${r1(x)}" y="0" width="${r1(w)}" height="12" fill="${STATUS_COLOR[statuses[i]!]}"/>`;
      x += w;
      return out;
    })
    .join('');
  return `<svg class="mini" viewBox="0 0 ${width} 12" width="${width}" height="12" aria-hidden="true">${rects}</svg>`;
}

/** A sparkline of daily IMDSv1 calls (oldest first), with the total and the last day in its text alternative. */
export function sparkline(daily: readonly { date: string; sum: number }[], width = 180, height = 28): string {
  const first = daily[0]?.date ?? '';
  const last = daily.at(-1)?.date ?? '';
  const total = daily.reduce((s, d) => s + d.sum, 0);
  const alt = `IMDSv1 calls per day from ${first} to ${last}: total ${total}, peak ${Math.max(0, ...daily.map((d) => d.sum))}.`;
  if (daily.length === 0) {
    return `<svg class="spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"><title>${esc('No daily data.')}</title></svg>`;
  }
  const max = Math.max(1, ...daily.map((d) => d.sum));
  const step = daily.length > 1 ? (width - 4) / (daily.length - 1) : 0;
  const pts = daily.map((d, i) => `${r1(2 + i * step)},${r1(height - 2 - (d.sum / max) * (height - 4))}`);
  const area = `2,${height - 2} ${pts.join(' ')} ${r1(2 + (daily.length - 1) * step)},${height - 2}`;
  const lastPt = pts.at(-1)!.split(',');
  return `<svg class="spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"><title>${esc(alt)}</title><polygon points="${area}" fill="#ffcdd2"/><polyline points="${pts.join(' ')}" fill="none" stroke="#c62828" stroke-width="1.5"/><circle cx="${lastPt[0]}" cy="${lastPt[1]}" r="2" fill="#c62828"/></svg>`;
}

/**
 * The enforced share over scheduled runs as a line from 0 to 100 %, one point per run (oldest first). Runs whose
 * assessment was incomplete are drawn hollow: their share may be off.
 */
export function trendChart(
  points: readonly { createdAt: string; sharePercent: number | null; complete: boolean }[],
  width = 720,
  height = 160,
): string {
  const known = points.filter((p) => p.sharePercent !== null);
  const first = known[0];
  const last = known.at(-1);
  const alt =
    first && last
      ? `Enforced share from ${first.createdAt.slice(0, 10)} (${first.sharePercent}%) to ${last.createdAt.slice(0, 10)} (${last.sharePercent}%), ${known.length} runs.`
      : 'No enforced-share history.';
  const pad = { l: 40, r: 10, t: 10, b: 24 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const t0 = first ? Date.parse(first.createdAt) : 0;
  const span = last && first ? Math.max(1, Date.parse(last.createdAt) - t0) : 1;
  const x = (iso: string) => r1(pad.l + ((Date.parse(iso) - t0) / span) * w);
  const y = (pctValue: number) => r1(pad.t + h - (pctValue / 100) * h);
  const grid = [0, 25, 50, 75, 100]
    .map(
      (g) =>
        `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(g)}" y2="${y(g)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${y(g) + 4}" text-anchor="end" class="axis">${g}%</text>`,
    )
    .join('');
  const line = known.map((p) => `${x(p.createdAt)},${y(p.sharePercent!)}`).join(' ');
  const dots = known
    .map(
      (p) =>
        `<circle cx="${x(p.createdAt)}" cy="${y(p.sharePercent!)}" r="3" fill="${p.complete ? '#1b5e20' : '#fff'}" stroke="#1b5e20"><title>${esc(`${p.createdAt.slice(0, 10)}: ${p.sharePercent}%${p.complete ? '' : ' (incomplete run)'}`)}</title></circle>`,
    )
    .join('');
  const labels =
    first && last
      ? `<text x="${pad.l}" y="${height - 6}" class="axis">${esc(first.createdAt.slice(0, 10))}</text><text x="${width - pad.r}" y="${height - 6}" text-anchor="end" class="axis">${esc(last.createdAt.slice(0, 10))}</text>`
      : '';
  return `<svg class="trend" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"><title>${esc(alt)}</title>${grid}<polyline points="${line}" fill="none" stroke="#1b5e20" stroke-width="2"/>${dots}${labels}</svg>`;
}
