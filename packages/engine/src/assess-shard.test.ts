import { CutoverError } from '@imdsv2-cutover/core';
import { describe, expect, it } from 'vitest';
import { parseShard } from './assess.js';

describe('parseShard', () => {
  it.each([
    ['0/4', {}, { index: 0, count: 4 }],
    ['3/4', {}, { index: 3, count: 4 }],
    [' 2/10 ', {}, { index: 2, count: 10 }],
    ['0/1', {}, { index: 0, count: 1 }],
    ['4', { JOB_COMPLETION_INDEX: '2' }, { index: 2, count: 4 }],
    ['4', { AWS_BATCH_JOB_ARRAY_INDEX: '3', AWS_BATCH_JOB_ARRAY_SIZE: '4' }, { index: 3, count: 4 }],
    ['4', { JOB_COMPLETION_INDEX: '1', AWS_BATCH_JOB_ARRAY_INDEX: '1' }, { index: 1, count: 4 }],
    // An explicit K wins over the environment.
    ['0/4', { JOB_COMPLETION_INDEX: '3' }, { index: 0, count: 4 }],
  ] as const)('%s with %j', (value, env, shard) => {
    expect(parseShard(value, env)).toEqual(shard);
  });

  it.each([
    ['4/4', {}, /shard index 4 is outside 0\.\.3/],
    ['-1/4', {}, /neither K\/N nor N/],
    ['a/b', {}, /neither K\/N nor N/],
    ['0/0', {}, /at least 1/],
    ['4', {}, /no shard index: neither JOB_COMPLETION_INDEX nor AWS_BATCH_JOB_ARRAY_INDEX is set/],
    ['4', { JOB_COMPLETION_INDEX: '7' }, /shard index 7 is outside 0\.\.3/],
    ['4', { JOB_COMPLETION_INDEX: 'x' }, /JOB_COMPLETION_INDEX is "?x"?, not a shard index/],
    [
      '4',
      { JOB_COMPLETION_INDEX: '1', AWS_BATCH_JOB_ARRAY_INDEX: '2' },
      /JOB_COMPLETION_INDEX is .*1.* but AWS_BATCH_JOB_ARRAY_INDEX is .*2/,
    ],
    [
      '4',
      { AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_SIZE: '8' },
      /N is 4 but this AWS Batch array job has .*8.* children/,
    ],
  ] as const)('refuses %s with %j (exit 2)', (value, env, message) => {
    let error: unknown;
    try {
      parseShard(value, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CutoverError);
    expect((error as CutoverError).code).toBe('BAD_USAGE');
    expect((error as CutoverError).message).toMatch(new RegExp(`^--shard `));
    expect((error as CutoverError).message).toMatch(message);
  });
});
