export * from './errors.js';
export * from './events.js';
export * from './hash.js';
export * from './schemas/index.js';
export * from './text.js';
export * from './redact.js';
export * from './knowledge/index.js';
export * from './planner/index.js';
