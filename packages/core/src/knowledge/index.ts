import { z } from 'zod';
import { CutoverError } from '../errors.js';
import { PackageEcosystem, type InstalledPackage } from '../schemas/probe-report.js';
import agentsData from './known-agents.json' with { type: 'json' };
import minVersionsData from './min-versions.json' with { type: 'json' };

/**
 * The knowledge base: minimum SDK/agent versions that support IMDSv2 and vendor agents known to need IMDSv1. It is data
 * (JSON beside this file) validated at load, so updating it is a data change; users add agents with an extension file
 * of the same shape as known-agents.json.
 */

export const MinVersionEntry = z
  .object({
    id: z.string().min(1),
    ecosystem: PackageEcosystem,
    name: z.string().min(1),
    minimum: z
      .string()
      .regex(/^\d+(\.\d+)*$/)
      .optional(),
    uncertainBelow: z
      .string()
      .regex(/^\d+(\.\d+)*$/)
      .optional(),
    never: z.boolean().optional(),
    bad: z.array(z.string()).optional(),
    advice: z.string().optional(),
    /** Where the minimum comes from (a URL or a repository path). */
    source: z.string().min(1),
  })
  .strict();
export type MinVersionEntry = z.infer<typeof MinVersionEntry>;

const MinVersionsFile = z.object({ $comment: z.string().optional(), entries: z.array(MinVersionEntry) }).strict();

/** A process or file name safe to hand to the probe script (no shell or glob metacharacters beyond `*`). */
const SafeToken = z.string().regex(/^[A-Za-z0-9._\-/+@*]{1,200}$/, 'letters, digits and . _ - / + @ * only');

export const KnownAgent = z
  .object({
    name: z.string().min(1).max(120),
    /** Links the agent to its IMDS behaviour by version in imds-behaviour.json. */
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{0,60}$/)
      .optional(),
    category: z.enum(['monitoring', 'deployment', 'log-shipping', 'security', 'platform', 'other']).optional(),
    processes: z.array(SafeToken.max(15)).default([]),
    paths: z.array(SafeToken.regex(/^\//, 'an absolute path')).default([]),
    /** rpm / dpkg package names whose installed version is the agent's version. */
    packages: z.array(SafeToken.regex(/^[A-Za-z0-9][A-Za-z0-9.+-]*$/, 'a package name')).default([]),
    status: z.enum(['known-blocker', 'unknown', 'ok']).default('known-blocker'),
    advice: z.string().max(300).default(''),
    /** Where the knowledge comes from (a URL or a repository path); every built-in entry has one. */
    source: z.string().max(300).optional(),
  })
  .strict();
export type KnownAgent = z.infer<typeof KnownAgent>;

export const KnownAgentsFile = z.object({ $comment: z.string().optional(), agents: z.array(KnownAgent) }).strict();

const minVersions = MinVersionsFile.parse(minVersionsData).entries;
const builtinAgents = KnownAgentsFile.parse(agentsData).agents;

/** Every minimum-version entry (fact sheet section 7). */
export function minimumVersions(): readonly MinVersionEntry[] {
  return minVersions;
}

/** The entry for an id such as `botocore`; throws INTERNAL for an unknown id (a programming error). */
export function minimumVersion(id: string): MinVersionEntry {
  const e = minVersions.find((x) => x.id === id);
  if (!e) throw new CutoverError('INTERNAL', `no knowledge-base entry "${id}"`);
  return e;
}

/**
 * Built-in vendor agents merged with a user's extension (parsed JSON of known-agents.json's shape). An extension entry
 * with the same name replaces the built-in one. A bad extension is a BAD_INPUT error naming the field.
 */
export function knownAgents(extension?: unknown, source = 'agents extension file'): KnownAgent[] {
  if (extension === undefined) return [...builtinAgents];
  const parsed = KnownAgentsFile.safeParse(extension);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CutoverError(
      'BAD_INPUT',
      `${source}: ${issue ? `${issue.path.join('.') || '(top level)'}: ${issue.message}` : 'invalid'}`,
      {
        suggestions: [
          'Give a JSON file shaped like {"agents": [{"name": "...", "processes": ["comm"], "paths": ["/opt/x"], "advice": "..."}]}',
        ],
      },
    );
  }
  const byName = new Map(builtinAgents.map((a) => [a.name, a]));
  for (const a of parsed.data.agents) byName.set(a.name, a);
  return [...byName.values()];
}

/** Compares dotted numeric versions (`1.13.25` vs `1.9`); non-numeric suffixes (`-rc1`, `+build`) are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .replace(/^v/, '')
      .split(/[-+~]/)[0]!
      .split('.')
      .map((p) => Number.parseInt(p, 10) || 0);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Classifies an installed version against its entry: the status and advice the probe reports. */
export function classifyVersion(
  entry: MinVersionEntry,
  version: string | undefined,
): Pick<InstalledPackage, 'status' | 'advice' | 'minimumVersion'> {
  const minimumVersion = entry.minimum;
  if (entry.never) return { status: 'never-supports', advice: entry.advice, minimumVersion };
  if (version === undefined || !/^v?\d+(\.\d+)*/.test(version) || entry.minimum === undefined) {
    return {
      status: 'unknown',
      advice: entry.advice ?? 'Version could not be compared: check it supports IMDSv2.',
      minimumVersion,
    };
  }
  if (entry.bad?.some((b) => compareVersions(b, version) === 0)) {
    return { status: 'outdated', advice: entry.advice, minimumVersion };
  }
  if (compareVersions(version, entry.minimum) < 0) {
    return {
      status: 'outdated',
      advice: entry.advice ?? `Upgrade ${entry.name} to ${entry.minimum} or later.`,
      minimumVersion,
    };
  }
  if (entry.uncertainBelow !== undefined && compareVersions(version, entry.uncertainBelow) < 0) {
    return { status: 'unknown', advice: entry.advice, minimumVersion };
  }
  return { status: 'ok', minimumVersion };
}
