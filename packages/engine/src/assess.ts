import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ProbeSelection } from '@imdsv2-cutover/aws';
import {
  DEFAULT_SERVICE_CONCURRENCY,
  assess,
  awsFailure,
  parseProbeSelection,
  parseS3Url,
  probeAssessment,
} from '@imdsv2-cutover/aws';
import type { Assessment, AssessmentSummary, Reporter, TrendPoint } from '@imdsv2-cutover/core';
import {
  CutoverError,
  assessmentKind,
  cell,
  parseDuration,
  parseGates,
  summarize,
  validateDocument,
} from '@imdsv2-cutover/core';
import type { ReportFormat } from '@imdsv2-cutover/report';
import type { DiffResult, Outcome } from './compare.js';
import { compareAssessments, gateError } from './compare.js';
import type { ConnectionConfig } from './connection.js';
import { connect } from './connection.js';
import { readAssessmentFile, writeJsonAtomic } from './files.js';
import { historyTrend, writeHistory } from './history.js';
import { writeReportFiles } from './report-files.js';

/** What `imdsv2 assess` is asked to do; every field mirrors a flag. */
export interface AssessmentRequest {
  connection: ConnectionConfig;
  /** Regions to assess; default the connection's region. */
  regions?: string[];
  allRegions?: boolean;
  /** Accounts reached through `connection.roleName`. */
  accounts?: string[];
  organization?: boolean;
  excludeAccounts?: string[];
  /** How far back to look (duration grammar: `14d`, `36h`). */
  lookback: string;
  /** Time the metric data must cover, with zero IMDSv1 calls, for `ready` (duration grammar: `7d`, `36h`). */
  minObservation: string;
  /** AWS calls in flight per service (EC2, CloudWatch, Auto Scaling, STS) across the run. Default 32. */
  concurrency?: number;
  /** AWS calls in flight per account, all its regions together. Default 8. */
  accountConcurrency?: number;
  /**
   * `K/N`: assess only the accounts of shard K (0-based) of N (`parseShard`); `N`: the index K comes from the job
   * array's environment (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX).
   */
  shard?: string;
  /** `suspects`, `all`, `none`, or instance ids separated by commas. */
  probe: string;
  probeConcurrency: string;
  probeMaxErrors: string;
  /** How long each host traces (duration grammar, whole seconds from 1s to 15m). */
  probeWindow: string;
  /** `s3://bucket/prefix` for the full probe output. */
  probeOutputS3?: string;
  /** Directory for assessment.json and the report. */
  outDir: string;
  report: boolean;
  historyDir?: string;
  /** An earlier assessment to compare with; a missing file is a first run (warning, no comparison). */
  compare?: string;
  /** Gates (comma-separated) that fail the run when `compare` shows them. */
  failOn?: string;
  /** Fail (exit 1) when any account or region could not be assessed. */
  strict?: boolean;
  reporter: Reporter;
  toolVersion: string;
  /** Around the on-host probe (the demo speeds its simulated clock up meanwhile). */
  onProbe?: { start(): void; end(): void };
  /** Polling of the probe's results (the demo polls faster). */
  probePoll?: { initialMs: number; maxMs: number };
  /** The bundled simulator's scenario when the demo runs the assessment: recorded so the report says "simulated". */
  simulator?: { scenario: string };
}

export interface AssessResult {
  assessmentPath: string;
  assessmentId: string;
  complete: boolean;
  summary: AssessmentSummary;
  /** Report files written next to the assessment (none with `report: false`). */
  reportFiles: Partial<Record<ReportFormat, string>>;
  /** Where the run was kept with `historyDir`. */
  historyPath?: string;
  /** The comparison with `compare`. */
  comparison?: DiffResult;
  /** Whether a previous assessment was found for `compare`. */
  compared?: boolean;
}

/** Checks `--accounts`-style lists: every entry a 12-digit account id. */
export function accountIds(flag: string, ids: readonly string[] | undefined): string[] | undefined {
  for (const id of ids ?? []) {
    if (!/^\d{12}$/.test(id)) {
      throw new CutoverError('BAD_USAGE', `--${flag}: "${cell(id)}" is not a 12-digit AWS account id`, {
        suggestions: [`Pass account ids separated by commas, e.g. --${flag} 111111111111,222222222222`],
      });
    }
  }
  return ids ? [...ids] : undefined;
}

/** `--lookback` (duration grammar) as days, within what CloudWatch keeps (1 hour to 455 days). */
export function lookbackDays(value: string): number {
  const days = parseDuration(value, '--lookback') / 86_400;
  if (!(days >= 1 / 24 && days <= 455)) {
    throw new CutoverError('BAD_USAGE', `--lookback: "${cell(value)}" is not between 1h and 455d`, {
      suggestions: ['e.g. --lookback 14d or --lookback 36h (CloudWatch keeps data 455 days).'],
    });
  }
  return days;
}

/** `--min-observation` (duration grammar) as days; at most the lookback's maximum. */
export function minObservationDays(value: string): number {
  const days = parseDuration(value, '--min-observation') / 86_400;
  if (!(days >= 0 && days <= 455)) {
    throw new CutoverError('BAD_USAGE', `--min-observation: "${cell(value)}" is not between 0s and 455d`, {
      suggestions: ['e.g. --min-observation 7d (the default) or --min-observation 36h.'],
    });
  }
  return days;
}

/**
 * `--shard K/N` (shard K of N, 0-based) or `--shard N` with the index from the environment a job array sets:
 * JOB_COMPLETION_INDEX (a Kubernetes Indexed Job: "the control plane automatically sets the downward API to expose the
 * index in the JOB_COMPLETION_INDEX environment variable", 0 to completions - 1; kubernetes.io, "Indexed Job for
 * Parallel Processing with Static Work Assignment") or AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job child: "The
 * array job index begins at 0 ... an array job with 10 children has index values of 0-9"; AWS Batch User Guide, "AWS
 * Batch job environment variables"). When AWS Batch also sets AWS_BATCH_JOB_ARRAY_SIZE it must equal N. Anything else
 * (a K outside 0..N-1, N < 1, no index to be found, two different indexes) is BAD_USAGE, exit 2.
 */
export function parseShard(
  value: string,
  env: Record<string, string | undefined> = process.env,
): { index: number; count: number } {
  const bad = (why: string, suggestions: string[]): never => {
    throw new CutoverError('BAD_USAGE', `--shard ${cell(value)}: ${why}`, { suggestions });
  };
  const m = /^(?:(\d+)\/)?(\d+)$/.exec(value.trim());
  if (!m)
    bad('is neither K/N nor N', ['e.g. --shard 3/10 (shard 3 of 10, counted from 0), or --shard 10 in a job array']);
  const count = Number(m![2]);
  if (!Number.isSafeInteger(count) || count < 1) bad('N must be a whole number of at least 1', ['e.g. --shard 0/4']);
  const size = env.AWS_BATCH_JOB_ARRAY_SIZE;
  if (size !== undefined && size !== '' && Number(size) !== count)
    bad(`N is ${count} but this AWS Batch array job has ${cell(size)} children (AWS_BATCH_JOB_ARRAY_SIZE)`, [
      `Give the array size: --shard ${cell(size)}`,
    ]);
  let index: number;
  if (m![1] !== undefined) index = Number(m![1]);
  else {
    const found = (['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX'] as const)
      .map((name) => ({ name, text: env[name] }))
      .filter((e): e is { name: 'JOB_COMPLETION_INDEX' | 'AWS_BATCH_JOB_ARRAY_INDEX'; text: string } =>
        Boolean(e.text),
      );
    if (found.length === 0)
      bad('no shard index: neither JOB_COMPLETION_INDEX nor AWS_BATCH_JOB_ARRAY_INDEX is set', [
        `Give the index: --shard K/${count} (K from 0 to ${count - 1}), or run in a Kubernetes Indexed Job or an AWS Batch array job`,
      ]);
    if (found.length === 2 && found[0]!.text !== found[1]!.text)
      bad(`JOB_COMPLETION_INDEX is ${cell(found[0]!.text)} but AWS_BATCH_JOB_ARRAY_INDEX is ${cell(found[1]!.text)}`, [
        `Give the index: --shard K/${count}`,
      ]);
    const text = found[0]!.text;
    if (!/^\d+$/.test(text))
      bad(`${found[0]!.name} is ${cell(text)}, not a shard index`, [`Give the index: --shard K/${count}`]);
    index = Number(text);
  }
  if (!(index >= 0 && index < count))
    bad(`shard index ${index} is outside 0..${count - 1} (shards are counted from 0)`, [
      `e.g. --shard 0/${count} to --shard ${count - 1}/${count}`,
    ]);
  return { index, count };
}

/** `--probe-window` (duration grammar) in whole seconds, 1 to 900. */
export function probeWindowSeconds(value: string): number {
  const s = parseDuration(value, '--probe-window');
  if (!Number.isInteger(s) || s < 1 || s > 900) {
    throw new CutoverError(
      'BAD_USAGE',
      `--probe-window: "${cell(value)}" is not a whole number of seconds from 1s to 15m`,
      {
        suggestions: ['e.g. --probe-window 60s or --probe-window 2m.'],
      },
    );
  }
  return s;
}

function percentOrCount(flag: string, v: string): string {
  if (!/^(\d+|(100|[1-9]?\d)%)$/.test(v)) {
    throw new CutoverError('BAD_USAGE', `--${flag}: "${cell(v)}" is neither a number nor a percentage`, {
      suggestions: [`e.g. --${flag} 10 or --${flag} 25%`],
    });
  }
  return v;
}

interface CheckedRequest {
  shard: { index: number; count: number } | undefined;
  minObservationDays: number;
  probeWindowSeconds: number;
  gates: ReturnType<typeof parseGates>;
  previous: Assessment | null;
  accounts: string[] | undefined;
  excludeAccounts: string[] | undefined;
  regions: string[] | undefined;
  lookbackDays: number;
  probe: ProbeSelection;
  probeConcurrency: string;
  probeMaxErrors: string;
  outputS3: { bucket: string; prefix: string } | undefined;
}

/** Everything the user gave, checked before any AWS call: a typo in a scheduled job fails fast with exit 2. */
async function check(r: AssessmentRequest): Promise<CheckedRequest> {
  const gates = parseGates(r.failOn ?? '');
  if (gates.length > 0 && r.compare === undefined) {
    throw new CutoverError('BAD_USAGE', '--fail-on needs --compare: the gates compare this run with an earlier one', {
      suggestions: ['imdsv2 assess ... --compare previous/assessment.json --fail-on regressions,new-v1-callers'],
    });
  }
  let previous: Assessment | null = null;
  if (r.compare !== undefined) {
    if (existsSync(r.compare)) previous = await readAssessmentFile(r.compare);
    else
      r.reporter.emit({
        type: 'warning',
        code: 'NO_PREVIOUS',
        message: `--compare ${r.compare}: no such file; this looks like the first run, so there is nothing to compare with`,
      });
  }
  const accounts = accountIds('accounts', r.accounts);
  const excludeAccounts = accountIds('exclude-accounts', r.excludeAccounts);
  if ((accounts || r.organization) && !r.connection.roleName) {
    throw new CutoverError('BAD_USAGE', '--accounts and --org need --role-name: the role to assume in each account', {
      suggestions: ['Add --role-name OrganizationAccountAccessRole (or your audit role).'],
    });
  }
  return {
    shard: r.shard === undefined ? undefined : parseShard(r.shard, r.connection.env ?? process.env),
    minObservationDays: minObservationDays(r.minObservation),
    probeWindowSeconds: probeWindowSeconds(r.probeWindow),
    gates,
    previous,
    accounts,
    excludeAccounts,
    regions: r.regions && r.regions.length > 0 ? r.regions : undefined,
    lookbackDays: lookbackDays(r.lookback),
    probe: parseProbeSelection(r.probe),
    probeConcurrency: percentOrCount('probe-concurrency', r.probeConcurrency),
    probeMaxErrors: percentOrCount('probe-max-errors', r.probeMaxErrors),
    outputS3: r.probeOutputS3 ? parseS3Url(r.probeOutputS3) : undefined,
  };
}

/**
 * `imdsv2 assess` (design section 2, steps 1 to 4): checks the request, discovers and measures every account and
 * region of the scope (`assess` of the aws package), probes the suspects on their hosts through SSM Run Command
 * (`probeAssessment`), writes `assessment.json` atomically (validated first), keeps it in the history, writes the
 * report, and compares with an earlier run. The failure is GATE_FAILED (exit 3) when a `failOn` gate fails, INCOMPLETE
 * (exit 1) under `strict` when an account or region could not be read. Errors: BAD_USAGE/BAD_INPUT (exit 2) for the
 * request and its files; an AWS error that stops the run names the account, region and operation (`awsFailure`).
 */
export async function runAssessment(r: AssessmentRequest): Promise<Outcome<AssessResult>> {
  const c = await check(r);
  const perService = r.concurrency ?? DEFAULT_SERVICE_CONCURRENCY;
  const clients = await connect(
    { ...r.connection, concurrency: Math.max(r.connection.concurrency ?? 0, perService * 4) },
    {
      ...(c.regions ? { regions: c.regions } : {}),
      toolVersion: r.toolVersion,
    },
  );
  let assessment: Assessment;
  try {
    assessment = await assess({
      clients,
      ...(c.regions ? { regions: c.regions } : {}),
      allRegions: r.allRegions ?? false,
      ...(c.accounts ? { accounts: c.accounts } : {}),
      organization: r.organization ?? false,
      ...(r.connection.roleName ? { roleName: r.connection.roleName } : {}),
      ...(c.excludeAccounts ? { excludeAccounts: c.excludeAccounts } : {}),
      lookbackDays: c.lookbackDays,
      minObservationDays: c.minObservationDays,
      concurrency: perService,
      ...(r.accountConcurrency === undefined ? {} : { accountConcurrency: r.accountConcurrency }),
      ...(c.shard ? { shard: c.shard } : {}),
      reporter: r.reporter,
      tool: { name: 'imdsv2-cutover', version: r.toolVersion },
    });
    if (r.simulator) assessment = { ...assessment, scope: { ...assessment.scope, simulator: r.simulator } };
    if (c.probe !== 'none') {
      r.onProbe?.start();
      try {
        ({ assessment } = await probeAssessment(assessment, {
          clients,
          selection: c.probe,
          windowSeconds: c.probeWindowSeconds,
          maxConcurrency: c.probeConcurrency,
          maxErrors: c.probeMaxErrors,
          ...(c.outputS3 ? { outputS3: c.outputS3 } : {}),
          ...(r.probePoll ? { poll: r.probePoll } : {}),
          reporter: r.reporter,
          now: () => clients.serviceNow(),
        }));
      } finally {
        r.onProbe?.end();
      }
    }
  } catch (e) {
    throw awsFailure(e, { doing: 'assess', phase: 'assess', callerAccount: clients.knownCallerAccount });
  } finally {
    clients.destroy();
  }

  const file = path.join(r.outDir, 'assessment.json');
  // Validate before writing: a file this tool writes is one every other command can read. Keep only the validated
  // copy from here on: at 100,000 instances each copy holds about 200 MB.
  assessment = validateDocument(assessmentKind, assessment, file);
  const sha256 = await writeJsonAtomic(file, assessment, { digestFile: true, compact: true });
  const result: AssessResult = {
    assessmentPath: file,
    assessmentId: assessment.id,
    complete: assessment.complete,
    summary: summarize(assessment),
    reportFiles: {},
  };
  let trend: TrendPoint[] = [];
  if (r.historyDir !== undefined) {
    result.historyPath = await writeHistory(r.historyDir, assessment, r.reporter);
    trend = await historyTrend(r.historyDir, r.reporter);
  }
  if (r.report) {
    result.reportFiles = (
      await writeReportFiles(
        r.outDir,
        { assessment, assessmentFileSha256: sha256, trend },
        { toolVersion: r.toolVersion },
      )
    ).files;
  }
  let failure: CutoverError | null = null;
  if (r.compare !== undefined) {
    // Without a previous run only the `incomplete` gate can fail: compare the run with itself.
    result.comparison = compareAssessments(c.previous ?? assessment, assessment, c.gates);
    result.compared = c.previous !== null;
    failure = gateError(result.comparison);
  }
  if (!failure && r.strict && !result.summary.complete) {
    const s = result.summary;
    failure = new CutoverError(
      'INCOMPLETE',
      `The assessment is incomplete (${s.failedAccounts.length} account(s) and ${s.failedRegions.length} region(s) failed or are partial) and --strict is set`,
      {
        exitCode: 1,
        suggestions: ['See the failed accounts and regions above; fix access or leave them out, then run again.'],
        details: { assessmentPath: file },
      },
    );
  }
  return { result, failure };
}
