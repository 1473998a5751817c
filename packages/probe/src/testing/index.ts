export { ImdsNamespace, type ImdsLogEntry, type ImdsNamespaceOptions } from './netns.js';
export { FAKE_IMDS_PY } from './fake-imds.js';
export { waitForOwnProbeTrace } from './probe-start.js';
