import { md, mdCode } from './escape.js';
import type { ReportModel } from './model.js';

/**
 * Markdown for tickets and pull-request descriptions: the summary, blockers, launchers, waves, lock-in, rollback and
 * held instances, without the per-instance appendix (that is the CSV). Every untrusted string goes through `md()`.
 */

const pct = (n: number) => `${Math.round(n * 1000) / 10}%`;
const dt = (iso: string) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '');

function table(head: string[], rows: string[][], numeric: boolean[] = []): string[] {
  const sep = head.map((_, i) => (numeric[i] ? '---:' : '---'));
  return [`| ${head.join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`), ''];
}

const refs = (xs: { instanceId: string; name: string }[], more: number) =>
  [
    ...xs.map((x) => `${mdCode(x.instanceId)}${x.name ? ` ${md(x.name)}` : ''}`),
    ...(more > 0 ? [`and ${more} more`] : []),
  ].join(', ');

/** Renders the model as GitHub-flavoured Markdown. */
export function renderMarkdown(m: ReportModel, options: { heldLimit?: number } = {}): string {
  const heldLimit = options.heldLimit ?? 200;
  const out: string[] = [];
  out.push(`# ${md(m.title)}`, '');
  out.push(
    `- **Scope:** ${m.scope.accounts.length} account(s) (${m.scope.accounts.map(md).join(', ')}), ${m.scope.regions.length} region(s) (${m.scope.regions.map(md).join(', ')})${m.scope.organization ? ', AWS Organization' : ''}`,
    `- **Evidence:** ${m.scope.lookbackDays} days of CloudWatch MetadataNoToken; on-host probe: ${md(m.scope.probe)}`,
    `- **Assessment:** ${md(m.assessment.id)}, taken ${dt(m.assessment.createdAt)}, sha256 ${mdCode(m.assessment.sha256)}`,
    `- **Plan:** ${m.plan ? `content hash ${mdCode(m.plan.contentHash)}` : 'none given'}`,
    ...(m.journal ? [`- **Journal:** ${md(m.journal.journalId)}, started ${dt(m.journal.createdAt)}`] : []),
    `- **Generated:** ${dt(m.generatedAt)} by imdsv2-cutover ${md(m.toolVersion)}`,
    '',
  );
  if (m.warnings.length > 0) {
    out.push('> [!WARNING]', '> **Data completeness: read this first**', '>');
    for (const w of m.warnings) out.push(`> - ${md(w)}`);
    out.push('');
  }
  out.push('## Summary', '', md(m.summary.headline), '');
  out.push(
    ...table(
      ['Readiness', 'Meaning', 'Instances', 'Share'],
      m.summary.byStatus.map((s) => [`**${s.label}**`, s.meaning, String(s.count), pct(s.share)]),
      [false, false, true, true],
    ),
  );
  if (m.trend.length > 0) {
    out.push('## Progress over scheduled runs', '');
    out.push(
      ...table(
        ['Run', 'Enforced', 'Instances', 'Share', 'Complete'],
        m.trend.map((t) => [
          t.createdAt,
          String(t.enforced),
          String(t.eligible),
          t.sharePercent === null ? 'n/a' : `${t.sharePercent}%`,
          t.complete ? 'yes' : 'no',
        ]),
        [false, true, true, true, false],
      ),
    );
  }
  out.push('## By account and region', '');
  out.push(
    ...table(
      ['Account', 'Region', 'Instances', ...m.summary.byStatus.map((s) => s.label), 'Enforced'],
      m.byLocation.map((l) => [
        md(l.accountId),
        md(l.region),
        String(l.total),
        ...l.counts.map(String),
        pct(l.enforcedShare),
      ]),
      [false, false, true, ...m.summary.byStatus.map(() => true), true],
    ),
  );
  out.push('## Blockers by culprit', '');
  if (m.blockers.length === 0) out.push('No blocked instances.', '');
  else
    out.push(
      ...table(
        ['Culprit', 'Instances', 'Fix', 'Owners', 'Instances (first)'],
        m.blockers.map((b) => [
          `${b.kind}: **${md(b.culprit)}**${b.detail ? ` (${md(b.detail)})` : ''}`,
          String(b.instanceCount),
          b.remediations.map(md).join('; ') || 'none known',
          b.owners.map(md).join(', ') || 'no owner tag',
          refs(b.instances, b.more),
        ]),
        [false, true],
      ),
    );
  out.push('## Still launching IMDSv1', '');
  if (m.launchers.length === 0) out.push('No Auto Scaling group or launch template in scope launches IMDSv1.', '');
  else
    out.push(
      ...table(
        ['Kind', 'Name', 'Template / configuration', 'Account / region', 'Why', 'Note'],
        m.launchers.map((l) => [
          l.kind,
          md(l.name),
          md(l.id),
          `${md(l.accountId)} / ${md(l.region)}`,
          md(l.source),
          md(l.note),
        ]),
      ),
    );
  out.push('## Wave plan', '');
  if (!m.plan) out.push('No plan given.', '');
  else if (m.waves.length === 0) out.push('The plan has no waves.', '');
  else {
    const dated = m.waves.some((w) => w.start !== '');
    out.push(
      ...table(
        [
          'Wave',
          'Name',
          'Instances',
          'Soak',
          'Guard',
          ...(dated ? ['Starts (UTC)', 'Soak ends (UTC)'] : []),
          'Instances (first)',
        ],
        m.waves.map((w) => [
          String(w.index),
          `${md(w.name)} (${w.kind})`,
          String(w.count),
          w.soak,
          w.guard,
          ...(dated ? [w.start, w.end] : []),
          refs(w.instances, w.more),
        ]),
        [true, false, true],
      ),
    );
  }
  out.push('## Lock-in', '');
  if (m.lockIn.length === 0) out.push('No lock-in steps.', '');
  else
    out.push(
      ...table(
        ['Step', 'Account / region', 'Resource', 'What changes', 'Affects'],
        m.lockIn.map((s) => [
          `${s.kind}${s.irreversible ? ' **irreversible**' : ''}`,
          `${md(s.accountId)} / ${md(s.region)}`,
          md(s.resourceId),
          md(s.description),
          md(s.affects),
        ]),
      ),
    );
  if (m.scp) {
    // A fenced block shows its content literally; a fence longer than any backtick run inside cannot be closed early.
    const json = JSON.stringify(m.scp, null, 2).replace(
      /[\u202a-\u202e\u2066-\u2069]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16)}`,
    );
    const fence = '`'.repeat(Math.max(3, ...[...json.matchAll(/`+/g)].map((x) => x[0].length + 1)));
    out.push('Service control policy:', '', `${fence}json`, json, fence, '');
  }
  out.push('## Rollback procedure', '', 'Every change is journaled with the exact previous settings. By hand:', '');
  for (const c of m.rollback.commands)
    out.push(`- ${c.what}:`, '', '  ```sh', `  ${c.command.replace(/[\r\n`]/g, '')}`, '  ```', '');
  out.push('## Held instances', '');
  if (m.held.length === 0) out.push(m.plan ? 'No instance is held.' : 'No plan given.', '');
  else {
    out.push(
      ...table(
        ['Instance', 'Name', 'Owner', 'Readiness', 'Why held'],
        m.held.slice(0, heldLimit).map((h) => [mdCode(h.instanceId), md(h.name), md(h.owner), h.status, md(h.reasons)]),
      ),
    );
    if (m.held.length > heldLimit) out.push(`And ${m.held.length - heldLimit} more: see instances.csv.`, '');
  }
  if (m.journal) {
    out.push('## Execution so far', '');
    out.push(
      ...table(
        ['Wave', 'Outcome', 'Started', 'Ended', 'Applied', 'Verified', 'Rolled back', 'Failed', 'Unfinished', 'Guard'],
        m.journal.waves.map((w) => [
          w.wave,
          w.outcome,
          dt(w.startedAt),
          dt(w.endedAt),
          String(w.applied),
          String(w.verified),
          String(w.rolledBack),
          String(w.failed),
          String(w.pending),
          md(w.guard),
        ]),
      ),
    );
    for (const t of m.journal.failedTargets)
      out.push(`- ${mdCode(t.key)} ${t.state}${t.error ? `: ${md(t.error)}` : ''}`);
    if (m.journal.failedTargets.length > 0) out.push('');
  }
  out.push('## Approvals', '');
  out.push(
    `Approving this change approves the plan with content hash ${m.plan ? mdCode(m.plan.contentHash) : '(no plan given)'}.`,
    '',
    ...table(
      ['Role', 'Name', 'Decision', 'Date'],
      ['Change owner', 'Service owners', 'Security', 'Change advisory board'].map((r) => [r, '', '', '']),
    ),
  );
  out.push(`All ${m.rows.length} instances: see instances.csv.`, '');
  return out.join('\n');
}
