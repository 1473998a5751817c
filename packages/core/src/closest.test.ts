import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from './closest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['us-east-1', 'us-east-1', 0],
    ['us-eest-1', 'us-east-1', 1],
    ['assses', 'assess', 2],
    ['regoin', 'region', 2],
  ])('%j to %j is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closestName', () => {
  const commands = ['assess', 'plan', 'report', 'enforce', 'rollback', 'status', 'probe:local'];
  it.each([
    ['assses', undefined, 'assess'],
    ['ENFORCE', undefined, 'enforce'],
    ['probe:lcal', 2, 'probe:local'],
    ['xyzzy-quux', 3, undefined],
    ['stat', 1, undefined],
    ['stat', 2, 'status'],
  ] as const)('%s (at most %s edits) is %s', (name, max, expected) => {
    expect(closestName(name, commands, max)).toBe(expected);
  });

  it('has no answer without candidates, and takes the first of a tie', () => {
    expect(closestName('x', [])).toBeUndefined();
    expect(closestName('ab', ['ax', 'xb'])).toBe('ax');
  });
});
