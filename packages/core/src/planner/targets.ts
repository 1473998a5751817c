import type { Instance } from '../schemas/assessment.js';
import type { MetadataSettings } from '../schemas/common.js';
import type { Policy } from '../schemas/policy.js';

/** Containers run on the host: the assessment says so, or the probe saw a container runtime. */
export function runsContainers(instance: Instance): boolean {
  return instance.containerHost === true || instance.probe.report?.containers.detected === true;
}

/**
 * The hop limit an instance or template should get. Container hosts get at least `hopLimit.containerHosts`; others
 * keep theirs or get at least `hopLimit.others`. Never lower than `current`: a higher hop limit was someone's decision
 * (an overlay CNI that needs 3), and lowering it would cut containers off from the metadata service.
 */
export function targetHopLimit(current: number, containers: boolean, policy: Policy): number {
  if (containers) return Math.max(current, policy.hopLimit.containerHosts);
  const others = policy.hopLimit.others;
  return others === 'keep' ? current : Math.max(current, others);
}

/** What enforce sets on an instance, and notes worth reading in the plan. */
export function instanceTarget(instance: Instance, policy: Policy): { target: MetadataSettings; notes: string[] } {
  const current = instance.metadataOptions.httpPutResponseHopLimit;
  const containers = runsContainers(instance);
  const hop = targetHopLimit(current, containers, policy);
  const notes: string[] = [];
  if (hop > current) {
    const why = containers ? 'containers run here' : 'policy hopLimit.others';
    notes.push(`hop limit ${current} -> ${hop} (${why})`);
  } else if (containers && current > policy.hopLimit.containerHosts) {
    notes.push(`hop limit ${current} kept: higher than the policy's ${policy.hopLimit.containerHosts}, never lowered`);
  } else if (!containers && instance.containerHost === null && hop === 1) {
    notes.push('container use unknown (not probed): hop limit stays 1, containers on bridge networking would need 2');
  }
  return { target: { httpTokens: 'required', httpPutResponseHopLimit: hop, httpEndpoint: 'enabled' }, notes };
}
