import type { AssessResult } from '@imdsv2-cutover/engine';
import type { AssessmentSummary } from '@imdsv2-cutover/core';
import { GATES, cell } from '@imdsv2-cutover/core';
import { Flags } from '@oclif/core';
import ansis from 'ansis';
import Table from 'cli-table3';
import { BaseCommand } from '../base-command.js';
import { renderDiff } from '../lib/diff-render.js';
import { awsFlags, connectionOf, splitList } from '../lib/flags.js';

export default class Assess extends BaseCommand<typeof Assess> {
  static override description =
    'Discover the fleet, measure IMDSv1 calls (CloudWatch MetadataNoToken) and classify every instance: writes assessment.json and prints a summary per account and region.';

  static override examples = [
    '<%= config.bin %> assess --regions us-east-1,eu-west-1',
    '<%= config.bin %> assess --all-regions --lookback 30d --out ./cutover',
    '<%= config.bin %> assess --org --role-name OrganizationAccountAccessRole --all-regions --exclude-accounts 123456789012',
    '<%= config.bin %> assess --accounts 111111111111,222222222222 --role-name ImdsAudit --regions us-east-1 --strict',
    '<%= config.bin %> assess --endpoint-url http://127.0.0.1:4566 --all-regions --json',
    '<%= config.bin %> assess --regions us-east-1 --probe suspects --probe-window 2m --probe-output-s3 s3://my-ssm-output/imdsv2',
    '<%= config.bin %> assess --regions us-east-1 --probe i-0123456789abcdef0,i-0fedcba9876543210',
    '<%= config.bin %> assess --org --role-name ImdsAudit --all-regions --shard 10 --out /data/shard-$JOB_COMPLETION_INDEX',
  ];

  static override flags = {
    ...awsFlags,
    accounts: Flags.string({ description: 'Assess these accounts (comma-separated ids), through --role-name.' }),
    compare: Flags.string({
      description:
        'An earlier assessment to compare with (as `imdsv2 diff`); a missing file is the first run of a schedule: a warning, no comparison.',
      helpGroup: 'SCHEDULE',
    }),
    'fail-on': Flags.string({
      description: `With --compare: exit 3 when a gate fails (${GATES.join(', ')}).`,
      helpValue: 'LIST',
      helpGroup: 'SCHEDULE',
    }),
    'history-dir': Flags.directory({
      description: 'Keep a dated copy of every run here; the report then shows the enforced share over time.',
      helpGroup: 'SCHEDULE',
    }),
    'all-regions': Flags.boolean({
      description: 'Assess every region enabled in each account (DescribeRegions).',
      exclusive: ['regions'],
    }),
    'account-concurrency': Flags.integer({
      description:
        'AWS calls in flight per account, all its regions together (keeps each account within its API rate).',
      default: 8,
      min: 1,
      max: 64,
    }),
    concurrency: Flags.integer({
      description:
        'AWS calls in flight per service (EC2, CloudWatch, Auto Scaling, STS) across all accounts and regions.',
      default: 32,
      min: 1,
      max: 256,
    }),
    'exclude-accounts': Flags.string({ description: 'Leave these accounts out (comma-separated ids).' }),
    lookback: Flags.string({ description: 'How far back to look for IMDSv1 calls (e.g. 14d, 36h).', default: '14d' }),
    'min-observation': Flags.string({
      description:
        'How much time the metric data must cover, with zero IMDSv1 calls, before an instance counts as ready (e.g. 7d, 36h).',
      default: '7d',
    }),
    org: Flags.boolean({
      description: 'Assess every active account of the AWS Organization, through --role-name.',
      exclusive: ['accounts'],
    }),
    out: Flags.directory({ description: 'Directory to write assessment.json into.', default: '.' }),
    probe: Flags.string({
      description:
        'Instances to probe on the host through SSM Run Command: suspects (IMDSv1 calls seen or evidence unknown), all, none, or instance ids separated by commas.',
      default: 'suspects',
    }),
    'probe-concurrency': Flags.string({
      description: 'SendCommand MaxConcurrency: hosts of a 50-instance batch running the probe at once (number or %).',
      default: '50',
    }),
    'probe-max-errors': Flags.string({
      description: 'SendCommand MaxErrors: failed hosts after which the rest of a batch is not probed (number or %).',
      default: '100%',
    }),
    'probe-output-s3': Flags.string({
      description: 'Have SSM write the full probe output to s3://bucket/prefix and read it from there (no truncation).',
    }),
    'probe-window': Flags.string({
      description: 'How long each host traces IMDS calls, 1s to 15m (the command may run up to this plus 180 s).',
      default: '60s',
    }),
    regions: Flags.string({ description: 'Regions to assess (comma-separated). Default: --region.' }),
    report: Flags.boolean({ description: 'Also write the HTML/Markdown/CSV report.', allowNo: true, default: true }),
    'role-name': Flags.string({ description: 'Role to assume in each account of --accounts or --org.' }),
    shard: Flags.string({
      description:
        'Assess only shard K of N (K/N, counted from 0): the accounts whose id modulo N is K. With N alone, K comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job). Merge the shards with imdsv2 merge.',
      helpGroup: 'SCHEDULE',
      helpValue: 'K/N',
    }),
    strict: Flags.boolean({ description: 'Exit 1 when any account or region could not be assessed.' }),
  };

  public async run(): Promise<AssessResult> {
    const f = this.flags;
    const { runAssessment } = await import('@imdsv2-cutover/engine/assess');
    const outcome = await runAssessment({
      connection: { ...connectionOf(f), concurrency: f.concurrency * 4 },
      ...(f.regions === undefined ? {} : { regions: splitList(f.regions)! }),
      allRegions: f['all-regions'],
      ...(f.accounts === undefined ? {} : { accounts: splitList(f.accounts)! }),
      organization: f.org,
      ...(f['exclude-accounts'] === undefined ? {} : { excludeAccounts: splitList(f['exclude-accounts'])! }),
      lookback: f.lookback,
      minObservation: f['min-observation'],
      concurrency: f.concurrency,
      accountConcurrency: f['account-concurrency'],
      ...(f.shard === undefined ? {} : { shard: f.shard }),
      probe: f.probe,
      probeConcurrency: f['probe-concurrency'],
      probeMaxErrors: f['probe-max-errors'],
      probeWindow: f['probe-window'],
      ...(f['probe-output-s3'] === undefined ? {} : { probeOutputS3: f['probe-output-s3'] }),
      outDir: f.out,
      report: f.report,
      ...(f['history-dir'] === undefined ? {} : { historyDir: f['history-dir'] }),
      ...(f.compare === undefined ? {} : { compare: f.compare }),
      ...(f['fail-on'] === undefined ? {} : { failOn: f['fail-on'] }),
      strict: f.strict,
      reporter: this.reporter,
      toolVersion: this.config.version,
    });
    const r = outcome.result;
    if (!this.jsonEnabled()) {
      this.render(r.summary, r.assessmentPath, r.reportFiles.html);
      if (r.comparison && r.compared) for (const line of renderDiff(r.comparison)) this.log(line);
    }
    return this.finish(outcome);
  }

  private render(s: AssessmentSummary, file: string, reportHtml: string | undefined): void {
    const head = ['account', 'region', 'status', 'instances', 'enforced', 'ready', 'blocked', 'unknown', 'disabled'];
    const table = new Table({ head, style: { head: [], border: [] } });
    for (const r of s.scopes) {
      table.push([
        r.accountId,
        r.region,
        r.status === 'ok' ? 'ok' : ansis.red(r.status),
        r.instances,
        r.enforced,
        r.ready,
        r.blocked,
        r.unknown,
        r['imds-disabled'],
      ]);
    }
    const t = s.totals;
    table.push(['total', '', '', t.instances, t.enforced, t.ready, t.blocked, t.unknown, t['imds-disabled']]);
    this.log(table.toString());
    const l = s.launchingImdsV1;
    if (l.autoScalingGroups + l.launchTemplates > 0) {
      this.log(
        ansis.yellow(
          `${l.autoScalingGroups} Auto Scaling group(s) and ${l.launchTemplates} launch template(s) still launch IMDSv1 instances.`,
        ),
      );
    }
    if (!s.complete) {
      this.log(ansis.bold.red(`INCOMPLETE ASSESSMENT: ${failureText(s)}. Counts above miss what could not be read:`));
      for (const a of s.failedAccounts) {
        this.log(ansis.red(`  account ${a.accountId}: ${cell(a.error?.code)} ${cell(a.error?.message, 200)}`));
      }
      for (const r of s.failedRegions) {
        this.log(ansis.red(`  ${r.accountId} ${r.region}: ${cell(r.error?.code)} ${cell(r.error?.message, 200)}`));
      }
    }
    this.log(`Wrote ${file}`);
    if (reportHtml) this.log(`Report: ${reportHtml}`);
  }
}

function failureText(s: AssessmentSummary): string {
  return `${s.failedAccounts.length} account(s) and ${s.failedRegions.length} region(s) failed or are partial`;
}
