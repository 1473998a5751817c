#!/usr/bin/env node
// Measures how long planning takes for synthetic fleets of 10,000 and 100,000 instances (build first: `pnpm build`).
// Prints, per size: the time to plan (wall clock and CPU time, including hashing the assessment and the plan; CPU time
// includes the garbage collector's threads, wall time depends on what else the machine runs), the plan's size in JSON, and the
// peak resident set size of the process so far. Usage: node scripts/bench-plan.mjs [count ...]
import { defaultPolicy, plan } from '@imdsv2-cutover/core';
// test-utils is a private workspace package the root does not depend on: import its build directly.
import { generateFleet } from '../packages/test-utils/dist/index.js';

const counts = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [10_000, 100_000];
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const policy = defaultPolicy();
for (const count of counts) {
  const assessment = generateFleet({ count, seed: 7 });
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const p = plan(assessment, policy, { startDate: '2026-12-01' });
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const inWaves = p.waves.reduce((n, w) => n + w.instances.length, 0);
  const bytes = Buffer.byteLength(JSON.stringify(p));
  console.log(
    `${count} instances: planned in ${(ms / 1000).toFixed(2)} s wall, ${(cpuMs / 1000).toFixed(2)} s CPU; ${p.waves.length} waves, ${inWaves} in waves, ` +
      `${p.held.length} held; plan ${mib(bytes)}; peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}`,
  );
}
