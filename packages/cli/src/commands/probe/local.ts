import { Flags } from '@oclif/core';
import { CutoverError, cell, parseDuration, type ProbeReport } from '@imdsv2-cutover/core';
import { BaseCommand } from '../../base-command.js';

/** The trace window in whole seconds (the probe script counts seconds). */
function parseWindow(v: string): number {
  const seconds = parseDuration(v, '--window');
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new CutoverError('BAD_USAGE', `--window ${JSON.stringify(v)} is not a whole number of seconds`, {
      suggestions: ['Use seconds or minutes, e.g. --window 30s or --window 2m'],
    });
  return seconds;
}

export default class ProbeLocal extends BaseCommand<typeof ProbeLocal> {
  static override description =
    'Run the on-host probe on this machine: trace which processes call IMDS without a token (needs root; bpftrace for live attribution) and list AWS SDKs and agents too old for IMDSv2.';

  static override examples = [
    '<%= config.bin %> probe local',
    '<%= config.bin %> probe local --window 2m',
    '<%= config.bin %> probe local --window 30s --json > probe.json',
    '<%= config.bin %> probe local --root /mnt/snapshot',
  ];

  static override flags = {
    agents: Flags.string({ description: 'JSON file of extra vendor agents to look for (shape of known-agents.json).' }),
    'install-tracer': Flags.boolean({
      default: false,
      description: 'Install bpftrace with the package manager when it is missing.',
    }),
    root: Flags.string({
      description:
        'Read this directory as if it were / (a mounted AMI snapshot, an unpacked container image): static inventory and the packet analyzer log only, nothing traced.',
    }),
    window: Flags.string({ default: '60s', description: 'How long to trace (e.g. 30s, 2m; at most 15m).' }),
  };

  async run(): Promise<ProbeReport> {
    const { flags } = this;
    const { runLocalInventory, runLocalProbe } = await import('@imdsv2-cutover/probe');
    let extraAgents: unknown;
    if (flags.agents !== undefined) {
      const { readInputText } = await import('@imdsv2-cutover/engine/files');
      const text = await readInputText(flags.agents, 'agents');
      try {
        extraAgents = JSON.parse(text);
      } catch (e) {
        throw new CutoverError(
          'BAD_INPUT',
          `${flags.agents}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
          {
            suggestions: ['The file lists extra vendor agents in the shape of known-agents.json (see docs/probe.md).'],
            cause: e,
          },
        );
      }
    }
    const report =
      flags.root === undefined
        ? await runLocalProbe({
            windowSeconds: parseWindow(flags.window),
            installTracer: flags['install-tracer'],
            extraAgents,
            reporter: this.reporter,
          })
        : await runLocalInventory({ root: flags.root, extraAgents, reporter: this.reporter });
    if (!this.jsonEnabled()) this.render(report);
    return report;
  }

  private render(r: ProbeReport): void {
    const h = r.host;
    this.log(`host ${cell(h.hostname)} ${cell(h.instanceId)} · ${cell(h.os)} · kernel ${cell(h.kernel)}`);
    this.log(
      `tracer ${r.tracer}${r.tracerNote ? ` (${cell(r.tracerNote, 200)})` : ''} · window ${r.windowSeconds}s · status ${r.status}`,
    );
    if (r.containers.detected)
      this.log(`containers: ${r.containers.runtimes.map((x) => cell(x)).join(', ')} (use hop limit 2)`);
    this.log('');
    if (r.v1Callers.length === 0) this.log('No IMDSv1 callers seen.');
    else {
      this.log('IMDSv1 callers:');
      this.log(['REQS', 'PID', 'USER', 'EVIDENCE', 'COMMAND'].join('\t'));
      for (const c of r.v1Callers) {
        this.log(
          [
            c.requests,
            c.pid,
            cell(c.user ?? String(c.uid ?? '?'), 20),
            c.evidence,
            // The packet analyzer could not read the name of a process that had already exited.
            c.comm === '?' && c.argv === undefined ? '(name unknown: the process had exited)' : cell(c.argv ?? c.comm),
          ].join('\t'),
        );
        const parents = c.parents.map((p) => `${cell(p.comm, 30)} (${p.pid})`).join(' < ');
        if (parents) this.log(`\t\t\t\tparents: ${parents}`);
        if (c.container?.id) this.log(`\t\t\t\tcontainer: ${cell(c.container.id, 20)}`);
      }
    }
    this.log(
      `IMDSv2 callers: ${r.v2Callers.length} (${r.v2Callers.reduce((n, c) => n + c.requests, 0)} requests), token requests: ${r.tokenRequests}`,
    );
    const bad = r.packages.filter((p) => p.status !== 'ok');
    if (bad.length > 0) {
      this.log('');
      this.log('Components to fix:');
      for (const p of bad)
        this.log(
          `${p.status}\t${cell(p.name, 40)} ${cell(p.version, 30)}\t${cell(p.path, 80)}\t${cell(p.advice, 120)}`,
        );
    }
    for (const p of r.problems) this.logToStderr(`warning: ${cell(p, 200)}`);
  }
}
