export * from './privileged.js';
export * from './temp.js';
