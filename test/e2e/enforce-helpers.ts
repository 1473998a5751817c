import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { MetadataSettings, Plan, PlanEntry, ScenarioInput } from '@imdsv2-cutover/core';
import {
  Policy,
  Scenario,
  contentHash,
  encodeSealSlot,
  journalBytesHash,
  makeSeal,
  parseJournalText,
} from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';

export const bin = fileURLToPath(new URL('../../packages/cli/bin/run.js', import.meta.url));
export const ACCOUNT = '111111111111';
export const REGION = 'us-east-1';
export const NOW = '2026-11-20T12:00:00Z';
export const TARGET: MetadataSettings = { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' };

/** One account, one region, `count` running instances with IMDSv1 allowed; `v1Callers` of them call IMDSv1. */
export function fleetScenario(count: number, v1Callers = 0): Scenario {
  const groups: ScenarioInput['instanceGroups'] = [
    { name: 'web', account: ACCOUNT, region: REGION, count: count - v1Callers, tags: { Environment: 'dev' } },
  ];
  if (v1Callers > 0) {
    groups.push({
      name: 'legacy',
      account: ACCOUNT,
      region: REGION,
      count: v1Callers,
      callers: [{ process: { comm: 'python2', argv: 'python2 /opt/legacy/agent.py' }, imds: 'v1', callsPerHour: 120 }],
    });
  }
  return Scenario.parse({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'enforce-e2e',
    seed: 7,
    now: NOW,
    regions: [REGION],
    accounts: [{ id: ACCOUNT, name: 'test' }],
    instanceGroups: groups.filter((g) => g.count > 0),
  } satisfies ScenarioInput);
}

/** True when two instances' metadata settings are the same (the three the tool manages). */
export function sameSettings(a: MetadataSettings, b: MetadataSettings): boolean {
  return (
    a.httpTokens === b.httpTokens &&
    a.httpPutResponseHopLimit === b.httpPutResponseHopLimit &&
    a.httpEndpoint === b.httpEndpoint
  );
}

export function settingsOf(sim: Simulator, id: string): MetadataSettings {
  const o = sim.fleet.metadataOptions(id)!;
  return { httpTokens: o.httpTokens, httpPutResponseHopLimit: o.httpPutResponseHopLimit, httpEndpoint: o.httpEndpoint };
}

export function instanceIds(sim: Simulator): string[] {
  return [...sim.fleet.model.allInstances()].map((i) => i.id).sort();
}

/** A plan over the simulator's fleet as it is now, hashed like `imdsv2 plan` does. */
export function planFor(
  sim: Simulator,
  waves: string[][],
  guard: { soakSeconds?: number; maxRejectedCalls?: number; rollback?: 'instance' | 'wave' } = {},
): Plan {
  const entry = (id: string): PlanEntry => {
    const o = sim.fleet.metadataOptions(id)!;
    return {
      instanceId: id,
      accountId: ACCOUNT,
      region: REGION,
      planned: { ...o, state: 'applied' },
      target: { ...TARGET },
      notes: [],
    };
  };
  const body = {
    schema: { name: 'imdsv2-cutover/plan' as const, version: 1 as const },
    tool: { name: 'imdsv2-cutover', version: '0.1.0' },
    assessment: { id: 'e2e', createdAt: sim.clock.now().toISOString(), sha256: 'a'.repeat(64) },
    policy: Policy.parse({ schema: { name: 'imdsv2-cutover/policy', version: 1 } }),
    policySha256: 'b'.repeat(64),
    waves: waves.map((ids, index) => ({
      index,
      name: index === 0 ? 'canary' : `wave-${index}`,
      kind: index === 0 ? ('canary' as const) : ('rollout' as const),
      soakSeconds: guard.soakSeconds ?? 0,
      startOffsetSeconds: 0,
      guard: { maxRejectedCalls: guard.maxRejectedCalls ?? 0, rollback: guard.rollback ?? 'wave' },
      instances: ids.map(entry),
    })),
    held: [],
    lockIn: [],
    manualLockIn: [],
    scp: null,
    startDate: null,
    notes: [],
  };
  return { ...body, contentHash: contentHash(body) };
}

export async function writePlan(file: string, plan: Plan): Promise<void> {
  await writeFile(file, JSON.stringify(plan, null, 2));
}

export function cliEnv(sim: Simulator): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NO_COLOR: '1',
    AWS_ACCESS_KEY_ID: sim.defaultAccessKeyId,
    AWS_SECRET_ACCESS_KEY: 'simulated',
    AWS_REGION: REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI without blocking this process's event loop (the simulator answers from it). `kill` sends SIGKILL
 * after a delay, or as soon as a condition polled every 2 ms holds.
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  kill?: { afterMs?: number; when?: () => boolean },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = kill?.afterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
    const when = kill?.when;
    const poll = when ? setInterval(() => when() && child.kill('SIGKILL'), 2) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Leaves a journal as a run killed right after committing its first `lines` lines leaves it: the journal cut there, and
 * its seal vouching for exactly those bytes (the seal is written after every commit). Cutting the journal alone is
 * what a truncation looks like, which every command refuses.
 */
export async function journalAsKilledAfter(journal: string, lines: number): Promise<void> {
  const all = (await readFile(journal, 'utf8')).split('\n').filter(Boolean);
  const text = all.slice(0, lines).join('\n') + '\n';
  const parsed = parseJournalText(text, journal);
  const bytes = Buffer.from(text, 'utf8');
  const seal = makeSeal({
    journalId: parsed.header!.journalId,
    planContentHash: parsed.header!.planContentHash,
    n: 0,
    bytes: bytes.length,
    lastSeq: parsed.records.at(-1)?.seq ?? -1,
    sha256: journalBytesHash(bytes),
    at: new Date().toISOString(),
    open: true,
  });
  await writeFile(journal, bytes);
  await writeFile(`${journal}.seal`, encodeSealSlot(seal).repeat(2));
}
