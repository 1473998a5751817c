export * from './common.js';
export * from './validate.js';
export * from './probe-report.js';
export * from './assessment.js';
export * from './policy.js';
export * from './plan.js';
export * from './journal.js';
export * from './scenario.js';
