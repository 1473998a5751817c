export * from './errors.js';
export * from './events.js';
export * from './hash.js';
export * from './schemas/index.js';
export * from './text.js';
export * from './enforcement/index.js';
