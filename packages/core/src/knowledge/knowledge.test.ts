import { describe, expect, it } from 'vitest';
import { classifyVersion, compareVersions, knownAgents, minimumVersion, minimumVersions } from './index.js';

describe('knowledge base', () => {
  it('holds the fact sheet minimums', () => {
    expect(minimumVersion('botocore').minimum).toBe('1.13.25');
    expect(minimumVersion('aws-sdk-js-v2').minimum).toBe('2.722.0');
    expect(minimumVersion('aws-java-sdk-v1').minimum).toBe('1.11.678');
    expect(minimumVersion('ssm-agent').minimum).toBe('2.3.814.0');
    expect(new Set(minimumVersions().map((e) => e.id)).size).toBe(minimumVersions().length);
  });
  it.each([
    ['1.13.25', '1.13.25', 0],
    ['1.9', '1.13.25', -1],
    ['v1.25.38', '1.25.4', 1],
    ['2.10.21-rc1', '2.10.21', 0],
  ])('compareVersions(%s, %s) = %i', (a, b, r) => expect(compareVersions(a, b)).toBe(r));
  it.each([
    ['botocore', '1.12.0', 'outdated'],
    ['botocore', '1.29.0', 'ok'],
    ['boto', '2.49.0', 'never-supports'],
    ['aws-node', '1.10.0', 'outdated'],
    ['aws-node', '1.10.1', 'ok'],
    // IMDSv2 from 19.4 (cloud-init's ChangeLog).
    ['cloud-init', '19.4', 'ok'],
    ['cloud-init', '19.3', 'outdated'],
    ['botocore', 'garbage', 'unknown'],
  ])('classifies %s %s as %s', (id, v, status) => expect(classifyVersion(minimumVersion(id), v).status).toBe(status));
  it('reports versions between the minimum and uncertainBelow as unknown', () => {
    const entry = {
      id: 'x',
      ecosystem: 'agent' as const,
      name: 'x',
      minimum: '1.0',
      uncertainBelow: '2.0',
      source: 't',
    };
    expect(classifyVersion(entry, '1.5').status).toBe('unknown');
    expect(classifyVersion(entry, '2.0').status).toBe('ok');
  });
  it('merges a user extension and rejects a bad one', () => {
    const merged = knownAgents({
      agents: [{ name: 'Acme EDR', processes: ['acmed'], paths: ['/opt/acme'], advice: 'upgrade' }],
    });
    expect(merged.find((a) => a.name === 'Acme EDR')?.status).toBe('known-blocker');
    expect(merged.length).toBe(knownAgents().length + 1);
    expect(() => knownAgents({ agents: [{ name: 'x', paths: ['/opt/$(rm -rf /)'] }] })).toThrow(/agents\.0\.paths\.0/);
  });
});
