import type { MetadataSettings, Plan, PlanEntry } from '@imdsv2-cutover/core';
import { CutoverError, contentHash, verifyPlanHash } from '@imdsv2-cutover/core';
import type { RegionalLimiter } from './aws-ops.js';
import { byPair, describeLive, isGone, modifyMetadata, sameSettings, settingsText } from './aws-ops.js';
import { awsErrorCode, awsFailure } from '../errors.js';
import type { ClientsFor, LiveInstance, OnDrift } from './types.js';

/** The plan's content hash as `imdsv2 plan` computes it: sha256 of the canonical JSON of everything but `contentHash`. */
export function computePlanHash(plan: Plan): string {
  const { contentHash: _ignored, ...rest } = plan;
  return contentHash(rest);
}

/** Refuses a plan whose content no longer matches its hash (edited after approval): core's `verifyPlanHash`. */
export function verifyPlan(plan: Plan, file = 'plan'): void {
  verifyPlanHash(plan, file);
}

/** Refuses an assessment older than `maxAgeSeconds` on the service's clock, unless forced. */
export function checkAssessmentAge(plan: Plan, serviceNowMs: number, maxAgeSeconds: number, force: boolean): number {
  const ageSeconds = Math.max(0, (serviceNowMs - Date.parse(plan.assessment.createdAt)) / 1000);
  if (ageSeconds > maxAgeSeconds && !force) {
    const days = (ageSeconds / 86_400).toFixed(1);
    throw new CutoverError(
      'STALE_INPUT',
      `the plan's assessment ${plan.assessment.id} was taken ${days} days ago (${plan.assessment.createdAt}), more than --max-age allows (${(maxAgeSeconds / 86_400).toFixed(1)} days)`,
      {
        suggestions: [
          'Run `imdsv2 assess` and `imdsv2 plan` again: new IMDSv1 callers may have appeared since.',
          'Or pass --force-stale to enforce this plan anyway.',
        ],
      },
    );
  }
  return ageSeconds;
}

export function plannedSettings(e: PlanEntry): MetadataSettings {
  return {
    httpTokens: e.planned.httpTokens,
    httpPutResponseHopLimit: e.planned.httpPutResponseHopLimit,
    httpEndpoint: e.planned.httpEndpoint,
  };
}

/** An instance whose live settings are not what the plan recorded. */
export interface DriftItem {
  instanceId: string;
  accountId: string;
  region: string;
  planned: MetadataSettings;
  live: MetadataSettings | null;
}

export function driftMessage(d: DriftItem): string {
  return `${d.instanceId} (${d.accountId} ${d.region}): planned ${settingsText(d.planned)}, live ${settingsText(d.live)}`;
}

/** Live state of plan entries, fetched per account and region in batches. */
export async function describeEntries(
  clients: ClientsFor,
  entries: readonly PlanEntry[],
): Promise<Map<string, LiveInstance>> {
  const out = new Map<string, LiveInstance>();
  for (const list of byPair(entries).values()) {
    const first = list[0]!;
    const live = await describeLive(
      clients.ec2(first.accountId, first.region),
      list.map((e) => e.instanceId),
    );
    for (const [id, l] of live) out.set(id, l);
  }
  return out;
}

/** Compares live settings to the plan's record; gone instances are not drift (they are reported as terminated). */
export function findDrift(entries: readonly PlanEntry[], live: Map<string, LiveInstance>): DriftItem[] {
  const out: DriftItem[] = [];
  for (const e of entries) {
    const l = live.get(e.instanceId);
    if (isGone(l)) continue;
    const planned = plannedSettings(e);
    if (!sameSettings(l!.settings, planned)) {
      out.push({ instanceId: e.instanceId, accountId: e.accountId, region: e.region, planned, live: l!.settings });
    }
  }
  return out;
}

/** Refuses to go on when drift is found and the policy is `fail`. */
export function assertDriftPolicy(drift: readonly DriftItem[], onDrift: OnDrift): void {
  if (onDrift !== 'fail' || drift.length === 0) return;
  const shown = drift.slice(0, 10).map(driftMessage);
  const more = drift.length > 10 ? `\n  ... and ${drift.length - 10} more` : '';
  throw new CutoverError(
    'DRIFT',
    `${drift.length} instance(s) changed since the assessment:\n  ${shown.join('\n  ')}${more}`,
    {
      exitCode: 2,
      suggestions: [
        'Re-run `imdsv2 assess` and `imdsv2 plan` to plan against the current settings,',
        'or pass --on-drift skip (leave them alone) or --on-drift adopt (enforce them from their live settings).',
      ],
      details: { drift },
    },
  );
}

export interface PermissionCheck {
  accountId: string;
  region: string;
  instanceId: string;
  permitted: boolean;
}

/**
 * Proves permission once per account and region with a DryRun ModifyInstanceMetadataOptions on one instance of the
 * wave. EC2 answers DryRunOperation (HTTP 412) when the real call would be allowed and UnauthorizedOperation when not;
 * anything else is an AWS error. A refusal anywhere stops the run before any change.
 */
export async function checkPermissions(
  clients: ClientsFor,
  entries: readonly {
    instanceId: string;
    accountId: string;
    region: string;
    target: MetadataSettings;
    planned?: MetadataSettings;
  }[],
  limiter?: RegionalLimiter,
): Promise<PermissionCheck[]> {
  const out: PermissionCheck[] = [];
  for (const list of byPair(entries).values()) {
    const e = list[0]!;
    // A DryRun call draws from the same Modify bucket as the real ones.
    await limiter?.take(e.accountId, e.region);
    try {
      await modifyMetadata(clients.ec2(e.accountId, e.region), e.instanceId, e.target, true, e.planned);
      throw new CutoverError(
        'AWS_ERROR',
        `DryRun ModifyInstanceMetadataOptions on ${e.instanceId} (${e.accountId} ${e.region}) succeeded instead of answering DryRunOperation; refusing to continue against an endpoint that ignores DryRun`,
      );
    } catch (err) {
      if (err instanceof CutoverError) throw err;
      const code = awsErrorCode(err);
      if (code === 'DryRunOperation') {
        out.push({ accountId: e.accountId, region: e.region, instanceId: e.instanceId, permitted: true });
      } else if (code === 'UnauthorizedOperation' || code === 'AccessDenied' || code === 'AccessDeniedException') {
        throw new CutoverError(
          'ACCESS_DENIED',
          `not allowed to call ec2:ModifyInstanceMetadataOptions in account ${e.accountId} region ${e.region} (DryRun on ${e.instanceId} answered ${code})`,
          {
            suggestions: [
              'Grant the enforce policy printed by `imdsv2 policy --for enforce` to the role you run with.',
            ],
            cause: err,
          },
        );
      } else {
        // Named like every AWS error: the operation, account and region, and what to do (unreachable, throttled, ...).
        throw awsFailure(err, { doing: `preflight (DryRun on ${e.instanceId})`, phase: 'enforce' });
      }
    }
  }
  return out;
}
