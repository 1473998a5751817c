import type { Scenario } from '@imdsv2-cutover/core';
import type { SimClock } from '../clock.js';
import type { CommandRunner } from '../context.js';
import type { Fleet } from '../fleet.js';
import type { MetricsEngine } from '../metrics.js';
import { LiveInstance } from './live-instance.js';

export { LiveInstance, type LiveCallerStats } from './live-instance.js';

/** Every live namespace of this process, so an exit handler can delete them whatever happens to the test or server. */
const open = new Set<LiveInstance>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.once('exit', () => {
    for (const l of open) l.close();
  });
  // A signal ends the process without 'exit' unless someone handles it; when nobody does, clean up and die by it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      for (const l of open) l.close();
      process.kill(process.pid, signal);
    });
  }
}

/** The live instances of a simulator: the instances of the scenario's `live: true` groups. */
export class LiveFleet {
  private readonly byId: Map<string, LiveInstance>;

  private constructor(instances: LiveInstance[]) {
    this.byId = new Map(instances.map((l) => [l.instance.id, l]));
  }

  /** Ids of the scenario's live instances (empty when it has none). */
  static liveIds(scenario: Scenario, fleet: Fleet): string[] {
    const groups = new Set(scenario.instanceGroups.filter((g) => g.live).map((g) => g.name));
    if (groups.size === 0) return [];
    return [...fleet.allInstances()].filter((i) => groups.has(i.group)).map((i) => i.id);
  }

  /**
   * Starts a namespace per live instance (running instances only: a stopped one has nothing running), plugs each
   * one's metric source into the engine. On failure everything started so far is removed.
   */
  static async start(ids: string[], fleet: Fleet, clock: SimClock, metrics: MetricsEngine): Promise<LiveFleet> {
    installExitHandler();
    const started: LiveInstance[] = [];
    try {
      for (const id of ids) {
        const inst = fleet.instance(id)!;
        if (!inst.running) continue;
        const live = await LiveInstance.start(inst, clock);
        open.add(live);
        started.push(live);
        metrics.setSource(id, live.metricSource());
      }
    } catch (e) {
      for (const l of started) {
        l.close();
        open.delete(l);
      }
      throw e;
    }
    return new LiveFleet(started);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  instance(id: string): LiveInstance | undefined {
    return this.byId.get(id);
  }

  /** Runs commands for live instances for real; everything else goes to `fallback`. */
  commandRunner(fallback: CommandRunner): CommandRunner {
    return (ctx) => this.byId.get(ctx.instance.id)?.runCommand(ctx) ?? fallback(ctx);
  }

  close(): void {
    for (const l of this.byId.values()) {
      l.close();
      open.delete(l);
    }
  }
}
