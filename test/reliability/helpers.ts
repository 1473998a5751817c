import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Assessment, Scenario } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { scenarioFrom } from '@imdsv2-cutover/simulator';

export { imdsv2, readAssessment } from '../e2e/assess-helpers.js';

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
  return [
    ...['assess', '--endpoint-url', sim.url, '--regions', REGIONS.join(','), '--accounts', ACCOUNTS.join(',')],
    ...['--role-name', 'Audit', '--no-report', '--out', out, ...extra],
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
