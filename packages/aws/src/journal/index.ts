export * from './journal.js';
export * from './lock.js';
