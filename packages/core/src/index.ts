export * from './errors.js';
export * from './events.js';
export * from './hash.js';
export * from './schemas/index.js';
export * from './text.js';
export * from './effective-settings.js';
export * from './readiness.js';
export * from './summary.js';
