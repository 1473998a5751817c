export * from './parse.js';
export * from './replay.js';
export * from './summary.js';
export * from './seal.js';
