import { cell, describeInstance, describeRegression } from '@imdsv2-cutover/core';
import type { DiffResult } from '@imdsv2-cutover/engine';

const LINE = 160;

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${x.toFixed(2)}%`;
}

function signed(x: number, unit = ''): string {
  return `${x > 0 ? '+' : ''}${x}${unit}`;
}

function section<T>(lines: string[], title: string, items: readonly T[], top: number, line: (x: T) => string): void {
  if (items.length === 0) return;
  lines.push(`${title}: ${items.length}`);
  for (const x of items.slice(0, top)) lines.push(`  ${cell(line(x), LINE)}`);
  if (items.length > top) lines.push(`  ... and ${items.length - top} more (--json for all)`);
}

/**
 * The human summary: counts, the first `top` entries of each category, then one `Gate failed:` line per failed
 * gate. Every string from AWS or a host passes through `cell()`.
 */
export function renderDiff(result: DiffResult, top = 5): string[] {
  const { diff: d, gates } = result;
  const lines: string[] = [];
  lines.push(
    `Compared ${cell(d.old.id)} (${d.old.createdAt}, ${d.old.instances} instances) with ${cell(d.new.id)} (${d.new.createdAt}, ${d.new.instances} instances)`,
  );
  for (const w of d.warnings) lines.push(`Warning: ${cell(w, LINE)}`);
  const s = d.enforcedShare;
  lines.push(
    `Enforced share: ${pct(s.before)} -> ${pct(s.after)}${s.deltaPoints === null ? '' : ` (${signed(s.deltaPoints)} points)`}`,
  );
  lines.push(`Blocked: ${d.blocked.before} -> ${d.blocked.after} (${signed(d.blocked.delta)})`);
  const change = (c: { from: string | null; to: string } & Parameters<typeof describeInstance>[0]) =>
    `${describeInstance(c)}: ${c.from ?? 'new'} -> ${c.to}`;
  section(lines, 'Newly enforced', d.newlyEnforced, top, change);
  section(lines, 'Newly ready', d.newlyReady, top, change);
  section(lines, 'Newly blocked', d.newlyBlocked, top, change);
  section(
    lines,
    'New IMDSv1 callers',
    d.newV1Callers,
    top,
    (c) => `${describeInstance(c)}: ${c.comm}${c.argv === undefined ? '' : ` (${c.argv})`}`,
  );
  section(
    lines,
    'IMDSv1 calls started',
    d.callsStarted,
    top,
    (c) => `${describeInstance(c)}: ${c.before ?? 'unknown/none'} -> ${c.after}`,
  );
  section(lines, 'Regressions', d.regressions, top, describeRegression);
  section(lines, 'New instances', d.added, top, describeInstance);
  section(lines, 'Gone (terminated or out of scope, not a regression)', d.removed, top, describeInstance);
  if (!d.new.complete) {
    section(
      lines,
      'INCOMPLETE: failed accounts or regions in the new assessment',
      d.incomplete,
      top,
      (p) =>
        `${p.accountId}${p.region === undefined ? '' : `/${p.region}`} ${p.status}${p.error ? `: ${p.error.code} ${p.error.message}` : ''}`,
    );
  }
  if (gates.checked.length > 0 && gates.failed.length === 0) lines.push(`Gates passed: ${gates.checked.join(', ')}`);
  for (const f of gates.failed) {
    lines.push(`Gate failed: ${f.gate}: ${f.reasons.map((r) => cell(r, LINE)).join('; ')}`);
  }
  return lines;
}
