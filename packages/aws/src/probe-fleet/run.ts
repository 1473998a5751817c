import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type CommandInvocation,
  type InstanceInformation,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import {
  CutoverError,
  silentReporter,
  type Instance,
  type ProbeOutcome,
  type ProbeResult,
  type Reporter,
  type SsmStatus,
} from '@imdsv2-cutover/core';
import {
  checkSendCommandSize,
  compactLinuxProbe,
  linuxProbeScript,
  parseProbeOutput,
  windowsProbeScript,
} from '@imdsv2-cutover/probe';
import pLimit from 'p-limit';
import { awsErrorCode, awsErrorInfo } from '../errors.js';
import { excerpt, failureOutcome, isTerminal, reportOutcome } from './outcome.js';
import { selectCandidates, type ProbeSelection } from './select.js';

/** Where a client points: an account (undefined = the base credentials' account) and a region. */
export interface ProbeClientScope {
  accountId?: string;
  region: string;
}

/** The clients the fleet probe needs (the client factory provides them). */
export interface ProbeClients {
  ssm(scope: ProbeClientScope): SSMClient;
  /** Needed only with `outputS3`. */
  s3?(scope: ProbeClientScope): S3Client;
}

/** SendCommand accepts at most 50 instance ids. */
export const SEND_BATCH = 50;
/** DescribeInstanceInformation and ListCommandInvocations return at most 50 a page. */
const PAGE = 50;
/** Output caps of SSM: the plugin output in ListCommandInvocations details, and StandardOutputContent. */
export const DETAILS_OUTPUT_CAP = 2500;
export const STDOUT_CAP = 24_000;
/** The execution timeout is the trace window plus this (bpftrace start-up, the inventory's 40 s bound, slack). */
export const EXECUTION_MARGIN_SECONDS = 180;

export interface ProbeFleetOptions {
  clients: ProbeClients;
  /** The assessed instances (with metrics): the selection is made among them. */
  instances: Instance[];
  selection: ProbeSelection;
  /** Trace window on each host, seconds (default 60). */
  windowSeconds?: number;
  /** SendCommand MaxConcurrency (a number or a percentage; default "50"). */
  maxConcurrency?: string;
  /** SendCommand MaxErrors (a number or a percentage; default "100%": one broken host must not cancel the others). */
  maxErrors?: string;
  /** Full output to S3 (`OutputS3BucketName` / `OutputS3KeyPrefix`), read back from there. */
  outputS3?: { bucket: string; prefix: string };
  /** Delivery deadline, SendCommand TimeoutSeconds (default 600). */
  deliveryTimeoutSeconds?: number;
  /** SendCommand calls in flight at once across the fleet (default 8); collection is not bounded by it. */
  concurrency?: number;
  /** Polling backoff in real ms (default 1,000 doubling to 15,000). Tests shorten it. */
  poll?: { initialMs: number; maxMs: number };
  reporter?: Reporter;
  /** Time stamped on results; default now. */
  now?: () => Date;
  /** Extra vendor agents for the Linux probe (parsed JSON shaped like core's known-agents.json). */
  extraAgents?: unknown;
}

/** What the probe found for one instance, and the SSM status it was probed with. */
export interface InstanceProbe {
  probe: ProbeResult;
  ssm: SsmStatus | null;
}

export interface ProbeFleetResult {
  /** By instance id: every instance the selection named. */
  results: Map<string, InstanceProbe>;
  counts: Partial<Record<ProbeOutcome, number>>;
}

interface Target {
  instance: Instance;
  ssm: SsmStatus;
  document: 'AWS-RunShellScript' | 'AWS-RunPowerShellScript';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function errorText(e: unknown): string {
  const { code, message } = awsErrorInfo(e);
  return `${code}: ${message}`;
}

function ssmStatusOf(info: InstanceInformation): SsmStatus {
  const ping = info.PingStatus;
  const platform = info.PlatformType;
  return {
    managed: true,
    ...(ping === 'Online' || ping === 'ConnectionLost' || ping === 'Inactive' ? { pingStatus: ping } : {}),
    ...(platform === 'Windows' || platform === 'Linux' || platform === 'MacOS' ? { platformType: platform } : {}),
    ...(info.AgentVersion ? { agentVersion: info.AgentVersion } : {}),
    ...(info.LastPingDateTime ? { lastPingAt: info.LastPingDateTime.toISOString() } : {}),
  };
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/**
 * Probes the selected instances through SSM Run Command and returns a result for each. Per account and region: the
 * candidates are looked up with DescribeInstanceInformation (filtered by their ids, 50 a page); those not managed or
 * not Online are reported as such; the rest get the probe for their platform, 50 instances a SendCommand. Results are
 * collected with ListCommandInvocations (Details, 50 a page) and exponential backoff until every invocation is
 * terminal; only outputs that the 2,500-character details cap cut short are fetched again, with GetCommandInvocation
 * (or from S3 with `outputS3`). Calls grow with batches of 50, not with instances. Failures become outcomes, never
 * exceptions.
 */
export async function probeFleet(opts: ProbeFleetOptions): Promise<ProbeFleetResult> {
  const reporter = opts.reporter ?? silentReporter;
  const now = opts.now ?? (() => new Date());
  const windowSeconds = opts.windowSeconds ?? 60;
  if (opts.outputS3 && !opts.clients.s3) {
    throw new CutoverError('INTERNAL', 'outputS3 needs an S3 client in ProbeClients');
  }
  // The Linux probe goes compressed; both must fit SSM's document limit with their parameters, checked before any call.
  const scripts = {
    'AWS-RunShellScript': compactLinuxProbe(linuxProbeScript({ windowSeconds, extraAgents: opts.extraAgents })),
    'AWS-RunPowerShellScript': windowsProbeScript({ windowSeconds }),
  };
  for (const [document, script] of Object.entries(scripts)) {
    checkSendCommandSize(sendCommandParameters(script, windowSeconds), document);
  }
  const results = new Map<string, InstanceProbe>();
  const set = (id: string, probe: ProbeResult, ssm: SsmStatus | null) => results.set(id, { probe, ssm });

  const { probe: candidates, notRunning } = selectCandidates(opts.instances, opts.selection);
  for (const i of notRunning)
    set(
      i.instanceId,
      { outcome: 'offline', detail: `The instance is ${i.state}: a stopped host runs no command.` },
      null,
    );
  if (candidates.length === 0) return { results, counts: tally(results) };
  reporter.emit({ type: 'phase', phase: 'probe', message: `Probing ${candidates.length} instance(s) through SSM` });

  const limit = pLimit(opts.concurrency ?? 8);
  const ctx: RunContext = { opts, scripts, windowSeconds, reporter, now, set, limit };
  const byScope = groupBy(candidates, (i) => `${i.accountId}/${i.region}`);
  await Promise.all(
    [...byScope.values()].map((list) =>
      probeScope(ctx, { accountId: list[0]!.accountId, region: list[0]!.region }, list),
    ),
  );
  const counts = tally(results);
  reporter.emit({
    type: 'info',
    message: `Probe outcomes: ${Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  });
  return { results, counts };
}

function tally(results: Map<string, InstanceProbe>): Partial<Record<ProbeOutcome, number>> {
  const counts: Partial<Record<ProbeOutcome, number>> = {};
  for (const r of results.values()) counts[r.probe.outcome] = (counts[r.probe.outcome] ?? 0) + 1;
  return counts;
}

interface RunContext {
  opts: ProbeFleetOptions;
  scripts: Record<Target['document'], string>;
  windowSeconds: number;
  reporter: Reporter;
  now: () => Date;
  set: (id: string, probe: ProbeResult, ssm: SsmStatus | null) => void;
  limit: ReturnType<typeof pLimit>;
}

async function probeScope(ctx: RunContext, scope: ProbeClientScope, instances: Instance[]): Promise<void> {
  const ssm = ctx.opts.clients.ssm(scope);
  const targets: Target[] = [];
  for (const batch of chunks(instances, PAGE)) {
    let infos: Map<string, InstanceInformation>;
    try {
      infos = await describeManaged(ssm, batch);
    } catch (e) {
      for (const i of batch)
        ctx.set(
          i.instanceId,
          { outcome: 'failed', detail: `DescribeInstanceInformation: ${excerpt(errorText(e))}` },
          null,
        );
      continue;
    }
    for (const i of batch) {
      const info = infos.get(i.instanceId);
      if (!info) {
        ctx.set(
          i.instanceId,
          {
            outcome: 'not-managed',
            detail: 'Not an SSM managed instance (no agent, no instance profile, or no route to SSM).',
          },
          { managed: false },
        );
        continue;
      }
      const status = ssmStatusOf(info);
      if (info.PingStatus !== 'Online') {
        ctx.set(
          i.instanceId,
          { outcome: 'offline', detail: `SSM PingStatus is ${info.PingStatus ?? 'unknown'}.` },
          status,
        );
        continue;
      }
      const platform = info.PlatformType ?? (i.platform === 'windows' ? 'Windows' : 'Linux');
      if (platform === 'MacOS') {
        ctx.set(i.instanceId, { outcome: 'failed', detail: 'There is no probe for macOS instances.' }, status);
        continue;
      }
      targets.push({
        instance: i,
        ssm: status,
        document: platform === 'Windows' ? 'AWS-RunPowerShellScript' : 'AWS-RunShellScript',
      });
    }
  }
  const batches = [...groupBy(targets, (t) => t.document).values()].flatMap((list) => chunks(list, SEND_BATCH));
  await Promise.all(batches.map((batch) => runBatch(ctx, scope, ssm, batch)));
}

/** DescribeInstanceInformation for up to 50 ids, all pages. */
async function describeManaged(ssm: SSMClient, batch: Instance[]): Promise<Map<string, InstanceInformation>> {
  const out = new Map<string, InstanceInformation>();
  let token: string | undefined;
  do {
    const page = await ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'InstanceIds', Values: batch.map((i) => i.instanceId) }],
        MaxResults: PAGE,
        NextToken: token,
      }),
    );
    for (const info of page.InstanceInformationList ?? []) if (info.InstanceId) out.set(info.InstanceId, info);
    token = page.NextToken;
  } while (token);
  return out;
}

/** The `Parameters` of the probe's SendCommand: the script and the execution timeout (window + margin). */
export function sendCommandParameters(script: string, windowSeconds: number): Record<string, string[]> {
  return { commands: [script], executionTimeout: [String(windowSeconds + EXECUTION_MARGIN_SECONDS)] };
}

/**
 * SendCommand for a batch, isolating instances SSM refuses. SendCommand fails the whole call with InvalidInstanceId
 * when any one instance is unmanaged, not running, terminated or not permitted (SSM API reference, SendCommand
 * errors): the others must still be probed. The instances the error names (when they are in the batch) are set aside
 * and the rest sent again; otherwise the batch is split in two and each half sent: about 2k·log2(n/k) extra calls for k
 * bad instances in n. Each refused instance gets its own outcome, `undeliverable`. Returns the commands sent.
 */
async function sendIsolating(
  ctx: RunContext,
  batch: Target[],
  send: (b: Target[]) => Promise<string>,
): Promise<{ commandId: string; batch: Target[] }[]> {
  if (batch.length === 0) return [];
  try {
    return [{ commandId: await send(batch), batch }];
  } catch (e) {
    if (awsErrorCode(e) !== 'InvalidInstanceId') {
      for (const t of batch)
        ctx.set(t.instance.instanceId, { outcome: 'failed', detail: `SendCommand: ${excerpt(errorText(e))}` }, t.ssm);
      return [];
    }
    const refuse = (t: Target) =>
      ctx.set(
        t.instance.instanceId,
        {
          outcome: 'undeliverable',
          detail: `SendCommand refused this instance (${excerpt(errorText(e))}): not managed, not running, terminated, or not permitted for the caller.`,
        },
        t.ssm,
      );
    if (batch.length === 1) {
      refuse(batch[0]!);
      return [];
    }
    const named = new Set(String((e as Error).message).match(/\bi-[0-9a-f]{8,17}\b/g) ?? []);
    const hinted = batch.filter((t) => named.has(t.instance.instanceId));
    if (hinted.length > 0 && hinted.length < batch.length) {
      hinted.forEach(refuse);
      return sendIsolating(
        ctx,
        batch.filter((t) => !named.has(t.instance.instanceId)),
        send,
      );
    }
    const half = Math.ceil(batch.length / 2);
    const [a, b] = await Promise.all([
      sendIsolating(ctx, batch.slice(0, half), send),
      sendIsolating(ctx, batch.slice(half), send),
    ]);
    return [...a, ...b];
  }
}

/** Sends the probe to up to 50 instances (isolating any SSM refuses) and collects every invocation. */
async function runBatch(ctx: RunContext, scope: ProbeClientScope, ssm: SSMClient, whole: Target[]): Promise<void> {
  const { opts, windowSeconds } = ctx;
  const executionTimeout = windowSeconds + EXECUTION_MARGIN_SECONDS;
  const deliveryTimeout = opts.deliveryTimeoutSeconds ?? 600;
  const document = whole[0]!.document;
  const send = async (batch: Target[]): Promise<string> => {
    const sent = await ctx.limit(() =>
      ssm.send(
        new SendCommandCommand({
          DocumentName: document,
          InstanceIds: batch.map((t) => t.instance.instanceId),
          Parameters: sendCommandParameters(ctx.scripts[document], windowSeconds),
          TimeoutSeconds: deliveryTimeout,
          MaxConcurrency: opts.maxConcurrency ?? '50',
          MaxErrors: opts.maxErrors ?? '100%',
          Comment: `imdsv2-cutover probe, ${windowSeconds}s window`,
          ...(opts.outputS3
            ? {
                OutputS3BucketName: opts.outputS3.bucket,
                ...(opts.outputS3.prefix ? { OutputS3KeyPrefix: opts.outputS3.prefix } : {}),
              }
            : {}),
        }),
      ),
    );
    const id = sent.Command?.CommandId ?? '';
    if (id === '') throw new Error('SendCommand returned no CommandId');
    return id;
  };
  const commands = await sendIsolating(ctx, whole, send);
  await Promise.all(
    commands.map((c) => collectBatch(ctx, scope, ssm, c.commandId, c.batch, deliveryTimeout, executionTimeout)),
  );
}

/** Collects the invocations of one command and gives each instance its outcome. */
async function collectBatch(
  ctx: RunContext,
  scope: ProbeClientScope,
  ssm: SSMClient,
  commandId: string,
  batch: Target[],
  deliveryTimeout: number,
  executionTimeout: number,
): Promise<void> {
  const document = batch[0]!.document;
  const at = ctx.now().toISOString();
  ctx.reporter.emit({
    type: 'debug',
    message: `SendCommand ${commandId}: ${batch.length} instance(s), ${document}`,
    scope: { account: scope.accountId, region: scope.region },
  });
  const deadline = Date.now() + (deliveryTimeout + executionTimeout + 120) * 1000;
  const invocations = await collect(ctx, ssm, commandId, batch.length, deadline);
  await Promise.all(
    batch.map(async (t) => {
      const id = t.instance.instanceId;
      const inv = invocations.get(id);
      const base = { commandId, at };
      if (!inv || !isTerminal(inv.Status)) {
        ctx.set(
          id,
          { ...base, outcome: 'timed-out', detail: `Still ${inv?.Status ?? 'not listed'} when collection gave up.` },
          t.ssm,
        );
        return;
      }
      ctx.set(id, { ...base, ...(await invocationResult(ctx, scope, ssm, commandId, t, inv)) }, t.ssm);
    }),
  );
}

/**
 * Polls ListCommandInvocations until all `expected` invocations are terminal or the deadline passes. Right after
 * SendCommand the command may be unknown (InvalidCommandId) or list fewer invocations: both are waited out.
 */
async function collect(
  ctx: RunContext,
  ssm: SSMClient,
  commandId: string,
  expected: number,
  deadline: number,
): Promise<Map<string, CommandInvocation>> {
  const poll = ctx.opts.poll ?? { initialMs: 1000, maxMs: 15_000 };
  let delay = poll.initialMs;
  let latest = new Map<string, CommandInvocation>();
  for (;;) {
    await sleep(delay);
    try {
      const seen = new Map<string, CommandInvocation>();
      let token: string | undefined;
      do {
        const page = await ssm.send(
          new ListCommandInvocationsCommand({
            CommandId: commandId,
            Details: true,
            MaxResults: PAGE,
            NextToken: token,
          }),
        );
        for (const inv of page.CommandInvocations ?? []) if (inv.InstanceId) seen.set(inv.InstanceId, inv);
        token = page.NextToken;
      } while (token);
      latest = seen;
      if (seen.size >= expected && [...seen.values()].every((i) => isTerminal(i.Status))) return seen;
    } catch (e) {
      if (awsErrorCode(e) !== 'InvalidCommandId') {
        ctx.reporter.emit({
          type: 'warning',
          code: 'PROBE_COLLECT',
          message: `ListCommandInvocations ${commandId}: ${errorText(e)}`,
        });
      }
    }
    if (Date.now() + delay > deadline) return latest;
    delay = Math.min(poll.maxMs, delay * 2);
  }
}

/** The outcome of one terminal invocation; reads the full output only when the details cut it. */
async function invocationResult(
  ctx: RunContext,
  scope: ProbeClientScope,
  ssm: SSMClient,
  commandId: string,
  t: Target,
  inv: CommandInvocation,
): Promise<Omit<ProbeResult, 'commandId' | 'at'>> {
  const id = t.instance.instanceId;
  const plugin = inv.CommandPlugins?.[0];
  const status = inv.Status ?? 'Failed';
  const platform = t.document === 'AWS-RunPowerShellScript' ? 'windows' : 'linux';
  if (status !== 'Success') {
    let stderr = plugin?.Output;
    if (status === 'Failed' && inv.StatusDetails === 'Failed') {
      const full = await getInvocation(ctx, ssm, commandId, id, t.document).catch(() => undefined);
      stderr = full?.StandardErrorContent || full?.StandardOutputContent || stderr;
    }
    return failureOutcome(status, inv.StatusDetails, stderr);
  }
  if (ctx.opts.outputS3) {
    const text = await readS3Output(ctx, scope, commandId, id, t.document).catch((e: unknown) => e);
    if (typeof text === 'string') return reportOutcome(parseProbeOutput(text, { platform }));
    ctx.reporter.emit({
      type: 'warning',
      code: 'PROBE_S3',
      message: `Could not read the probe output of ${id} from S3 (${errorText(text)}); using the SSM output instead.`,
    });
  }
  const details = plugin?.Output ?? '';
  if (details.length < DETAILS_OUTPUT_CAP - 50) {
    const report = parseProbeOutput(details, { platform });
    if (report.status === 'ok') return reportOutcome(report);
  }
  // The details cap (2,500) cut the output, or stderr was mixed into it: fetch StandardOutputContent (24,000).
  const full = await getInvocation(ctx, ssm, commandId, id, t.document).catch((e: unknown) => e);
  if (!full || typeof full !== 'object' || !('StandardOutputContent' in full)) {
    return { outcome: 'failed', detail: `GetCommandInvocation: ${excerpt(errorText(full))}` };
  }
  const { text: stdout, agentCut } = withoutAgentSuffix(
    (full as { StandardOutputContent?: string }).StandardOutputContent ?? '',
  );
  const report = parseProbeOutput(stdout, { platform });
  const cut = agentCut || (stdout.length >= STDOUT_CAP && report.status !== 'ok');
  return reportOutcome(
    report,
    cut
      ? `The output reached SSM's ${STDOUT_CAP}-character cap; use --probe-output-s3 for the full output.`
      : undefined,
  );
}

/** What the SSM agent appends to stdout it cut at 24,000 bytes (amazon-ssm-agent `iohandler.DefaultOutputConfig`). */
export const AGENT_TRUNCATION_SUFFIX = '--output truncated--';

/**
 * Stdout without the agent's truncation suffix and the partial line it ended: the records before the cut parse as
 * they were printed, and the report comes out `truncated` (no END line) rather than damaged.
 */
export function withoutAgentSuffix(stdout: string): { text: string; agentCut: boolean } {
  if (!stdout.endsWith(AGENT_TRUNCATION_SUFFIX)) return { text: stdout, agentCut: false };
  const body = stdout.slice(0, -AGENT_TRUNCATION_SUFFIX.length);
  return { text: body.slice(0, body.lastIndexOf('\n') + 1), agentCut: true };
}

async function getInvocation(
  ctx: RunContext,
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
  document: Target['document'],
) {
  return ssm.send(
    new GetCommandInvocationCommand({
      CommandId: commandId,
      InstanceId: instanceId,
      PluginName: document === 'AWS-RunShellScript' ? 'aws:runShellScript' : 'aws:runPowerShellScript',
    }),
  );
}

/** Reads `<prefix>/<command id>/<instance id>/<plugin>/0.<plugin>/stdout`, where SSM writes the full output. */
async function readS3Output(
  ctx: RunContext,
  scope: ProbeClientScope,
  commandId: string,
  instanceId: string,
  document: Target['document'],
): Promise<string> {
  const out = ctx.opts.outputS3!;
  const plugin = document === 'AWS-RunShellScript' ? 'awsrunShellScript' : 'awsrunPowerShellScript';
  const key = [out.prefix, commandId, instanceId, plugin, `0.${plugin}`, 'stdout'].filter((x) => x !== '').join('/');
  const s3 = ctx.opts.clients.s3!(scope);
  // The object can lag the invocation's end by a moment: retry NoSuchKey a few times.
  for (let attempt = 0; ; attempt++) {
    try {
      const obj = await s3.send(new GetObjectCommand({ Bucket: out.bucket, Key: key }));
      return (await obj.Body?.transformToString('utf-8')) ?? '';
    } catch (e) {
      if (awsErrorCode(e) !== 'NoSuchKey' || attempt >= 3) throw e;
      await sleep(500 * 2 ** attempt);
    }
  }
}

/** Parses `s3://bucket/prefix` (the prefix may be empty). */
export function parseS3Url(raw: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw.trim());
  if (!m) {
    throw new CutoverError(
      'BAD_USAGE',
      `--probe-output-s3 must look like s3://bucket/prefix, got ${JSON.stringify(raw)}`,
      {
        suggestions: ['Example: --probe-output-s3 s3://my-ssm-output/imdsv2-probe'],
      },
    );
  }
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}
