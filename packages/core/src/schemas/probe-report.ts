import { z } from 'zod';
import { IsoDateTime, schemaHeader } from './common.js';
import type { DocumentKind } from './validate.js';

/**
 * What the on-host probe found on one host, parsed from its line-oriented output. The parser never throws: a damaged
 * output becomes `status: invalid` or `truncated` with the reasons in `problems`.
 */

/** How sure we are that a process made IMDSv1 calls. */
export const CallerEvidence = z.enum([
  /** eBPF saw an HTTP request without a token on a connection to IMDS. */
  'confirmed',
  /** /proc sampling saw a socket to IMDS; the protocol version is not known. */
  'connection-seen',
  /** The packet analyzer's log on the host recorded IMDSv1 calls in the past. */
  'historic-log',
]);

export const ProcessRef = z
  .object({
    pid: z.number().int().nonnegative(),
    comm: z.string(),
    argv: z.string().optional(),
  })
  .strict();

/**
 * How a component calls IMDS, from the knowledge base (core `imdsBehaviour`): v1-only breaks when IMDSv1 is disabled;
 * v1-first-fallback tries IMDSv1 first and uses IMDSv2 when refused (keeps working; its IMDSv1 attempts are noise in
 * MetadataNoToken, then in MetadataNoTokenRejected after enforcing); partial-fallback uses IMDSv2 for most calls but
 * some only with IMDSv1 unless a setting is made; v2-first asks for a token first; v2-only never uses IMDSv1.
 */
export const ImdsBehaviourKind = z.enum([
  'v1-only',
  'v1-first-fallback',
  'partial-fallback',
  'v2-first',
  'v2-only',
  'unknown',
]);
export type ImdsBehaviourKind = z.infer<typeof ImdsBehaviourKind>;

/** What enforcing IMDSv2 does to the component: the behaviour's consequence, for readiness. */
export const ImdsEffect = z.enum(['breaks', 'noise', 'partial', 'safe', 'unknown']);
export type ImdsEffect = z.infer<typeof ImdsEffect>;

/** A component's IMDS behaviour at the version found, with the source it follows. */
export const ImdsBehaviour = z
  .object({
    /** Knowledge-base id of the component (amazon-ssm-agent, datadog-agent, botocore, ...). */
    component: z.string(),
    behaviour: ImdsBehaviourKind,
    effect: ImdsEffect,
    /** The version the answer is for, when one was known. */
    version: z.string().optional(),
    /** The version range the answer comes from, e.g. ">= 2.3.814.0, < 3.0.413.0". */
    range: z.string().optional(),
    /** Where the knowledge comes from: a URL or a repository path. */
    source: z.string(),
    advice: z.string().optional(),
    /** A setting that changes the behaviour (e.g. "ec2_prefer_imdsv2: true"). */
    setting: z.string().optional(),
  })
  .strict();
export type ImdsBehaviour = z.infer<typeof ImdsBehaviour>;

export const ImdsCaller = z
  .object({
    pid: z.number().int().nonnegative(),
    comm: z.string(),
    exe: z.string().optional(),
    /** Command line with secrets redacted by the probe and again by the parser. Untrusted. */
    argv: z.string().optional(),
    user: z.string().optional(),
    uid: z.number().int().nonnegative().optional(),
    parents: z.array(ProcessRef).default([]),
    container: z
      .object({ id: z.string().optional(), runtime: z.string().optional(), cgroup: z.string().optional() })
      .strict()
      .optional(),
    requests: z.number().int().nonnegative(),
    /** Metadata paths requested (capped by the probe). */
    paths: z.array(z.string()).default([]),
    firstSeen: IsoDateTime.optional(),
    lastSeen: IsoDateTime.optional(),
    evidence: CallerEvidence,
    /** The caller's IMDS behaviour when it is a known component (matched by process name, version from packages). */
    imdsBehaviour: ImdsBehaviour.optional(),
  })
  .strict();
export type ImdsCaller = z.infer<typeof ImdsCaller>;

export const PackageStatus = z.enum([
  /** Older than the minimum version that supports IMDSv2: upgrade it. */
  'outdated',
  /** Recent enough. */
  'ok',
  /** A component that never supported IMDSv2 (boto2): replace it. */
  'never-supports',
  /** A vendor agent known to break when IMDSv1 is disabled. */
  'known-blocker',
  /** Found, but its version could not be read or compared. */
  'unknown',
]);

/** Where a package comes from (which language ecosystem, or an agent/vendor product). */
export const PackageEcosystem = z.enum([
  'python',
  'node',
  'java',
  'ruby',
  'php',
  'go',
  'dotnet',
  'powershell',
  'cli',
  'agent',
  'vendor',
]);

export const InstalledPackage = z
  .object({
    ecosystem: PackageEcosystem,
    name: z.string(),
    version: z.string().optional(),
    path: z.string().optional(),
    minimumVersion: z.string().optional(),
    status: PackageStatus,
    advice: z.string().optional(),
    imdsBehaviour: ImdsBehaviour.optional(),
  })
  .strict();
export type InstalledPackage = z.infer<typeof InstalledPackage>;

export const ProbeReport = z
  .object({
    schema: schemaHeader('imdsv2-cutover/probe-report', 1),
    /** Version of the probe's line format that was parsed. */
    formatVersion: z.number().int().positive(),
    probeVersion: z.string(),
    status: z.enum(['ok', 'truncated', 'invalid']),
    /** Why the status is not ok, and anything odd the parser met. */
    problems: z.array(z.string()).default([]),
    host: z
      .object({
        hostname: z.string().optional(),
        instanceId: z.string().optional(),
        os: z.string().optional(),
        kernel: z.string().optional(),
        platform: z.enum(['linux', 'windows']),
      })
      .strict(),
    tracer: z.enum(['bpftrace', 'proc-sampling', 'netstat-sampling', 'none']),
    tracerNote: z.string().optional(),
    windowSeconds: z.number().nonnegative(),
    startedAt: IsoDateTime.optional(),
    endedAt: IsoDateTime.optional(),
    v1Callers: z.array(ImdsCaller).default([]),
    v2Callers: z
      .array(
        z
          .object({
            pid: z.number().int().nonnegative(),
            comm: z.string(),
            exe: z.string().optional(),
            requests: z.number().int().nonnegative(),
          })
          .strict(),
      )
      .default([]),
    tokenRequests: z.number().int().nonnegative().default(0),
    /**
     * HTTP requests to IMDS the tracer saw start but could not classify (the window closed mid-request, or the header
     * block was longer than the probe reads). Never counted as IMDSv1.
     */
    undecidedRequests: z.number().int().nonnegative().default(0),
    packages: z.array(InstalledPackage).default([]),
    containers: z.object({ detected: z.boolean(), runtimes: z.array(z.string()).default([]) }).strict(),
    /** What the probe itself said about its run (a step timed out, a tracer could not start). Untrusted text. */
    notes: z.array(z.string()).default([]),
    historicLog: z
      .object({
        path: z.string(),
        v1Lines: z.number().int().nonnegative(),
        v2Lines: z.number().int().nonnegative(),
        /** Entries the analyzer could not classify ({MISSING PAYLOAD} and the like): counted, never used as evidence. */
        undecidedLines: z.number().int().nonnegative().default(0),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ProbeReport = z.infer<typeof ProbeReport>;

export const probeReportKind: DocumentKind<typeof ProbeReport> = {
  label: 'probe report',
  schemaName: 'imdsv2-cutover/probe-report',
  version: 1,
  schema: ProbeReport,
  howToMake: 'Run `imdsv2 probe local --json` on the host.',
};
