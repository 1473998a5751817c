export * from './duration.js';
export * from './replay.js';
export * from './token-bucket.js';
