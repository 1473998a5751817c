import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tempDir = useTempDirs('imdsv2-bench-smoke-');
const runner = path.resolve(import.meta.dirname, '../../scripts/bench/run.mjs');

// A smoke test of the benchmark runner, not a benchmark: a tiny fleet, no timing asserted.
describe('pnpm bench', () => {
  it('runs the assessment beside the per-instance approach and prints the tables', async () => {
    const out = await tempDir();
    const { stdout } = await run(
      process.execPath,
      [runner, '--only', 'assess', '--sizes', '200', '--baseline-max', '200', '--latency', '0', '--out', out],
      { maxBuffer: 1 << 24 },
    );
    expect(stdout).toContain('### Assessment');
    // 200 instances in one region: the calls the tool made equal the lower bound (7), and the table says so.
    expect(stdout).toMatch(/\| 200 \| 1 \| yes \| 7 \| 7 \| 1\.00 \(met\) \|/);
    expect(stdout).toMatch(/\| 200 x 1 \| 2\d\d \(DescribeInstances 1, GetMetricStatistics 200, SendCommand \d+\)/);
    // The fleet probe, measured: SendCommand calls equal their lower bound, ceil(probed / 50).
    expect(stdout).toMatch(/\| 200 x 1 \| \d+ \| (\d+) \(bound \1; all SSM calls \d+\)/);
    const raw = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(raw.assess[0].naive.callsByOp['cloudwatch.GetMetricStatistics']).toBe(200);
  });

  it('runs assess at the latency model, one account and an organization, and prints the goals with their bounds', async () => {
    const out = await tempDir();
    const { stdout } = await run(
      process.execPath,
      [
        runner,
        '--only',
        'model,org',
        '--model-sizes',
        '300x1',
        '--org',
        '6x2x5',
        '--latency-model',
        '*=5',
        '--out',
        out,
      ],
      { maxBuffer: 1 << 24 },
    );
    expect(stdout).toContain("### Assessment at AWS's latency");
    // The calls the tool made equal the fewest the model counts: 7 for one region, and for 6 accounts x 2 regions
    // 1 GetCallerIdentity + 1 ListAccounts page + 5 AssumeRole + 12 x 6.
    expect(stdout).toMatch(/\| 1 x 1 x 300 \| 300 \| yes \| 7 \(7\) \|/);
    expect(stdout).toMatch(/\| 6 x 2 x 5 \| 60 \| yes \| 79 \(79\) \|/);
    expect(stdout).toContain('### Goals (issue 23)');
    expect(stdout).toMatch(/\| assess --org, 6 x 2 x 5: progress by accounts and regions .* \| met \|/);
    const raw = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      model: { bound: { seconds: number } }[];
    };
    expect(raw.model).toHaveLength(2);
    for (const m of raw.model) expect(m.bound.seconds).toBeGreaterThan(0);
  });

  it('prints the probe size in the SendCommand request with the limit beside it', async () => {
    const out = await tempDir();
    const { stdout } = await run(process.execPath, [runner, '--only', 'probe-size', '--out', out]);
    expect(stdout).toContain('### Probe size in the SendCommand request');
    expect(stdout).toMatch(
      /\| AWS-RunShellScript \(sent: gzip \+ base64\) \| [\d,]+ \| [\d,]+ \| 63,488 \| \d+% \(met\) \|/,
    );
    const raw = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      probeSize: { limit: number; rows: { requestBytes: number }[] };
    };
    expect(raw.probeSize.rows[0]!.requestBytes).toBeLessThan(raw.probeSize.limit);
  });
});
