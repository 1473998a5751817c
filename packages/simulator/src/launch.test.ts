import {
  DescribeInstancesCommand,
  EC2Client,
  type HttpTokensState,
  type InstanceMetadataOptionsRequest,
  ModifyInstanceMetadataDefaultsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig, rejection } from './__fixtures__/sdk.js';
import { type Simulator, startSimulator } from './index.js';
import { HTTP_TOKENS_ENFORCED_MESSAGE } from './launch.js';

// Bundled scenario `launch-rehearsal`: us-east-1 has no account defaults, eu-west-1 is locked in (tokens required, hop
// limit 2, HttpTokensEnforced).
const PLAIN = 'ami-0aa1b2c3d4e5f6001';
const V2 = 'ami-0aa1b2c3d4e5f6002';
const EU_PLAIN = 'ami-0aa1b2c3d4e5f6003';

let sim: Simulator;
let ec2: EC2Client;
let eu: EC2Client;
beforeAll(async () => {
  sim = await startSimulator({ scenario: 'launch-rehearsal', throttling: false });
  ec2 = new EC2Client(clientConfig(sim, 'us-east-1'));
  eu = new EC2Client(clientConfig(sim, 'eu-west-1'));
});
afterAll(async () => sim.stop());

async function launch(client: EC2Client, input: Parameters<typeof runInput>[0]) {
  const out = await client.send(new RunInstancesCommand(runInput(input)));
  return out.Instances![0]!;
}
function runInput(input: {
  ImageId?: string;
  MetadataOptions?: InstanceMetadataOptionsRequest;
  LaunchTemplate?: { LaunchTemplateName: string; Version?: string };
  DryRun?: boolean;
}) {
  return { MinCount: 1, MaxCount: 1, ...input };
}

async function setDefaults(client: EC2Client, d: { tokens: string; hop?: number }) {
  await client.send(
    new ModifyInstanceMetadataDefaultsCommand({
      HttpTokens: d.tokens as 'required',
      HttpPutResponseHopLimit: d.hop ?? -1,
      HttpEndpoint: 'no-preference',
      InstanceMetadataTags: 'no-preference',
    }),
  );
}

// EC2 UG, "Configure the Instance Metadata Service options", order of precedence, the metadata-version table
// (launch parameter | account default | AMI ImdsSupport | result), all 18 rows.
const v2 = 'required';
const v1v2 = 'optional';
const tokenRows: [HttpTokensState | undefined, string, 'v2.0' | null, HttpTokensState][] = [
  [v2, 'no-preference', 'v2.0', v2],
  [v2, v2, 'v2.0', v2],
  [v2, v1v2, 'v2.0', v2],
  [v1v2, 'no-preference', 'v2.0', v1v2],
  [v1v2, v2, 'v2.0', v1v2],
  [v1v2, v1v2, 'v2.0', v1v2],
  [undefined, 'no-preference', 'v2.0', v2],
  [undefined, v2, 'v2.0', v2],
  [undefined, v1v2, 'v2.0', v1v2],
  [v2, 'no-preference', null, v2],
  [v2, v2, null, v2],
  [v2, v1v2, null, v2],
  [v1v2, 'no-preference', null, v1v2],
  [v1v2, v2, null, v1v2],
  [v1v2, v1v2, null, v1v2],
  [undefined, 'no-preference', null, v1v2],
  [undefined, v2, null, v2],
  [undefined, v1v2, null, v1v2],
];

describe('RunInstances: metadata options by order of precedence', () => {
  it.each(tokenRows)(
    'HttpTokens: launch parameter %s, account default %s, AMI ImdsSupport %s -> %s',
    async (param, accountDefault, ami, expected) => {
      await setDefaults(ec2, { tokens: accountDefault });
      const inst = await launch(ec2, {
        ImageId: ami === 'v2.0' ? V2 : PLAIN,
        ...(param ? { MetadataOptions: { HttpTokens: param } } : {}),
      });
      expect(inst.MetadataOptions?.HttpTokens).toBe(expected);
    },
  );

  // Hop limit: AMI v2.0 gives 2 unless overridden (EC2 UG precedence example 1: an account hop limit of 1 wins over
  // the AMI); without it AWS's default is 1; -1 is no preference.
  it.each([
    [undefined, -1, V2, 2],
    [undefined, 1, V2, 1],
    [undefined, -1, PLAIN, 1],
    [undefined, 2, PLAIN, 2],
    [3, 1, V2, 3],
  ])('hop limit: launch parameter %s, account default %s, image %s -> %s', async (param, hop, image, expected) => {
    await setDefaults(ec2, { tokens: 'no-preference', hop });
    const inst = await launch(ec2, {
      ImageId: image,
      ...(param ? { MetadataOptions: { HttpPutResponseHopLimit: param } } : {}),
    });
    expect(inst.MetadataOptions?.HttpPutResponseHopLimit).toBe(expected);
    // Example 1 of the guide: the AMI still decides the tokens.
    if (image === V2 && param === undefined) expect(inst.MetadataOptions?.HttpTokens).toBe('required');
  });

  it('evaluates each option separately: request, template, account default and AWS default mix', async () => {
    await ec2.send(
      new ModifyInstanceMetadataDefaultsCommand({
        HttpTokens: 'no-preference',
        HttpEndpoint: 'enabled',
        InstanceMetadataTags: 'enabled',
      }),
    );
    // app-v1: tokens optional, hop limit 1. The request overrides only the hop limit.
    const inst = await launch(ec2, {
      LaunchTemplate: { LaunchTemplateName: 'app-v1' },
      MetadataOptions: { HttpPutResponseHopLimit: 3 },
    });
    expect(inst.MetadataOptions).toMatchObject({
      HttpTokens: 'optional', // template
      HttpPutResponseHopLimit: 3, // request
      InstanceMetadataTags: 'enabled', // account default
      HttpProtocolIpv6: 'disabled', // AWS default
    });
    await setDefaults(ec2, { tokens: 'no-preference' });
  });

  it('launches from a template with its image and type, tagged with the template id and version', async () => {
    const out = await ec2.send(
      new RunInstancesCommand({ MinCount: 2, MaxCount: 2, LaunchTemplate: { LaunchTemplateName: 'app-v2' } }),
    );
    expect(out.Instances).toHaveLength(2);
    expect(out.Instances![0]).toMatchObject({ ImageId: PLAIN, InstanceType: 'm6i.large', State: { Name: 'pending' } });
    const ids = out.Instances!.map((i) => i.InstanceId!);
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const inst = d.Reservations![0]!.Instances![0]!;
    expect(inst.State?.Name).toBe('running');
    expect(inst.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
    expect(Object.fromEntries(inst.Tags!.map((t) => [t.Key, t.Value]))).toMatchObject({
      'aws:ec2launchtemplate:version': '1',
    });
    expect(inst.Tags!.find((t) => t.Key === 'aws:ec2launchtemplate:id')?.Value).toMatch(/^lt-/);
  });

  it('refuses launches without an image or with an image the account cannot see', async () => {
    expect(await rejection(ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1 })))).toMatchObject({
      name: 'MissingParameter',
      status: 400,
    });
    // eu-west-1's image is not visible in us-east-1.
    expect(await rejection(launch(ec2, { ImageId: EU_PLAIN }))).toMatchObject({ name: 'InvalidAMIID.NotFound' });
  });
});

describe('RunInstances with HttpTokensEnforced', () => {
  it('fails a launch that resolves to tokens optional with UnsupportedOperation and the documented message', async () => {
    const r = await rejection(launch(eu, { LaunchTemplate: { LaunchTemplateName: 'app-v1' } }));
    expect(r).toEqual({ name: 'UnsupportedOperation', status: 400, message: HTTP_TOKENS_ENFORCED_MESSAGE });
    // Explicit optional on an image with ImdsSupport v2.0 fails too: the launch parameter wins over the AMI.
    expect(
      await rejection(launch(eu, { ImageId: 'ami-0aa1b2c3d4e5f6004', MetadataOptions: { HttpTokens: 'optional' } })),
    ).toMatchObject({ name: 'UnsupportedOperation' });
    // DryRun of a refused launch is refused, not "would have succeeded".
    expect(
      await rejection(launch(eu, { LaunchTemplate: { LaunchTemplateName: 'app-v1' }, DryRun: true })),
    ).toMatchObject({ name: 'UnsupportedOperation' });
  });

  it('lets launches that resolve to tokens required through: template unset, account default required', async () => {
    const inst = await launch(eu, { LaunchTemplate: { LaunchTemplateName: 'app-unset' } });
    expect(inst.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
    expect(
      await rejection(launch(eu, { LaunchTemplate: { LaunchTemplateName: 'app-unset' }, DryRun: true })),
    ).toMatchObject({ name: 'DryRunOperation', status: 412 });
  });
});

describe('TerminateInstances', () => {
  it('terminates at once, answers shutting-down from the previous state, is idempotent and all-or-nothing', async () => {
    const inst = await launch(ec2, { ImageId: PLAIN });
    const other = await launch(ec2, { ImageId: PLAIN });
    const id = inst.InstanceId!;
    // DryRun: permission only, nothing terminated.
    expect(await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id], DryRun: true })))).toMatchObject(
      { name: 'DryRunOperation', status: 412 },
    );
    // One unknown id fails the request and terminates none of the others.
    expect(
      await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id, 'i-0000000000000dead'] }))),
    ).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    const state = async (x: string) =>
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [x] }))).Reservations![0]!.Instances![0]!.State;
    expect(await state(id)).toEqual({ Code: 16, Name: 'running' });

    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances).toEqual([
      {
        InstanceId: id,
        CurrentState: { Code: 32, Name: 'shutting-down' },
        PreviousState: { Code: 16, Name: 'running' },
      },
    ]);
    expect(await state(id)).toEqual({ Code: 48, Name: 'terminated' });
    expect(await state(other.InstanceId!)).toEqual({ Code: 16, Name: 'running' });
    // Again: succeeds, terminated to terminated.
    const again = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(again.TerminatingInstances![0]).toMatchObject({
      CurrentState: { Code: 48, Name: 'terminated' },
      PreviousState: { Code: 48, Name: 'terminated' },
    });
  });
});
