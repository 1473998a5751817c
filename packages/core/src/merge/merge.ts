import { CutoverError } from '../errors.js';
import { assessmentPartition } from '../regions/arn.js';
import { canonicalJson, sha256Hex } from '../hash.js';
import type { AccountResult, Assessment } from '../schemas/assessment.js';
import { asgKey, byCodeUnit, imageKey, instanceKey, launchTemplateKey, pairKey } from '../diff/keys.js';

/**
 * Combines the assessments of disjoint shards (groups of accounts or regions assessed by separate jobs) into one
 * assessment, as if one job had assessed the whole scope. Pure and deterministic: the output does not depend on the
 * order of the shards.
 *
 * Refused (BAD_INPUT, exit 2), naming the files and the values:
 * - shards that are not compatible: a different schema version, tool, lookback, minimum observation, probe mode or
 *   endpoint, because their readiness verdicts would not mean the same thing; or a different partition (aws,
 *   aws-cn, aws-us-gov), because one plan and its SCP serve the accounts of one partition;
 * - shards that overlap: the same (account, region) assessed twice, the same instance id twice, or the same launch
 *   template, Auto Scaling group or image twice, or the same assessment given twice.
 *
 * The merged assessment:
 * - `complete` is true only when every shard is complete;
 * - accounts, regions, instances, launch templates, ASGs and images are the union, sorted by account, region and id;
 *   an account that appears in several shards (shards split by region) is `failed` when it failed in any of them;
 * - `id` is `merged-` plus the first 20 hex digits of the sha256 of the sorted shard ids;
 * - `createdAt` is the EARLIEST shard's: the merged snapshot is no fresher than its oldest part, so a reader (the
 *   history trend, a diff's order check) never takes old data for new.
 */

export interface Shard {
  /** The file the shard came from, for error messages. */
  file: string;
  assessment: Assessment;
}

const collator = byCodeUnit;

function refuse(message: string, suggestion: string): never {
  throw new CutoverError('BAD_INPUT', message, { suggestions: [suggestion] });
}

/** Settings that must be equal in every shard, each with how to read it. */
const SAME: { label: string; get: (a: Assessment) => unknown }[] = [
  { label: 'schema', get: (a) => `${a.schema.name} v${a.schema.version}` },
  { label: 'tool', get: (a) => `${a.tool.name} ${a.tool.version}` },
  { label: 'scope.lookbackDays', get: (a) => a.scope.lookbackDays },
  { label: 'scope.minObservationDays', get: (a) => a.scope.minObservationDays },
  { label: 'scope.probe', get: (a) => a.scope.probe },
  { label: 'scope.endpointUrl', get: (a) => a.scope.endpointUrl ?? '(none)' },
  // An account lives in one partition and an SCP is attached in one: shards of two partitions are two assessments.
  { label: 'partition', get: (a) => assessmentPartition(a) },
];

function checkCompatible(shards: readonly Shard[]): void {
  const first = shards[0]!;
  for (const { label, get } of SAME) {
    const want = get(first.assessment);
    const other = shards.find((s) => get(s.assessment) !== want);
    if (other) {
      refuse(
        `incompatible shards: ${label} is ${JSON.stringify(want)} in ${first.file} but ${JSON.stringify(get(other.assessment))} in ${other.file}`,
        'Run every shard of one scheduled assessment with the same tool version and the same --lookback-days, --min-observation-days, --probe and --endpoint-url.',
      );
    }
  }
}

/** Refuses a key that two shards both hold; `keysOf` lists the keys of one shard (duplicates within a shard are its own business). */
function checkDisjoint(shards: readonly Shard[], what: string, keysOf: (a: Assessment) => Iterable<string>): void {
  const owner = new Map<string, string>();
  const clashes: { key: string; files: [string, string] }[] = [];
  for (const s of shards) {
    for (const key of new Set(keysOf(s.assessment))) {
      const prev = owner.get(key);
      if (prev === undefined) owner.set(key, s.file);
      else clashes.push({ key, files: [prev, s.file] });
    }
  }
  if (clashes.length === 0) return;
  const shown = clashes
    .slice(0, 5)
    .map((c) => `${c.key} (${c.files[0]} and ${c.files[1]})`)
    .join(', ');
  const more = clashes.length > 5 ? ` and ${clashes.length - 5} more` : '';
  refuse(
    `overlapping shards: ${clashes.length} ${what} in more than one shard: ${shown}${more}`,
    'Give each shard job a disjoint set of accounts or regions, and merge each shard file once.',
  );
}

function mergeAccounts(shards: readonly Shard[]): AccountResult[] {
  const byId = new Map<string, AccountResult>();
  for (const s of shards) {
    for (const acc of s.assessment.accounts) {
      const prev = byId.get(acc.accountId);
      if (prev === undefined) {
        byId.set(acc.accountId, acc);
        continue;
      }
      const failed = prev.status === 'failed' ? prev : acc.status === 'failed' ? acc : undefined;
      const name = prev.name ?? acc.name;
      const partition = prev.partition ?? acc.partition;
      byId.set(acc.accountId, {
        accountId: acc.accountId,
        ...(name === undefined ? {} : { name }),
        ...(partition === undefined ? {} : { partition }),
        status: failed ? 'failed' : 'ok',
        ...(failed?.error ? { error: failed.error } : {}),
      });
    }
  }
  return [...byId.values()].sort((a, b) => collator(a.accountId, b.accountId));
}

function union<T>(shards: readonly Shard[], pick: (a: Assessment) => readonly T[], key: (x: T) => string): T[] {
  return shards
    .flatMap((s) => pick(s.assessment))
    .map((x) => [key(x), x] as const)
    .sort(([a], [b]) => collator(a, b))
    .map(([, x]) => x);
}

const sortedUnion = (lists: readonly (readonly string[])[]): string[] => [...new Set(lists.flat())].sort(collator);

/** Merges disjoint shard assessments into one (see the module comment for the rules). */
export function mergeAssessments(shards: readonly Shard[]): Assessment {
  if (shards.length < 2) {
    throw new CutoverError('BAD_USAGE', `merge needs at least two shard assessments, got ${shards.length}`, {
      suggestions: ['Name every shard file: imdsv2 merge a.json b.json --out all.json'],
    });
  }
  checkDisjoint(shards, 'assessment ids', (a) => [a.id]);
  checkCompatible(shards);
  checkDisjoint(shards, '(account, region) pairs', (a) => [...a.regions.map(pairKey), ...a.instances.map(pairKey)]);
  checkDisjoint(shards, 'instance ids', (a) => a.instances.map((i) => i.instanceId));
  checkDisjoint(shards, 'launch templates', (a) => a.launchTemplates.map(launchTemplateKey));
  checkDisjoint(shards, 'Auto Scaling groups', (a) => a.autoScalingGroups.map(asgKey));
  checkDisjoint(shards, 'images', (a) => a.images.map(imageKey));

  const all = shards.map((s) => s.assessment);
  const first = all[0]!;
  const createdAt = all.map((a) => a.createdAt).reduce((min, t) => (Date.parse(t) < Date.parse(min) ? t : min));
  const ids = all.map((a) => a.id).sort(collator);
  const scope: Assessment['scope'] = {
    accounts: sortedUnion(all.map((a) => a.scope.accounts)),
    regions: sortedUnion(all.map((a) => a.scope.regions)),
    organization: all.some((a) => a.scope.organization),
    lookbackDays: first.scope.lookbackDays,
    minObservationDays: first.scope.minObservationDays,
    probe: first.scope.probe,
    ...(all.some((a) => a.scope.partition !== undefined) ? { partition: assessmentPartition(first) } : {}),
    ...(first.scope.endpointUrl === undefined ? {} : { endpointUrl: first.scope.endpointUrl }),
    ...(first.scope.simulator === undefined ? {} : { simulator: first.scope.simulator }),
  };
  return {
    schema: first.schema,
    id: `merged-${sha256Hex(canonicalJson(ids)).slice(0, 20)}`,
    createdAt,
    tool: first.tool,
    scope,
    complete: all.every((a) => a.complete),
    accounts: mergeAccounts(shards),
    regions: union(shards, (a) => a.regions, pairKey),
    instances: union(shards, (a) => a.instances, instanceKey),
    launchTemplates: union(shards, (a) => a.launchTemplates, launchTemplateKey),
    autoScalingGroups: union(shards, (a) => a.autoScalingGroups, asgKey),
    images: union(shards, (a) => a.images, imageKey),
  };
}
