import type { DescribeInstancesCommandOutput, EC2Client, Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { Instance, MetadataOptions } from '@imdsv2-cutover/core';
import { peekBody } from '../raw-response.js';

/** An instance as discovery found it: everything but metric evidence, probe result and readiness. */
export type DiscoveredInstance = Omit<Instance, 'metrics' | 'probe' | 'readiness' | 'containerHost'> & {
  /** When the instance stopped, parsed from StateTransitionReason (stopped instances only). */
  stoppedAt?: string;
};

/** DescribeInstances allows 5..1000; the maximum keeps the call count at ceil(instances / 1000). */
export const DESCRIBE_INSTANCES_PAGE = 1000;

const states = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] as const;

function tagMap(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** `User initiated (2024-05-01 10:00:00 GMT)` → ISO time; undefined when the reason carries no time. */
export function parseTransitionTime(reason: string | undefined): string | undefined {
  const m = /\((\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) GMT\)/.exec(reason ?? '');
  return m ? new Date(`${m[1]}T${m[2]}Z`).toISOString() : undefined;
}

function metadataOptions(i: Ec2Instance): MetadataOptions {
  const o = i.MetadataOptions ?? {};
  return {
    state: o.State === 'pending' ? 'pending' : 'applied',
    httpTokens: o.HttpTokens === 'required' ? 'required' : 'optional',
    httpPutResponseHopLimit: o.HttpPutResponseHopLimit ?? 1,
    httpEndpoint: o.HttpEndpoint === 'disabled' ? 'disabled' : 'enabled',
    httpProtocolIpv6: o.HttpProtocolIpv6 === 'enabled' ? 'enabled' : 'disabled',
    instanceMetadataTags: o.InstanceMetadataTags === 'enabled' ? 'enabled' : 'disabled',
  };
}

/** Maps one EC2 instance; undefined for states the assessment does not hold (terminated). */
export function toDiscoveredInstance(
  i: Ec2Instance,
  accountId: string,
  region: string,
): DiscoveredInstance | undefined {
  const state = i.State?.Name;
  if (!i.InstanceId || !states.includes(state as (typeof states)[number])) return undefined;
  const tags = tagMap(i.Tags);
  const ltId = tags['aws:ec2launchtemplate:id'];
  const stoppedAt = state === 'stopped' ? parseTransitionTime(i.StateTransitionReason) : undefined;
  return {
    instanceId: i.InstanceId,
    accountId,
    region,
    ...(i.Placement?.AvailabilityZone ? { availabilityZone: i.Placement.AvailabilityZone } : {}),
    ...(tags.Name !== undefined ? { name: tags.Name } : {}),
    tags,
    state: state as (typeof states)[number],
    launchTime: (i.LaunchTime ?? new Date(0)).toISOString(),
    platform: String(i.Platform ?? '').toLowerCase() === 'windows' ? 'windows' : 'linux',
    ...(i.PlatformDetails ? { platformDetails: i.PlatformDetails } : {}),
    ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
    ...(i.ImageId ? { imageId: i.ImageId } : {}),
    metadataOptions: metadataOptions(i),
    ...(tags['aws:autoscaling:groupName'] ? { autoScalingGroup: tags['aws:autoscaling:groupName'] } : {}),
    ...(ltId
      ? {
          launchTemplate: {
            launchTemplateId: ltId,
            ...(tags['aws:ec2launchtemplate:version'] ? { version: tags['aws:ec2launchtemplate:version'] } : {}),
          },
        }
      : {}),
    ssm: null,
    ...(stoppedAt ? { stoppedAt } : {}),
  };
}

/** The top-level `<nextToken>` of a DescribeInstances answer (EC2 puts it after the reservations), unescaped. */
function nextTokenOf(xml: Buffer): string | undefined {
  const at = xml.lastIndexOf('<nextToken>');
  if (at < 0) return undefined;
  const end = xml.indexOf('</nextToken>', at);
  if (end < 0) return undefined;
  const text = xml.toString('utf8', at + '<nextToken>'.length, end);
  return text.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!,
  );
}

/**
 * Every instance of a region in every state but terminated, 1000 per DescribeInstances page. `onPage` is called with
 * each page's instances as it arrives (and the count so far), so that work on them (the metric queries) starts while
 * the next page is fetched. Pages are a chain (each needs the previous one's NextToken): the next page is asked for as
 * soon as the answer's body holds its NextToken, before the SDK has read the 1,000 instances of the page (about a
 * quarter of a second of CPU) and before they are turned into records. Should the SDK read another token than the one
 * taken from the body, the page is asked for again with the SDK's token.
 */
export async function discoverInstances(
  ec2: EC2Client,
  accountId: string,
  region: string,
  onPage: (found: number, page: DiscoveredInstance[]) => void = () => undefined,
): Promise<DiscoveredInstance[]> {
  const out: DiscoveredInstance[] = [];
  interface Page {
    answer: Promise<DescribeInstancesCommandOutput>;
    /** The next page, asked for from the body's NextToken. */
    next?: { token: string; page: Page };
  }
  const request = (NextToken: string | undefined): Page => {
    const p: Page = { answer: Promise.resolve({ $metadata: {} }) };
    const command = new DescribeInstancesCommand({
      Filters: [{ Name: 'instance-state-name', Values: [...states] }],
      MaxResults: DESCRIBE_INSTANCES_PAGE,
      ...(NextToken ? { NextToken } : {}),
    });
    peekBody(command, 'imdsv2NextPageEarly', (body) => {
      const token = nextTokenOf(body);
      if (token && !p.next) {
        const next = request(token);
        // Observed by the loop when it gets there; a failure meanwhile must not be unhandled.
        next.answer.catch(() => undefined);
        p.next = { token, page: next };
      }
      return body;
    });
    p.answer = ec2.send(command);
    return p;
  };
  let pending: Page | undefined = request(undefined);
  while (pending) {
    const current: DescribeInstancesCommandOutput = await pending.answer;
    const token = current.NextToken;
    // An empty token ends the listing as a missing one does (the SDK's paginator treats it so too).
    pending = token ? (pending.next?.token === token ? pending.next.page : request(token)) : undefined;
    const found: DiscoveredInstance[] = [];
    for (const r of current.Reservations ?? []) {
      for (const i of r.Instances ?? []) {
        const d = toDiscoveredInstance(i, accountId, region);
        if (d) found.push(d);
      }
    }
    for (const d of found) out.push(d);
    onPage(out.length, found);
  }
  return out;
}
