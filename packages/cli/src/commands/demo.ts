import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Flags } from '@oclif/core';
import { cell, terminalSafe } from '@imdsv2-cutover/core';
import ansis from 'ansis';
import { BaseCommand } from '../base-command.js';
import type { DemoResult, DemoStage } from '@imdsv2-cutover/engine';

export default class Demo extends BaseCommand<typeof Demo> {
  static override description =
    'Run the whole flow on a bundled simulated fleet, no AWS account needed.\n\n' +
    'Starts the fleet simulator in-process (500 instances, 2 accounts, 3 regions), assesses it, plans the rollout, writes the report, then enforces the canary wave with the simulated clock accelerated so its 24-hour soak passes in seconds. One canary hides an IMDSv1 caller the metrics window missed: the guard catches its rejected calls and rolls it back, and the report shows it. The demo exits 0 when it has shown this (a real `imdsv2 enforce` would exit 4).';

  static override examples = [
    '<%= config.bin %> demo',
    '<%= config.bin %> demo --out /tmp/imdsv2-demo --stop-after report',
    '<%= config.bin %> demo --clock-speed 3600 --json',
  ];

  static override flags = {
    'clock-speed': Flags.integer({
      description: 'Simulated seconds per real second during the canary soak (7200: a 24-hour soak in 12 s).',
      default: 7200,
      min: 600,
      max: 86_400,
    }),
    out: Flags.directory({
      description: 'Directory for the assessment, plan, journal and report.',
      default: './imdsv2-demo',
    }),
    'stop-after': Flags.string({
      description: 'Stop after this step (no enforcement).',
      options: ['assess', 'plan', 'report'],
    }),
  };

  public async run(): Promise<DemoResult> {
    const { flags } = this;
    const { runDemo } = await import('@imdsv2-cutover/engine/demo');
    const result = await runDemo({
      outDir: flags.out,
      clockSpeed: flags['clock-speed'],
      ...(flags['stop-after'] ? { stopAfter: flags['stop-after'] as DemoStage } : {}),
      reporter: this.reporter,
      toolVersion: this.config.version,
    });
    this.reporter.flush();
    if (!this.jsonEnabled()) this.render(result);
    return result;
  }

  private render(r: DemoResult): void {
    const t = r.fleet;
    this.log('');
    this.log(
      ansis.bold(
        `Simulated fleet "${r.scenario}": ${t.instances} instances in ${r.accounts} accounts, ${r.regions} regions`,
      ),
    );
    this.log(
      `  assessed: ${t.enforced} enforced, ${t.ready} ready, ${t.blocked} blocked, ${t.unknown} unknown, ${t['imds-disabled']} IMDS disabled`,
    );
    if (r.topBlockers.length > 0) {
      this.log('  top blockers (what makes the IMDSv1 calls):');
      for (const b of r.topBlockers) {
        const owners = b.owners.length > 0 ? ` (owners: ${b.owners.map((o) => cell(o, 30)).join(', ')})` : '';
        const what = b.identified ? cell(b.culprit, 60) : `${cell(b.culprit)} (${cell(b.detail, 60)})`;
        this.log(`    ${String(b.instances).padStart(4)}  ${what}${owners}`);
      }
    }
    if (r.plan) {
      const canary = r.plan.waves[0];
      this.log(
        `  planned: ${r.plan.instancesInWaves} instances in ${r.plan.waves.length} waves` +
          (canary ? ` (canary: ${canary.instances} instances, one per group)` : '') +
          `; ${r.plan.held.total} held back with reasons`,
      );
    }
    const e = r.enforcement;
    if (e) {
      this.log(
        ansis.bold(
          `Canary wave ${e.wave} (${cell(e.waveName)}): HttpTokens=required, soak on the simulated clock at ${r.clockSpeed}x`,
        ),
      );
      if (e.outcome === 'rolled-back') {
        for (const c of e.caught)
          this.log(
            ansis.yellow(
              `  GUARD: ${c.instanceId} made ${c.calls} rejected IMDSv1 call(s) during the soak: a caller the metrics window missed`,
            ),
          );
        this.log(
          ansis.green(`  ROLLED BACK: ${e.rolledBack.join(', ')} (restored from the journal's recorded settings)`),
        );
        this.log(`  kept IMDSv2: ${e.kept.length} other canary instance(s)`);
        this.log(
          '  A real `imdsv2 enforce` exits 4 here and stops the rollout; the demo exits 0 because showing this catch is its point.',
        );
      } else {
        this.log(`  ${terminalSafe(e.message)}`);
      }
    }
    this.log('Files:');
    const files: [string, string | undefined][] = [
      ['assessment', r.files.assessment],
      ['policy', r.files.policy],
      ['plan', r.files.plan],
      ['journal', r.files.journal],
      ['report', r.files.report.html],
      ['markdown', r.files.report.md],
      ['csv', r.files.report.csv],
    ];
    for (const [what, file] of files) if (file) this.log(`  ${what.padEnd(10)} ${file}`);
    if (r.files.report.html) this.log(`Open the report: ${pathToFileURL(path.resolve(r.files.report.html)).href}`);
    this.log(`Done in ${r.seconds} s${r.stoppedAfter === 'enforce' ? '' : ` (stopped after ${r.stoppedAfter})`}.`);
    this.log(`Next: ${r.next}`);
  }
}
