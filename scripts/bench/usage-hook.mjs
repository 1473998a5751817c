// Preloaded into a benchmarked Node process (NODE_OPTIONS=--import): at exit it writes the process's own resource usage
// (peak RSS, CPU time) to BENCH_USAGE_FILE, so the runner measures the process doing the work and nothing else.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssKb: u.maxRSS, userCpuUs: u.userCPUTime, systemCpuUs: u.systemCPUTime }));
  });
}
