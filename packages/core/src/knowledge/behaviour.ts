import { z } from 'zod';
import {
  ImdsBehaviourKind,
  type ImdsBehaviour,
  type ImdsEffect,
  type InstalledPackage,
  type ProbeReport,
} from '../schemas/probe-report.js';
import behaviourData from './imds-behaviour.json' with { type: 'json' };
import { compareVersions, minimumVersions, type MinVersionEntry } from './index.js';

const Version = z.string().regex(/^\d+(\.\d+)*$/, 'a dotted version such as 3.0.431.0');

const BehaviourRange = z
  .object({
    from: Version.optional(),
    below: Version.optional(),
    behaviour: ImdsBehaviourKind.exclude(['unknown']),
    source: z.string().min(1),
    advice: z.string().optional(),
    setting: z.string().optional(),
    note: z.string().optional(),
  })
  .strict();

export const BehaviourComponent = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
    name: z.string().min(1),
    category: z.enum(['monitoring', 'deployment', 'log-shipping', 'security', 'platform', 'other']),
    aliases: z.array(z.string().min(1)),
    ranges: z.array(BehaviourRange),
    /** The behaviour of every version, for a component without ranges (a vendor agent known by name only). */
    behaviour: ImdsBehaviourKind.exclude(['unknown']).optional(),
    advice: z.string().optional(),
    note: z.string().optional(),
    /** Required when there are no ranges (each range carries its own). */
    source: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => c.ranges.length > 0 || c.source !== undefined, 'a component without ranges needs a source');
export type BehaviourComponent = z.infer<typeof BehaviourComponent>;

const BehaviourFile = z.object({ $comment: z.string().optional(), components: z.array(BehaviourComponent) }).strict();

const components = BehaviourFile.parse(behaviourData).components;
const EC2_SDK_PAGE = 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/use-a-supported-sdk-version-for-imdsv2.html';

/** Every component of the behaviour table (imds-behaviour.json). */
export function behaviourComponents(): readonly BehaviourComponent[] {
  return components;
}

const EFFECT: Record<ImdsBehaviourKind, ImdsEffect> = {
  'v1-only': 'breaks',
  'v1-first-fallback': 'noise',
  'partial-fallback': 'partial',
  'v2-first': 'safe',
  'v2-only': 'safe',
  unknown: 'unknown',
};

/** What `imdsBehaviour` answers: the probe report's `ImdsBehaviour` plus the display name and a note. */
export interface ImdsBehaviourAnswer extends ImdsBehaviour {
  /** Display name of the component. */
  name: string;
  /** Why the range behaves as it does, when the source says more than the behaviour. */
  note?: string;
}

const norm = (s: string) => s.trim().toLowerCase();

/** The component an id, alias, package or process name designates (case-insensitive), if any. */
export function findBehaviourComponent(name: string): BehaviourComponent | undefined {
  const n = norm(name);
  return components.find((c) => c.id === n || norm(c.name) === n || c.aliases.some((a) => norm(a) === n));
}

function findSdk(name: string): MinVersionEntry | undefined {
  const n = norm(name);
  return minimumVersions().find((e) => norm(e.id) === n || norm(e.name) === n);
}

const isVersion = (v: string | undefined): v is string => v !== undefined && /^v?\d+(\.\d+)*/.test(v);

function rangeText(r: { from?: string; below?: string }): string | undefined {
  const parts = [r.from ? `>= ${r.from}` : undefined, r.below ? `< ${r.below}` : undefined].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function answer(a: Omit<ImdsBehaviourAnswer, 'effect'> & { effect?: ImdsEffect }): ImdsBehaviourAnswer {
  const out: ImdsBehaviourAnswer = { ...a, effect: a.effect ?? EFFECT[a.behaviour] };
  for (const k of Object.keys(out) as (keyof ImdsBehaviourAnswer)[]) if (out[k] === undefined) delete out[k];
  return out;
}

function fromComponent(c: BehaviourComponent, version: string | undefined): ImdsBehaviourAnswer {
  const base = { component: c.id, name: c.name, ...(isVersion(version) ? { version } : {}) };
  if (c.ranges.length === 0) {
    return answer({
      ...base,
      behaviour: c.behaviour ?? 'unknown',
      source: c.source!,
      advice:
        c.advice ??
        `Nothing published says how ${c.name} calls IMDS: test it on an instance with IMDSv1 disabled before enforcing.`,
      note: c.note,
    });
  }
  const i = isVersion(version)
    ? c.ranges.findIndex(
        (r) =>
          (r.from === undefined || compareVersions(version, r.from) >= 0) &&
          (r.below === undefined || compareVersions(version, r.below) < 0),
      )
    : -1;
  if (i < 0) {
    const known = c.ranges.map((r) => `${rangeText(r) ?? 'all'}: ${r.behaviour}`).join('; ');
    return answer({
      ...base,
      behaviour: 'unknown',
      source: c.ranges.map((r) => r.source).join(' | '),
      advice: isVersion(version)
        ? `${c.name} ${version} is outside the versions the knowledge base covers (${known}): check its release notes.`
        : `The version of ${c.name} could not be read; by version it behaves: ${known}.`,
    });
  }
  const r = c.ranges[i]!;
  // The first later range that no longer breaks is where an upgrade leads.
  const later = c.ranges.slice(i + 1);
  const better =
    later.find((x) => EFFECT[x.behaviour] === 'safe') ??
    (r.behaviour === 'v1-only' ? later.find((x) => x.behaviour !== 'v1-only') : undefined);
  let advice = r.advice;
  if (advice === undefined && better?.from !== undefined) {
    if (r.behaviour === 'v1-only') advice = `Upgrade ${c.name} to ${better.from} or later before enforcing IMDSv2.`;
    else if (r.behaviour === 'v1-first-fallback')
      advice = `Upgrade ${c.name} to ${better.from} or later to stop the IMDSv1 noise.`;
  }
  if (advice === undefined && r.setting !== undefined) advice = `Set ${r.setting} so that every call uses IMDSv2.`;
  return answer({
    ...base,
    behaviour: r.behaviour,
    range: rangeText(r),
    source: r.source,
    advice,
    setting: r.setting,
    note: r.note,
  });
}

function fromSdk(e: MinVersionEntry, version: string | undefined): ImdsBehaviourAnswer {
  const base = { component: e.id, name: e.name, source: e.source ?? EC2_SDK_PAGE };
  const v = isVersion(version) ? { version } : {};
  if (e.never) return answer({ ...base, ...v, behaviour: 'v1-only', advice: e.advice });
  if (!isVersion(version) || e.minimum === undefined) {
    return answer({
      ...base,
      ...v,
      behaviour: 'unknown',
      advice:
        e.minimum === undefined
          ? (e.advice ?? `No minimum version is published for ${e.name}: check it supports IMDSv2.`)
          : `The version of ${e.name} could not be read; IMDSv2 is supported from ${e.minimum}.`,
    });
  }
  if (e.bad?.some((b) => compareVersions(b, version) === 0))
    return answer({ ...base, ...v, behaviour: 'v1-only', range: `= ${version}`, advice: e.advice });
  if (compareVersions(version, e.minimum) < 0) {
    return answer({
      ...base,
      ...v,
      behaviour: 'v1-only',
      range: `< ${e.minimum}`,
      advice: e.advice ?? `Upgrade ${e.name} to ${e.minimum} or later.`,
    });
  }
  return answer({ ...base, ...v, behaviour: 'v2-first', range: `>= ${e.minimum}` });
}

/**
 * How a component calls IMDS at a version, with the source of that knowledge and what to do about it.
 *
 * `component` is matched, case-insensitively, against the behaviour table (imds-behaviour.json: agents, by id, package
 * name, process name as the kernel shortens it to 15 characters, or display name), then against the SDK minimums
 * (min-versions.json, by id or package name: below the minimum `v1-only`, from it `v2-first`, `never` entries
 * `v1-only`). Returns undefined for a name neither knows.
 *
 * `version` is a dotted version (a leading `v` and suffixes such as `-1` or `+build` are ignored). Without a readable
 * version, or one outside every range, the behaviour is `unknown` and the advice says what is known by version.
 *
 * The answer: `behaviour` (see ImdsBehaviourKind) and its `effect` on enforcement — `breaks` (v1-only: the component
 * fails once IMDSv1 is disabled: a blocker), `noise` (v1-first-fallback: it keeps working, but its IMDSv1 attempts
 * appear in MetadataNoToken before enforcing and in MetadataNoTokenRejected after, which a guard must not take for a
 * breakage: not a blocker, upgrade to stop it), `partial` (partial-fallback: some calls need `setting`, else they fail
 * or add MetadataNoTokenRejected noise), `safe` (v2-first, v2-only), `unknown`; `range` the version range the answer
 * comes from; `source` (URL or repository path; several joined with " | "); `advice` when there is something to do;
 * `setting` when a configuration changes the behaviour; `note` with the detail the source gives. Pure; never throws.
 */
export function imdsBehaviour(component: string, version?: string): ImdsBehaviourAnswer | undefined {
  const c = findBehaviourComponent(component);
  if (c) return fromComponent(c, version);
  const e = findSdk(component);
  return e ? fromSdk(e, version) : undefined;
}

function toRecord(a: ImdsBehaviourAnswer): ImdsBehaviour {
  const { name: _name, note: _note, ...rest } = a;
  return rest;
}

function statusFor(p: InstalledPackage, a: ImdsBehaviourAnswer): InstalledPackage['status'] {
  // Vendor agents, and agents the host could not classify (no minimum version: EC2Launch), take their status from the
  // behaviour table; SDKs and agents with a minimum were classified on the host.
  if ((p.ecosystem !== 'vendor' && p.status !== 'unknown') || a.behaviour === 'unknown') return p.status;
  if (a.effect === 'breaks') return a.advice !== undefined && /upgrade/i.test(a.advice) ? 'outdated' : 'known-blocker';
  if (a.effect === 'partial') return 'unknown';
  return 'ok';
}

const basename = (p: string | undefined) => (p === undefined ? undefined : p.replace(/.*[\\/]/, ''));

/**
 * The report with `imdsBehaviour` filled in from the knowledge base: on every package the table or the SDK minimums
 * know, and on every IMDSv1 caller whose process (comm, or the file name of its executable) is a known component, at
 * the version the report's packages give for that component. A vendor agent's status follows its behaviour when its
 * version is known (breaks: `outdated` when an upgrade fixes it, else `known-blocker`; partial: `unknown`; noise or
 * safe: `ok`), and so does an agent the host reported `unknown` for want of a minimum version (EC2Launch). Pure:
 * returns a new report.
 */
export function annotateImdsBehaviour(report: ProbeReport): ProbeReport {
  const packages = report.packages.map((p) => {
    const a = imdsBehaviour(p.name, p.version);
    if (!a) return p;
    const status = statusFor(p, a);
    const out: InstalledPackage = { ...p, status, imdsBehaviour: toRecord(a) };
    if (status !== 'ok' && a.advice !== undefined && status !== p.status) out.advice = a.advice;
    return out;
  });
  const versionOf = (id: string) =>
    packages.find((p) => p.imdsBehaviour?.component === id && isVersion(p.version))?.version;
  const v1Callers = report.v1Callers.map((c) => {
    const comp = [c.comm, basename(c.exe)]
      .filter((n): n is string => n !== undefined)
      .map((n) => findBehaviourComponent(n))
      .find((x) => x !== undefined);
    if (!comp) return c;
    return { ...c, imdsBehaviour: toRecord(fromComponent(comp, versionOf(comp.id))) };
  });
  return { ...report, packages, v1Callers };
}
