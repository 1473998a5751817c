import { Flags } from '@oclif/core';
import type { EnforceResult, PreflightSummary } from '@imdsv2-cutover/aws';
import { driftMessage } from '@imdsv2-cutover/aws';
import { CutoverError, cell, planKind, terminalSafe } from '@imdsv2-cutover/core';
import { parseWave, runEnforcement } from '@imdsv2-cutover/engine';
import { BaseCommand } from '../base-command.js';
import { awsFlags, connectionOf, roleNameFlag } from '../lib/flags.js';

export default class Enforce extends BaseCommand<typeof Enforce> {
  static override description =
    'Execute one wave of an approved plan: preflight (plan hash, assessment age, drift, DryRun permission), write-ahead journal, ModifyInstanceMetadataOptions at EC2’s rate, wait for applied, then soak watching MetadataNoTokenRejected and roll back automatically (exit 4) when IMDSv1 callers break. Re-run after a crash to resume.';

  static override examples = [
    '<%= config.bin %> enforce --plan plan.json --next --dry-run',
    '<%= config.bin %> enforce --plan plan.json --wave 0 --journal journal.jsonl',
    '<%= config.bin %> enforce --plan plan.json --next --yes --soak 2h --journal journal.jsonl',
    '<%= config.bin %> enforce --plan plan.json --wave lockin --yes --confirm-irreversible',
    '<%= config.bin %> enforce --plan plan.json --wave lockin --yes --confirm-http-tokens-enforced',
    '<%= config.bin %> enforce --plan plan.json --wave lockin --yes --prove-launch',
  ];

  static override flags = {
    ...awsFlags,
    ...roleNameFlag,
    'apply-timeout': Flags.string({
      description: 'How long to wait for EC2 to report the changes applied.',
      default: '10m',
    }),
    concurrency: Flags.integer({
      description:
        'Modify calls in flight at once (the rate is EC2’s Modify bucket: 100 burst, 5/s per account and region).',
      default: 20,
      min: 1,
    }),
    'confirm-irreversible': Flags.boolean({
      description: 'In the lock-in wave, also set the AMI IMDS-support flag, which cannot be undone.',
    }),
    'confirm-http-tokens-enforced': Flags.boolean({
      description:
        'In the lock-in wave, also enable HttpTokensEnforced where the plan asks for it (last, once every wave completed clean): EC2 then refuses every change back to tokens optional and every launch that resolves to IMDSv1.',
    }),
    'dry-run': Flags.boolean({
      description: 'Run the preflight only (DryRun permission check included); change nothing, write no journal.',
    }),
    'force-stale': Flags.boolean({ description: 'Enforce even if the plan’s assessment is older than --max-age.' }),
    'guard-interval': Flags.string({ description: 'Time between guard polls during the soak.', default: '60s' }),
    'guard-data-timeout': Flags.string({
      description:
        'How long after the soak to wait for CloudWatch data covering it (datapoints arrive minutes late); past it the wave is not verified (exit 1).',
      default: '30m',
    }),
    'guard-period': Flags.integer({
      description:
        'Metric period (seconds) of the guard’s GetMetricData: 300 (basic monitoring publishes every 5 minutes), or 60 when every instance has detailed monitoring.',
      default: 300,
      min: 60,
    }),
    journal: Flags.string({
      description: 'Journal file (JSON Lines). Default: <plan>.journal.jsonl next to the plan.',
    }),
    'lift-http-tokens-enforced': Flags.boolean({
      description:
        'Where HttpTokensEnforced is enabled, let the guard’s automatic rollback lift it first (journaled) and enable it again afterwards. Without it such a wave is refused before any change.',
    }),
    'max-age': Flags.string({ description: 'Refuse an assessment older than this.', default: '7d' }),
    'modify-bucket': Flags.string({
      description: 'Modify token bucket as burst/refill-per-second (tests and benchmarks).',
      hidden: true,
    }),
    next: Flags.boolean({
      description: 'Run the next wave that has not completed (resumes an interrupted one).',
      exclusive: ['wave'],
    }),
    'out-of-order': Flags.boolean({
      description:
        'Run --wave N although an earlier wave has not completed clean (not started, interrupted, rolled back or failed). Without it such a run is refused.',
    }),
    'on-drift': Flags.string({
      description:
        'Instances whose live settings differ from the plan: fail (refuse), skip (leave them, reported), adopt (enforce them, recording their live settings).',
      options: ['fail', 'skip', 'adopt'],
      default: 'skip',
    }),
    plan: Flags.string({ description: 'Plan file written by `imdsv2 plan`.', required: true }),
    'prove-launch': Flags.boolean({
      description:
        'With --wave lockin: afterwards launch one canary from each launch template lock-in changed, check it comes up with HttpTokens=required, and terminate it (journaled). The canary runs the template’s image and user data like any launch from it.',
    }),
    soak: Flags.string({
      description: 'Soak time after the wave is applied (default: the wave’s, from the plan), e.g. 30m, 24h.',
    }),
    wave: Flags.string({ description: 'Wave index to run, or "lockin" for the lock-in steps.', exclusive: ['next'] }),
    yes: Flags.boolean({
      char: 'y',
      description: 'Do not ask for confirmation (required when stdin is not a terminal).',
    }),
  };

  public async run(): Promise<EnforceResult> {
    const { flags } = this;
    const wave = parseWave(flags.wave, flags.next);
    const interactive = !flags.yes && !flags['dry-run'];
    if (interactive && !process.stdin.isTTY) {
      // What is wrong with the input comes first: a missing or damaged plan is named before the confirmation.
      const { readJsonDocument } = await import('@imdsv2-cutover/engine/files');
      await readJsonDocument(planKind, flags.plan);
      throw new CutoverError('BAD_USAGE', 'enforce changes AWS and needs a confirmation, but stdin is not a terminal', {
        suggestions: ['Pass --yes to confirm non-interactively (after reviewing `--dry-run`).'],
      });
    }
    // Ctrl-C once: no new change is sent, calls in flight are recorded, the wave stays resumable (exit 130). Twice:
    // exit at once; the write-ahead journal still resumes.
    const interruption = new AbortController();
    const onSigint = () => {
      if (interruption.signal.aborted) {
        this.reporter.flush();
        process.stderr.write('interrupted again: exiting now; re-run the same command to resume from the journal\n');
        process.exit(130);
      }
      interruption.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      return await this.enforce(interactive, wave, interruption.signal);
    } finally {
      process.off('SIGINT', onSigint);
    }
  }

  private async enforce(
    interactive: boolean,
    wave: ReturnType<typeof parseWave>,
    signal: AbortSignal,
  ): Promise<EnforceResult> {
    const { flags } = this;
    const result = await runEnforcement({
      connection: connectionOf(flags),
      planFile: flags.plan,
      wave,
      ...(flags.journal === undefined ? {} : { journalFile: flags.journal }),
      dryRun: flags['dry-run'],
      onDrift: flags['on-drift'] as 'fail' | 'skip' | 'adopt',
      maxAge: flags['max-age'],
      forceStale: flags['force-stale'],
      ...(flags.soak === undefined ? {} : { soak: flags.soak }),
      concurrency: flags.concurrency,
      guardInterval: flags['guard-interval'],
      guardPeriodSeconds: flags['guard-period'],
      guardDataTimeout: flags['guard-data-timeout'],
      applyTimeout: flags['apply-timeout'],
      confirmIrreversible: flags['confirm-irreversible'],
      confirmTokensEnforced: flags['confirm-http-tokens-enforced'],
      liftTokensEnforced: flags['lift-http-tokens-enforced'],
      proveLaunch: flags['prove-launch'],
      outOfOrder: flags['out-of-order'],
      signal,
      ...(flags['modify-bucket'] === undefined ? {} : { modifyBucket: flags['modify-bucket'] }),
      ...(interactive
        ? {
            confirm: (s: PreflightSummary) => this.ask(s),
            confirmLockIn: (n: number) => this.confirmLockIn(n, flags['prove-launch']),
          }
        : {}),
      reporter: this.reporter,
      toolVersion: this.config.version,
    });
    if (!this.jsonEnabled()) this.render(result);
    return result;
  }

  private async ask(s: PreflightSummary): Promise<boolean> {
    this.reporter.flush();
    // The whole preflight first (age, drift, permissions, what changes), so the answer is an informed one.
    for (const line of this.preflightLines(s)) this.logToStderr(line);
    this.preflightShown = true;
    const { default: confirm } = await import('@inquirer/confirm');
    const drift = s.drift.length > 0 ? `, ${s.drift.length} drifted (--on-drift ${s.onDrift})` : '';
    return confirm(
      {
        message: `Enforce IMDSv2 on wave ${s.wave} (${cell(s.waveName)}): change ${s.toApply} instance(s)${drift}?`,
        default: false,
      },
      { output: process.stderr },
    );
  }

  private preflightShown = false;

  /** The preflight summary as printed before the prompt (stderr) or with the result (stdout). */
  private preflightLines(p: PreflightSummary): string[] {
    const lines = [
      ...(p.resuming ? [terminalSafe(p.resuming)] : []),
      `wave ${p.wave} (${terminalSafe(p.waveName)}): ${p.instances} instances; assessment ${p.assessmentAgeDays} days old; service time ${p.serviceTime}`,
      `  to change ${p.toApply}, already done ${p.alreadyDone}, to recover ${p.toRecover}, drifted ${p.drift.length}, gone ${p.gone.length}`,
      ...p.drift.slice(0, 10).map((d) => `  drift: ${terminalSafe(driftMessage(d))}`),
      ...(p.drift.length > 10 ? [`  drift: and ${p.drift.length - 10} more (--json lists them all)`] : []),
      ...p.permissions.map(
        (perm) => `  DryRun permission ${perm.accountId} ${perm.region}: ${perm.permitted ? 'ok' : 'DENIED'}`,
      ),
      ...p.tokensEnforced.map(
        (t) => `  HttpTokensEnforced enabled in ${t}: a guard rollback lifts it first and enables it again`,
      ),
    ];
    return lines;
  }

  private async confirmLockIn(steps: number, prove: boolean): Promise<boolean> {
    const { default: confirm } = await import('@inquirer/confirm');
    const canaries = prove ? ', then launch and terminate one canary instance per changed launch template' : '';
    return confirm(
      {
        message: `Run ${steps} lock-in step(s) (launch templates, launch configurations, account defaults)${canaries}?`,
        default: false,
      },
      { output: process.stderr },
    );
  }

  private render(r: EnforceResult): void {
    // Result lines are printed whole (made terminal-safe, never cut): they are what the change record keeps.
    if (r.preflight && !this.preflightShown) for (const line of this.preflightLines(r.preflight)) this.log(line);
    for (const s of r.lockIn?.steps ?? []) {
      this.log(`  ${s.outcome.padEnd(18)} ${terminalSafe(s.message)}`);
      for (const w of s.warnings) this.log(`  ${'warning'.padEnd(18)} ${terminalSafe(w)}`);
    }
    for (const p of r.lockIn?.proofs ?? []) this.log(`  ${p.outcome.padEnd(18)} ${terminalSafe(p.message)}`);
    for (const s of r.skipped) this.log(`  skipped ${s.instanceId}: ${terminalSafe(s.reason)}`);
    for (const c of r.changedWithoutRecord) {
      this.log(`  changed without record ${c.instanceId}: recorded now; previous settings from the plan`);
    }
    this.log(terminalSafe(r.message));
  }
}
