import type { MetadataSettings } from '@imdsv2-cutover/core';
import { byPair, describeLive, isGone, sameSettings } from './aws-ops.js';
import type { ClientsFor } from './types.js';

export interface AwaitedChange {
  instanceId: string;
  accountId: string;
  region: string;
  desired: MetadataSettings;
}

export interface WaitOutcome {
  /** Metadata state `applied` with the desired settings. */
  applied: string[];
  /** Terminated meanwhile: recorded, not an error. */
  gone: string[];
  /** Not running (stopped instances apply at next start): cannot be verified now. */
  notRunning: string[];
  /** Still pending (or showing other settings) when the timeout passed. */
  timedOut: string[];
}

/**
 * Waits until EC2 reports the changes `applied`, with batched DescribeInstances (200 ids a call) and a growing pause
 * between rounds, never one call per instance.
 */
export async function waitApplied(
  clients: ClientsFor,
  changes: readonly AwaitedChange[],
  options: {
    timeoutMs: number;
    sleep: (ms: number) => Promise<void>;
    now?: () => number;
    onRound?: (done: number, total: number) => void;
  },
): Promise<WaitOutcome> {
  const out: WaitOutcome = { applied: [], gone: [], notRunning: [], timedOut: [] };
  let waiting = [...changes];
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  let pause = 250;
  while (waiting.length > 0) {
    const still: AwaitedChange[] = [];
    for (const list of byPair(waiting).values()) {
      const first = list[0]!;
      const live = await describeLive(
        clients.ec2(first.accountId, first.region),
        list.map((c) => c.instanceId),
      );
      for (const c of list) {
        const l = live.get(c.instanceId);
        if (isGone(l)) out.gone.push(c.instanceId);
        else if (l!.state !== 'running' && l!.state !== 'pending') out.notRunning.push(c.instanceId);
        else if (l!.metadataState === 'applied' && sameSettings(l!.settings, c.desired)) out.applied.push(c.instanceId);
        else still.push(c);
      }
    }
    waiting = still;
    options.onRound?.(changes.length - waiting.length, changes.length);
    if (waiting.length === 0) break;
    if (now() >= deadline) {
      out.timedOut.push(...waiting.map((c) => c.instanceId));
      break;
    }
    await options.sleep(Math.min(pause, Math.max(0, deadline - now())));
    pause = Math.min(pause * 2, 5000);
  }
  return out;
}
