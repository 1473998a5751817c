import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Where the reliability tests tally what they did; the reliability reporter reads it (see test/reliability/tally.ts).
process.env.IMDSV2_RELIABILITY_TALLY ??= path.join(tmpdir(), `imdsv2-reliability-${process.pid}.jsonl`);

/**
 * One configuration for the whole workspace. Three projects:
 * - unit: tests beside the code in every package;
 * - e2e: cross-package tests that drive the built CLI and the simulator;
 * - reliability: faults, bad input and hostile data (`pnpm test:reliability`).
 * Privileged tests (root, bpftrace, network namespaces) gate themselves with `@imdsv2-cutover/test-utils`.
 *
 * The projects run one after another (sequence.groupOrder), and e2e and reliability run their files one at a time:
 * the probe's bpftrace program sees every connection to 169.254.169.254 on the machine, so two tests that start IMDS
 * callers in their own namespaces at the same time would see each other's callers.
 */
export default defineConfig({
  test: {
    // oclif writes command output through console.log; vitest's interception would swallow it before
    // @oclif/test's captureOutput sees it.
    disableConsoleIntercept: true,
    reporters: ['default', './scripts/vitest-summary-reporter.ts', './scripts/reliability-summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          disableConsoleIntercept: true,
          include: ['packages/*/src/**/*.test.ts'],
          environment: 'node',
          // Sized for a loaded 2-core machine: a test that takes 3 s alone can take four times that beside other work.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 1 },
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'reliability',
          sequence: { groupOrder: 2 },
          include: ['test/reliability/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
