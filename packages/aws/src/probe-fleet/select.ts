import { CutoverError, type Instance } from '@imdsv2-cutover/core';

/** Which instances to probe: `suspects` (default), `all`, `none`, or a list of instance ids. */
export type ProbeSelection = 'suspects' | 'all' | 'none' | { ids: string[] };

/** What `--probe` was given, as the assessment's scope records it. */
export function selectionMode(s: ProbeSelection): 'suspects' | 'all' | 'none' | 'list' {
  return typeof s === 'string' ? s : 'list';
}

/**
 * Parses `--probe`: `suspects`, `all`, `none`, or instance ids separated by commas. A malformed id is BAD_USAGE
 * naming it.
 */
export function parseProbeSelection(raw: string): ProbeSelection {
  const v = raw.trim();
  if (v === 'suspects' || v === 'all' || v === 'none') return v;
  const ids = v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  const bad = ids.find((x) => !/^i-[0-9a-f]{8,17}$/.test(x));
  if (ids.length === 0 || bad !== undefined) {
    throw new CutoverError(
      'BAD_USAGE',
      `--probe must be suspects, all, none or instance ids separated by commas; ${JSON.stringify(bad ?? raw)} is none of these`,
      { suggestions: ['Example: --probe suspects, or --probe i-0123456789abcdef0,i-0fedcba9876543210'] },
    );
  }
  return { ids: [...new Set(ids)] };
}

/**
 * A suspect is an instance whose metrics do not clear it: IMDSv1 calls seen (MetadataNoToken, or MetadataNoTokenRejected
 * on an enforced one) or no evidence at all (unknown). Instances with a disabled endpoint have nothing to find.
 */
export function isSuspect(i: Pick<Instance, 'metadataOptions' | 'metrics'>): boolean {
  if (i.metadataOptions.httpEndpoint === 'disabled') return false;
  const rejected = i.metrics.noTokenRejected;
  if (rejected?.status === 'observed' && (rejected.total ?? 0) > 0) return true;
  if (i.metadataOptions.httpTokens === 'required') return false;
  const m = i.metrics.noToken;
  return m.status === 'unknown' || (m.total ?? 0) > 0;
}

export interface Candidates {
  /** Running instances to look up in SSM and probe. */
  probe: Instance[];
  /** Asked for by id but not running: they cannot be probed now. */
  notRunning: Instance[];
}

/**
 * The instances a selection names. Only running instances can run a command; `suspects` and `all` skip the others
 * silently (their readiness already says why), an explicit list reports them. An id that is not in the assessment is
 * BAD_USAGE.
 */
export function selectCandidates(instances: Instance[], selection: ProbeSelection): Candidates {
  if (selection === 'none') return { probe: [], notRunning: [] };
  if (typeof selection === 'object') {
    const byId = new Map(instances.map((i) => [i.instanceId, i]));
    const missing = selection.ids.filter((id) => !byId.has(id));
    if (missing.length > 0) {
      throw new CutoverError(
        'BAD_USAGE',
        `--probe names instance(s) not found in the assessed scope: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
        { suggestions: ['Check the ids, or widen the scope (--regions, --accounts) to include them.'] },
      );
    }
    const chosen = selection.ids.map((id) => byId.get(id)!);
    return {
      probe: chosen.filter((i) => i.state === 'running'),
      notRunning: chosen.filter((i) => i.state !== 'running'),
    };
  }
  const running = instances.filter((i) => i.state === 'running');
  return { probe: selection === 'all' ? running : running.filter(isSuspect), notRunning: [] };
}
