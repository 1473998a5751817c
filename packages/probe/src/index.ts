/**
 * The on-host probe: the scripts sent to hosts (Linux shell + bpftrace, Windows PowerShell), the parser of what they
 * print, a renderer of the same format (for simulated hosts) and a runner for this machine.
 */
export {
  DEFAULT_MAX_OUTPUT_CHARS,
  FORMAT_VERSION,
  decodeValue,
  encodeValue,
  parseProbeOutput,
  renderProbeOutput,
  type ParseOptions,
  type RenderOptions,
} from './format.js';
export {
  DEFAULT_MAX_WINDOW_SECONDS,
  PROBE_VERSION,
  SEND_COMMAND_PARAMETERS_MAX_BYTES,
  SSM_DOCUMENT_MAX_BYTES,
  checkSendCommandSize,
  compactLinuxProbe,
  linuxInventoryScript,
  linuxProbeScript,
  sendCommandParametersBytes,
  windowsProbeScript,
  type InventoryScriptOptions,
  type ProbeScriptOptions,
} from './scripts.js';
export { runLocalInventory, runLocalProbe, type LocalInventoryOptions, type LocalProbeOptions } from './run-local.js';
