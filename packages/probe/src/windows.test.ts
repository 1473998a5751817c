import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProbeOutput } from './format.js';
import { windowsProbeScript } from './scripts.js';

/**
 * The Windows probe has not run on Windows: no Windows host or PowerShell is available where it is built. These outputs
 * are written by hand to match what windows-probe.ps1 prints (same records, same encoding); they prove the parser and
 * the knowledge base side, not the PowerShell.
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
  it('reads the static checks: SDK for .NET (DLLs and NuGet), PowerShell modules, EC2Launch, EC2Config, SSM agent, with their IMDS behaviour', () => {
    const r = parseProbeOutput(fixture('windows-static.txt'));
    expect(r.status, r.problems.join()).toBe('ok');
    expect(r.packages.map((p) => [p.name, p.version, p.status, p.imdsBehaviour?.behaviour])).toEqual([
      ['AWSSDK.Core', '3.3.500.0', 'outdated', 'v1-only'],
      ['AWSPowerShell', '3.3.618.0', 'outdated', 'v1-only'],
      // EC2Launch v1 before 1.3.2002730 has no IMDSv2; the host cannot tell, the knowledge base can.
      ['EC2Launch', '1.3.2002240', 'outdated', 'v1-only'],
      ['EC2Launch v2', '2.0.1000', 'unknown', 'unknown'],
      ['amazon-ssm-agent', '3.0.161.0', 'ok', 'v1-first-fallback'],
      ['EC2Config', '4.9.4588.0', 'ok', 'v2-first'],
      ['AWSSDK.Core', '3.7.300.1', 'ok', 'v2-first'],
    ]);
    expect(r.packages[2]!.advice).toMatch(/1\.3\.2002730 or later/);
    // The SSM agent seen talking to IMDS is the noisy kind, not a blocker.
    expect(r.v1Callers[0]!.imdsBehaviour).toMatchObject({ component: 'amazon-ssm-agent', effect: 'noise' });
  });

  it('the script looks where the fixtures say it does', () => {
    const s = windowsProbeScript({ windowSeconds: 45 });
    for (const what of [
      'AWSPowerShell, AWSPowerShell.NetCore, AWS.Tools.Common',
      "'C:\\Users\\*\\.nuget\\packages\\awssdk.core\\*'",
      'Amazon\\EC2-Windows\\Launch\\Module\\Ec2Launch.psd1',
      "ModuleVersion\\s*=\\s*'([0-9.]+)'",
      'Amazon\\EC2Launch\\EC2Launch.exe',
      'Amazon\\Ec2ConfigService\\Ec2Config.exe',
      'Amazon\\SSM\\amazon-ssm-agent.exe',
    ])
      expect(s).toContain(what);
  });

  it('bakes parameters into the script', () => {
    const s = windowsProbeScript({ windowSeconds: 45 });
    expect(s).toContain('$Window = 45');
    expect(s).not.toContain('@@');
  });
});
