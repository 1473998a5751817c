import { jira, jiraCode, jiraRich, md, mdCode, mdRich, visible } from './escape.js';
import type { ReportModel } from './model.js';

/**
 * The report as text for tickets and pull-request descriptions, in two flavours from one outline: GitHub-flavoured
 * Markdown (`report.md`) and Jira wiki markup (`report-jira.txt`). Same sections as the HTML in the same order, without
 * the per-instance appendix (that is the CSV). Every string goes through the flavour's escaper, which escapes only what
 * would be markup where it stands, so the text pastes cleanly and no value can become HTML, a link or an image.
 */

export type TextFlavour = 'github' | 'jira';

/** How one flavour writes each element; every `text` argument is raw (the flavour escapes it). */
interface Writer {
  heading(level: 1 | 2 | 3, text: string): string[];
  /** A paragraph of plain text (escaped), or of already-written inline pieces when `raw`. */
  para(text: string, raw?: boolean): string[];
  text(text: string): string;
  /** Text whose backtick pairs mark code. */
  rich(text: string): string;
  code(text: string): string;
  strong(written: string): string;
  /** A table: header labels and cells already written inline. */
  table(head: string[], rows: string[][], numeric?: boolean[]): string[];
  bullets(items: string[]): string[];
  codeBlock(lang: string, text: string): string[];
  warning(title: string, items: string[]): string[];
}

const github: Writer = {
  heading: (level, text) => [`${'#'.repeat(level)} ${md(text)}`, ''],
  para: (text, raw) => [raw ? text : md(text, { start: true }), ''],
  text: (t) => md(t),
  rich: (t) => mdRich(t),
  code: (t) => mdCode(t),
  strong: (w) => (w === '' ? '' : `**${w}**`),
  table: (head, rows, numeric = []) => [
    `| ${head.map((h) => md(h)).join(' | ')} |`,
    `| ${head.map((_, i) => (numeric[i] ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ],
  bullets: (items) => [...items.map((i) => `- ${i}`), ''],
  codeBlock: (lang, text) => {
    // A fence longer than any backtick run inside cannot be closed early.
    const fence = '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((x) => x[0].length + 1)));
    return [`${fence}${lang}`, text, fence, ''];
  },
  warning: (title, items) => ['> [!WARNING]', `> **${md(title)}**`, '>', ...items.map((i) => `> - ${i}`), ''],
};

const jiraWriter: Writer = {
  heading: (level, text) => [`h${level}. ${jira(text)}`, ''],
  para: (text, raw) => [raw ? text : jira(text), ''],
  text: (t) => jira(t),
  rich: (t) => jiraRich(t),
  code: (t) => jiraCode(t),
  strong: (w) => (w === '' ? '' : `*${w}*`),
  // Jira reads `||` as a header cell: an empty cell must hold a space.
  table: (head, rows) => [
    `||${head.map((h) => jira(h)).join('||')}||`,
    ...rows.map((r) => `|${r.map((c) => (c === '' ? ' ' : c)).join('|')}|`),
    '',
  ],
  bullets: (items) => [...items.map((i) => `* ${i}`), ''],
  // {noformat} shows its content literally; only its own closing tag could end it early.
  codeBlock: (_lang, text) => ['{noformat}', text.replace(/\{noformat\}/gi, '{ noformat}'), '{noformat}', ''],
  warning: (title, items) => [`{warning:title=${jira(title)}}`, ...items.map((i) => `* ${i}`), '{warning}', ''],
};

const pct = (n: number) => `${Math.round(n * 1000) / 10}%`;
const dt = (iso: string) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '');

/** Renders the model as GitHub-flavoured Markdown (default) or Jira wiki markup. */
export function renderMarkdown(
  m: ReportModel,
  options: { flavour?: TextFlavour; heldLimit?: number; listLimit?: number } = {},
): string {
  const w = options.flavour === 'jira' ? jiraWriter : github;
  const heldLimit = options.heldLimit ?? 20;
  const listLimit = options.listLimit ?? 6;
  const refs = (xs: { instanceId: string; name: string }[], more: number) =>
    [
      ...xs.slice(0, listLimit).map((x) => `${w.code(x.instanceId)}${x.name ? ` ${w.text(x.name)}` : ''}`),
      ...(more + Math.max(0, xs.length - listLimit) > 0
        ? [`and ${more + Math.max(0, xs.length - listLimit)} more`]
        : []),
    ].join(', ');
  const out: string[] = [];
  const o = m.overview;

  out.push(...w.heading(1, m.title));
  if (m.source.simulated) out.push(...w.para(w.strong(w.rich(m.source.label)), true));
  out.push(
    ...w.bullets([
      `${w.strong('Scope:')} ${m.scope.accounts.length} account(s) (${m.scope.accounts.map((x) => w.text(x)).join(', ')}), ${m.scope.regions.length} region(s) (${m.scope.regions.map((x) => w.text(x)).join(', ')})${m.scope.organization ? ', AWS Organization' : ''}`,
      `${w.strong('Evidence:')} ${m.scope.lookbackDays} days of CloudWatch MetadataNoToken; on-host probe: ${w.text(m.scope.probe)}`,
      `${w.strong('Assessment taken:')} ${dt(m.assessment.createdAt)}${m.source.simulated ? ' (simulated clock)' : ''}, id ${w.code(m.assessment.id)}, sha256 ${w.code(m.assessment.sha256)}`,
      `${w.strong('Plan:')} ${m.plan ? `content hash ${w.code(m.plan.contentHash)}` : 'none given'}`,
      ...(m.journal
        ? [`${w.strong('Journal:')} ${w.code(m.journal.journalId)}, started ${dt(m.journal.createdAt)}`]
        : []),
      `${w.strong('Report generated:')} ${dt(m.generatedAt)} by imdsv2-cutover ${w.text(m.toolVersion)}`,
    ]),
  );

  // The first screen, in the order a change board asks.
  out.push(...w.heading(2, 'What this change does'), ...w.para(o.change));
  if (o.changeFacts.length > 0)
    out.push(...w.bullets(o.changeFacts.map((f) => `${w.strong(w.text(`${f.label}:`))} ${w.text(f.text)}`)));
  out.push(...w.heading(2, 'What already happened'), ...w.para(o.happened));
  if (o.happenedItems.length > 0) out.push(...w.bullets(o.happenedItems.map((t) => w.rich(t))));
  out.push(...w.heading(2, 'What is risky'));
  if (o.risks.length === 0) out.push(...w.para('Nothing blocked, unknown or irreversible.'));
  else
    out.push(
      ...w.bullets(
        o.risks.map(
          (r) =>
            `${w.text(r.text)}${r.owners.length > 0 ? ` Owners: ${r.owners.map((x) => w.text(x)).join(', ')}.` : ''}`,
        ),
      ),
    );
  if (m.warnings.length > 0)
    out.push(
      ...w.warning(
        'Data completeness, read this first',
        m.warnings.map((x) => w.text(x)),
      ),
    );
  out.push(...w.heading(2, 'How to roll back'), ...w.para(`${o.rollback.what}:`));
  out.push(...w.codeBlock('sh', visible(o.rollback.command)));

  if (m.journal) {
    out.push(...w.heading(2, 'Execution so far'));
    if (m.journal.waves.length === 0) out.push(...w.para('The journal records no wave started yet.'));
    else
      out.push(
        ...w.table(
          ['Wave', 'Outcome', 'Now', 'Started', 'Ended', 'Guard'],
          m.journal.waves.map((x) => [
            w.text(`${x.wave}${x.name ? ` ${x.name}` : ''}`),
            w.strong(w.text(x.outcome)),
            w.text(x.now),
            dt(x.startedAt),
            dt(x.endedAt),
            w.text(x.guard),
          ]),
        ),
      );
    const changed = m.journal.waves.flatMap((x) => x.exceptions.filter((e) => e.outcome.kind !== 'pending'));
    if (changed.length > 0) {
      out.push(...w.heading(3, 'Instances execution did not leave on IMDSv2'));
      out.push(
        ...w.table(
          ['Instance', 'Owner', 'Readiness (assessed)', 'Execution', 'What happened'],
          changed.map((e) => [
            `${w.code(e.instanceId)}${e.name ? ` ${w.text(e.name)}` : ''}`,
            w.text(e.owner),
            w.text(e.readiness),
            w.strong(w.text(e.outcome.label)),
            w.rich(e.outcome.detail),
          ]),
        ),
      );
    }
    if (m.journal.failedTargets.length > 0)
      out.push(
        ...w.bullets(
          m.journal.failedTargets.map(
            (t) => `${w.code(t.key)} ${w.text(t.state)}${t.error ? `: ${w.text(t.error)}` : ''}`,
          ),
        ),
      );
  }

  out.push(...w.heading(2, 'Readiness'), ...w.para(m.summary.headline));
  out.push(
    ...w.table(
      ['Readiness', 'Meaning', 'Instances', 'Share'],
      m.summary.byStatus.map((s) => [w.strong(w.text(s.label)), w.text(s.meaning), String(s.count), pct(s.share)]),
      [false, false, true, true],
    ),
  );
  if (m.trend.length > 0) {
    out.push(...w.heading(2, 'Progress over scheduled runs'));
    out.push(
      ...w.table(
        ['Run', 'Enforced', 'Instances', 'Share', 'Complete'],
        m.trend.map((t) => [
          dt(t.createdAt),
          String(t.enforced),
          String(t.eligible),
          t.sharePercent === null ? 'n/a' : `${t.sharePercent}%`,
          t.complete ? 'yes' : 'no',
        ]),
        [false, true, true, true, false],
      ),
    );
  }

  out.push(...w.heading(2, 'Wave plan'));
  if (!m.plan) out.push(...w.para('No plan given.'));
  else if (m.waves.length === 0) out.push(...w.para('The plan has no waves: no instance is ready.'));
  else {
    const dated = m.waves.some((x) => x.start !== '');
    out.push(
      ...w.table(
        [
          'Wave',
          'Name',
          'Instances',
          'Soak',
          'Guard',
          ...(dated ? ['Starts (UTC)', 'Soak ends (UTC)'] : []),
          'Instances (first)',
        ],
        m.waves.map((x) => [
          String(x.index),
          `${w.text(x.name)} (${w.text(x.kind)})`,
          String(x.count),
          w.text(x.soak),
          w.text(x.guard),
          ...(dated ? [x.start, x.end] : []),
          refs(x.instances, x.more),
        ]),
        [true, false, true],
      ),
    );
  }

  out.push(...w.heading(2, 'Blockers by culprit'));
  if (m.blockers.length === 0) out.push(...w.para('No blocked instances.'));
  else
    out.push(
      ...w.table(
        ['Culprit', 'Instances', 'Fix', 'Owners', 'Instances (first)'],
        m.blockers.map((b) => [
          `${w.text(b.kind)}: ${w.strong(w.text(b.culprit))}${b.detail ? ` (${w.text(b.detail)})` : ''}`,
          String(b.instanceCount),
          b.remediations.map((r) => w.rich(r)).join('; ') || 'none known',
          b.owners.map((x) => w.text(x)).join(', ') || 'no owner tag',
          refs(b.instances, b.more),
        ]),
        [false, true],
      ),
    );

  out.push(...w.heading(2, 'By account and region'));
  out.push(
    ...w.table(
      ['Account', 'Region', 'Instances', ...m.summary.byStatus.map((s) => s.label), 'Enforced share'],
      m.byLocation.map((l) => [
        w.text(l.accountId),
        w.text(l.region),
        String(l.total),
        ...l.counts.map(String),
        pct(l.enforcedShare),
      ]),
      [false, false, true, ...m.summary.byStatus.map(() => true), true],
    ),
  );

  out.push(...w.heading(2, 'Still launching IMDSv1'));
  if (m.launchers.length === 0)
    out.push(...w.para('No Auto Scaling group or launch template in scope launches IMDSv1.'));
  else
    out.push(
      ...w.table(
        ['Kind', 'Name', 'Template / configuration', 'Account / region', 'Why', 'Note'],
        m.launchers.map((l) => [
          w.text(l.kind),
          w.text(l.name),
          w.text(l.id),
          `${w.text(l.accountId)} / ${w.text(l.region)}`,
          w.text(l.source),
          w.text(l.note),
        ]),
      ),
    );

  out.push(...w.heading(2, 'Lock-in'));
  if (m.lockIn.length === 0) out.push(...w.para('No lock-in steps.'));
  else
    out.push(
      ...w.table(
        ['Step', 'Account / region', 'Resource', 'What changes', 'Affects'],
        m.lockIn.map((s) => [
          `${w.text(s.kind)}${s.irreversible ? ` ${w.strong('irreversible')}` : ''}`,
          `${w.text(s.accountId)} / ${w.text(s.region)}`,
          w.text(s.resourceId),
          [s.description, ...s.notes].map((t) => w.rich(t)).join('; '),
          w.text(s.affects),
        ]),
      ),
    );
  if (m.manualLockIn.length > 0)
    out.push(
      ...w.heading(3, 'Lock-in to do by hand'),
      ...w.table(
        ['What', 'Account / region', 'Resource', 'Owner', 'Why, and what to do'],
        m.manualLockIn.map((x) => [
          w.text(x.kind),
          `${w.text(x.accountId)} / ${w.text(x.region)}`,
          w.text(x.resourceId),
          w.text(x.owner),
          w.rich(x.reason),
        ]),
      ),
    );
  if (m.scp) {
    const json = JSON.stringify(m.scp, null, 2).split('\n').map(visible).join('\n');
    out.push(...w.para('Service control policy:'), ...w.codeBlock('json', json));
  }

  out.push(...w.heading(2, 'Rollback procedure'));
  out.push(...w.para('Every change is journaled with the exact previous settings. By hand:'));
  for (const c of m.rollback.commands) out.push(...w.para(`${c.what}:`), ...w.codeBlock('sh', visible(c.command)));
  if (m.rollback.notes.length > 0) out.push(...w.bullets(m.rollback.notes.map((n) => w.rich(n))));

  out.push(...w.heading(2, 'Held instances'));
  if (m.heldCount === 0) out.push(...w.para(m.plan ? 'No instance is held.' : 'No plan given.'));
  else {
    out.push(
      ...w.para(
        `${m.heldCount} instance(s) stay out of every wave until their reason is fixed, grouped by reason. Every held instance is in instances.csv (wave "held").`,
      ),
    );
    out.push(
      ...w.table(
        ['Reason', 'Instances', 'Owners', 'Fix', 'Instances (first)'],
        m.held.map((g) => [
          w.strong(w.text(g.title)),
          String(g.count),
          g.owners.map((x) => `${x.owner ? w.text(x.owner) : 'no owner tag'} (${x.count})`).join(', '),
          g.fixes.map((f) => w.rich(f)).join('; ') || 'see the reasons',
          refs(g.instances.slice(0, heldLimit), g.more + Math.max(0, g.instances.length - heldLimit)),
        ]),
        [false, true],
      ),
    );
  }
  const nn = m.notNeeded;
  if (nn.enforced + nn.imdsDisabled > 0)
    out.push(
      ...w.para(
        `Not in any wave and not held, because there is nothing to do: ${nn.enforced} already enforced${nn.imdsDisabled > 0 ? `, ${nn.imdsDisabled} with the metadata endpoint off` : ''}.`,
      ),
    );

  out.push(...w.heading(2, 'Approvals'));
  out.push(
    ...w.para(
      `Approving this change approves the plan with content hash ${m.plan ? w.code(m.plan.contentHash) : '(no plan given)'}.`,
      true,
    ),
    ...w.table(
      ['Role', 'Name', 'Decision', 'Date'],
      ['Change owner', 'Service owners', 'Security', 'Change advisory board'].map((r) => [r, '', '', '']),
    ),
  );
  out.push(...w.para(`All ${m.rows.length} instances: see instances.csv.`));
  return out.join('\n');
}
