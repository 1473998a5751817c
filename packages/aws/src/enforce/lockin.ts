import { createHash } from 'node:crypto';
import { DescribeLaunchConfigurationsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import type { EC2Client, LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  ModifyImageAttributeCommand,
  ModifyInstanceMetadataDefaultsCommand,
  ModifyLaunchTemplateCommand,
} from '@aws-sdk/client-ec2';
import type { JournalState, LockInStep, Plan, Reporter, TargetState, ToolInfo } from '@imdsv2-cutover/core';
import { CutoverError, lockInTarget, replayJournal, targetKey, unmeasuredLaunchWarning } from '@imdsv2-cutover/core';
import { existsSync } from 'node:fs';
import { JournalWriter, readJournal } from '../journal/journal.js';

import { awsErrorCode, awsErrorInfo } from '../errors.js';
import {
  LockInRefusal,
  blockDeviceMappingsRequest,
  metadataOptionsRequest,
  templateDataFromLaunchConfiguration,
} from './launch-data.js';
import {
  FROM_LAUNCH_CONFIGURATION_TAG,
  type Fields,
  type LockInClients,
  launchSource,
  lockInClients,
  num,
  readLockIn,
  str,
} from './lockin-resources.js';
import { proveLaunches, type LaunchProof } from './prove-launch.js';

export {
  CANARY_TAG,
  FROM_LAUNCH_CONFIGURATION_TAG,
  type LockInClients,
  liveCanaries,
  lockInAtPrevious,
  lockInClients,
  readAccountDefaults,
  readLockIn,
  restoreLockIn,
} from './lockin-resources.js';
import type { ClientsFor } from './types.js';

export interface LockInStepResult {
  id: string;
  kind: LockInStep['kind'];
  outcome:
    'applied' | 'already-done' | 'recovered' | 'needs-confirmation' | 'deferred' | 'permitted' | 'drifted' | 'failed';
  message: string;
  previous: Fields | null;
  /** What the user should know although the step went through (launches never measured). */
  warnings: string[];
}

export interface LockInResult {
  dryRun: boolean;
  message: string;
  steps: LockInStepResult[];
  /** With `proveLaunch`: one canary launch per template the wave changed. */
  proofs: LaunchProof[];
}

export interface LockInOptions {
  plan: Plan;
  clients: ClientsFor;
  journalFile: string;
  tool: ToolInfo;
  reporter: Reporter;
  dryRun?: boolean;
  confirmIrreversible?: boolean;
  /**
   * Enable HttpTokensEnforced (the plan's `http-tokens-enforced:` steps, `--confirm-http-tokens-enforced`). Without
   * it those steps end `needs-confirmation`; with it they still wait (`deferred`) until every wave of the plan completed
   * clean and every other lock-in step of the run succeeded.
   */
  confirmTokensEnforced?: boolean;
  /** A template whose default version is no longer the plan's source version: skip it (default), fail, or adopt. */
  onDrift?: 'fail' | 'skip' | 'adopt';
  /**
   * After the steps, launch one canary from each template the wave changed and check it comes up with tokens required
   * (`--prove-launch`); the canary is journaled and terminated.
   */
  proveLaunch?: boolean;
  /** How long a canary may take to be `running`. Default 10 minutes. */
  proveTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Why a step's resource no longer holds what the plan recorded as its previous state, or null when it does. */
function driftOf(step: LockInStep, live: Fields): string | null {
  if (step.kind === 'launch-template-version') {
    const planned = num(step.previous.defaultVersion);
    return planned !== null && live.defaultVersion !== planned
      ? `the default version is now ${String(live.defaultVersion)}, not ${planned} as planned`
      : null;
  }
  if (step.kind === 'launch-configuration-migration') {
    const planned = str(step.previous.launchConfigurationName);
    return live.launchConfigurationName !== planned
      ? `the group now launches from ${launchSource(live)}, not launch configuration ${planned} as planned`
      : null;
  }
  return null;
}

/** True for the step that enables HttpTokensEnforced on the account defaults (the planner's last step of a Region). */
export function isTokensEnforcedStep(step: Pick<LockInStep, 'kind' | 'target'>): boolean {
  return step.kind === 'account-defaults' && step.target.httpTokensEnforced === 'enabled';
}

/** The waves of the plan the journal does not show completed (each with its state), in plan order. */
function wavesNotClean(plan: Plan, state: JournalState | null): string[] {
  const out: string[] = [];
  for (const w of plan.waves) {
    if (w.instances.length === 0) continue;
    const run = state?.waves.get(String(w.index));
    if (run?.state !== 'completed') out.push(`wave ${w.index} (${w.name}) ${run?.state ?? 'not run'}`);
  }
  return out;
}

/** The lock-in step's target values with the tool's defaults (tokens required). */
function desiredOf(step: LockInStep): Fields {
  if (step.kind === 'ami-imds-support') return { imdsSupport: 'v2.0' };
  if (step.kind === 'launch-configuration-migration')
    return {
      launchConfigurationName: null,
      launchTemplateName: str(step.target.launchTemplateName),
      launchTemplateVersion: str(step.target.launchTemplateVersion) ?? '$Default',
    };
  const hop = num(step.target.httpPutResponseHopLimit);
  const enforced = str(step.target.httpTokensEnforced);
  return {
    httpTokens: str(step.target.httpTokens) ?? 'required',
    ...(hop === null ? {} : { httpPutResponseHopLimit: hop }),
    ...(step.kind === 'launch-template-version' ? { httpEndpoint: 'enabled' } : {}),
    ...(step.kind === 'account-defaults' && enforced !== null ? { httpTokensEnforced: enforced } : {}),
  };
}

/** True when the resource already holds the step's target. */
function isDone(step: LockInStep, live: Fields): boolean {
  const d = desiredOf(step);
  return Object.entries(d).every(([k, v]) => live[k] === v);
}

/** The description of every version lock-in creates: how a resumed run finds the version an interrupted one made. */
export const LOCKIN_VERSION_DESCRIPTION = 'imdsv2-cutover lock-in: IMDSv2 required';

/**
 * The idempotency token of a step's CreateLaunchTemplateVersion: one per journal and template, within EC2's 64
 * characters (a prefix of the step id would be the same for every template of an account).
 */
function clientToken(journalId: string, step: LockInStep): string {
  return `imdsv2-${createHash('sha256').update(`${journalId}\n${step.id}`).digest('hex').slice(0, 40)}`;
}

/** True when a launch template version holds the step's metadata target. */
function versionMatches(v: LaunchTemplateVersion, desired: Fields): boolean {
  const m = v.LaunchTemplateData?.MetadataOptions;
  const live: Fields = {
    httpTokens: m?.HttpTokens ?? null,
    httpPutResponseHopLimit: m?.HttpPutResponseHopLimit ?? null,
    httpEndpoint: m?.HttpEndpoint ?? null,
  };
  return Object.entries(desired).every(([k, x]) => live[k] === x);
}

/**
 * A version an interrupted run created (our description, the target's metadata, newer than the recorded default) but
 * had not yet made the default: resuming makes it the default instead of creating a second one.
 */
async function findCreatedVersion(ec2: EC2Client, step: LockInStep, previous: Fields): Promise<number | null> {
  const after = num(previous.defaultVersion);
  if (after === null) return null;
  const desired = desiredOf(step);
  let NextToken: string | undefined;
  let found: number | null = null;
  do {
    const r = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: step.resourceId!,
        MinVersion: String(after + 1),
        NextToken,
      }),
    );
    for (const v of r.LaunchTemplateVersions ?? []) {
      if (v.VersionDescription !== LOCKIN_VERSION_DESCRIPTION || !versionMatches(v, desired)) continue;
      if (v.VersionNumber !== undefined) found = Math.max(found ?? 0, v.VersionNumber);
    }
    NextToken = r.NextToken;
  } while (NextToken);
  return found;
}

/**
 * The version a template step copies: the plan's source version (the default, or the latest when only $Latest groups
 * use a template whose latest is not its default), unless the default moved since planning and the user adopted it.
 */
function sourceVersionOf(step: LockInStep, live: Fields): string {
  const planned = num(step.target.sourceVersion);
  const unchanged = live.defaultVersion === num(step.previous.defaultVersion);
  return String(planned !== null && unchanged ? planned : live.defaultVersion);
}

/**
 * A new template version: the source version with tokens required, the planned hop limit and the endpoint enabled,
 * made the default. Everything else is inherited from the source (SourceVersion), and its block device mappings are
 * passed explicitly, because EC2 drops inherited snapshots (see `blockDeviceMappingsRequest`).
 */
async function newTemplateVersion(
  ec2: EC2Client,
  step: LockInStep,
  live: Fields,
  token: string,
  DryRun: true | undefined,
): Promise<Fields> {
  const id = step.resourceId!;
  const source = sourceVersionOf(step, live);
  const src = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [source] }));
  const data = src.LaunchTemplateVersions?.[0]?.LaunchTemplateData ?? {};
  const hop = num(step.target.httpPutResponseHopLimit) ?? data.MetadataOptions?.HttpPutResponseHopLimit ?? 2;
  const created = await ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: id,
      SourceVersion: source,
      VersionDescription: LOCKIN_VERSION_DESCRIPTION,
      ClientToken: token,
      DryRun,
      LaunchTemplateData: {
        ...(data.BlockDeviceMappings
          ? { BlockDeviceMappings: blockDeviceMappingsRequest(data.BlockDeviceMappings) }
          : {}),
        MetadataOptions: metadataOptionsRequest(data.MetadataOptions, hop),
      },
    }),
  );
  const v = created.LaunchTemplateVersion?.VersionNumber;
  if (v === undefined) throw new CutoverError('AWS_ERROR', `CreateLaunchTemplateVersion on ${id} returned no version`);
  await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: String(v) }));
  return { newDefaultVersion: v, sourceVersion: Number(source) };
}

/** A launch template of the region by name, with its tags; null when there is none. */
async function templateByName(
  ec2: EC2Client,
  name: string,
): Promise<{ id: string; tags: Record<string, string> } | null> {
  const r = await ec2.send(
    new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'launch-template-name', Values: [name] }] }),
  );
  const t = r.LaunchTemplates?.find((x) => x.LaunchTemplateName === name);
  if (!t?.LaunchTemplateId) return null;
  return {
    id: t.LaunchTemplateId,
    tags: Object.fromEntries((t.Tags ?? []).filter((x) => x.Key !== undefined).map((x) => [x.Key!, x.Value ?? ''])),
  };
}

/**
 * Moves a group from its launch configuration to a launch template made from it: reads the configuration,
 * writes it as launch template data (`templateDataFromLaunchConfiguration`: AWS's mapping, tokens required), creates
 * the template tagged with the configuration's name (or reuses the one an earlier or interrupted run made: same name,
 * same tag), then points the group at its $Default version with UpdateAutoScalingGroup. A template of that name that
 * lock-in did not make is never touched: the step fails. DryRun: CreateLaunchTemplate's only (Auto Scaling has none).
 */
async function migrateLaunchConfiguration(
  c: LockInClients,
  step: LockInStep,
  live: Fields,
  token: string,
  DryRun: true | undefined,
): Promise<Fields> {
  const group = step.resourceId!;
  const lcName = str(live.launchConfigurationName);
  if (lcName === null)
    throw new LockInRefusal(
      'NoLaunchConfiguration',
      `${group} launches from ${launchSource(live)}: nothing to migrate`,
    );
  const templateName = str(step.target.launchTemplateName)!;
  const version = str(step.target.launchTemplateVersion) ?? '$Default';
  const lcs = await c.autoScaling.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: [lcName] }));
  const lc = lcs.LaunchConfigurations?.find((x) => x.LaunchConfigurationName === lcName);
  if (!lc) throw new LockInRefusal('LaunchConfigurationNotFound', `launch configuration ${lcName} does not exist`);
  const hop = Math.max(num(step.target.httpPutResponseHopLimit) ?? 1, lc.MetadataOptions?.HttpPutResponseHopLimit ?? 1);
  const { data, notes } = templateDataFromLaunchConfiguration(lc, hop);
  const existing = await templateByName(c.ec2, templateName);
  let templateId: string;
  let created = false;
  if (existing) {
    if (existing.tags[FROM_LAUNCH_CONFIGURATION_TAG] !== lcName)
      throw new LockInRefusal(
        'LaunchTemplateNameInUse',
        `launch template name ${templateName} is taken by ${existing.id}, which lock-in did not make from ${lcName}: assess and plan again for another name`,
      );
    templateId = existing.id;
  } else {
    const r = await c.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: templateName,
        VersionDescription: `${LOCKIN_VERSION_DESCRIPTION}; made from launch configuration ${lcName}`,
        LaunchTemplateData: data,
        TagSpecifications: [
          { ResourceType: 'launch-template', Tags: [{ Key: FROM_LAUNCH_CONFIGURATION_TAG, Value: lcName }] },
        ],
        ClientToken: token,
        DryRun,
      }),
    );
    templateId = r.LaunchTemplate?.LaunchTemplateId ?? '';
    if (!templateId)
      throw new CutoverError('AWS_ERROR', `CreateLaunchTemplate ${templateName} returned no template id`);
    created = true;
  }
  if (DryRun) return {};
  await c.autoScaling.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: group,
      LaunchTemplate: { LaunchTemplateId: templateId, Version: version },
    }),
  );
  return {
    launchTemplateId: templateId,
    launchTemplateName: templateName,
    launchConfigurationName: lcName,
    templateCreated: created,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

async function applyLockIn(
  c: LockInClients,
  step: LockInStep,
  live: Fields,
  token: string,
  dryRun: boolean,
): Promise<Fields> {
  const d = desiredOf(step);
  const DryRun = dryRun || undefined;
  switch (step.kind) {
    case 'launch-template-version':
      return newTemplateVersion(c.ec2, step, live, token, DryRun);
    case 'launch-configuration-migration':
      return migrateLaunchConfiguration(c, step, live, token, DryRun);
    case 'account-defaults':
      await c.ec2.send(
        new ModifyInstanceMetadataDefaultsCommand({
          HttpTokens: d.httpTokens as 'required',
          HttpPutResponseHopLimit: num(d.httpPutResponseHopLimit) ?? undefined,
          HttpTokensEnforced: (str(d.httpTokensEnforced) ?? undefined) as 'enabled' | undefined,
          DryRun,
        }),
      );
      return {};
    case 'ami-imds-support':
      await c.ec2.send(
        new ModifyImageAttributeCommand({ ImageId: step.resourceId!, ImdsSupport: { Value: 'v2.0' }, DryRun }),
      );
      return {};
  }
}

/** What a step's result adds for the user: launches never measured (the plan's `launchesSeen`). */
function warningsOf(step: LockInStep): string[] {
  const w = unmeasuredLaunchWarning(step);
  return w === undefined ? [] : [w];
}

/**
 * The lock-in wave: launch template versions with IMDSv2 required made default, groups moved from launch
 * configurations to launch templates, account defaults, and (only with `confirmIrreversible`) the AMI flag. Journaled
 * like instances: intent with the previous state read live, the change, the result. A step already at its target is
 * recorded and skipped; a crash between intent and result is resolved on the next run from the live state. With
 * `proveLaunch`, a canary from each changed template afterwards (`proveLaunches`). Steps that failed or launches not
 * proven end in INCOMPLETE (exit 1) with the result in its details.
 */
export async function runLockIn(o: LockInOptions): Promise<LockInResult> {
  // HttpTokensEnforced last: it must not be enabled while anything else of lock-in is undone.
  const steps = [
    ...o.plan.lockIn.filter((s) => !isTokensEnforcedStep(s)),
    ...o.plan.lockIn.filter((s) => isTokensEnforcedStep(s)),
  ];
  const out: LockInResult = { dryRun: !!o.dryRun, message: '', steps: [], proofs: [] };
  if (steps.length === 0) return { ...out, message: 'the plan has no lock-in steps' };
  o.reporter.emit({
    type: 'phase',
    phase: 'lock-in',
    message: `lock-in: ${steps.length} step(s)`,
    scope: { wave: 'lockin' },
  });
  if (o.onDrift === 'fail') {
    // Refuse before any change, like an instance wave.
    for (const step of steps.filter(
      (x) => x.kind === 'launch-template-version' || x.kind === 'launch-configuration-migration',
    )) {
      const live = await readLockIn(lockInClients(o.clients, step.accountId, step.region), lockInTarget(step));
      const drift = isDone(step, live) ? null : driftOf(step, live);
      if (drift !== null)
        throw new CutoverError(
          'DRIFT',
          `${step.kind === 'launch-template-version' ? 'launch template' : 'Auto Scaling group'} ${step.resourceId}: ${drift}; nothing was changed`,
          {
            exitCode: 2,
            suggestions: [
              'Re-run `imdsv2 assess` and `imdsv2 plan` to plan against the current template,',
              'or pass --on-drift skip (leave it alone) or --on-drift adopt (copy its current default version or launch configuration).',
            ],
          },
        );
    }
  }
  const journal = o.dryRun
    ? null
    : await JournalWriter.open({
        file: o.journalFile,
        planContentHash: o.plan.contentHash,
        tool: o.tool,
        reporter: o.reporter,
      });
  try {
    await journal?.append({ type: 'wave-start', wave: 'lockin', dryRun: false });
    const state = journal?.state();
    // A dry run reads the journal without opening it for writing.
    const waveState =
      state ?? (existsSync(o.journalFile) ? replayJournal((await readJournal(o.journalFile)).records) : null);
    const unclean = wavesNotClean(o.plan, waveState);
    let failed = 0;
    for (const step of steps) {
      const c = lockInClients(o.clients, step.accountId, step.region);
      const target = lockInTarget(step);
      const st: TargetState | undefined = state?.targets.get(targetKey(target));
      const push = (outcome: LockInStepResult['outcome'], message: string, previous: Fields | null) =>
        out.steps.push({ id: step.id, kind: step.kind, outcome, message, previous, warnings: warningsOf(step) });
      const recordOk = (j: JournalWriter, note: string, detail?: Fields) =>
        j.append({ type: 'result', wave: 'lockin', action: 'apply', target, outcome: 'ok', note, detail });
      try {
        const live = await readLockIn(c, target);
        if (step.irreversible && !o.confirmIrreversible && !isDone(step, live)) {
          push('needs-confirmation', `${step.description}: irreversible; pass --confirm-irreversible to do it`, live);
          continue;
        }
        if (isTokensEnforcedStep(step) && !isDone(step, live)) {
          const why = !o.confirmTokensEnforced
            ? 'needs-confirmation'
            : unclean.length > 0 || failed > 0 || out.steps.some((x) => x.outcome === 'drifted')
              ? 'deferred'
              : null;
          if (why === 'needs-confirmation') {
            push(
              why,
              `${step.description}: EC2 then refuses every change back to tokens optional in ${step.region} and every launch that resolves to IMDSv1; pass --confirm-http-tokens-enforced to enable it`,
              live,
            );
            continue;
          }
          if (why === 'deferred') {
            const reason =
              unclean.length > 0
                ? `not every wave has completed clean (${unclean.join(', ')})`
                : 'another lock-in step of this run did not succeed';
            push(why, `${step.description}: deferred, ${reason}; run the lock-in wave again once it has`, live);
            continue;
          }
        }
        const drift = isDone(step, live) || st?.phase === 'intent-pending' ? null : driftOf(step, live);
        if (drift !== null && (o.onDrift ?? 'skip') !== 'adopt') {
          const message =
            `${step.description}: ${drift}; ` +
            'left alone (run `imdsv2 assess` and `imdsv2 plan` again, or pass --on-drift adopt to take it as it is now)';
          await journal?.append({
            type: 'result',
            wave: 'lockin',
            action: 'apply',
            target,
            outcome: 'skipped',
            note: message,
          });
          push('drifted', message, live);
          continue;
        }
        if (isDone(step, live)) {
          if (journal && st?.phase === 'intent-pending') {
            await recordOk(journal, 'recovered after an interruption');
            push('recovered', step.description, live);
          } else {
            push('already-done', `${step.description}: already in place`, live);
          }
          continue;
        }
        if (!journal) {
          try {
            await applyLockIn(c, step, live, 'dry-run', true);
          } catch (e) {
            if (awsErrorCode(e) !== 'DryRunOperation') throw e;
          }
          push('permitted', `${step.description}: DryRun permitted`, live);
          continue;
        }
        // An earlier run's intent holds the true previous state; a live read now may already show half the change.
        const pending = st?.phase === 'intent-pending' ? (st.openIntent!.previous as Fields) : null;
        const previous = pending ?? live;
        if (pending && step.kind === 'launch-template-version') {
          // Interrupted after CreateLaunchTemplateVersion, before ModifyLaunchTemplate: finish with that version.
          const made = await findCreatedVersion(c.ec2, step, pending);
          if (made !== null) {
            await c.ec2.send(
              new ModifyLaunchTemplateCommand({ LaunchTemplateId: step.resourceId!, DefaultVersion: String(made) }),
            );
            await recordOk(
              journal,
              'recovered after an interruption: the version created before it was made the default',
              { newDefaultVersion: made },
            );
            push('recovered', `${step.description} (version ${made}, created before the interruption)`, previous);
            continue;
          }
        }
        await journal.append({
          type: 'intent',
          wave: 'lockin',
          action: 'apply',
          target,
          previous,
          desired: desiredOf(step),
        });
        const detail = await applyLockIn(c, step, live, clientToken(journal.header.journalId, step), false);
        await journal.append({ type: 'result', wave: 'lockin', action: 'apply', target, outcome: 'ok', detail });
        push('applied', step.description, previous);
      } catch (e) {
        if (e instanceof CutoverError && e.code !== 'AWS_ERROR') throw e;
        failed++;
        const error = awsErrorInfo(e);
        if (journal && st?.phase !== 'applied') {
          await journal.append({ type: 'result', wave: 'lockin', action: 'apply', target, outcome: 'failed', error });
        }
        push('failed', `${step.description}: ${error.code}: ${error.message}`, null);
        o.reporter.emit({
          type: 'warning',
          code: 'LOCKIN_FAILED',
          message: `${step.id}: ${error.code}: ${error.message}`,
          scope: { wave: 'lockin' },
        });
      }
    }
    for (const s of out.steps)
      for (const w of s.warnings)
        o.reporter.emit({
          type: 'warning',
          code: 'LAUNCH_UNMEASURED',
          message: `${s.id}: ${w}`,
          scope: { wave: 'lockin' },
        });
    if (!journal && o.proveLaunch)
      o.reporter.emit({
        type: 'info',
        message: '--prove-launch launches no canary in a dry run: run the lock-in wave without --dry-run to prove it',
        scope: { wave: 'lockin' },
      });
    if (journal && o.proveLaunch) {
      out.proofs = await proveLaunches({
        plan: o.plan,
        steps: out.steps,
        clients: o.clients,
        journal,
        reporter: o.reporter,
        timeoutMs: o.proveTimeoutMs ?? 600_000,
        sleep: o.sleep,
        now: o.now,
      });
    }
    const notProven = out.proofs.filter((p) => p.outcome !== 'proven').length;
    await journal?.append({
      type: 'wave-end',
      wave: 'lockin',
      outcome: failed > 0 || notProven > 0 ? 'failed' : 'completed',
    });
    const counts = new Map<string, number>();
    for (const s of out.steps) counts.set(s.outcome, (counts.get(s.outcome) ?? 0) + 1);
    const proofs =
      out.proofs.length > 0 ? `; launches proven ${out.proofs.length - notProven} of ${out.proofs.length}` : '';
    out.message = `lock-in: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}${proofs}`;
    if (failed > 0 || notProven > 0)
      throw new CutoverError('INCOMPLETE', `${out.message}`, { details: { lockIn: out } });
    return out;
  } finally {
    await journal?.close();
  }
}
