import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProbeOutput } from './format.js';
import { windowsProbeScript } from './scripts.js';

/**
 * The Windows probe cannot run here. These outputs are written to match what windows-probe.ps1 prints (same records,
 * same encoding); they prove the parser side, not the PowerShell.
 */
const fixture = (n: string) => readFileSync(new URL(`./__fixtures__/${n}`, import.meta.url), 'utf8');

describe('windows probe output', () => {
  it('parses a sampled caller, packages and agents', () => {
    const r = parseProbeOutput(fixture('windows-ok.txt'));
    expect(r.status, r.problems.join()).toBe('ok');
    expect(r.host.platform).toBe('windows');
    expect(r.tracer).toBe('netstat-sampling');
    expect(r.v1Callers).toEqual([
      expect.objectContaining({
        pid: 4242,
        comm: 'legacy-agent',
        exe: 'C:\\Program Files\\Legacy\\legacy-agent.exe',
        evidence: 'connection-seen',
        argv: '"C:\\Program Files\\Legacy\\legacy-agent.exe" --password=***',
      }),
    ]);
    expect(r.packages.map((p) => [p.name, p.status])).toEqual([
      ['AWSSDK.Core', 'outdated'],
      ['EC2Config', 'outdated'],
      ['AWSPowerShell', 'ok'],
    ]);
  });
  it('a run cut by SSM is truncated', () => {
    const t = fixture('windows-ok.txt');
    expect(parseProbeOutput(t.slice(0, t.indexOf('PKG'))).status).toBe('truncated');
  });
  it('bakes parameters into the script', () => {
    const s = windowsProbeScript({ windowSeconds: 45 });
    expect(s).toContain('$Window = 45');
    expect(s).not.toContain('@@');
  });
});
