import { EC2Client } from '@aws-sdk/client-ec2';
import { organizationScenario, scenarioFrom, startSimulator } from '@imdsv2-cutover/simulator';
import { describe, expect, it } from 'vitest';
import { discoverInstances } from './instances.js';

describe('discoverInstances', () => {
  it('asks for the next page from the answer body, before the SDK has read the page, and each page once', async () => {
    const sim = await startSimulator({
      scenario: scenarioFrom(organizationScenario({ accounts: 1, regions: ['us-east-1'], instancesPerRegion: 3500 })),
      throttling: false,
    });
    const ec2 = new EC2Client({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'x' },
      disableClockSkewCorrection: true,
    });
    const events: string[] = [];
    const send = ec2.send.bind(ec2) as (c: unknown) => Promise<unknown>;
    let n = 0;
    (ec2 as unknown as { send: (c: unknown) => Promise<unknown> }).send = (command: unknown) => {
      const k = ++n;
      events.push(`start ${k}`);
      return send(command).then((out) => {
        events.push(`done ${k}`);
        return out;
      });
    };
    try {
      const found = await discoverInstances(ec2, '100000000000', 'us-east-1');
      expect(found).toHaveLength(3500);
      expect(new Set(found.map((i) => i.instanceId)).size).toBe(3500);
      // 4 pages, each asked for once; page k+1 starts before page k's call has returned.
      expect(n).toBe(4);
      for (let k = 1; k < 4; k++) expect(events.indexOf(`start ${k + 1}`)).toBeLessThan(events.indexOf(`done ${k}`));
      expect(sim.counters.snapshot().calls['ec2.DescribeInstances']).toBe(4);
    } finally {
      ec2.destroy();
      await sim.stop();
    }
  });
});
