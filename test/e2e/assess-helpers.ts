import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Assessment, Scenario, ScenarioInput } from '@imdsv2-cutover/core';
import { assessmentKind, parseJsonDocument } from '@imdsv2-cutover/core';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { cronFires, loadScenario, scenarioFrom } from '@imdsv2-cutover/simulator';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/cli/bin/run.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with the simulator's credentials for `account`, and `env` added to its environment. */
export function imdsv2(args: string[], account = '111111111111', env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_NO_WARNINGS: '1',
          AWS_ACCESS_KEY_ID: `AKIA${account}SIMK`,
          AWS_SECRET_ACCESS_KEY: 'any-secret',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          ...env,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Reads and validates the assessment the CLI wrote. */
export async function readAssessment(dir: string): Promise<Assessment> {
  const file = path.join(dir, 'assessment.json');
  return parseJsonDocument(assessmentKind, await readFile(file, 'utf8'), file);
}

/**
 * The readiness an instance must get, from the simulator's own model (not from the metrics it serves): enforced and
 * disabled from its options; blocked when a v1 caller runs during the metric window; otherwise ready only when the
 * scenario publishes zero datapoints and the instance ran long enough, else unknown.
 */
export function groundTruth(sim: Simulator, a: Assessment, zeroDatapoints: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const inst of a.instances) {
    const s = sim.fleet.instance(inst.instanceId);
    if (!s) throw new Error(`${inst.instanceId} is not in the simulator`);
    const from = Date.parse(inst.metrics.noToken.windowStart);
    const to = Math.min(Date.parse(inst.metrics.noToken.windowEnd), Date.parse(a.createdAt));
    let status: string;
    if (s.options.httpEndpoint === 'disabled') status = 'imds-disabled';
    else if (s.options.httpTokens === 'required') status = 'enforced';
    else if (!s.running) status = 'unknown';
    else {
      const v1InWindow = s.callers.some((c) => {
        // A container's IMDSv2 SDK gets no token at hop limit 1 and falls back to IMDSv1 (EC2 User Guide).
        const v1 = c.imds === 'v1' || (c.container && s.options.httpPutResponseHopLimit < 2);
        if (!v1) return false;
        const start = Math.max(from, c.sinceMs ?? s.launchTimeMs, s.launchTimeMs);
        const end = Math.min(to, c.untilMs);
        if (start >= end) return false;
        return c.cron === null ? c.callsPerHour > 0 : cronFires(c.cron, start, end).length > 0;
      });
      // The time its (zero) datapoints cover: from its launch (or the window's start) to the assessment.
      const DAY = 86_400_000;
      const covered = to - Math.max(from, s.launchTimeMs);
      status = v1InWindow
        ? 'blocked'
        : zeroDatapoints && covered >= a.scope.minObservationDays * DAY
          ? 'ready'
          : 'unknown';
    }
    out.set(inst.instanceId, status);
  }
  return out;
}

/** The simulator's demo fleet with one change, as a scenario object. */
export async function demoWith(change: (s: ScenarioInput) => void): Promise<Scenario> {
  const s = structuredClone(await loadScenario('demo')) as ScenarioInput;
  change(s);
  return scenarioFrom(s);
}
