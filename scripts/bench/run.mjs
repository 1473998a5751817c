#!/usr/bin/env node
// The benchmark suite (`pnpm bench`, after `pnpm build`): the CLI's start-up, assessment at fleet scale beside the per-instance approach,
// plan and report, the on-host probe, and enforcement against EC2's Modify bucket. Every figure comes from running the
// real CLI (or, for the probe, the real probe script) in a child process. Prints Markdown tables and writes them, with
// the raw figures, to test-output/bench/. See docs/benchmarks.md for the model behind the minimums.
//
//   pnpm bench                           default run (~10-15 minutes)
//   pnpm bench --full                    adds 50k and 100k assessments and enforces 5,000 instances (~+20 minutes)
//   pnpm bench --only assess --sizes 1000,10000x5 --baseline-max 10000
//   pnpm bench --only startup               imdsv2 --version, --help and commands' start-up (scripts/bench/startup.mjs)
//   pnpm bench --only model,org --org 1000x4x25        at AWS's latency (the simulator's model), with the goals table
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, loadAverage, markdownTable, root, verdict } from './lib.mjs';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'startup,assess,model,org,plan,probe,enforce' },
    full: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    'plan-sizes': { type: 'string', default: '10000,100000' },
    'baseline-max': { type: 'string', default: '10000' },
    latency: { type: 'string', default: '30' },
    'latency-model': { type: 'string', default: 'aws' },
    'model-sizes': { type: 'string', default: '10000x1,10000x5' },
    org: { type: 'string', default: '1000x4x25' },
    enforce: { type: 'string' },
    'probe-window': { type: 'string', default: '60' },
    'probe-rate': { type: 'string', default: '100' },
    out: { type: 'string', default: path.join(root, 'test-output/bench') },
  },
});
const only = new Set(values.only.split(','));
const latencyMs = Number(values.latency);
const sizes = (values.sizes ?? (values.full ? '1000,10000,50000,100000,10000x5' : '1000,10000,50000,10000x5'))
  .split(',')
  .map((s) => {
    const [n, r] = s.split('x').map(Number);
    return { count: n, regionCount: r || 1 };
  });
const enforceCount = Number(values.enforce ?? (values.full ? 5000 : 1000));
const baselineMax = Number(values['baseline-max']);

const sections = [];
const raw = {};
/** One row per goal of the issue: what was measured, the bound, the ratio and met/missed, with the load while taken. */
const goals = [];
const goal = (name, measured, bound, ratio, met, load) =>
  goals.push([name, measured, bound, ratio === null ? '-' : ratio.toFixed(2), verdict(met), load]);
const log = (s) => process.stderr.write(`${s}\n`);
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${execSync('uname -sr').toString().trim()}`;
log(`machine: ${machine}; load average ${loadAverage()}`);

if (only.has('startup')) {
  const { benchStartup, startupSection } = await import('./startup.mjs');
  log(`CLI start-up, 20 runs of each case... (load ${loadAverage()})`);
  raw.startup = await benchStartup();
  sections.push(startupSection(raw.startup));
}

const { cliStartup } = await import('./plan-report.mjs');
const startup = await cliStartup('status');
const planStartup = await cliStartup('plan');
raw.cliStartup = { sdk: startup, plan: planStartup };
log(
  `CLI start-up with the AWS SDK (imdsv2 status, missing plan): ${fmt.s(startup.wallMs)} wall, ${fmt.s(startup.cpuMs)} CPU`,
);
log(
  `CLI start-up without it (imdsv2 plan, missing assessment): ${fmt.s(planStartup.wallMs)} wall, ${fmt.s(planStartup.cpuMs)} CPU`,
);

if (only.has('assess')) {
  const { benchAssess } = await import('./assess.mjs');
  const rows = [];
  const cmp = [];
  const probeRows = [];
  raw.assess = [];
  for (const { count, regionCount } of sizes) {
    log(`assess ${count} x ${regionCount} region(s)... (load ${loadAverage()})`);
    const baseline = count <= baselineMax;
    const r = await benchAssess({ count, regionCount, latencyMs, baseline, baselineProbe: baseline });
    raw.assess.push(r);
    const t = r.tool;
    const work = Math.max(0, t.wallMs - startup.wallMs);
    const ratio = t.calls / t.lowerBound;
    const timeRatio = work / 1000 / t.minSeconds;
    rows.push([
      fmt.n(count),
      String(regionCount),
      t.complete ? 'yes' : '**no**',
      fmt.n(t.calls),
      fmt.n(t.lowerBound),
      `${ratio.toFixed(2)} (${verdict(ratio <= 1.05)})`,
      `${t.throttled} / ${t.retries}`,
      `${fmt.s(t.wallMs)} (${fmt.s(work)})`,
      `${fmt.s(t.cpuMs)} / ${fmt.s(t.simulatorCpuMs)}`,
      `${t.minSeconds.toFixed(2)} s`,
      `${timeRatio.toFixed(1)} (${verdict(timeRatio <= 1.3)})`,
      `${fmt.mib(t.maxRssMiB)}${count >= 100_000 ? ` (${verdict(t.maxRssMiB < 1024)})` : ''}`,
    ]);
    if (r.naive) {
      const n = r.naive;
      const withProbe = t.calls + r.probe.toolSsmCalls;
      const callRatio = n.calls / withProbe;
      cmp.push([
        `${fmt.n(count)} x ${regionCount}`,
        `${fmt.n(n.calls)} (${Object.entries(n.callsByOp)
          .map(([op, c]) => `${op.split('.')[1]} ${fmt.n(c)}`)
          .join(', ')})`,
        `${n.throttled} / ${n.retries}`,
        fmt.n(withProbe),
        `${callRatio.toFixed(0)}x${count === 10_000 && regionCount === 1 ? ` (${verdict(callRatio >= 100)})` : ''}`,
        `${fmt.s(n.wallMs)} (min ${n.minSeconds.toFixed(1)} s)`,
        fmt.s(t.wallMs),
        `${(n.wallMs / t.wallMs).toFixed(1)}x`,
      ]);
    }
    probeRows.push([
      `${fmt.n(count)} x ${regionCount}`,
      fmt.n(r.probe.suspects),
      `${fmt.n(r.probe.toolSendCommand)} (bound ${fmt.n(r.probe.toolLowerBound)}; all SSM calls ${fmt.n(r.probe.toolSsmCalls)})`,
      fmt.n(r.probe.perInstance),
      `${(r.probe.perInstance / Math.max(1, r.probe.toolSendCommand)).toFixed(0)}x`,
    ]);
  }
  sections.push(
    `### Assessment (simulator, AWS throttling, ${latencyMs} ms per call)\n\n` +
      markdownTable(
        [
          'instances',
          'regions',
          'complete',
          'API calls',
          'lower bound',
          'ratio (<= 1.05)',
          'throttled / retries',
          'wall (minus CLI start-up)',
          'CPU: imdsv2 / simulator',
          'throttle-bound min',
          'work / min (<= 1.3)',
          'peak RSS',
        ],
        rows,
      ),
    `### Per-instance approach on the same fleet\n\nOne GetMetricStatistics per instance and one SendCommand per suspect, 16 calls in flight per region. imdsv2 calls = assess (discovery and measurement) + every SSM call of its fleet probe (\`assess --probe suspects\`, measured).\n\n` +
      markdownTable(
        [
          'fleet',
          'per-instance calls',
          'throttled / retries',
          'imdsv2 calls',
          'call ratio (>= 100x at 10k)',
          'per-instance wall',
          'imdsv2 assess wall',
          'time ratio',
        ],
        cmp,
      ),
    `### Fleet probe: SendCommand calls\n\nimdsv2 column: SendCommand calls of \`assess --probe suspects\`, measured, beside the lower bound ceil(probed / 50) per region and all SSM calls the probe made (instance information, send, collect).\n\n` +
      markdownTable(['fleet', 'suspects probed', 'imdsv2 SendCommand', 'per-instance SendCommand', 'ratio'], probeRows),
  );
}

if (only.has('model') || only.has('org')) {
  const { benchAssessModel } = await import('./assess.mjs');
  const runs = [];
  if (only.has('model'))
    for (const size of values['model-sizes'].split(',')) {
      const [n, r] = size.split('x').map(Number);
      runs.push({ accounts: 1, regionCount: r || 1, perRegion: Math.floor(n / (r || 1)) });
    }
  if (only.has('org')) {
    const [accounts, regionCount, perRegion] = values.org.split('x').map(Number);
    runs.push({ accounts, regionCount, perRegion });
  }
  const rows = [];
  raw.model = [];
  for (const spec of runs) {
    const load = loadAverage();
    log(
      `assess at the latency model: ${spec.accounts} account(s) x ${spec.regionCount} region(s) x ${spec.perRegion}... (load ${load})`,
    );
    const r = await benchAssessModel({ ...spec, latency: values['latency-model'] });
    raw.model.push({ ...r, load });
    const wall = r.wallMs / 1000;
    const work = Math.max(0, r.wallMs - startup.wallMs) / 1000;
    // As for the flat-latency table: the CLI's start-up (measured once, `imdsv2 --version`) is not part of the model.
    const ratio = work / r.bound.seconds;
    const wallRatio = wall / r.bound.seconds;
    const org = spec.accounts > 1;
    const rssOk = r.maxRssMiB < 1024;
    const label = `${fmt.n(spec.accounts)} x ${spec.regionCount} x ${fmt.n(spec.perRegion)}`;
    rows.push([
      label,
      fmt.n(r.instances),
      r.complete ? 'yes' : '**no**',
      `${fmt.n(r.calls)} (${fmt.n(r.boundCalls)})`,
      `${fmt.s(r.wallMs)} (${work.toFixed(1)} s)`,
      `${fmt.s(r.cpuMs)} / ${fmt.s(r.simulatorCpuMs)}`,
      `${r.bound.seconds.toFixed(1)} s (${r.bound.bindingTerm})`,
      `${ratio.toFixed(2)} (${verdict(ratio <= 1.3)}); whole wall ${wallRatio.toFixed(2)}`,
      `${fmt.mib(r.maxRssMiB)}${org ? ` (${verdict(rssOk)})` : ''}`,
      org ? `${r.progress.lines} lines; last: ${r.progress.last ?? '(none)'}` : '-',
      load,
    ]);
    const name = org
      ? `assess --org, ${label} (${fmt.n(r.instances)} instances), default concurrency: wall <= 1.3 x latency bound`
      : `assess ${fmt.n(r.instances)} instances over ${spec.regionCount} region(s): wall <= 1.3 x latency bound`;
    goal(
      name,
      `${fmt.s(r.wallMs)} wall, ${work.toFixed(1)} s minus CLI start-up`,
      `${r.bound.seconds.toFixed(1)} s`,
      ratio,
      ratio <= 1.3 && r.complete,
      load,
    );
    if (org) {
      goal(
        `assess --org, ${label}: peak RSS < 1 GB`,
        fmt.mib(r.maxRssMiB),
        '1024 MiB',
        r.maxRssMiB / 1024,
        rssOk,
        load,
      );
      goal(
        `assess --org, ${label}: progress by accounts and regions (plain lines off a TTY)`,
        `${r.progress.lines} lines, last "${r.progress.last ?? ''}"`,
        '-',
        null,
        r.progress.lines > 0 && /accounts/.test(r.progress.last ?? ''),
        load,
      );
    }
  }
  sections.push(
    `### Assessment at AWS's latency (simulator latency model \`${values['latency-model']}\`, AWS throttling, default concurrency)\n\n` +
      markdownTable(
        [
          'accounts x regions x instances',
          'instances',
          'complete',
          'API calls (fewest)',
          'wall (minus CLI start-up)',
          'CPU: imdsv2 / simulator',
          'latency-bound min (binding term)',
          'wall minus start-up / min (<= 1.3)',
          'peak RSS',
          'progress (stderr, not a TTY)',
          'load average',
        ],
        rows,
      ),
  );
}

if (only.has('plan')) {
  const { benchPlanReport } = await import('./plan-report.mjs');
  const rows = [];
  raw.planReport = [];
  for (const count of values['plan-sizes'].split(',').map(Number)) {
    log(`plan and report ${count}... (load ${loadAverage()})`);
    const load = loadAverage();
    const r = await benchPlanReport(count);
    raw.planReport.push({ ...r, load });
    const planWork = r.plan.wallMs - planStartup.wallMs;
    const reportWork = r.report.wallMs - planStartup.wallMs;
    const vsParse = r.plan.wallMs / r.bareParse.wallMs;
    if (count >= 100_000) {
      goal(
        `plan of ${fmt.n(count)} instances: wall < 5 s`,
        fmt.s(r.plan.wallMs),
        '5 s',
        r.plan.wallMs / 5000,
        r.plan.wallMs < 5000,
        load,
      );
      goal(
        `plan of ${fmt.n(count)} instances: wall <= 1.5 x a bare JSON.parse of the assessment`,
        fmt.s(r.plan.wallMs),
        `${fmt.s(r.bareParse.wallMs)} (parse)`,
        vsParse,
        vsParse <= 1.5,
        load,
      );
      goal(
        `plan of ${fmt.n(count)} instances: peak RSS < 1 GB`,
        fmt.mib(r.plan.maxRssMiB),
        '1024 MiB',
        r.plan.maxRssMiB / 1024,
        r.plan.maxRssMiB < 1024,
        load,
      );
    }
    const html = r.report.sizes['report.html'] ?? 0;
    rows.push([
      fmt.n(count),
      `${(r.assessmentBytes / 2 ** 20).toFixed(1)} MiB`,
      `${fmt.s(r.bareParse.wallMs)} / ${fmt.mib(r.bareParse.maxRssMiB)}`,
      `${vsParse.toFixed(2)}`,
      `${fmt.s(r.plan.wallMs)} (${fmt.s(planWork)})${count >= 100_000 ? ` ${verdict(r.plan.wallMs < 5000)}` : ''}`,
      `${fmt.s(r.planValidatedInFull.wallMs)} / ${fmt.s(r.planValidatedInFull.cpuMs)}`,
      fmt.s(r.plan.cpuMs),
      fmt.mib(r.plan.maxRssMiB),
      `${(r.plan.bytes / 2 ** 20).toFixed(1)} MiB`,
      `${fmt.s(r.report.wallMs)} (${fmt.s(reportWork)})${count === 10_000 ? ` ${verdict(reportWork < 3000)}` : ''}`,
      fmt.s(r.report.cpuMs),
      fmt.mib(r.report.maxRssMiB),
      `${(html / 2 ** 20).toFixed(1)} MiB HTML, ${((r.report.sizes['instances.csv'] ?? 0) / 2 ** 20).toFixed(1)} MiB CSV, ${Math.round((r.report.sizes['report.md'] ?? 0) / 1024)} KiB MD`,
      load,
    ]);
  }
  sections.push(
    `### Plan and report (\`imdsv2 plan\`, \`imdsv2 report --plan\`; CLI start-up ${fmt.s(planStartup.wallMs)} wall, ${fmt.s(planStartup.cpuMs)} CPU)\n\n` +
      markdownTable(
        [
          'instances',
          'assessment',
          'bare JSON.parse: wall / peak RSS',
          'plan wall / parse wall (<= 1.5 at 100k)',
          'plan wall (minus start-up)',
          'plan without digest file (validated in full): wall / CPU',
          'plan CPU',
          'plan peak RSS',
          'plan size',
          'report wall (minus start-up)',
          'report CPU',
          'report peak RSS',
          'report size',
          'load average',
        ],
        rows,
      ),
  );
}

if (only.has('probe') || only.has('probe-size')) {
  const { probeRequestSize } = await import('./probe.mjs');
  const size = await probeRequestSize({ windowSeconds: Number(values['probe-window']) });
  raw.probeSize = size;
  sections.push(
    `### Probe size in the SendCommand request\n\nParameters of each document as the fleet probe sends them (UTF-8 bytes of their JSON), beside the limit: SSM's ${fmt.n(size.documentLimit)}-byte document limit counts runtime parameters, less 2,048 bytes kept for the document's own text.\n\n` +
      markdownTable(
        ['document', 'script (characters)', 'in the request (bytes)', 'limit (bytes)', 'share of the limit'],
        size.rows.map((r) => [
          r.document,
          fmt.n(r.scriptChars),
          fmt.n(r.requestBytes),
          fmt.n(size.limit),
          `${((r.requestBytes / size.limit) * 100).toFixed(0)}% (${verdict(r.requestBytes <= size.limit)})`,
        ]),
      ),
  );
}

if (only.has('probe')) {
  if (process.getuid?.() !== 0) {
    sections.push('### Probe\n\nSkipped: needs root (bpftrace and network namespaces).');
  } else {
    const { benchProbe } = await import('./probe.mjs');
    const rows = [];
    raw.probe = [];
    for (const bpftrace of [true, false]) {
      log(`probe (${bpftrace ? 'bpftrace' : 'no bpftrace'})... (load ${loadAverage()})`);
      const r = await benchProbe({
        windowSeconds: Number(values['probe-window']),
        rate: Number(values['probe-rate']),
        bpftrace,
      });
      raw.probe.push(r);
      if (bpftrace)
        goal(
          `probe (bpftrace), whole run at its ${r.windowSeconds} s window, caller at ${values['probe-rate']} IMDSv1 requests/s: <= 2% of a core`,
          `${r.cpuSeconds.toFixed(2)} s CPU = ${(r.wholeRunShare * 100).toFixed(1)}%`,
          '2%',
          r.wholeRunShare / 0.02,
          r.wholeRunShare <= 0.02,
          loadAverage(),
        );
      rows.push([
        r.tracer,
        `${r.windowSeconds} s`,
        `${fmt.n(r.traced)} of ${fmt.n(r.served)}`,
        `${r.cpuSeconds.toFixed(2)} s`,
        `${(r.wholeRunShare * 100).toFixed(1)}%`,
        `${(r.steadyShare * 100).toFixed(1)}% (${verdict(r.steadyShare <= 0.02)})`,
        fmt.mib(r.maxRssMiB),
        `${r.wallSeconds.toFixed(1)} s`,
      ]);
    }
    const { bpftraceStartup } = await import('./probe-startup.mjs');
    log(`bpftrace start-up... (load ${loadAverage()})`);
    const startupCost = await bpftraceStartup({ runs: 3 });
    raw.probeStartup = startupCost;
    const bt = raw.probe.find((r) => r.tracer === 'bpftrace');
    const startupRows = [
      [
        "bpftrace start-up on the probe's program (parse, kernel types, LLVM compile, load, attach; 1 s window)",
        `${startupCost.program.cpuSeconds.toFixed(2)} s`,
        bt ? `${((startupCost.program.cpuSeconds / bt.cpuSeconds) * 100).toFixed(0)}%` : '-',
      ],
      ['bpftrace start-up on an empty program', `${startupCost.baseline.cpuSeconds.toFixed(2)} s`, '-'],
      ...(bt && bt.liveRate !== null
        ? [
            [
              `tracing at ${values['probe-rate']} requests/s for the ${bt.windowSeconds} s window (live rate x window)`,
              `${(bt.liveRate * bt.windowSeconds).toFixed(2)} s`,
              `${(((bt.liveRate * bt.windowSeconds) / bt.cpuSeconds) * 100).toFixed(0)}%`,
            ],
            [
              'the rest: inventory (packages, /proc), analysis of the events, shell',
              `${Math.max(0, bt.cpuSeconds - startupCost.program.cpuSeconds - bt.liveRate * bt.windowSeconds).toFixed(2)} s`,
              `${((Math.max(0, bt.cpuSeconds - startupCost.program.cpuSeconds - bt.liveRate * bt.windowSeconds) / bt.cpuSeconds) * 100).toFixed(0)}%`,
            ],
          ]
        : []),
    ];
    sections.push(
      `### Probe: where the whole run's CPU goes (bpftrace)\n\n` +
        markdownTable(['part', 'CPU', 'share of the whole run'], startupRows) +
        (startupCost.byLibrary
          ? `\n\nbpftrace start-up by library (perf): ${startupCost.byLibrary.map((l) => `${l.library} ${(l.share * 100).toFixed(0)}%`).join(', ')}.`
          : ''),
    );
    sections.push(
      `### Probe on a host (caller at ${values['probe-rate']} IMDSv1 requests/s in a network namespace)\n\n` +
        markdownTable(
          [
            'tracer',
            'window',
            'caller requests traced / served',
            'CPU (whole run)',
            'whole run, % of a core',
            'steady tracing, % of a core (<= 2%)',
            'peak RSS (largest process)',
            'wall',
          ],
          rows,
        ),
    );
  }
}

if (only.has('enforce')) {
  const { benchEnforce } = await import('./enforce.mjs');
  log(
    `enforce ${enforceCount} (bucket-bound, about ${Math.round((enforceCount - 100) / 5)} s)... (load ${loadAverage()})`,
  );
  const r = await benchEnforce({ count: enforceCount });
  raw.enforce = r;
  const ratio = r.wallMs / 1000 / r.minSeconds;
  sections.push(
    `### Enforcement (one wave, ModifyInstanceMetadataOptions bucket 100 burst, 5/s)\n\n` +
      markdownTable(
        [
          'instances',
          'applied / verified',
          'Modify calls (throttled)',
          'wall',
          'CPU',
          'bucket bound + apply delay',
          'wall / min (<= 1.3)',
          'peak RSS',
        ],
        [
          [
            fmt.n(r.count),
            `${r.applied} / ${r.verified}`,
            `${fmt.n(r.modifyCalls)} (${r.modifyThrottled})`,
            fmt.s(r.wallMs),
            fmt.s(r.cpuMs),
            `${r.boundSeconds.toFixed(0)} + 5 s`,
            `${ratio.toFixed(2)} (${verdict(ratio <= 1.3)})`,
            fmt.mib(r.maxRssMiB),
          ],
        ],
      ),
  );
}

if (goals.length > 0)
  sections.push(
    `### Goals (issue 23)\n\n` +
      markdownTable(['goal', 'measured', 'bound', 'ratio', 'met', 'load average (1, 5, 15 min) when taken'], goals),
  );
const doc = [`Machine: ${machine}. Load average at the end: ${loadAverage()}.`, ...sections].join('\n\n');
mkdirSync(values.out, { recursive: true });
writeFileSync(path.join(values.out, 'results.md'), `${doc}\n`);
writeFileSync(
  path.join(values.out, 'results.json'),
  `${JSON.stringify({ machine, latencyMs, goals, ...raw }, null, 2)}\n`,
);
console.log(doc);
