import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { CutoverError, knownAgents, minimumVersions, type KnownAgent } from '@imdsv2-cutover/core';
import { DEFAULT_MAX_OUTPUT_CHARS, FORMAT_MAGIC, FORMAT_VERSION, encodeValue } from './format.js';

/** Version of the probe scripts, printed in their header line. */
export const PROBE_VERSION = '0.1.0';
/** Longest trace window a caller may ask for unless it sets its own maximum. */
export const DEFAULT_MAX_WINDOW_SECONDS = 900;

function asset(name: string): string {
  return readFileSync(new URL(`../assets/${name}`, import.meta.url), 'utf8');
}

/**
 * An awk program of the assets, ready to sit inside a single-quoted shell string: comment lines and indentation dropped
 * (they only cost bytes in the SendCommand request), and refused if it holds a single quote.
 */
function awkAsset(name: string): string {
  const text = asset(name)
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .map((l) => l.trimStart())
    .join('\n')
    .trim();
  if (text.includes("'")) throw new CutoverError('INTERNAL', `assets/${name} holds a single quote`);
  return text;
}

export interface ProbeScriptOptions {
  /** Trace window in seconds (1 .. maxWindowSeconds). */
  windowSeconds: number;
  /** Upper bound the caller allows for the window (default 900 s). */
  maxWindowSeconds?: number;
  /** Output budget in characters (default 24,000: what SSM returns). */
  maxOutputChars?: number;
  /** Install bpftrace with the host's package manager when it is missing (Linux only). */
  installTracer?: boolean;
  /** Extra vendor agents (parsed JSON shaped like core's known-agents.json), merged with the built-in ones. */
  extraAgents?: unknown;
  /** Root of the static inventory and of the analyzer log (tests point it at a temporary tree); default `/`. */
  root?: string;
}

/** What the offline inventory of a file tree takes (`imdsv2 probe local --root`): no window, nothing traced. */
export interface InventoryScriptOptions {
  /** The tree to read as if it were `/` (a mounted AMI snapshot, an unpacked container image). */
  root: string;
  maxOutputChars?: number;
  extraAgents?: unknown;
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new CutoverError('BAD_USAGE', `${name} must be a whole number from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

function checkRoot(root: string | undefined): string {
  const r = root ?? '/';
  if (!/^\/[A-Za-z0-9._/-]*$/.test(r) || r.includes('..')) {
    throw new CutoverError(
      'BAD_USAGE',
      `inventory root must be an absolute path of letters, digits, . _ - /, got ${JSON.stringify(r)}`,
    );
  }
  return r === '/' ? '/' : r.replace(/\/+$/, '');
}

/** Fills `@@NAME@@` placeholders; values are inserted literally (no `$&` surprises). */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@@([A-Z_]+)@@/g, (m, k: string) => values[k] ?? m);
}

function minVersionLines(): string {
  return minimumVersions()
    .map((e) =>
      [
        e.id,
        e.ecosystem,
        e.name,
        e.minimum ?? '',
        e.uncertainBelow ?? '',
        e.never ? '1' : '',
        (e.bad ?? []).join(' '),
        encodeValue(e.advice ?? ''),
      ].join('|'),
    )
    .join('\n');
}

function agentLines(agents: KnownAgent[]): string {
  return agents
    .map((a) =>
      [
        encodeValue(a.name),
        a.processes.join(' '),
        a.paths.join(' '),
        a.status,
        encodeValue(a.advice),
        a.packages.join(' '),
      ].join('|'),
    )
    .join('\n');
}

function linuxScript(p: {
  window: number;
  maxOut: number;
  installTracer: boolean;
  root: string;
  offline: boolean;
  extraAgents: unknown;
}): string {
  const withPrograms = asset('linux-probe.sh')
    .replace('@@BPFTRACE_PROGRAM@@', () => asset('linux-probe.bt').trimEnd())
    .replace('@@AWKLIB@@', () => `\n${awkAsset('awklib.awk')}\n`)
    .replace('@@ANALYZER_AWK@@', () => `\n${awkAsset('analyzer-log.awk')}\n`);
  return fill(withPrograms, {
    PROBE_VERSION,
    WINDOW: String(p.window),
    MAXOUT: String(p.maxOut),
    INSTALL_TRACER: p.installTracer ? '1' : '0',
    ROOT: p.root,
    OFFLINE: p.offline ? '1' : '0',
    MINVERSIONS: minVersionLines(),
    AGENTS: agentLines(knownAgents(p.extraAgents)),
  });
}

/**
 * The Linux probe as one POSIX shell script, parameters baked in (validated, so nothing the caller passes can break out
 * of the script's quoting), ready for SSM AWS-RunShellScript or `sh -s`.
 */
export function linuxProbeScript(opts: ProbeScriptOptions): string {
  const maxWindow = checkInt('maxWindowSeconds', opts.maxWindowSeconds ?? DEFAULT_MAX_WINDOW_SECONDS, 1, 86_400);
  return linuxScript({
    window: checkInt('windowSeconds', opts.windowSeconds, 1, maxWindow),
    maxOut: checkInt('maxOutputChars', opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS, 2000, 10_000_000),
    installTracer: opts.installTracer === true,
    root: checkRoot(opts.root),
    offline: false,
    extraAgents: opts.extraAgents,
  });
}

/**
 * The Linux probe's static part alone, for a file tree read as if it were `/`: the inventory, the packet analyzer's log
 * under `root`, host facts from the tree's own files (`etc/hostname`, `etc/os-release`, cloud-init's instance id) and
 * container runtimes installed in it. Nothing is traced and nothing of the running machine is read (no `/proc`, no
 * DMI); the report has tracer `none` and a 0 s window. Same output format as the probe.
 */
export function linuxInventoryScript(opts: InventoryScriptOptions): string {
  return linuxScript({
    window: 0,
    maxOut: checkInt('maxOutputChars', opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS, 2000, 10_000_000),
    installTracer: false,
    root: checkRoot(opts.root),
    offline: true,
    extraAgents: opts.extraAgents,
  });
}

/** The Windows probe (PowerShell) for SSM AWS-RunPowerShellScript; prints the same line format. */
export function windowsProbeScript(opts: Omit<ProbeScriptOptions, 'installTracer' | 'root'>): string {
  const maxWindow = checkInt('maxWindowSeconds', opts.maxWindowSeconds ?? DEFAULT_MAX_WINDOW_SECONDS, 1, 86_400);
  const window = checkInt('windowSeconds', opts.windowSeconds, 1, maxWindow);
  const maxOut = checkInt('maxOutputChars', opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS, 2000, 10_000_000);
  return fill(asset('windows-probe.ps1'), {
    PROBE_VERSION,
    WINDOW: String(window),
    MAXOUT: String(maxOut),
    MINVERSIONS: minVersionLines(),
  });
}

/**
 * SSM's limit on a document's content, 64 KB ("The size limit of a document is 64 KB", SSM API reference,
 * MaxDocumentSizeExceeded). It counts the content with the runtime parameters filled in, so the probe sent as the
 * `commands` parameter of AWS-RunShellScript must fit in it together with the document's own text.
 */
export const SSM_DOCUMENT_MAX_BYTES = 65_536;
/**
 * Room kept for the text of AWS-RunShellScript / AWS-RunPowerShellScript around the parameters (their JSON content,
 * with descriptions and the allowed patterns, is about 1.2 KB): the budget for the parameters is 64 KB less this.
 */
export const SSM_DOCUMENT_RESERVE_BYTES = 2_048;
/** The most a SendCommand's `Parameters` may take, as UTF-8 bytes of their JSON: 63,488. */
export const SEND_COMMAND_PARAMETERS_MAX_BYTES = SSM_DOCUMENT_MAX_BYTES - SSM_DOCUMENT_RESERVE_BYTES;

/**
 * The Linux probe in the form sent through SSM: a short POSIX sh stub that carries the probe gzip-compressed and
 * base64-encoded (about a third of its size), unpacks it into a private temporary directory and runs it with `sh`.
 * The stub keeps `WINDOW=` and `MAXOUT=` in clear, so what the probe will do can be read from the command. A host
 * without `base64` (or `openssl`) or `gzip` prints a valid probe output that says so.
 *
 * @param script the text of `linuxProbeScript()`.
 */
export function compactLinuxProbe(script: string): string {
  const window = /^WINDOW='(\d+)'$/m.exec(script)?.[1] ?? '0';
  const maxOut = /^MAXOUT='(\d+)'$/m.exec(script)?.[1] ?? String(DEFAULT_MAX_OUTPUT_CHARS);
  const payload = gzipSync(Buffer.from(script, 'utf8'), { level: 9 }).toString('base64');
  const failed = encodeValue('the probe could not be unpacked on this host: it needs gzip and base64 (or openssl)');
  return `#!/bin/sh
# imdsv2-cutover Linux probe ${PROBE_VERSION}, gzip + base64 to fit SSM's 64 KB document limit. The readable script is
# packages/probe/assets/linux-probe.sh of imdsv2-cutover; its output format is "${FORMAT_MAGIC} ${FORMAT_VERSION}".
# The parameters baked into the payload, in clear for whoever reads the command.
# shellcheck disable=SC2034
WINDOW='${window}'
# shellcheck disable=SC2034
MAXOUT='${maxOut}'
P='${payload}'
D=$(mktemp -d /tmp/imdsv2-probe-sh.XXXXXX 2>/dev/null) || D=''
trap '[ -n "$D" ] && rm -rf "$D"' EXIT
trap 'exit 1' INT TERM HUP
if command -v base64 >/dev/null 2>&1; then DEC='base64 -d'; else DEC='openssl base64 -d -A'; fi
# shellcheck disable=SC2086 # DEC is a command and its flags
if [ -n "$D" ] && printf '%s' "$P" | $DEC 2>/dev/null | gzip -dc >"$D/probe.sh" 2>/dev/null && [ -s "$D/probe.sh" ]; then
  sh "$D/probe.sh"
  exit $?
fi
printf '${FORMAT_MAGIC} ${FORMAT_VERSION} probe=${PROBE_VERSION} platform=linux\\nNOTE text=%s\\nEND records=1\\n' '${failed}'
exit 1
`;
}

/**
 * Bytes the `Parameters` of a SendCommand take in the request (UTF-8 of their JSON, as the SDK sends them): what SSM
 * counts against its document limit besides the document itself.
 */
export function sendCommandParametersBytes(parameters: Record<string, string[]>): number {
  return Buffer.byteLength(JSON.stringify(parameters), 'utf8');
}

/**
 * Fails before any SendCommand when `parameters` would push the document over SSM's limit (see
 * SEND_COMMAND_PARAMETERS_MAX_BYTES). Returns their size in bytes. Throws BAD_INPUT (exit 2) naming the size, the
 * limit and the usual cause: a large extra-agents file.
 */
export function checkSendCommandSize(parameters: Record<string, string[]>, document: string): number {
  const bytes = sendCommandParametersBytes(parameters);
  if (bytes > SEND_COMMAND_PARAMETERS_MAX_BYTES) {
    throw new CutoverError(
      'BAD_INPUT',
      `the probe for ${document} takes ${bytes} bytes in the SendCommand request, more than the ${SEND_COMMAND_PARAMETERS_MAX_BYTES} bytes SSM allows (64 KB per document, parameters included); nothing was sent`,
      {
        suggestions: [
          'Make the extra agents file (--agents / extraAgents) smaller: fewer entries, shorter advice.',
          'Or probe in two runs with different agents files.',
        ],
        details: { bytes, limit: SEND_COMMAND_PARAMETERS_MAX_BYTES, document },
      },
    );
  }
  return bytes;
}
