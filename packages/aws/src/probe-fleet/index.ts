export {
  parseProbeSelection,
  selectCandidates,
  selectionMode,
  isSuspect,
  type ProbeSelection,
  type Candidates,
} from './select.js';
export {
  probeFleet,
  parseS3Url,
  SEND_BATCH,
  DETAILS_OUTPUT_CAP,
  STDOUT_CAP,
  EXECUTION_MARGIN_SECONDS,
  type ProbeClients,
  type ProbeClientScope,
  type ProbeFleetOptions,
  type ProbeFleetResult,
  type InstanceProbe,
} from './run.js';
export { excerpt, failureOutcome, reportOutcome, isTerminal } from './outcome.js';
export { applyProbeResults, probeAssessment } from './apply.js';
