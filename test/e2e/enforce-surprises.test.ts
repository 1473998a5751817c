import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readJournal } from '@imdsv2-cutover/aws';
import type { Simulator } from '@imdsv2-cutover/simulator';
import { startSimulator } from '@imdsv2-cutover/simulator';
import { inCI, useCleanup, useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import {
  TARGET,
  bin,
  cliEnv,
  fleetScenario,
  instanceIds,
  planFor,
  runCli,
  settingsOf,
  writePlan,
} from './enforce-helpers.js';

/**
 * Enforcement never surprises: the order of waves, Ctrl-C, the preflight before the prompt, progress in logs, result
 * lines printed whole, errors in the right order, and a journal of another plan refused for --next as for --wave.
 */
const tempDir = useTempDirs('imdsv2-surprises-');
const defer = useCleanup();

async function simulator(count: number): Promise<Simulator> {
  const sim = await startSimulator({ scenario: fleetScenario(count), clock: { speed: 600 } });
  defer(() => sim.stop());
  return sim;
}

/** The CLI as a child process, with its output so far, so that a test can interrupt it at a chosen moment. */
function startCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, out, exited };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const common = (sim: Simulator, planFile: string, journal: string) => [
  '--plan',
  planFile,
  '--journal',
  journal,
  '--endpoint-url',
  sim.url,
  '--guard-interval',
  '200ms',
];

describe('enforcement never surprises', () => {
  it('--wave N is refused while an earlier wave has not completed clean, naming it and its state; --out-of-order runs it', async () => {
    const sim = await simulator(4);
    const ids = instanceIds(sim);
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    const journal = path.join(dir, 'journal.jsonl');
    await writePlan(planFile, planFor(sim, [ids.slice(0, 1), ids.slice(1, 2), ids.slice(2)]));
    const args = (wave: string, ...more: string[]) => [
      'enforce',
      ...common(sim, planFile, journal),
      '--wave',
      wave,
      '--yes',
      ...more,
    ];

    const refused = await runCli(args('2'), cliEnv(sim));
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('wave 0 (canary) is not started; wave 1 (wave-1) is not started');
    expect(refused.stderr).toContain('wave 2 (wave-2) runs only after every earlier wave completed clean');
    expect(refused.stderr).toContain('--out-of-order');
    expect(refused.stderr).toContain(`imdsv2 enforce --plan ${planFile} --wave 0 --journal ${journal}`);
    for (const id of ids) expect(settingsOf(sim, id).httpTokens).toBe('optional');

    // A dry run only warns.
    const dry = await runCli(args('2', '--dry-run'), cliEnv(sim));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/warning.*wave 0 \(canary\) is not started.*a real run is refused/);

    const canary = await runCli(args('0'), cliEnv(sim));
    expect(canary.code, canary.stderr).toBe(0);
    const stillRefused = await runCli(args('2'), cliEnv(sim));
    expect(stillRefused.code, stillRefused.stderr).toBe(2);
    expect(stillRefused.stderr).toContain('wave 1 (wave-1) is not started');
    expect(stillRefused.stderr).not.toContain('wave 0 (canary)');

    const forced = await runCli(args('2', '--out-of-order'), cliEnv(sim));
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/warning.*wave 1 \(wave-1\) is not started.*running it anyway \(--out-of-order\)/);
    for (const id of ids.slice(2)) expect(settingsOf(sim, id)).toEqual(TARGET);
    expect(settingsOf(sim, ids[1]!).httpTokens).toBe('optional');
  });

  it('Ctrl-C in the soak: exit 130 naming what was applied and the command that resumes; the resume says so, keeps the soak, prints its progress in plain lines; a completed wave is not soaked again', async () => {
    const sim = await simulator(3);
    const ids = instanceIds(sim);
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    const journal = path.join(dir, 'journal.jsonl');
    // 24 h of soak: 144 s at the simulator's 600x, longer than the test waits.
    await writePlan(planFile, planFor(sim, [ids], { soakSeconds: 24 * 3600 }));
    const run = startCli(['enforce', ...common(sim, planFile, journal), '--wave', '0', '--yes'], cliEnv(sim));
    await until('the soak', () => run.out.stderr.includes('soaking'));
    run.child.kill('SIGINT');
    const ended = await run.exited;
    expect(ended.code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toMatch(/wave 0 \(canary\) interrupted during the soak \(\d+ s of 86400 s\)/);
    expect(run.out.stderr).toContain('3 instance(s) changed in this run and recorded');
    expect(run.out.stderr).toContain(`imdsv2 enforce --plan ${planFile} --wave 0 --journal ${journal}`);
    expect(run.out.stderr).toContain(`imdsv2 rollback --journal ${journal} --wave 0`);
    const records = (await readJournal(journal)).records;
    expect(records.some((r) => r.type === 'wave-end')).toBe(false);
    expect(records.filter((r) => r.type === 'result' && r.outcome === 'ok')).toHaveLength(3);
    for (const id of ids) expect(settingsOf(sim, id)).toEqual(TARGET);

    // The resume: a 10-minute soak (1 s at 600x) from the same start, already over, so the guard judges it at once.
    const resumed = await runCli(
      ['enforce', ...common(sim, planFile, journal), '--next', '--yes', '--soak', '10m'],
      cliEnv(sim),
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /resuming wave 0 \(canary\), interrupted after it started at .*: the journal shows 3 of 3 instance\(s\) changed/,
    );
    expect(resumed.stdout).toContain('0 applied');
    expect(resumed.stdout).toContain('3 already done');
    // Result lines are whole: the line names every count and the soak.
    expect(resumed.stdout).toMatch(/0 failed; soaked 600 s with no rejected IMDSv1 calls above 0\n/);
    expect(resumed.stdout).not.toContain('…');
    // Off a terminal the soak's progress is plain lines.
    expect(resumed.stderr).toMatch(/^\[wave 0\] soak: \d+\/600 s$/m);
    expect(resumed.stderr).not.toContain('\r');
    const soakStarts = (await readJournal(journal)).records.filter((r) => r.type === 'guard');
    expect(soakStarts).toHaveLength(1);

    const bytes = (await readFile(journal)).length;
    const again = await runCli(['enforce', ...common(sim, planFile, journal), '--wave', '0', '--yes'], cliEnv(sim));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing to do; it is not soaked again');
    expect(again.stderr).not.toContain('soaking');
    expect((await readFile(journal)).length).toBe(bytes);
  });

  it('Ctrl-C while applying: calls in flight are recorded, nothing is changed without a record, and the resume finishes the wave', async () => {
    const sim = await simulator(8);
    const ids = instanceIds(sim);
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    const journal = path.join(dir, 'journal.jsonl');
    await writePlan(planFile, planFor(sim, [ids]));
    // One change every 2 s: the interruption comes while most are still to be sent.
    const slow = ['--modify-bucket', '1/0.5', '--concurrency', '1'];
    const run = startCli(['enforce', ...common(sim, planFile, journal), '--wave', '0', '--yes', ...slow], cliEnv(sim));
    await until('the second change', async () => {
      const text = await readFile(journal, 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l.includes('"type":"result"')).length >= 1;
    });
    run.child.kill('SIGINT');
    const ended = await run.exited;
    expect(ended.code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toMatch(/warning.*interrupted: no new change is sent/);
    expect(run.out.stderr).toMatch(
      /wave 0 \(canary\) interrupted while applying: \d+ instance\(s\) changed in this run/,
    );
    expect(run.out.stderr).toMatch(/\d+ instance\(s\) not changed/);
    const records = (await readJournal(journal)).records;
    const okIds = new Set(
      records.flatMap((r) =>
        r.type === 'result' && r.outcome === 'ok' && r.target.kind === 'instance' ? [r.target.instanceId] : [],
      ),
    );
    const changed = ids.filter((id) => settingsOf(sim, id).httpTokens === 'required');
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.length).toBeLessThan(ids.length);
    // Every instance that holds the change has its recorded result.
    for (const id of changed) expect(okIds.has(id), id).toBe(true);
    expect(records.some((r) => r.type === 'wave-end')).toBe(false);

    const resumed = await runCli(['enforce', ...common(sim, planFile, journal), '--next', '--yes'], cliEnv(sim));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming wave 0 (canary)');
    for (const id of ids) expect(settingsOf(sim, id)).toEqual(TARGET);
    const after = (await readJournal(journal)).records;
    expect(after.at(-1)).toMatchObject({ type: 'wave-end', outcome: 'completed' });
  });

  it('a missing plan is named before anything about confirmation; --next refuses a journal of another plan', async () => {
    const sim = await simulator(2);
    const ids = instanceIds(sim);
    const dir = await tempDir();
    const missing = path.join(dir, 'missing.json');
    const noPlan = await runCli(['enforce', '--plan', missing, '--wave', '0', '--endpoint-url', sim.url], cliEnv(sim));
    expect(noPlan.code, noPlan.stderr).toBe(2);
    expect(noPlan.stderr).toContain(missing);
    expect(noPlan.stderr).not.toContain('stdin is not a terminal');

    const planA = path.join(dir, 'a.json');
    const planB = path.join(dir, 'b.json');
    const journal = path.join(dir, 'journal.jsonl');
    await writePlan(planA, planFor(sim, [ids.slice(0, 1)]));
    await writePlan(planB, planFor(sim, [ids.slice(1)]));
    const a = await runCli(['enforce', ...common(sim, planA, journal), '--next', '--yes'], cliEnv(sim));
    expect(a.code, a.stderr).toBe(0);
    for (const more of [['--yes'], ['--dry-run']]) {
      const b = await runCli(['enforce', ...common(sim, planB, journal), '--next', ...more], cliEnv(sim));
      expect(b.code, b.stderr).toBe(2);
      expect(b.stderr).toContain(`${journal} belongs to the plan with hash`);
    }
    expect(settingsOf(sim, ids[1]!).httpTokens).toBe('optional');
  });
});

// The y/N prompt needs a terminal: `script` (util-linux) gives the CLI one.
const script = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!script) console.log(`skipping the preflight-before-prompt test: 'script' (util-linux) is not installed`);
describe.skipIf(!script && !inCI)('the prompt', () => {
  it('shows the whole preflight summary before asking y/N, and changes nothing on "n"', async () => {
    const sim = await simulator(2);
    const ids = instanceIds(sim);
    const dir = await tempDir();
    const planFile = path.join(dir, 'plan.json');
    const journal = path.join(dir, 'journal.jsonl');
    await writePlan(planFile, planFor(sim, [ids]));
    const command = [process.execPath, bin, 'enforce', ...common(sim, planFile, journal), '--wave', '0']
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: cliEnv(sim),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('Enforce IMDSv2 on wave 0') && !child.stdin.writableEnded) child.stdin.end('n\r');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, output).toBe(1);
    const summary = output.indexOf('to change 2, already done 0');
    const permission = output.indexOf('DryRun permission 111111111111 us-east-1: ok');
    const prompt = output.indexOf('Enforce IMDSv2 on wave 0');
    expect(summary, output).toBeGreaterThan(-1);
    expect(permission, output).toBeGreaterThan(-1);
    expect(summary).toBeLessThan(prompt);
    expect(permission).toBeLessThan(prompt);
    expect(output).toContain('was not confirmed; nothing was changed');
    for (const id of ids) expect(settingsOf(sim, id).httpTokens).toBe('optional');
  });
});
