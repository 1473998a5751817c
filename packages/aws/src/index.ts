export * from './probe-fleet/index.js';
