import {
  annotateImdsBehaviour,
  ImdsCaller,
  InstalledPackage,
  IsoDateTime,
  ProbeReport,
  redactCommandLine,
  type ProbeReport as ProbeReportT,
} from '@imdsv2-cutover/core';

/**
 * The probe's output format, version 1. Both probe scripts print it and `renderProbeOutput` writes it, so a simulated
 * instance answers SendCommand exactly as a real one does.
 *
 *   IMDSV2PROBE 1 probe=<version> platform=linux|windows     first line, always
 *   <RECORD> key=value key=value ...                          one record per line
 *   TRUNCATED omitted=<n>                                     the script dropped records to fit its budget
 *   END records=<n>                                           n = lines between the header and END
 *
 * Every value is percent-encoded: bytes outside [A-Za-z0-9._~/:@+-] become %XX of their UTF-8 bytes, so a value never
 * holds a space, `=`, a newline or a control character, and a hostile argv cannot forge a record. List values join
 * encoded items with `,` (a literal comma inside an item is %2C). Unknown record types and keys are ignored with a
 * problem noted, so newer probes stay readable.
 */
export const FORMAT_VERSION = 1;
export const FORMAT_MAGIC = 'IMDSV2PROBE';
/**
 * The probe's output budget: below SSM's 24,000-character StandardOutputContent. The SSM agent cuts stdout that reaches
 * 24,000 bytes and ends it with `--output truncated--` (amazon-ssm-agent `runpluginutil.go`, `pluginutil.StringPrefix`),
 * so the probe stops short of that (its output is ASCII: characters are bytes).
 */
export const DEFAULT_MAX_OUTPUT_CHARS = 23_900;

const SAFE = /^[A-Za-z0-9._~/:@+-]$/;
const ENCODED_VALUE = /^(?:[A-Za-z0-9._~/:@+,-]|%[0-9A-Fa-f]{2})*$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Percent-encodes one value (or one list item). */
export function encodeValue(s: string): string {
  let out = '';
  for (const ch of s) {
    if (SAFE.test(ch)) out += ch;
    else for (const b of encoder.encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Decodes one value; returns undefined for text that is not a valid encoded value. */
export function decodeValue(s: string): string | undefined {
  if (!ENCODED_VALUE.test(s)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c);
  }
  return decoder.decode(new Uint8Array(bytes));
}

function encodeList(items: readonly string[]): string {
  return items.map(encodeValue).join(',');
}

// ---------------------------------------------------------------------------------------------------------------------
// Rendering

type Fields = Record<string, string | number | boolean | readonly string[] | undefined>;

function line(type: string, fields: Fields): string {
  let out = type;
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) out += ` ${k}=${encodeList(v as readonly string[])}`;
    else out += ` ${k}=${typeof v === 'boolean' ? (v ? '1' : '0') : encodeValue(String(v))}`;
  }
  return out;
}

export interface RenderOptions {
  /** Character budget for the whole output, as the script applies it (default 24,000). */
  maxOutputChars?: number;
}

/**
 * Serializes a report into the exact lines the probe scripts print, capped like the scripts cap (records in priority
 * order; when the next record does not fit, it and all after it are dropped and `TRUNCATED` says how many).
 */
export function renderProbeOutput(report: ProbeReportT, opts: RenderOptions = {}): string {
  const max = opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
  const header = line(`${FORMAT_MAGIC} ${FORMAT_VERSION}`, {
    probe: report.probeVersion,
    platform: report.host.platform,
  });
  const records: string[] = [];
  const h = report.host;
  records.push(line('HOST', { hostname: h.hostname, instance: h.instanceId, os: h.os, kernel: h.kernel }));
  records.push(line('TRACER', { name: report.tracer, note: report.tracerNote }));
  records.push(line('WINDOW', { seconds: report.windowSeconds, start: report.startedAt, end: report.endedAt }));
  records.push(line('CONTAINERS', { detected: report.containers.detected, runtimes: report.containers.runtimes }));
  records.push(line('TOKENS', { n: report.tokenRequests, undecided: report.undecidedRequests }));
  if (report.historicLog) {
    const l = report.historicLog;
    records.push(line('HISTLOG', { path: l.path, v1: l.v1Lines, v2: l.v2Lines, undecided: l.undecidedLines }));
  }
  report.v1Callers.forEach((c, i) => {
    const id = i + 1;
    records.push(
      line('V1', {
        id,
        pid: c.pid,
        comm: c.comm,
        exe: c.exe,
        argv: c.argv,
        user: c.user,
        uid: c.uid,
        requests: c.requests,
        first: c.firstSeen,
        last: c.lastSeen,
        evidence: c.evidence,
        cid: c.container?.id,
        runtime: c.container?.runtime,
        cgroup: c.container?.cgroup,
        container: c.container ? true : undefined,
        paths: c.paths,
      }),
    );
    for (const p of c.parents) records.push(line('PARENT', { of: id, pid: p.pid, comm: p.comm, argv: p.argv }));
  });
  for (const c of report.v2Callers)
    records.push(line('V2', { pid: c.pid, comm: c.comm, exe: c.exe, requests: c.requests }));
  for (const p of report.packages) {
    records.push(
      line('PKG', {
        eco: p.ecosystem,
        name: p.name,
        version: p.version,
        path: p.path,
        min: p.minimumVersion,
        status: p.status,
        advice: p.advice,
      }),
    );
  }
  for (const n of report.notes) records.push(line('NOTE', { text: n }));

  const out = [header];
  let used = header.length + 1;
  // Room for the TRUNCATED and END lines, whatever the counts.
  const reserve = 64;
  let kept = 0;
  for (const r of records) {
    if (used + r.length + 1 + reserve > max) break;
    out.push(r);
    used += r.length + 1;
    kept++;
  }
  const omitted = records.length - kept;
  if (omitted > 0 || report.status === 'truncated') {
    out.push(line('TRUNCATED', { omitted }));
    kept++;
  }
  out.push(`END records=${kept}`);
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Parsing

export interface ParseOptions {
  /** Platform to assume when the output is too damaged to say (default linux). */
  platform?: 'linux' | 'windows';
  /** Max characters kept of any one decoded value (default 4,096). */
  maxValueChars?: number;
}

interface RawRecord {
  type: string;
  fields: Map<string, string>;
  lineNo: number;
}

const RECORD_LINE = /^([A-Z][A-Z0-9]*)((?: [a-z][a-z0-9_]*=\S*)*)$/;
const MAX_PROBLEMS = 50;

function emptyReport(platform: 'linux' | 'windows'): ProbeReportT {
  return {
    schema: { name: 'imdsv2-cutover/probe-report', version: 1 },
    formatVersion: FORMAT_VERSION,
    probeVersion: 'unknown',
    status: 'ok',
    problems: [],
    host: { platform },
    tracer: 'none',
    windowSeconds: 0,
    v1Callers: [],
    v2Callers: [],
    tokenRequests: 0,
    undecidedRequests: 0,
    packages: [],
    containers: { detected: false, runtimes: [] },
    notes: [],
  };
}

class Parser {
  readonly report: ProbeReportT;
  private readonly maxValue: number;

  constructor(opts: ParseOptions) {
    this.report = emptyReport(opts.platform ?? 'linux');
    this.maxValue = opts.maxValueChars ?? 4096;
  }

  problem(msg: string): void {
    if (this.report.problems.length < MAX_PROBLEMS) this.report.problems.push(msg);
    else if (this.report.problems.length === MAX_PROBLEMS) this.report.problems.push('more problems omitted');
  }

  fail(status: 'invalid' | 'truncated', msg: string): void {
    // invalid wins over truncated: a damaged output is worse than a short one.
    if (this.report.status !== 'invalid') this.report.status = status;
    this.problem(msg);
  }

  str(r: RawRecord, key: string): string | undefined {
    const raw = r.fields.get(key);
    if (raw === undefined || raw === '') return undefined;
    const v = decodeValue(raw);
    if (v === undefined) {
      this.problem(`line ${r.lineNo}: ${r.type} ${key} is not a valid encoded value; ignored`);
      return undefined;
    }
    return v.length > this.maxValue ? `${v.slice(0, this.maxValue)}…` : v;
  }

  list(r: RawRecord, key: string): string[] {
    const raw = r.fields.get(key);
    if (raw === undefined || raw === '') return [];
    return raw
      .split(',')
      .slice(0, 200)
      .map((item) => {
        const v = decodeValue(item);
        if (v === undefined) this.problem(`line ${r.lineNo}: ${r.type} ${key} has a bad item; ignored`);
        return v;
      })
      .filter((v): v is string => v !== undefined && v !== '');
  }

  int(r: RawRecord, key: string): number | undefined {
    const raw = r.fields.get(key);
    if (raw === undefined || raw === '') return undefined;
    if (!/^\d{1,15}$/.test(raw)) {
      this.problem(`line ${r.lineNo}: ${r.type} ${key}=${raw.slice(0, 20)} is not a count; ignored`);
      return undefined;
    }
    return Number(raw);
  }

  time(r: RawRecord, key: string): string | undefined {
    const v = this.str(r, key);
    if (v === undefined) return undefined;
    if (!IsoDateTime.safeParse(v).success) {
      this.problem(`line ${r.lineNo}: ${r.type} ${key} is not an ISO time; ignored`);
      return undefined;
    }
    return v;
  }

  argv(r: RawRecord, key: string): string | undefined {
    const v = this.str(r, key);
    return v === undefined ? undefined : redactCommandLine(v);
  }
}

function splitRecord(text: string, lineNo: number): RawRecord | undefined {
  const m = RECORD_LINE.exec(text);
  if (!m) return undefined;
  const fields = new Map<string, string>();
  for (const part of (m[2] ?? '').split(' ')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = part.slice(0, eq);
    if (!fields.has(k)) fields.set(k, part.slice(eq + 1));
  }
  return { type: m[1]!, fields, lineNo };
}

/**
 * Parses what a probe script printed into a probe report. Never throws: output that is not the probe's, of another
 * version, or damaged yields `status: invalid`; output cut short (no END, count mismatch, or the script's own TRUNCATED)
 * yields `truncated`; the reasons are in `problems`. Every command line is redacted again. Packages and IMDSv1 callers
 * that are known components get their `imdsBehaviour` from the knowledge base (core `annotateImdsBehaviour`).
 */
export function parseProbeOutput(text: string, opts: ParseOptions = {}): ProbeReportT {
  const p = new Parser(opts);
  try {
    parseInto(p, typeof text === 'string' ? text : '');
  } catch (e) {
    p.fail('invalid', `parser error: ${e instanceof Error ? e.message : String(e)}`);
  }
  const checked = ProbeReport.safeParse(p.report);
  if (checked.success) return annotateImdsBehaviour(checked.data);
  const fallback = emptyReport(opts.platform ?? 'linux');
  fallback.status = 'invalid';
  fallback.problems = [`parsed report failed validation: ${checked.error.issues[0]?.message ?? 'unknown'}`];
  return fallback;
}

function parseInto(p: Parser, text: string): void {
  const r = p.report;
  const lines = text.split(/\r?\n/);
  let i = lines.findIndex((l) => l.startsWith(`${FORMAT_MAGIC} `));
  if (i < 0) {
    p.fail(
      'invalid',
      text.trim() === '' ? 'the probe printed nothing' : `no "${FORMAT_MAGIC}" header line: not probe output`,
    );
    return;
  }
  if (i > 0) p.problem(`${i} line(s) before the header ignored`);
  const hm = /^IMDSV2PROBE (\d+)((?: [a-z][a-z0-9_]*=\S*)*)$/.exec(lines[i]!);
  if (!hm) {
    p.fail('invalid', 'malformed header line');
    return;
  }
  const version = Number(hm[1]);
  r.formatVersion = version > 0 && Number.isSafeInteger(version) ? version : FORMAT_VERSION;
  if (version !== FORMAT_VERSION) {
    p.fail(
      'invalid',
      `probe output format version ${hm[1]} is not supported (this tool reads ${FORMAT_VERSION}): upgrade imdsv2`,
    );
    return;
  }
  const header = splitRecord(`H${hm[2] ?? ''}`, i + 1)!;
  r.probeVersion = p.str(header, 'probe') ?? 'unknown';
  const platform = p.str(header, 'platform');
  if (platform === 'linux' || platform === 'windows') r.host.platform = platform;

  let count = 0;
  let ended = false;
  const callerById = new Map<string, ImdsCaller>();
  for (i = i + 1; i < lines.length; i++) {
    const textLine = lines[i]!;
    if (textLine === '') continue;
    const rec = splitRecord(textLine, i + 1);
    if (!rec) {
      p.fail('invalid', `line ${i + 1}: not a record (${JSON.stringify(textLine.slice(0, 40))})`);
      count++;
      continue;
    }
    if (rec.type === 'END') {
      const n = p.int(rec, 'records');
      if (n === undefined) p.fail('invalid', 'END line has no record count');
      else if (n !== count)
        p.fail('truncated', `END says ${n} records but ${count} arrived: output was cut or altered`);
      ended = true;
      if (lines.slice(i + 1).some((l) => l.trim() !== '')) p.problem('text after END ignored');
      break;
    }
    count++;
    applyRecord(p, rec, callerById);
  }
  if (!ended) p.fail('truncated', 'no END line: the output was cut short (SSM keeps only the first 24,000 characters)');
}

function applyRecord(p: Parser, rec: RawRecord, callerById: Map<string, ImdsCaller>): void {
  const r = p.report;
  switch (rec.type) {
    case 'HOST':
      r.host.hostname = p.str(rec, 'hostname');
      r.host.instanceId = p.str(rec, 'instance');
      r.host.os = p.str(rec, 'os');
      r.host.kernel = p.str(rec, 'kernel');
      for (const k of ['hostname', 'instanceId', 'os', 'kernel'] as const)
        if (r.host[k] === undefined) delete r.host[k];
      return;
    case 'TRACER': {
      const name = p.str(rec, 'name');
      if (name === 'bpftrace' || name === 'proc-sampling' || name === 'netstat-sampling' || name === 'none')
        r.tracer = name;
      else p.problem(`line ${rec.lineNo}: unknown tracer ${JSON.stringify(name ?? '')}`);
      const note = p.str(rec, 'note');
      if (note !== undefined) r.tracerNote = note;
      return;
    }
    case 'WINDOW': {
      r.windowSeconds = p.int(rec, 'seconds') ?? 0;
      const s = p.time(rec, 'start');
      const e = p.time(rec, 'end');
      if (s) r.startedAt = s;
      if (e) r.endedAt = e;
      return;
    }
    case 'CONTAINERS':
      r.containers = { detected: rec.fields.get('detected') === '1', runtimes: p.list(rec, 'runtimes') };
      return;
    case 'TOKENS':
      r.tokenRequests = p.int(rec, 'n') ?? 0;
      r.undecidedRequests = p.int(rec, 'undecided') ?? 0;
      return;
    case 'HISTLOG': {
      const path = p.str(rec, 'path');
      if (path !== undefined)
        r.historicLog = {
          path,
          v1Lines: p.int(rec, 'v1') ?? 0,
          v2Lines: p.int(rec, 'v2') ?? 0,
          undecidedLines: p.int(rec, 'undecided') ?? 0,
        };
      return;
    }
    case 'V1': {
      const evidence = p.str(rec, 'evidence') ?? 'confirmed';
      const cand: Record<string, unknown> = {
        pid: p.int(rec, 'pid') ?? 0,
        comm: p.str(rec, 'comm') ?? '?',
        exe: p.str(rec, 'exe'),
        argv: p.argv(rec, 'argv'),
        user: p.str(rec, 'user'),
        uid: p.int(rec, 'uid'),
        parents: [],
        requests: p.int(rec, 'requests') ?? 0,
        paths: p.list(rec, 'paths').slice(0, 50),
        firstSeen: p.time(rec, 'first'),
        lastSeen: p.time(rec, 'last'),
        evidence,
      };
      if (rec.fields.get('container') === '1') {
        cand.container = dropUndefined({
          id: p.str(rec, 'cid'),
          runtime: p.str(rec, 'runtime'),
          cgroup: p.str(rec, 'cgroup'),
        });
      }
      const parsed = ImdsCaller.safeParse(dropUndefined(cand));
      if (!parsed.success) {
        p.fail('invalid', `line ${rec.lineNo}: bad V1 record (${parsed.error.issues[0]?.message ?? 'invalid'})`);
        return;
      }
      r.v1Callers.push(parsed.data);
      const id = rec.fields.get('id');
      if (id !== undefined) callerById.set(id, parsed.data);
      return;
    }
    case 'PARENT': {
      const caller = callerById.get(rec.fields.get('of') ?? '');
      if (!caller) {
        p.problem(`line ${rec.lineNo}: PARENT of an unknown caller; ignored`);
        return;
      }
      if (caller.parents.length >= 16) return;
      caller.parents.push(
        dropUndefined({ pid: p.int(rec, 'pid') ?? 0, comm: p.str(rec, 'comm') ?? '?', argv: p.argv(rec, 'argv') }),
      );
      return;
    }
    case 'V2':
      r.v2Callers.push(
        dropUndefined({
          pid: p.int(rec, 'pid') ?? 0,
          comm: p.str(rec, 'comm') ?? '?',
          exe: p.str(rec, 'exe'),
          requests: p.int(rec, 'requests') ?? 0,
        }),
      );
      return;
    case 'PKG': {
      const parsed = InstalledPackage.safeParse(
        dropUndefined({
          ecosystem: p.str(rec, 'eco'),
          name: p.str(rec, 'name'),
          version: p.str(rec, 'version'),
          path: p.str(rec, 'path'),
          minimumVersion: p.str(rec, 'min'),
          status: p.str(rec, 'status'),
          advice: p.str(rec, 'advice'),
        }),
      );
      if (parsed.success) r.packages.push(parsed.data);
      else p.problem(`line ${rec.lineNo}: bad PKG record (${parsed.error.issues[0]?.message ?? 'invalid'}); ignored`);
      return;
    }
    case 'NOTE': {
      const t = p.str(rec, 'text');
      if (t !== undefined && r.notes.length < 100) r.notes.push(t);
      return;
    }
    case 'TRUNCATED':
      p.fail('truncated', `the probe capped its output: ${p.int(rec, 'omitted') ?? 'some'} record(s) omitted`);
      return;
    default:
      p.problem(`line ${rec.lineNo}: unknown record ${rec.type}; ignored`);
  }
}

function dropUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
