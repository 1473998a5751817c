/**
 * The workflows of imdsv2-cutover: what every command (and the demo) calls. Each reads and checks its inputs, builds
 * its AWS clients from one connection config, runs the engine packages, writes its files atomically and returns a
 * typed result; none prints (progress goes to the injected reporter).
 */
export * from './assess.js';
export * from './compare.js';
export * from './connection.js';
export * from './demo.js';
export * from './enforce.js';
export * from './files.js';
export * from './history.js';
export * from './plan.js';
export * from './policy.js';
export * from './report.js';
export * from './report-files.js';
export * from './scheduling.js';
