export * from './diff.js';
export * from './gates.js';
export * from './trend.js';
