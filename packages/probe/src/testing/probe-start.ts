import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The parent pid of every process on the machine, from /proc/PID/stat. */
function parentPids(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // The command name (field 2) is in parentheses and may hold spaces: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.set(Number(d), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The events files (`/tmp/imdsv2-probe.XXXXXX/events`) that descendants of `ancestor` hold open. */
function eventsFilesOf(ancestor: number): string[] {
  const parents = parentPids();
  const isDescendant = (pid: number) => {
    for (let p = parents.get(pid), k = 0; p !== undefined && p > 1 && k < 64; p = parents.get(p), k++)
      if (p === ancestor) return true;
    return false;
  };
  const files = new Set<string>();
  for (const pid of parents.keys()) {
    if (!isDescendant(pid)) continue;
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (/^\/tmp\/imdsv2-probe\.[^/]+\/events$/.test(target)) files.add(target);
      }
    } catch {
      // exited meanwhile
    }
  }
  return [...files];
}

/**
 * Resolves once a probe started by this process (run-local's or a test's own `/bin/sh` running the script) is tracing:
 * its tracer's events file, held open by a descendant of this process, has the `B` (begin) line. Other probes on the
 * machine (other tests, other users, a directory left by a killed run) are not mistaken for it. Rejects after
 * `timeoutMs` (sized for a loaded 2-core machine, where bpftrace takes seconds to compile its program).
 */
export async function waitForOwnProbeTrace(timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of eventsFilesOf(process.pid)) {
      try {
        if (/^B /m.test(readFileSync(f, 'utf8'))) return;
      } catch {
        // removed meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no probe started by this process began tracing within ${timeoutMs / 1000} s`);
}
