export * from './fixtures.js';
export * from './privileged.js';
export * from './temp.js';
export * from './iam.js';
