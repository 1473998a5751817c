import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Assessment, Scenario } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { scenarioFrom } from '@imdsv2-cutover/simulator';

export { imdsv2, readAssessment } from '../e2e/assess-helpers.js';

const cliBin = fileURLToPath(new URL('../../packages/cli/bin/run.js', import.meta.url));

export const ACCOUNTS = ['111111111111', '222222222222'] as const;
export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;

/**
 * A fleet over two accounts and three regions (six scopes, so many calls in flight at once): per scope 80 quiet
 * instances, 20 with an IMDSv1 caller and 10 enforced. Zero datapoints are published, so quiet instances are `ready`.
 */
export function faultFleet(): Scenario {
  return scenarioFrom({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'reliability-faults',
    seed: 13,
    now: '2025-06-30T06:00:00Z',
    emitZeroDatapoints: true,
    regions: [...REGIONS],
    accounts: ACCOUNTS.map((id, i) => ({ id, name: i === 0 ? 'prod' : 'dev' })),
    instanceGroups: ACCOUNTS.flatMap((account) =>
      REGIONS.flatMap((region) => [
        { name: `quiet-${account}-${region}`, account, region, count: 80, tags: { Environment: 'prod' } },
        {
          name: `v1-${account}-${region}`,
          account,
          region,
          count: 20,
          callers: [{ process: { comm: 'python2', argv: 'python2 job.py' }, imds: 'v1' as const, callsPerHour: 30 }],
        },
        { name: `enf-${account}-${region}`, account, region, count: 10, metadataOptions: { httpTokens: 'required' } },
      ]),
    ),
  });
}

/** The CLI arguments that assess the whole fault fleet through the simulator. */
export function assessAll(sim: Simulator, out: string, extra: string[] = []): string[] {
  // Discovery and metrics are compared run against run, so the probe stays off unless a test asks for it: what a
  // simulated probe sees depends on whether a caller's call falls inside its window.
  const probe = extra.includes('--probe') ? [] : ['--probe', 'none'];
  return [
    ...['assess', '--endpoint-url', sim.url, '--regions', REGIONS.join(','), '--accounts', ACCOUNTS.join(',')],
    ...['--role-name', 'Audit', '--no-report', '--out', out, ...probe, ...extra],
  ];
}

/** What faults must not change: each instance's readiness and its evidence. */
export function essence(a: Assessment) {
  return a.instances
    .map((i) => ({
      id: i.instanceId,
      status: i.readiness.status,
      reasons: i.readiness.reasons.map((r) => r.code),
      evidence: i.metrics.noToken.status,
      days: i.metrics.noToken.daysWithData,
    }))
    .sort((x, y) => (x.id < y.id ? -1 : 1));
}

/**
 * Records lost by an assessment: instances of the simulated fleet, in an (account, region) the assessment records as
 * complete (`ok`), that are missing from it. A failed region is reported as such, not lost.
 */
export function lostInstances(sim: Simulator, a: Assessment): string[] {
  const complete = new Set(a.regions.filter((r) => r.status === 'ok').map((r) => `${r.accountId}/${r.region}`));
  const got = new Set(a.instances.map((i) => i.instanceId));
  return [...sim.fleet.model.allInstances()]
    .filter((i) => complete.has(`${i.account}/${i.region}`) && !got.has(i.id))
    .map((i) => i.id);
}

/** Every file under `dir` with its size and content hash: compare before and after a command to prove it wrote nothing. */
export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        // Sparse "huge" files are compared by size and mtime: hashing gigabytes of zeros proves nothing more.
        out[path.relative(dir, p)] =
          st.size > 64 * 1024 * 1024
            ? `${st.size}@${st.mtimeMs}`
            : `${st.size}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      }
    }
  };
  walk(dir);
  return out;
}

/** stdout/stderr must hold no raw ESC, C0 (other than tab/newline/CR), C1 or bidi control. */
export const UNSAFE_TERMINAL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

/** Runs `fn` over `items`, `limit` at a time (each CLI start is about a second on a busy 2-core machine). */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const k = next++;
        out[k] = await fn(items[k]!);
      }
    }),
  );
  return out;
}

/** What a CLI run printed and how it ended. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI with simulated credentials, no IMDS lookups and a hard time limit (killed after `timeoutMs`, 60 s
 * by default: a command that should refuse its input must not start a server and wait, and a loaded 2-core machine
 * can take several seconds to start one).
 */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: {
        ...process.env,
        NO_COLOR: '1',
        AWS_ACCESS_KEY_ID: 'AKIA111111111111SIMK',
        AWS_SECRET_ACCESS_KEY: 'x',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
