import { existsSync } from 'node:fs';
import path from 'node:path';
import { assess, createAwsClients, parseProbeSelection, parseS3Url, probeAssessment } from '@imdsv2-cutover/aws';
import type { Assessment, AssessmentSummary, TrendPoint } from '@imdsv2-cutover/core';
import {
  CutoverError,
  GATES,
  assessmentKind,
  cell,
  parseGates,
  summarize,
  validateDocument,
} from '@imdsv2-cutover/core';
import type { ReportFormat } from '@imdsv2-cutover/report';
import { Flags } from '@oclif/core';
import ansis from 'ansis';
import Table from 'cli-table3';
import { BaseCommand } from '../base-command.js';
import type { DiffResult } from '../lib/diff-render.js';
import { compareAssessments, gateError, renderDiff } from '../lib/diff-render.js';
import { readJsonDocument, writeJsonAtomic } from '../lib/files.js';
import { awsFlags } from '../lib/flags.js';
import { historyTrend, writeHistory } from '../lib/history.js';
import { writeReportFiles } from '../lib/report-files.js';

export interface AssessResult {
  assessmentPath: string;
  assessmentId: string;
  complete: boolean;
  summary: AssessmentSummary;
  /** Report files written next to the assessment (none with --no-report). */
  reportFiles: Partial<Record<ReportFormat, string>>;
  /** Where the run was kept with --history-dir. */
  historyPath?: string;
  /** The comparison with --compare. */
  comparison?: DiffResult;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function accountIds(flag: string, value: string | undefined): string[] | undefined {
  const ids = list(value);
  for (const id of ids ?? []) {
    if (!/^\d{12}$/.test(id)) {
      throw new CutoverError('BAD_USAGE', `--${flag}: "${cell(id)}" is not a 12-digit AWS account id`, {
        suggestions: [`Pass account ids separated by commas, e.g. --${flag} 111111111111,222222222222`],
      });
    }
  }
  return ids;
}

/** `14d`, `36h` or a plain number of days → days. */
export function parseLookback(value: string): number {
  const m = /^(\d+(?:\.\d+)?)([dh]?)$/.exec(value.trim());
  const days = m ? Number(m[1]) / (m[2] === 'h' ? 24 : 1) : Number.NaN;
  if (!(days > 0 && days <= 455)) {
    throw new CutoverError('BAD_USAGE', `--lookback: "${cell(value)}" is not a duration between 1h and 455d`, {
      suggestions: ['Use days or hours, e.g. --lookback 14d or --lookback 36h (CloudWatch keeps data 455 days).'],
    });
  }
  return days;
}

export default class Assess extends BaseCommand<typeof Assess> {
  static override description =
    'Discover the fleet, measure IMDSv1 calls (CloudWatch MetadataNoToken) and classify every instance: writes assessment.json and prints a summary per account and region.';

  static override examples = [
    '<%= config.bin %> assess --regions us-east-1,eu-west-1',
    '<%= config.bin %> assess --all-regions --lookback 30d --out ./cutover',
    '<%= config.bin %> assess --org --role-name OrganizationAccountAccessRole --all-regions --exclude-accounts 123456789012',
    '<%= config.bin %> assess --accounts 111111111111,222222222222 --role-name ImdsAudit --regions us-east-1 --strict',
    '<%= config.bin %> assess --endpoint-url http://127.0.0.1:4566 --all-regions --json',
    '<%= config.bin %> assess --regions us-east-1 --probe suspects --probe-window 120 --probe-output-s3 s3://my-ssm-output/imdsv2',
    '<%= config.bin %> assess --regions us-east-1 --probe i-0123456789abcdef0,i-0fedcba9876543210',
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
    concurrency: Flags.integer({
      description: 'Regions assessed at once, across accounts.',
      default: 8,
      min: 1,
      max: 64,
    }),
    'exclude-accounts': Flags.string({ description: 'Leave these accounts out (comma-separated ids).' }),
    lookback: Flags.string({ description: 'How far back to look for IMDSv1 calls (e.g. 14d, 36h).', default: '14d' }),
    'min-observation': Flags.integer({
      description: 'Days of metric data with zero IMDSv1 calls needed before an instance counts as ready.',
      default: 7,
      min: 0,
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
    'probe-window': Flags.integer({
      description: 'Seconds each host traces IMDS calls (the command may run up to this plus 180 s).',
      default: 60,
      min: 1,
      max: 900,
    }),
    regions: Flags.string({ description: 'Regions to assess (comma-separated). Default: --region.' }),
    report: Flags.boolean({ description: 'Also write the HTML/Markdown/CSV report.', allowNo: true, default: true }),
    'role-name': Flags.string({ description: 'Role to assume in each account of --accounts or --org.' }),
    strict: Flags.boolean({ description: 'Exit 1 when any account or region could not be assessed.' }),
  };

  /** Set when a gate failed under --json, so that the one JSON document on stdout has the result and the error. */
  private failedResult: AssessResult | undefined;

  public async run(): Promise<AssessResult> {
    const f = this.flags;
    // Everything the user gave is checked before any AWS call: a typo in a scheduled job fails fast with exit 2.
    const gates = parseGates(f['fail-on'] ?? '');
    if (gates.length > 0 && f.compare === undefined) {
      throw new CutoverError('BAD_USAGE', '--fail-on needs --compare: the gates compare this run with an earlier one', {
        suggestions: ['imdsv2 assess ... --compare previous/assessment.json --fail-on regressions,new-v1-callers'],
      });
    }
    let previous: Assessment | null = null;
    if (f.compare !== undefined) {
      if (existsSync(f.compare)) previous = await readJsonDocument(assessmentKind, f.compare);
      else
        this.reporter.emit({
          type: 'warning',
          code: 'NO_PREVIOUS',
          message: `--compare ${f.compare}: no such file; this looks like the first run, so there is nothing to compare with`,
        });
    }
    const accounts = accountIds('accounts', f.accounts);
    const excludeAccounts = accountIds('exclude-accounts', f['exclude-accounts']);
    if ((accounts || f.org) && !f['role-name']) {
      throw new CutoverError('BAD_USAGE', '--accounts and --org need --role-name: the role to assume in each account', {
        suggestions: ['Add --role-name OrganizationAccountAccessRole (or your audit role).'],
      });
    }
    const regions = list(f.regions);
    const region = f.region ?? regions?.[0];
    if (!region) {
      throw new CutoverError('BAD_USAGE', 'No region: pass --region or --regions, or set AWS_REGION', {
        suggestions: ['imdsv2 assess --regions us-east-1'],
      });
    }
    const lookbackDays = parseLookback(f.lookback);
    const probeSelection = parseProbeSelection(f.probe);
    const outputS3 = f['probe-output-s3'] ? parseS3Url(f['probe-output-s3']) : undefined;
    for (const [flag, v] of [
      ['probe-concurrency', f['probe-concurrency']],
      ['probe-max-errors', f['probe-max-errors']],
    ] as const) {
      if (!/^(\d+|(100|[1-9]?\d)%)$/.test(v)) {
        throw new CutoverError('BAD_USAGE', `--${flag}: "${cell(v)}" is neither a number nor a percentage`, {
          suggestions: [`e.g. --${flag} 10 or --${flag} 25%`],
        });
      }
    }
    const clients = createAwsClients({
      region,
      ...(f.profile ? { profile: f.profile } : {}),
      ...(f['endpoint-url'] ? { endpointUrl: f['endpoint-url'] } : {}),
      concurrency: f.concurrency * 4,
      toolVersion: this.config.version,
    });
    let assessment: Assessment;
    try {
      assessment = await assess({
        clients,
        ...(regions ? { regions } : {}),
        allRegions: f['all-regions'],
        ...(accounts ? { accounts } : {}),
        organization: f.org,
        ...(f['role-name'] ? { roleName: f['role-name'] } : {}),
        ...(excludeAccounts ? { excludeAccounts } : {}),
        lookbackDays,
        minObservationDays: f['min-observation'],
        concurrency: f.concurrency,
        reporter: this.reporter,
        tool: { name: 'imdsv2-cutover', version: this.config.version },
      });
      if (probeSelection !== 'none') {
        ({ assessment } = await probeAssessment(assessment, {
          clients,
          selection: probeSelection,
          windowSeconds: f['probe-window'],
          maxConcurrency: f['probe-concurrency'],
          maxErrors: f['probe-max-errors'],
          ...(outputS3 ? { outputS3 } : {}),
          reporter: this.reporter,
          now: () => clients.serviceNow(),
        }));
      }
    } finally {
      clients.destroy();
    }

    const file = path.join(f.out, 'assessment.json');
    // Validate before writing: a file this tool writes is one every other command can read. Keep only the validated
    // copy from here on: at 100,000 instances each copy holds about 200 MB, next to the ~300 MB text being written.
    assessment = validateDocument(assessmentKind, assessment, file);
    await writeJsonAtomic(file, assessment);
    const result: AssessResult = {
      assessmentPath: file,
      assessmentId: assessment.id,
      complete: assessment.complete,
      summary: summarize(assessment),
      reportFiles: {},
    };
    let trend: TrendPoint[] = [];
    if (f['history-dir'] !== undefined) {
      result.historyPath = await writeHistory(f['history-dir'], assessment, this.reporter);
      trend = await historyTrend(f['history-dir'], this.reporter);
    }
    if (f.report) {
      result.reportFiles = (
        await writeReportFiles(f.out, { assessment, trend }, { toolVersion: this.config.version })
      ).files;
    }
    const { summary } = result;
    if (!this.jsonEnabled()) this.render(summary, file, result.reportFiles.html);
    if (f.compare !== undefined) {
      // Without a previous run only the `incomplete` gate can fail: compare the run with itself.
      result.comparison = compareAssessments(previous ?? assessment, assessment, gates);
      if (previous && !this.jsonEnabled()) for (const line of renderDiff(result.comparison)) this.log(line);
      const err = gateError(result.comparison);
      if (err) {
        this.failedResult = result;
        throw err;
      }
    }
    if (f.strict && !summary.complete) {
      throw new CutoverError(
        'INCOMPLETE',
        `The assessment is incomplete (${failureText(summary)}) and --strict is set`,
        {
          exitCode: 1,
          suggestions: ['See the failed accounts and regions above; fix access or leave them out, then run again.'],
          details: { assessmentPath: file },
        },
      );
    }
    return result;
  }

  protected override toErrorJson(err: unknown): unknown {
    const base = super.toErrorJson(err) as Record<string, unknown>;
    return this.failedResult ? { ...this.failedResult, ...base } : base;
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
