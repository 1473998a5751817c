import { z } from 'zod';

/**
 * Building blocks shared by every file format. Each format carries `schema: { name, version }` so that a reader can
 * tell "not our file" from "our file, other version" and say which, before validating anything else.
 */
export function schemaHeader<N extends string, V extends number>(name: N, version: V) {
  return z
    .object({ name: z.literal(name), version: z.literal(version) })
    .strict()
    .describe(`Identifies the file format: always {"name": "${name}", "version": ${version}} for this version.`);
}

export const AccountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id');
export const Region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region name such as us-east-1');
/** An AWS partition as ARNs spell it: `aws`, `aws-cn`, `aws-us-gov`, ... */
export const Partition = z
  .string()
  .regex(/^aws(-[a-z]+)*$/, 'expected an AWS partition such as aws, aws-cn or aws-us-gov');
export const InstanceId = z
  .string()
  .regex(/^i-[0-9a-f]{8,17}$/, 'expected an EC2 instance id such as i-0abc12345678def90');
export const IsoDateTime = z.iso.datetime({ offset: true });
export const IsoDate = z.iso.date();
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 as 64 lowercase hex digits');

export const HttpTokens = z.enum(['optional', 'required']);
export const HttpEndpoint = z.enum(['enabled', 'disabled']);
export const EnabledDisabled = z.enum(['enabled', 'disabled']);
export const HopLimit = z.number().int().min(1).max(64);

/** An instance's MetadataOptions as EC2 reports them (DescribeInstances). */
export const MetadataOptions = z
  .object({
    state: z.enum(['pending', 'applied']),
    httpTokens: HttpTokens,
    httpPutResponseHopLimit: HopLimit,
    httpEndpoint: HttpEndpoint,
    httpProtocolIpv6: EnabledDisabled,
    instanceMetadataTags: EnabledDisabled,
  })
  .strict();
export type MetadataOptions = z.infer<typeof MetadataOptions>;

/** The settings the tool changes on an instance: what enforce writes and what rollback restores. */
export const MetadataSettings = z
  .object({
    httpTokens: HttpTokens,
    httpPutResponseHopLimit: HopLimit,
    httpEndpoint: HttpEndpoint,
  })
  .strict();
export type MetadataSettings = z.infer<typeof MetadataSettings>;

/** The tool that wrote a file. */
export const ToolInfo = z.object({ name: z.string(), version: z.string() }).strict();
export type ToolInfo = z.infer<typeof ToolInfo>;

/** Tags as a map. Keys and values come from AWS and are untrusted: renderers must escape them. */
export const Tags = z.record(z.string(), z.string());
