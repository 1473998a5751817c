export * from './enforce/index.js';
export * from './journal/index.js';
