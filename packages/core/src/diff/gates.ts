import { CutoverError } from '../errors.js';
import type { AssessmentDiff, Regression } from './diff.js';

/**
 * CI gates over a diff (`--fail-on`). Each gate fails with reasons a human can act on; the CLI exits 3 when any
 * gate fails. Reasons carry strings from AWS and hosts (names, command lines): escape them before printing.
 */
export const GATES = ['new-v1-callers', 'regressions', 'blocked-increase', 'incomplete'] as const;
export type Gate = (typeof GATES)[number];

export interface GateFailure {
  gate: Gate;
  /** How many findings made the gate fail (reasons may be cut to `maxReasons`). */
  count: number;
  reasons: string[];
}

export interface GateResult {
  checked: Gate[];
  failed: GateFailure[];
}

/** Parses a `--fail-on` value (comma list); an unknown gate is a BAD_USAGE error naming it and the valid ones. */
export function parseGates(list: string): Gate[] {
  const out: Gate[] = [];
  for (const raw of list.split(',')) {
    const g = raw.trim();
    if (g === '') continue;
    if (!(GATES as readonly string[]).includes(g)) {
      throw new CutoverError('BAD_USAGE', `--fail-on: unknown gate "${g}"; valid gates are ${GATES.join(', ')}`, {
        suggestions: [`Use a comma-separated list such as --fail-on ${GATES.join(',')}`],
      });
    }
    if (!out.includes(g as Gate)) out.push(g as Gate);
  }
  return out;
}

/** `i-... (name) in account/region`, for reasons and summaries. Contains the untrusted Name tag: escape it. */
export function describeInstance(x: { accountId: string; region: string; instanceId: string; name?: string }): string {
  return `${x.instanceId}${x.name === undefined ? '' : ` (${x.name})`} in ${x.accountId}/${x.region}`;
}

/** One line saying what a regression is. Contains untrusted names: escape before printing. */
export function describeRegression(r: Regression): string {
  switch (r.kind) {
    case 'instance-back-to-optional':
      return `${describeInstance(r)} is back to HttpTokens=optional`;
    case 'launch-template-launches-imdsv1':
      return `${r.isNew ? 'new ' : ''}launch template ${r.launchTemplateId} (${r.name}) in ${r.accountId}/${r.region} launches instances with IMDSv1 enabled`;
    case 'asg-launches-imdsv1':
      return `${r.isNew ? 'new ' : ''}Auto Scaling group ${r.name} in ${r.accountId}/${r.region} launches instances with IMDSv1 enabled`;
    case 'new-account-with-imdsv1':
      return `new account ${r.accountId} has ${r.instances} instance(s) with IMDSv1 enabled`;
    case 'new-region-with-imdsv1':
      return `new region ${r.accountId}/${r.region} has ${r.instances} instance(s) with IMDSv1 enabled`;
  }
}

function capped(all: string[], max: number): string[] {
  if (all.length <= max) return all;
  return [...all.slice(0, max), `... and ${all.length - max} more`];
}

function findings(diff: AssessmentDiff, gate: Gate): string[] {
  switch (gate) {
    case 'new-v1-callers':
      return [
        ...diff.newV1Callers.map(
          (c) => `${describeInstance(c)}: new IMDSv1 caller ${c.comm}${c.argv === undefined ? '' : ` (${c.argv})`}`,
        ),
        ...diff.callsStarted.map(
          (c) =>
            `${describeInstance(c)}: IMDSv1 calls went from ${c.before === null ? 'unknown/none' : c.before} to ${c.after}`,
        ),
      ];
    case 'regressions':
      return diff.regressions.map(describeRegression);
    case 'blocked-increase':
      return diff.blocked.delta > 0
        ? [`blocked instances went from ${diff.blocked.before} to ${diff.blocked.after} (+${diff.blocked.delta})`]
        : [];
    case 'incomplete':
      if (diff.new.complete) return [];
      if (diff.incomplete.length === 0) return ['the new assessment is marked incomplete'];
      return diff.incomplete.map(
        (p) =>
          `${p.accountId}${p.region === undefined ? '' : `/${p.region}`} ${p.status}${p.error ? `: ${p.error.code} ${p.error.message}` : ''}`,
      );
  }
}

/** Checks `gates` against `diff`; a gate fails when it has at least one finding. */
export function evaluateGates(diff: AssessmentDiff, gates: readonly Gate[], maxReasons = 10): GateResult {
  const failed: GateFailure[] = [];
  for (const gate of gates) {
    const all = findings(diff, gate);
    if (all.length > 0) failed.push({ gate, count: all.length, reasons: capped(all, maxReasons) });
  }
  return { checked: [...gates], failed };
}
