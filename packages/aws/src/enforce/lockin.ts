import { createHash } from 'node:crypto';
import type { EC2Client, LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import {
  CreateLaunchTemplateVersionCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  GetInstanceMetadataDefaultsCommand,
  ModifyImageAttributeCommand,
  ModifyInstanceMetadataDefaultsCommand,
  ModifyLaunchTemplateCommand,
} from '@aws-sdk/client-ec2';
import type {
  JournalState,
  JournalTarget,
  LockInStep,
  Plan,
  Reporter,
  TargetState,
  ToolInfo,
} from '@imdsv2-cutover/core';
import { CutoverError, replayJournal, targetKey } from '@imdsv2-cutover/core';
import { existsSync } from 'node:fs';
import { JournalWriter, readJournal } from '../journal/journal.js';

import { awsErrorCode, awsErrorInfo } from '../errors.js';
import type { ClientsFor } from './types.js';

type Fields = Record<string, string | number | boolean | null>;

export interface LockInStepResult {
  id: string;
  kind: LockInStep['kind'];
  outcome:
    'applied' | 'already-done' | 'recovered' | 'needs-confirmation' | 'deferred' | 'permitted' | 'drifted' | 'failed';
  message: string;
  previous: Fields | null;
}

export interface LockInResult {
  dryRun: boolean;
  message: string;
  steps: LockInStepResult[];
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
}

/** The default version the plan recorded when the template's live default is another one (changed since planning). */
function driftedFrom(step: LockInStep, live: Fields): number | null {
  if (step.kind !== 'launch-template-version') return null;
  const planned = num(step.previous.defaultVersion);
  return planned !== null && live.defaultVersion !== planned ? planned : null;
}

export function lockInTarget(step: LockInStep): JournalTarget {
  const base = { accountId: step.accountId, region: step.region };
  switch (step.kind) {
    case 'launch-template-version':
      return { kind: 'launch-template', launchTemplateId: step.resourceId ?? '', ...base };
    case 'account-defaults':
      return { kind: 'account-defaults', ...base };
    case 'ami-imds-support':
      return { kind: 'image', imageId: step.resourceId ?? '', ...base };
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

/**
 * The account's instance metadata defaults in the client's Region (GetInstanceMetadataDefaults `AccountLevel`): every
 * field (null when unset, i.e. no preference) and who manages them (`account`, or `declarative-policy` when an
 * organization's declarative policy does, in which case ModifyInstanceMetadataDefaults is refused).
 */
export async function readAccountDefaults(ec2: EC2Client): Promise<{ fields: Fields; managedBy: string | null }> {
  const r = await ec2.send(new GetInstanceMetadataDefaultsCommand({}));
  const a = r.AccountLevel;
  return {
    fields: {
      httpTokens: a?.HttpTokens ?? null,
      httpPutResponseHopLimit: a?.HttpPutResponseHopLimit ?? null,
      httpEndpoint: a?.HttpEndpoint ?? null,
      instanceMetadataTags: a?.InstanceMetadataTags ?? null,
      httpTokensEnforced: a?.HttpTokensEnforced ?? null,
    },
    managedBy: a?.ManagedBy ?? null,
  };
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

/** Reads what a lock-in resource holds now: the fields the journal records as `previous`. */
export async function readLockIn(ec2: EC2Client, step: Pick<LockInStep, 'kind' | 'resourceId'>): Promise<Fields> {
  switch (step.kind) {
    case 'launch-template-version': {
      const id = step.resourceId!;
      const lt = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }));
      const dv = lt.LaunchTemplates?.[0]?.DefaultVersionNumber;
      if (dv === undefined) throw new CutoverError('AWS_ERROR', `launch template ${id} has no default version`);
      const v = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [String(dv)] }),
      );
      const m = v.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.MetadataOptions;
      return {
        defaultVersion: dv,
        httpTokens: m?.HttpTokens ?? null,
        httpPutResponseHopLimit: m?.HttpPutResponseHopLimit ?? null,
        httpEndpoint: m?.HttpEndpoint ?? null,
      };
    }
    case 'account-defaults':
      return (await readAccountDefaults(ec2)).fields;
    case 'ami-imds-support': {
      const r = await ec2.send(new DescribeImagesCommand({ ImageIds: [step.resourceId!] }));
      return { imdsSupport: r.Images?.[0]?.ImdsSupport ?? null };
    }
  }
}

/** The lock-in step's target values with the tool's defaults (tokens required). */
function desiredOf(step: LockInStep): Fields {
  if (step.kind === 'ami-imds-support') return { imdsSupport: 'v2.0' };
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

async function applyLockIn(
  ec2: EC2Client,
  step: LockInStep,
  live: Fields,
  token: string,
  dryRun: boolean,
): Promise<Fields> {
  const d = desiredOf(step);
  const DryRun = dryRun || undefined;
  switch (step.kind) {
    case 'launch-template-version': {
      const id = step.resourceId!;
      const source = String(live.defaultVersion);
      // CreateLaunchTemplateVersion replaces MetadataOptions as a whole: start from the source version's options so
      // that instance metadata tags and the IPv6 endpoint are kept.
      const src = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [source] }),
      );
      const { State: _state, ...sourceOptions } =
        src.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.MetadataOptions ?? {};
      const created = await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: id,
          SourceVersion: source,
          VersionDescription: LOCKIN_VERSION_DESCRIPTION,
          ClientToken: token,
          DryRun,
          LaunchTemplateData: {
            MetadataOptions: {
              ...sourceOptions,
              HttpTokens: 'required',
              HttpEndpoint: 'enabled',
              HttpPutResponseHopLimit: num(d.httpPutResponseHopLimit) ?? num(live.httpPutResponseHopLimit) ?? 2,
            },
          },
        }),
      );
      const v = created.LaunchTemplateVersion?.VersionNumber;
      if (v === undefined)
        throw new CutoverError('AWS_ERROR', `CreateLaunchTemplateVersion on ${id} returned no version`);
      await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: String(v) }));
      return { newDefaultVersion: v };
    }
    case 'account-defaults':
      await ec2.send(
        new ModifyInstanceMetadataDefaultsCommand({
          HttpTokens: d.httpTokens as 'required',
          HttpPutResponseHopLimit: num(d.httpPutResponseHopLimit) ?? undefined,
          HttpTokensEnforced: (str(d.httpTokensEnforced) ?? undefined) as 'enabled' | undefined,
          DryRun,
        }),
      );
      return {};
    case 'ami-imds-support':
      await ec2.send(
        new ModifyImageAttributeCommand({ ImageId: step.resourceId!, ImdsSupport: { Value: 'v2.0' }, DryRun }),
      );
      return {};
  }
}

/**
 * Restores a lock-in resource to its recorded previous state: the launch template's previous default version, the
 * account defaults' previous values (unset ones back to no-preference). The AMI flag cannot be undone: refused.
 */
export async function restoreLockIn(ec2: EC2Client, target: JournalTarget, previous: Fields): Promise<void> {
  switch (target.kind) {
    case 'launch-template':
      await ec2.send(
        new ModifyLaunchTemplateCommand({
          LaunchTemplateId: target.launchTemplateId,
          DefaultVersion: String(previous.defaultVersion),
        }),
      );
      return;
    case 'account-defaults':
      await ec2.send(
        new ModifyInstanceMetadataDefaultsCommand({
          HttpTokens: (str(previous.httpTokens) ?? 'no-preference') as 'optional',
          HttpPutResponseHopLimit: num(previous.httpPutResponseHopLimit) ?? -1,
          HttpEndpoint: (str(previous.httpEndpoint) ?? 'no-preference') as 'enabled',
          InstanceMetadataTags: (str(previous.instanceMetadataTags) ?? 'no-preference') as 'enabled',
          // Journals written before this field was recorded lack it: leave it as it is then.
          HttpTokensEnforced:
            'httpTokensEnforced' in previous
              ? ((str(previous.httpTokensEnforced) ?? 'no-preference') as 'enabled')
              : undefined,
        }),
      );
      return;
    case 'image':
      throw new CutoverError(
        'BAD_USAGE',
        `the AMI IMDS-support flag on ${target.imageId} cannot be undone (EC2 offers no way back)`,
      );
    case 'instance':
      throw new CutoverError('INTERNAL', 'restoreLockIn called for an instance');
  }
}

/** True when a lock-in resource is back at (or still at) its previous state. */
export function lockInAtPrevious(target: JournalTarget, live: Fields, previous: Fields): boolean {
  if (target.kind === 'launch-template') return live.defaultVersion === previous.defaultVersion;
  return Object.entries(previous).every(([k, v]) => live[k] === v);
}

/**
 * The lock-in wave: launch template versions with IMDSv2 required made default, account defaults, and (only with
 * `confirmIrreversible`) the AMI flag. Journaled like instances: intent with the previous state read live, the change,
 * the result. A step already at its target is recorded and skipped; a crash between intent and result is resolved on
 * the next run from the live state.
 */
export async function runLockIn(o: LockInOptions): Promise<LockInResult> {
  // HttpTokensEnforced last: it must not be enabled while anything else of lock-in is undone.
  const steps = [
    ...o.plan.lockIn.filter((s) => !isTokensEnforcedStep(s)),
    ...o.plan.lockIn.filter((s) => isTokensEnforcedStep(s)),
  ];
  const out: LockInResult = { dryRun: !!o.dryRun, message: '', steps: [] };
  if (steps.length === 0) return { ...out, message: 'the plan has no lock-in steps' };
  o.reporter.emit({
    type: 'phase',
    phase: 'lock-in',
    message: `lock-in: ${steps.length} step(s)`,
    scope: { wave: 'lockin' },
  });
  if (o.onDrift === 'fail') {
    // Refuse before any change, like an instance wave.
    for (const step of steps.filter((x) => x.kind === 'launch-template-version')) {
      const live = await readLockIn(o.clients.ec2(step.accountId, step.region), step);
      const drift = isDone(step, live) ? null : driftedFrom(step, live);
      if (drift !== null)
        throw new CutoverError(
          'DRIFT',
          `launch template ${step.resourceId}: the default version is now ${String(live.defaultVersion)}, not ${drift} as planned; nothing was changed`,
          {
            exitCode: 2,
            suggestions: [
              'Re-run `imdsv2 assess` and `imdsv2 plan` to plan against the current template,',
              'or pass --on-drift skip (leave it alone) or --on-drift adopt (copy its current default version).',
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
      const ec2 = o.clients.ec2(step.accountId, step.region);
      const target = lockInTarget(step);
      const st: TargetState | undefined = state?.targets.get(targetKey(target));
      const push = (outcome: LockInStepResult['outcome'], message: string, previous: Fields | null) =>
        out.steps.push({ id: step.id, kind: step.kind, outcome, message, previous });
      const recordOk = (j: JournalWriter, note: string, detail?: Fields) =>
        j.append({ type: 'result', wave: 'lockin', action: 'apply', target, outcome: 'ok', note, detail });
      try {
        const live = await readLockIn(ec2, step);
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
        const drift = isDone(step, live) || st?.phase === 'intent-pending' ? null : driftedFrom(step, live);
        if (drift !== null && (o.onDrift ?? 'skip') !== 'adopt') {
          const message =
            `${step.description}: the default version is now ${String(live.defaultVersion)}, not ${drift} as planned; ` +
            'left alone (run `imdsv2 assess` and `imdsv2 plan` again, or pass --on-drift adopt to copy the new default)';
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
            await applyLockIn(ec2, step, live, 'dry-run', true);
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
          const made = await findCreatedVersion(ec2, step, pending);
          if (made !== null) {
            await ec2.send(
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
        const detail = await applyLockIn(ec2, step, live, clientToken(journal.header.journalId, step), false);
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
    await journal?.append({ type: 'wave-end', wave: 'lockin', outcome: failed > 0 ? 'failed' : 'completed' });
    const counts = new Map<string, number>();
    for (const s of out.steps) counts.set(s.outcome, (counts.get(s.outcome) ?? 0) + 1);
    out.message = `lock-in: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}`;
    if (failed > 0) throw new CutoverError('INCOMPLETE', `${out.message}`, { details: { lockIn: out } });
    return out;
  } finally {
    await journal?.close();
  }
}
