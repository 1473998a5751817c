import { randomUUID } from 'node:crypto';
import type { Call, CommandRunResult, JsonService, SimState } from '../context.js';
import type { SimInstance } from '../fleet.js';
import { ServiceError } from '../protocol/errors.js';
import { decodeToken, encodeToken } from './paging.js';
import { putObject } from './s3.js';

/** SSM (JSON 1.1): managed-instance inventory and Run Command, with the invocation lifecycle on the simulated clock. */

const documents: Record<string, string> = {
  'AWS-RunShellScript': 'aws:runShellScript',
  'AWS-RunPowerShellScript': 'aws:runPowerShellScript',
};
const DELIVERY_MS = 500;
/** GetCommandInvocation answers InvocationDoesNotExist for this long after SendCommand (simulated ms), as AWS does briefly. */
export const INVOCATION_VISIBILITY_MS = 1000;
/**
 * Output limits and the markers the SSM agent writes (amazon-ssm-agent 3.3.1142.0): the agent cuts stdout and stderr
 * at 24,000 with the suffix `--output truncated--` (`runpluginutil.go`, `iohandler.DefaultOutputConfig`); the service
 * returns the first 24,000 characters of stdout and 8,000 of stderr (SSM API reference, GetCommandInvocation); the
 * plugin Output of ListCommandInvocations holds 2,500, built by the agent's `TruncateOutput` with
 * `\n---Output truncated---`, `\n----------ERROR-------\n` and `\n---Error truncated----` (`iohandler.go`).
 */
const STDOUT_CAP = 24_000;
const STDERR_CAP = 8_000;
const DETAILS_CAP = 2_500;
const AGENT_SUFFIX = '--output truncated--';
const TRUNCATE_OUT = '\n---Output truncated---';
const TRUNCATE_ERR = '\n---Error truncated----';
const ERROR_TITLE = '\n----------ERROR-------\n';
/**
 * SSM documents are limited to 64 KB, "This quota also includes the content specified for input parameters at
 * runtime" (SSM API reference, CreateDocument Content; SendCommand error MaxDocumentSizeExceeded). The content of the
 * AWS-owned shell documents is not published: this estimate of it counts against the limit with the parameters.
 */
export const DOCUMENT_LIMIT_BYTES = 64 * 1024;
export const OWNED_DOCUMENT_BYTES = 1_500;

/** The agent's cut of one stream: as is when shorter than `max`, else its first `max - suffix` characters and the suffix. */
export function agentTruncate(text: string, max = STDOUT_CAP): string {
  return text.length < max ? text : text.slice(0, max - AGENT_SUFFIX.length) + AGENT_SUFFIX;
}

/**
 * The plugin Output the agent reports (ListCommandInvocations with Details, 2,500 characters): stdout, then the error
 * title and stderr when there is any; when that does not fit, each stream cut with its marker, as the agent's
 * `TruncateOutput` does.
 */
export function pluginOutput(stdout: string, stderr: string, capacity = DETAILS_CAP): string {
  const title = stderr.length > 0 ? ERROR_TITLE : '';
  const room = capacity - title.length;
  if (stdout.length + stderr.length < room) return stdout + title + stderr;
  if (stdout.length > room / 2 && stderr.length > room / 2) {
    const half = Math.floor((room - TRUNCATE_ERR.length - TRUNCATE_OUT.length) / 2);
    return stdout.slice(0, half) + TRUNCATE_OUT + title + stderr.slice(0, half) + TRUNCATE_ERR;
  }
  if (stdout.length <= room / 2) {
    return stdout + title + stderr.slice(0, room - TRUNCATE_ERR.length - stdout.length) + TRUNCATE_ERR;
  }
  return stdout.slice(0, room - TRUNCATE_OUT.length - stderr.length) + TRUNCATE_OUT + title + stderr;
}

interface Invocation {
  instance: SimInstance;
  startMs: number;
  endMs: number;
  /** Final status once `endMs` has passed. */
  status: 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';
  statusDetails: string;
  responseCode: number;
  stdout: string;
  stderr: string;
}

interface Command {
  id: string;
  account: string;
  region: string;
  documentName: string;
  parameters: Record<string, string[]>;
  comment?: string;
  requestedMs: number;
  timeoutSeconds: number;
  maxConcurrency: string;
  maxErrors: string;
  invocations: Invocation[];
}

function commandsOf(sim: SimState): Command[] {
  return (sim.services.ssmCommands ??= []) as Command[];
}

const validation = (message: string): ServiceError => new ServiceError('ValidationException', message);

function maxResults(raw: unknown, min: number, max: number, dflt: number): number {
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw validation(
      `1 validation error detected: Value '${JSON.stringify(raw)}' at 'maxResults' failed to satisfy constraint: Member must have value ${v < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
    );
  }
  return v;
}

/** "10" or "20%" of `n` targets. */
function rateLimit(raw: string, n: number, name: string, min: number): number {
  const m = /^(\d+)(%?)$/.exec(raw);
  if (!m) throw new ServiceError('InvalidParameters', `${name} must be a number or a percentage, got ${raw}`);
  const v = Number(m[1]);
  if (m[2] === '%') {
    if (v > 100) throw new ServiceError('InvalidParameters', `${name} must be at most 100%, got ${raw}`);
    return Math.max(min, Math.floor((n * v) / 100));
  }
  return v;
}

/**
 * SendCommand's InvalidInstanceId (SSM API reference): "You don't have permission to access the managed node. SSM
 * Agent isn't running. SSM Agent isn't registered with the SSM endpoint. The managed node isn't in a valid state. Valid
 * states are: Running, Pending, Stopped, and Stopping. Invalid states are: Shutting-down and Terminated." One such id
 * fails the whole call (no command is created): the simulator names the first one.
 */
function managedInstance(call: Call, id: string): SimInstance {
  const inst = call.sim.fleet.instance(id);
  if (
    !inst ||
    inst.account !== call.account ||
    inst.region !== call.region ||
    !inst.ssm.managed ||
    inst.terminated ||
    !inst.ssm.permitted
  ) {
    throw new ServiceError('InvalidInstanceId', `Instances [[${id}]] not in a valid state for account ${call.account}`);
  }
  return inst;
}

function elapsed(ms: number): string {
  return `PT${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}S`;
}

function sendCommand(call: Call, body: Record<string, unknown>): unknown {
  const documentName = body.DocumentName as string | undefined;
  if (!documentName)
    throw validation(
      "1 validation error detected: Value null at 'documentName' failed to satisfy constraint: Member must not be null",
    );
  if (!documents[documentName])
    throw new ServiceError(
      'InvalidDocument',
      `Document ${documentName} does not exist in the simulator (it knows ${Object.keys(documents).join(', ')}).`,
    );
  if (body.Targets !== undefined)
    throw new ServiceError('InvalidParameters', 'The simulator supports InstanceIds, not Targets.');
  const ids = (body.InstanceIds ?? []) as string[];
  call.items = ids.length;
  if (ids.length === 0) throw validation('Either InstanceIds or Targets must be given.');
  if (ids.length > 50)
    throw validation(
      `1 validation error detected: Value '[${ids.length} ids]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50`,
    );
  const instances = ids.map((id) => managedInstance(call, id));
  const parameters = (body.Parameters ?? {}) as Record<string, string[]>;
  const size = OWNED_DOCUMENT_BYTES + Buffer.byteLength(JSON.stringify(parameters), 'utf8');
  if (size > DOCUMENT_LIMIT_BYTES) {
    throw new ServiceError('MaxDocumentSizeExceeded', 'The size limit of a document is 64 KB.');
  }
  const commands = parameters.commands;
  if (!Array.isArray(commands) || commands.length === 0)
    throw new ServiceError('InvalidParameters', 'Parameter "commands" is required.');
  const execRaw = parameters.executionTimeout?.[0] ?? '3600';
  const execTimeout = Number(execRaw);
  if (!/^\d+$/.test(execRaw) || execTimeout < 1 || execTimeout > 172_800) {
    throw new ServiceError(
      'InvalidParameters',
      `Parameter "executionTimeout" must be between 1 and 172800 seconds, got "${execRaw}".`,
    );
  }
  const timeoutSeconds = body.TimeoutSeconds === undefined ? 3600 : Number(body.TimeoutSeconds);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
    throw validation(
      `1 validation error detected: Value '${String(body.TimeoutSeconds)}' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000`,
    );
  }
  const maxConcurrency = (body.MaxConcurrency as string | undefined) ?? '50';
  const maxErrors = (body.MaxErrors as string | undefined) ?? '0';
  const concurrency = Math.max(1, rateLimit(maxConcurrency, ids.length, 'MaxConcurrency', 1));
  const errorBudget = rateLimit(maxErrors, ids.length, 'MaxErrors', 0);

  const t0 = call.nowMs;
  // A runner may answer at once (modelled instances) or later (live instances run a real script): a promise is not
  // awaited here, its invocation stays InProgress until it settles.
  const results: (CommandRunResult | Promise<CommandRunResult>)[] = instances.map((instance) =>
    !instance.running || instance.ssm.pingStatus !== 'Online'
      ? { status: 'DeliveryTimedOut' }
      : call.sim.commandRunner({ instance, documentName, commands, executionTimeoutSeconds: execTimeout }),
  );
  const output = outputLocation(body);
  const cmdId = randomUUID();
  // Slots model MaxConcurrency; once more than MaxErrors invocations have failed, the rest are not started.
  const slots: number[] = new Array<number>(Math.min(concurrency, ids.length)).fill(t0 + DELIVERY_MS);
  const failures: number[] = [];
  const invocations: Invocation[] = instances.map((instance, i) => {
    const r = results[i]!;
    slots.sort((a, b) => a - b);
    const startMs = slots[0]!;
    const base = { instance, stdout: '', stderr: '' };
    // SSM API reference, CommandInvocation StatusDetails: "Terminated: The parent command exceeded its MaxErrors limit
    // and subsequent command invocations were canceled by the system." The Status enum has no Terminated: Cancelled.
    if (failures.filter((f) => f <= startMs).length > errorBudget) {
      return { ...base, startMs, endMs: startMs, status: 'Cancelled', statusDetails: 'Terminated', responseCode: -1 };
    }
    if (r instanceof Promise) {
      const inv: Invocation = {
        ...base,
        startMs,
        endMs: Number.POSITIVE_INFINITY,
        status: 'Failed',
        statusDetails: 'Failed',
        responseCode: -1,
      };
      slots[0] = startMs + DELIVERY_MS;
      r.then(
        (res) => settle(inv, res, Math.max(startMs, call.sim.clock.nowMs()), timeoutSeconds, execTimeout),
        (e: unknown) =>
          settle(
            inv,
            { stdout: '', stderr: e instanceof Error ? e.message : String(e), exitCode: 1 },
            Math.max(startMs, call.sim.clock.nowMs()),
            timeoutSeconds,
            execTimeout,
          ),
      )
        .then(() => storeOutput(call, output, cmdId, documentName, inv))
        .catch(() => undefined);
      return inv;
    }
    const inv: Invocation = { ...base, startMs, endMs: startMs, status: 'Failed', statusDetails: '', responseCode: -1 };
    settle(inv, r, t0, timeoutSeconds, execTimeout);
    if (!('status' in r)) slots[0] = inv.endMs;
    if (inv.status !== 'Success') failures.push(inv.endMs);
    storeOutput(call, output, cmdId, documentName, inv);
    return inv;
  });
  const cmd: Command = {
    id: cmdId,
    account: call.account,
    region: call.region,
    documentName,
    parameters,
    comment: body.Comment as string | undefined,
    requestedMs: t0,
    timeoutSeconds,
    maxConcurrency,
    maxErrors,
    invocations,
  };
  commandsOf(call.sim).push(cmd);
  return { Command: commandView(cmd, t0) };
}

/**
 * Fills in how an invocation ended. A result without output says why the command never ran; a run longer than the
 * execution timeout ends as Execution Timed Out. `t0` is when SendCommand was called, or, for a live run, when it ended.
 */
function settle(inv: Invocation, r: CommandRunResult, t0: number, timeoutSeconds: number, execTimeout: number): void {
  if ('status' in r) {
    inv.endMs = r.status === 'DeliveryTimedOut' ? t0 + timeoutSeconds * 1000 : Math.max(inv.startMs, t0);
    inv.status = r.status === 'DeliveryTimedOut' || r.status === 'TimedOut' ? 'TimedOut' : 'Failed';
    inv.statusDetails = {
      DeliveryTimedOut: 'Delivery Timed Out',
      TimedOut: 'Execution Timed Out',
      Undeliverable: 'Undeliverable',
    }[r.status];
    inv.responseCode = -1;
    return;
  }
  const live = inv.endMs === Number.POSITIVE_INFINITY;
  const duration = live ? Math.max(0, t0 - inv.startMs) : (r.durationMs ?? 1500);
  const timedOut = duration > execTimeout * 1000;
  inv.endMs = inv.startMs + Math.min(duration, execTimeout * 1000);
  inv.status = timedOut ? 'TimedOut' : r.exitCode === 0 ? 'Success' : 'Failed';
  inv.statusDetails = timedOut ? 'Execution Timed Out' : r.exitCode === 0 ? 'Success' : 'Failed';
  inv.responseCode = timedOut ? -1 : r.exitCode;
  inv.stdout = r.stdout;
  inv.stderr = r.stderr;
}

interface OutputLocation {
  bucket: string;
  prefix: string;
}

function outputLocation(body: Record<string, unknown>): OutputLocation | undefined {
  const bucket = body.OutputS3BucketName;
  if (typeof bucket !== 'string' || bucket === '') return undefined;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw validation(
      `1 validation error detected: Value '${bucket}' at 'outputS3BucketName' is not a valid bucket name`,
    );
  const prefix = typeof body.OutputS3KeyPrefix === 'string' ? body.OutputS3KeyPrefix.replace(/\/+$/, '') : '';
  return { bucket, prefix };
}

/**
 * Writes the full (uncapped) output where SSM writes it: `<prefix>/<command id>/<instance id>/<plugin>/0.<plugin>/stdout`
 * (and `stderr`), the plugin named without its colon (`awsrunShellScript`). Objects appear when the invocation ends.
 */
function storeOutput(
  call: Call,
  output: OutputLocation | undefined,
  commandId: string,
  documentName: string,
  inv: Invocation,
): void {
  if (!output || inv.responseCode === -1) return;
  const plugin = documents[documentName]!.replace(':', '');
  const dir = [output.prefix, commandId, inv.instance.id, plugin, `0.${plugin}`].filter((x) => x !== '').join('/');
  const at = inv.endMs;
  putObject(call.sim, { account: call.account, bucket: output.bucket, key: `${dir}/stdout`, body: inv.stdout, at });
  if (inv.stderr !== '')
    putObject(call.sim, { account: call.account, bucket: output.bucket, key: `${dir}/stderr`, body: inv.stderr, at });
}

function invocationStatus(inv: Invocation, nowMs: number): { status: string; details: string; done: boolean } {
  if (nowMs >= inv.endMs && (inv.status !== 'Cancelled' || nowMs >= inv.startMs))
    return { status: inv.status, details: inv.statusDetails, done: true };
  if (nowMs < inv.startMs) return { status: 'Pending', details: 'Pending', done: false };
  return { status: 'InProgress', details: 'InProgress', done: false };
}

function commandView(cmd: Command, nowMs: number): Record<string, unknown> {
  const st = cmd.invocations.map((i) => invocationStatus(i, nowMs));
  const done = st.filter((s) => s.done);
  const errors = done.filter((s) => s.status !== 'Success');
  const status =
    done.length < st.length
      ? nowMs < cmd.requestedMs + DELIVERY_MS
        ? 'Pending'
        : 'InProgress'
      : errors.length === 0
        ? 'Success'
        : errors.every((e) => e.status === 'TimedOut')
          ? 'TimedOut'
          : 'Failed';
  return {
    CommandId: cmd.id,
    DocumentName: cmd.documentName,
    DocumentVersion: '$DEFAULT',
    Comment: cmd.comment,
    Parameters: cmd.parameters,
    InstanceIds: cmd.invocations.map((i) => i.instance.id),
    Targets: [],
    RequestedDateTime: new Date(cmd.requestedMs),
    ExpiresAfter: new Date(cmd.requestedMs + cmd.timeoutSeconds * 1000),
    Status: status,
    StatusDetails: status,
    MaxConcurrency: cmd.maxConcurrency,
    MaxErrors: cmd.maxErrors,
    TargetCount: st.length,
    CompletedCount: done.length,
    ErrorCount: errors.filter((e) => e.status === 'Failed').length,
    DeliveryTimedOutCount: errors.filter((e) => e.details === 'Delivery Timed Out').length,
    TimeoutSeconds: cmd.timeoutSeconds,
  };
}

function findCommand(call: Call, id: unknown): Command {
  const cmd = commandsOf(call.sim).find((c) => c.id === id && c.account === call.account && c.region === call.region);
  if (!cmd) throw new ServiceError('InvalidCommandId', `Command ID ${String(id)} is not valid.`);
  return cmd;
}

function pluginName(cmd: Command): string {
  return documents[cmd.documentName]!;
}

export const ssmService: JsonService = {
  kind: 'json',
  name: 'ssm',
  contentType: 'application/x-amz-json-1.1',
  namespace: 'com.amazonaws.ssm',
  queryCompatible: false,
  handlers: {
    DescribeInstanceInformation(call, body) {
      const max = maxResults(body.MaxResults, 5, 50, 10);
      let list = call.sim.fleet.region(call.account, call.region)!.instances.filter((i) => i.ssm.managed && i.running);
      const filters: { key: string; values: string[] }[] = [
        ...((body.InstanceInformationFilterList ?? []) as { key: string; valueSet: string[] }[]).map((f) => ({
          key: f.key,
          values: f.valueSet,
        })),
        ...((body.Filters ?? []) as { Key: string; Values: string[] }[]).map((f) => ({ key: f.Key, values: f.Values })),
      ];
      for (const f of filters) {
        const v = new Set(f.values);
        if (f.key === 'InstanceIds') {
          for (const id of f.values)
            if (!call.sim.fleet.instance(id))
              throw new ServiceError('InvalidInstanceId', `Instance ${id} is not valid.`);
          list = list.filter((i) => v.has(i.id));
        } else if (f.key === 'PingStatus') list = list.filter((i) => v.has(i.ssm.pingStatus));
        else if (f.key === 'PlatformTypes')
          list = list.filter((i) => v.has(i.platform === 'windows' ? 'Windows' : 'Linux'));
        else if (f.key === 'AgentVersion') list = list.filter((i) => v.has(i.ssm.agentVersion));
        else if (f.key.startsWith('tag:')) list = list.filter((i) => v.has(i.tags[f.key.slice(4)] ?? '\u0000'));
        else if (f.key === 'tag-key') list = list.filter((i) => f.values.some((k) => k in i.tags));
        else throw new ServiceError('InvalidInstanceInformationFilterValue', `The filter key ${f.key} is not valid.`);
      }
      const start = decodeToken(
        body.NextToken as string | undefined,
        'DescribeInstanceInformation',
        'InvalidNextToken',
      );
      const page = list.slice(start, start + max);
      call.items = page.length;
      return {
        InstanceInformationList: page.map((i) => ({
          InstanceId: i.id,
          PingStatus: i.ssm.pingStatus,
          LastPingDateTime: new Date(call.nowMs - 60_000),
          AgentVersion: i.ssm.agentVersion,
          IsLatestVersion: false,
          PlatformType: i.platform === 'windows' ? 'Windows' : 'Linux',
          PlatformName: i.platform === 'windows' ? 'Microsoft Windows Server 2019 Datacenter' : 'Amazon Linux',
          PlatformVersion: i.platform === 'windows' ? '10.0.17763' : '2023',
          ResourceType: 'EC2Instance',
          IPAddress: i.privateIp,
          ComputerName: `ip-${i.privateIp.replace(/\./g, '-')}`,
        })),
        NextToken: start + max < list.length ? encodeToken('DescribeInstanceInformation', start + max) : undefined,
      };
    },
    SendCommand: sendCommand,
    GetCommandInvocation(call, body) {
      const cmd = commandsOf(call.sim).find(
        (c) => c.id === body.CommandId && c.account === call.account && c.region === call.region,
      );
      const inv = cmd?.invocations.find((i) => i.instance.id === body.InstanceId);
      if (!cmd || !inv || call.nowMs < cmd.requestedMs + INVOCATION_VISIBILITY_MS) {
        throw new ServiceError(
          'InvocationDoesNotExist',
          'The command ID and instance ID you specified did not match any invocations.',
        );
      }
      if (body.PluginName !== undefined && body.PluginName !== pluginName(cmd))
        throw new ServiceError('InvalidPluginName', `Plugin ${JSON.stringify(body.PluginName)} is not valid.`);
      const s = invocationStatus(inv, call.nowMs);
      const started = call.nowMs >= inv.startMs && inv.responseCode !== -1;
      return {
        CommandId: cmd.id,
        InstanceId: inv.instance.id,
        Comment: cmd.comment,
        DocumentName: cmd.documentName,
        DocumentVersion: '$DEFAULT',
        PluginName: pluginName(cmd),
        ResponseCode: s.done ? inv.responseCode : -1,
        ExecutionStartDateTime: started ? new Date(inv.startMs).toISOString() : '',
        ExecutionElapsedTime: started ? elapsed((s.done ? inv.endMs : call.nowMs) - inv.startMs) : '',
        ExecutionEndDateTime: s.done && started ? new Date(inv.endMs).toISOString() : '',
        Status: s.status,
        StatusDetails: s.details,
        StandardOutputContent: s.done ? agentTruncate(inv.stdout).slice(0, STDOUT_CAP) : '',
        StandardOutputUrl: '',
        StandardErrorContent: s.done ? agentTruncate(inv.stderr).slice(0, STDERR_CAP) : '',
        StandardErrorUrl: '',
      };
    },
    ListCommandInvocations(call, body) {
      const max = maxResults(body.MaxResults, 1, 50, 50);
      const cmds =
        body.CommandId !== undefined
          ? [findCommand(call, body.CommandId)]
          : commandsOf(call.sim).filter((c) => c.account === call.account && c.region === call.region);
      const all = cmds.flatMap((c) =>
        c.invocations
          .filter((i) => body.InstanceId === undefined || i.instance.id === body.InstanceId)
          .map((i) => ({ c, i })),
      );
      const start = decodeToken(body.NextToken as string | undefined, 'ListCommandInvocations', 'InvalidNextToken');
      const page = all.slice(start, start + max);
      call.items = page.length;
      return {
        CommandInvocations: page.map(({ c, i }) => {
          const s = invocationStatus(i, call.nowMs);
          return {
            CommandId: c.id,
            InstanceId: i.instance.id,
            InstanceName: i.instance.tags.Name ?? '',
            DocumentName: c.documentName,
            DocumentVersion: '$DEFAULT',
            Comment: c.comment,
            RequestedDateTime: new Date(c.requestedMs),
            Status: s.status,
            StatusDetails: s.details,
            StandardOutputUrl: '',
            StandardErrorUrl: '',
            CommandPlugins:
              body.Details === true
                ? [
                    {
                      Name: pluginName(c),
                      Status: s.status,
                      StatusDetails: s.details,
                      ResponseCode: s.done ? i.responseCode : -1,
                      ResponseStartDateTime: call.nowMs >= i.startMs ? new Date(i.startMs) : undefined,
                      ResponseFinishDateTime: s.done ? new Date(i.endMs) : undefined,
                      Output: s.done ? pluginOutput(agentTruncate(i.stdout), agentTruncate(i.stderr)) : '',
                    },
                  ]
                : [],
          };
        }),
        NextToken: start + max < all.length ? encodeToken('ListCommandInvocations', start + max) : undefined,
      };
    },
    ListCommands(call, body) {
      const max = maxResults(body.MaxResults, 1, 50, 50);
      let cmds =
        body.CommandId !== undefined
          ? [findCommand(call, body.CommandId)]
          : commandsOf(call.sim).filter((c) => c.account === call.account && c.region === call.region);
      if (body.InstanceId !== undefined)
        cmds = cmds.filter((c) => c.invocations.some((i) => i.instance.id === body.InstanceId));
      const start = decodeToken(body.NextToken as string | undefined, 'ListCommands', 'InvalidNextToken');
      return {
        Commands: cmds.slice(start, start + max).map((c) => commandView(c, call.nowMs)),
        NextToken: start + max < cmds.length ? encodeToken('ListCommands', start + max) : undefined,
      };
    },
  },
  category: (op) =>
    op === 'SendCommand'
      ? 'ssm.SendCommand'
      : op === 'DescribeInstanceInformation'
        ? 'ssm.describe'
        : 'ssm.invocations',
};
