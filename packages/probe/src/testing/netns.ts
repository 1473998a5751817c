import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAKE_IMDS_PY } from './fake-imds.js';

/** One request the fake IMDS answered. */
export interface ImdsLogEntry {
  method: string;
  path: string;
  kind: 'token' | 'v1' | 'v2';
  status: number;
  t: number;
}

export interface ImdsNamespaceOptions {
  /** `optional` (IMDSv1 allowed, the default) or `required`. */
  httpTokens?: 'optional' | 'required';
  /** Name prefix; a random suffix is added so parallel runs never collide. */
  prefix?: string;
  /** `disabled` makes the fake IMDS answer 403 to everything. Change both later with `setMode`. */
  httpEndpoint?: 'enabled' | 'disabled';
}

/**
 * A network namespace where 169.254.169.254:80 is a fake IMDS, for tests and for the simulator's live instances. Needs
 * root and iproute2. Processes started with `spawn` run inside the namespace; `close()` kills them and deletes the
 * namespace (call it in afterAll; it is idempotent).
 */
export class ImdsNamespace {
  readonly name: string;
  readonly dir: string;
  readonly logPath: string;
  readonly modePath: string;
  private readonly children: ChildProcess[] = [];
  private server: ChildProcess | undefined;
  private closed = false;

  private constructor(name: string, dir: string) {
    this.name = name;
    this.dir = dir;
    this.logPath = path.join(dir, 'imds.log');
    this.modePath = path.join(dir, 'mode.json');
  }

  /** Creates the namespace, brings up loopback with IMDS's address and starts the fake IMDS; resolves when it answers. */
  static async create(opts: ImdsNamespaceOptions = {}): Promise<ImdsNamespace> {
    const name = `${opts.prefix ?? 'imdsv2t'}-${randomBytes(4).toString('hex')}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'imdsv2-netns-'));
    const ns = new ImdsNamespace(name, dir);
    try {
      ip('netns', 'add', name);
      ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
      ip('netns', 'exec', name, 'ip', 'addr', 'add', '169.254.169.254/32', 'dev', 'lo');
      writeFileSync(path.join(dir, 'fake_imds.py'), FAKE_IMDS_PY);
      writeFileSync(ns.logPath, '');
      ns.setMode({ httpTokens: opts.httpTokens ?? 'optional', httpEndpoint: opts.httpEndpoint ?? 'enabled' });
      ns.server = ns.spawn([
        'python3',
        path.join(dir, 'fake_imds.py'),
        '169.254.169.254',
        '80',
        opts.httpTokens ?? 'optional',
        ns.logPath,
        ns.modePath,
      ]);
      await ns.waitReady();
      writeFileSync(ns.logPath, '');
      return ns;
    } catch (e) {
      ns.close();
      throw e;
    }
  }

  /** Switches the fake IMDS's behaviour from its next request on (the file is replaced atomically). */
  setMode(mode: { httpTokens: 'optional' | 'required'; httpEndpoint: 'enabled' | 'disabled' }): void {
    const tmp = `${this.modePath}.tmp`;
    writeFileSync(tmp, JSON.stringify(mode));
    renameSync(tmp, this.modePath);
  }

  /** Starts a command inside the namespace (stdout/stderr piped). The process is killed by `close()`. */
  spawn(argv: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.children.push(child);
    return child;
  }

  /**
   * Whether an IMDSv1 caller the probe reported was started here: its pid, or one of its parents' pids, is a process
   * `spawn` started (`ip netns exec` becomes the command, so the pid is the command's). The probe traces the whole
   * machine, so a test that asserts on callers must keep to its own: other tests, other users' work, anything else
   * on the host may call IMDS meanwhile. (The report sums IMDSv2 callers by program name without parents: a test
   * tells its own apart by running its clients under a name of its own.)
   */
  startedHere(caller: { pid: number; parents: readonly { pid: number }[] }): boolean {
    const mine = new Set(this.children.map((c) => c.pid).filter((p): p is number => p !== undefined));
    return mine.has(caller.pid) || caller.parents.some((p) => mine.has(p.pid));
  }

  /** Runs a command inside the namespace to completion. */
  run(argv: string[], timeoutMs = 30_000): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.name, ...argv], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** What the fake IMDS answered so far. */
  log(): ImdsLogEntry[] {
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as ImdsLogEntry);
  }

  private async waitReady(): Promise<void> {
    // A raw TCP connect, so the readiness check is not an IMDS request of any kind.
    const probe = 'import socket; socket.create_connection(("169.254.169.254", 80), 1).close()';
    for (let i = 0; i < 50; i++) {
      if (this.run(['python3', '-c', probe], 5000).status === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`fake IMDS did not start in namespace ${this.name}`);
  }

  /** Kills everything started here and deletes the namespace and temporary files. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    // Anything else still inside (children of children).
    const pids = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).stdout ?? '';
    for (const p of pids.split(/\s+/).filter((x) => /^\d+$/.test(x))) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', this.name]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0)
    throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message || `status ${r.status}`}`);
}
