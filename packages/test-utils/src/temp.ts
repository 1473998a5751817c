import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/**
 * Returns a function that makes a fresh real temporary directory, removed after each test. Tests use real directories
 * rather than a mocked file system so that atomic writes, fsync and locks are exercised as in production.
 */
export function useTempDirs(prefix = 'imdsv2-test-'): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/**
 * Returns `defer(fn)`: `fn` runs after the current test, in reverse order of registration (the last thing started is
 * stopped first), whether the test passed or failed. For simulators, servers, child processes and timers a test starts.
 */
export function useCleanup(): (fn: () => Promise<void> | void) => void {
  const pending: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of pending.splice(0).reverse()) await fn();
  });
  return (fn) => {
    pending.push(fn);
  };
}
