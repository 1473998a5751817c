import { CutoverError } from '../errors.js';
import type { HeldInstance, Plan, PlanEntry, Wave } from '../schemas/plan.js';
import { groupCap } from './candidates.js';

export interface Explanation {
  instanceId: string;
  placement: 'wave' | 'held';
  /** The wave the instance is in, when it is in one. */
  wave?: { index: number; name: string; kind: Wave['kind'] };
  /** Why, as sentences for a person (they contain tag values: escape them for the terminal). */
  lines: string[];
}

/**
 * Says why an instance is in its wave or held, from the plan alone (the policy is embedded in it). Throws BAD_INPUT when
 * the instance is not in the plan, which lists every instance of the assessment.
 */
export function explainInstance(plan: Plan, instanceId: string): Explanation {
  const groupSize = new Map<string, number>();
  const count = (g: string | undefined) => {
    if (g !== undefined) groupSize.set(g, (groupSize.get(g) ?? 0) + 1);
  };
  let found: { wave: Wave; entry: PlanEntry } | undefined;
  let heldEntry: HeldInstance | undefined;
  for (const wave of plan.waves) {
    for (const entry of wave.instances) {
      count(entry.group);
      if (entry.instanceId === instanceId) found = { wave, entry };
    }
  }
  for (const h of plan.held) {
    count(h.group);
    if (h.instanceId === instanceId) heldEntry = h;
  }
  if (heldEntry) return explainHeld(heldEntry);
  if (!found) {
    throw new CutoverError('BAD_INPUT', `instance ${instanceId} is not in the assessment this plan was made from`, {
      suggestions: ['Check the instance id (i-...), or assess the account and region it runs in.'],
    });
  }
  const { wave, entry } = found;
  const policy = plan.policy;
  const lines: string[] = [`In wave ${wave.index} "${wave.name}" (${wave.kind}), ${wave.instances.length} instances.`];
  const group = entry.group ?? 'ungrouped';
  const size = groupSize.get(group) ?? 1;
  const cap = groupCap(size, policy);
  lines.push(
    `Group ${group} (${size} instances in the assessment): at most ${cap} per wave (waves.maxGroupShare ${policy.waves.maxGroupShare}, at least 1).`,
  );
  if (wave.kind === 'canary') {
    lines.push(...entry.notes.filter((n) => n.startsWith('canary:')));
  } else {
    const canary = plan.waves.find((w) => w.kind === 'canary');
    const peer = canary?.instances.find((e) => e.group === entry.group);
    if (peer) lines.push(`Not a canary: ${peer.instanceId} is the canary of its group.`);
    if (wave.kind === 'unknown') {
      lines.push('Readiness unknown: the policy says `unknown: last-wave`, so it comes after every ready instance.');
    } else if (wave.environment !== undefined) {
      const pos = policy.waves.order.indexOf(wave.environment);
      lines.push(
        `Environment ${wave.environment}: number ${pos + 1} in waves.order (${policy.waves.order.join(', ')}).`,
      );
    } else {
      lines.push(
        `Environment ${entry.environment ?? '(untagged)'} is not in waves.order: rolled out after the listed ones (waves.unmatched: last).`,
      );
    }
    for (const earlier of plan.waves) {
      if (earlier.index >= wave.index || earlier.kind !== wave.kind || earlier.environment !== wave.environment)
        continue;
      const members = earlier.instances.filter((e) => e.group === entry.group).length;
      if (earlier.instances.length >= policy.waves.maxInstances) {
        lines.push(
          `Not in wave ${earlier.index} "${earlier.name}": it was full (waves.maxInstances ${policy.waves.maxInstances}).`,
        );
      } else if (members >= cap) {
        lines.push(
          `Not in wave ${earlier.index} "${earlier.name}": it already had ${members} members of the group (the cap).`,
        );
      }
    }
  }
  const t = entry.target;
  lines.push(
    `Target: HttpTokens ${t.httpTokens}, hop limit ${t.httpPutResponseHopLimit} (now ${entry.planned.httpPutResponseHopLimit}), endpoint ${t.httpEndpoint}; HttpTokens now ${entry.planned.httpTokens}.`,
  );
  lines.push(...entry.notes.filter((n) => !n.startsWith('canary:')));
  lines.push(
    `Soak after the wave: ${wave.soakSeconds} s; earliest start ${wave.notBefore ?? `${wave.startOffsetSeconds} s after the first wave`}.`,
  );
  return { instanceId, placement: 'wave', wave: { index: wave.index, name: wave.name, kind: wave.kind }, lines };
}

function explainHeld(h: HeldInstance): Explanation {
  const lines = [`Held, not in any wave (readiness ${h.status}).`];
  for (const r of h.reasons) {
    lines.push(`${r.severity}: ${r.message}${r.remediation ? ` Fix: ${r.remediation}` : ''} [${r.code}]`);
  }
  if (h.owner !== undefined) lines.push(`Owner: ${h.owner}.`);
  return { instanceId: h.instanceId, placement: 'held', lines };
}
