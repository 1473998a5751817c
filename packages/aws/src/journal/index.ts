export * from './faulty-fs.js';
export * from './fs.js';
export * from './journal.js';
export * from './lock.js';
