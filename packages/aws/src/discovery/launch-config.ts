import type {
  AutoScalingClient,
  AutoScalingGroup as AsgOut,
  LaunchTemplateSpecification as AsgTemplateSpec,
} from '@aws-sdk/client-auto-scaling';
import { paginateDescribeAutoScalingGroups, paginateDescribeLaunchConfigurations } from '@aws-sdk/client-auto-scaling';
import type { EC2Client, LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import {
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeLaunchTemplateVersionsCommand,
  paginateDescribeLaunchTemplates,
  paginateDescribeLaunchTemplateVersions,
} from '@aws-sdk/client-ec2';
import type { TemplateMetadataOptions } from '@imdsv2-cutover/core';

/** DescribeAutoScalingGroups allows at most 100 records a page. */
export const ASG_PAGE = 100;
/** DescribeLaunchTemplateVersions allows at most 200 results a page. */
export const LT_VERSIONS_PAGE = 200;
/** Image ids per DescribeImages call (the API sets no maximum; this keeps requests small). */
export const IMAGES_BATCH = 200;
/** DescribeLaunchConfigurations takes at most 50 names a call and answers at most 100 records a page. */
export const LAUNCH_CONFIGURATIONS_BATCH = 50;

/** One launch template version's metadata options and image, as discovery keeps them. */
export interface TemplateVersionInfo {
  launchTemplateId: string;
  name: string;
  versionNumber: number;
  isDefault: boolean;
  options: TemplateMetadataOptions;
  imageId?: string;
}

function templateOptions(v: LaunchTemplateVersion): TemplateMetadataOptions {
  return metadataOptionsOf(v.LaunchTemplateData?.MetadataOptions ?? {});
}

/**
 * MetadataOptions as a launch template version or a launch configuration states them (the launch configuration's has
 * only HttpTokens, HttpPutResponseHopLimit and HttpEndpoint): unset options stay absent, unknown values are left out.
 */
function metadataOptionsOf(m: {
  HttpTokens?: string;
  HttpPutResponseHopLimit?: number;
  HttpEndpoint?: string;
  HttpProtocolIpv6?: string;
  InstanceMetadataTags?: string;
}): TemplateMetadataOptions {
  const ed = (x: string | undefined) => (x === 'enabled' || x === 'disabled' ? x : undefined);
  const o: TemplateMetadataOptions = {};
  if (m.HttpTokens === 'optional' || m.HttpTokens === 'required') o.httpTokens = m.HttpTokens;
  if (m.HttpPutResponseHopLimit !== undefined) o.httpPutResponseHopLimit = m.HttpPutResponseHopLimit;
  const endpoint = ed(m.HttpEndpoint);
  if (endpoint) o.httpEndpoint = endpoint;
  const ipv6 = ed(m.HttpProtocolIpv6);
  if (ipv6) o.httpProtocolIpv6 = ipv6;
  const tags = ed(m.InstanceMetadataTags);
  if (tags) o.instanceMetadataTags = tags;
  return o;
}

function versionInfo(v: LaunchTemplateVersion): TemplateVersionInfo | undefined {
  if (!v.LaunchTemplateId || v.VersionNumber === undefined) return undefined;
  return {
    launchTemplateId: v.LaunchTemplateId,
    name: v.LaunchTemplateName ?? v.LaunchTemplateId,
    versionNumber: v.VersionNumber,
    isDefault: v.DefaultVersion === true,
    options: templateOptions(v),
    ...(v.LaunchTemplateData?.ImageId ? { imageId: v.LaunchTemplateData.ImageId } : {}),
  };
}

/** Default and latest version of every launch template of the region, keyed by template id. */
export interface TemplateVersions {
  defaultVersion: TemplateVersionInfo;
  latestVersion: TemplateVersionInfo;
  /** Other versions fetched because an ASG or instance pins them. */
  pinned: Map<number, TemplateVersionInfo>;
}

/**
 * The `$Default` and `$Latest` versions of all launch templates of the region in pages of 200: without a template id,
 * DescribeLaunchTemplateVersions answers for every template at once, so calls grow with templates / 200.
 */
export async function discoverTemplateVersions(ec2: EC2Client): Promise<Map<string, TemplateVersions>> {
  const all = new Map<string, TemplateVersionInfo[]>();
  const add = (versions: LaunchTemplateVersion[] | undefined) => {
    for (const v of versions ?? []) {
      const info = versionInfo(v);
      if (!info) continue;
      const list = all.get(info.launchTemplateId) ?? [];
      if (!list.some((x) => x.versionNumber === info.versionNumber)) list.push(info);
      all.set(info.launchTemplateId, list);
    }
  };
  try {
    const pages = paginateDescribeLaunchTemplateVersions(
      { client: ec2, pageSize: LT_VERSIONS_PAGE },
      // ResolveAlias: a template whose image is `resolve:ssm:<parameter>` shows the AMI id the parameter maps to now
      // (EC2 API reference, DescribeLaunchTemplateVersions), so its AMI's IMDS support is known, not skipped.
      { Versions: ['$Default', '$Latest'], ResolveAlias: true },
    );
    for await (const page of pages) add(page.LaunchTemplateVersions);
  } catch (e) {
    // Endpoints that only implement the per-template form (some emulators) refuse the account-wide one with
    // MissingParameter: list the templates, then ask for each one's default and latest version.
    if ((e as Error).name !== 'MissingParameter') throw e;
    all.clear();
    for await (const page of paginateDescribeLaunchTemplates({ client: ec2, pageSize: LT_VERSIONS_PAGE }, {})) {
      for (const t of page.LaunchTemplates ?? []) {
        if (!t.LaunchTemplateId) continue;
        const out = await ec2.send(
          new DescribeLaunchTemplateVersionsCommand({
            LaunchTemplateId: t.LaunchTemplateId,
            Versions: ['$Default', '$Latest'],
            ResolveAlias: true,
          }),
        );
        add(out.LaunchTemplateVersions);
      }
    }
  }
  const out = new Map<string, TemplateVersions>();
  for (const [id, list] of all) {
    const latest = list.reduce((a, b) => (b.versionNumber > a.versionNumber ? b : a));
    const def = list.find((x) => x.isDefault) ?? latest;
    out.set(id, { defaultVersion: def, latestVersion: latest, pinned: new Map() });
  }
  return out;
}

/** Fetches pinned version numbers that are neither default nor latest: one call per template that has any. */
export async function fetchPinnedVersions(
  ec2: EC2Client,
  templates: Map<string, TemplateVersions>,
  wanted: Map<string, Set<number>>,
): Promise<void> {
  for (const [id, numbers] of wanted) {
    const t = templates.get(id);
    if (!t) continue;
    const missing = [...numbers].filter(
      (n) => n !== t.defaultVersion.versionNumber && n !== t.latestVersion.versionNumber && !t.pinned.has(n),
    );
    if (missing.length === 0) continue;
    const out = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: id,
        Versions: missing.map(String),
        ResolveAlias: true,
      }),
    );
    for (const v of out.LaunchTemplateVersions ?? []) {
      const info = versionInfo(v);
      if (info) t.pinned.set(info.versionNumber, info);
    }
  }
}

/** Resolves `$Default`, `$Latest` or a number against what was fetched. */
export function templateVersion(t: TemplateVersions, version: string | undefined): TemplateVersionInfo | undefined {
  if (version === undefined || version === '$Default') return t.defaultVersion;
  if (version === '$Latest') return t.latestVersion;
  const n = Number(version);
  if (n === t.defaultVersion.versionNumber) return t.defaultVersion;
  if (n === t.latestVersion.versionNumber) return t.latestVersion;
  return t.pinned.get(n);
}

/** A launch template as an Auto Scaling group names it: by id or by name, the version as given. */
export interface GroupTemplateRef {
  launchTemplateId?: string;
  name?: string;
  version?: string;
}

/** An ASG as discovery keeps it, before effective settings are resolved. */
export interface DiscoveredGroup {
  name: string;
  /** The group's launch template, or its mixed instances policy's. */
  launchTemplate?: GroupTemplateRef;
  /** Set for a mixed instances policy: the templates its overrides name, in order (empty when none names one). */
  overrideLaunchTemplates?: GroupTemplateRef[];
  launchConfigurationName?: string;
  desiredCapacity: number;
  instanceIds: string[];
  /** The group's own tags (EKS and ECS mark their groups). Untrusted. */
  tags: Record<string, string>;
}

function templateRef(spec: AsgTemplateSpec): GroupTemplateRef {
  return {
    ...(spec.LaunchTemplateId ? { launchTemplateId: spec.LaunchTemplateId } : {}),
    ...(spec.LaunchTemplateName ? { name: spec.LaunchTemplateName } : {}),
    ...(spec.Version ? { version: spec.Version } : {}),
  };
}

function groupInfo(g: AsgOut): DiscoveredGroup | undefined {
  if (!g.AutoScalingGroupName) return undefined;
  const mixed = g.MixedInstancesPolicy?.LaunchTemplate;
  const spec = g.LaunchTemplate ?? mixed?.LaunchTemplateSpecification;
  // "If not provided, Amazon EC2 Auto Scaling uses the launch template that's specified in the LaunchTemplate
  // definition" (API reference, LaunchTemplateOverrides): only overrides that name their own template add one.
  const overrides = (mixed?.Overrides ?? []).flatMap((o) =>
    o.LaunchTemplateSpecification ? [templateRef(o.LaunchTemplateSpecification)] : [],
  );
  return {
    name: g.AutoScalingGroupName,
    ...(spec ? { launchTemplate: templateRef(spec) } : {}),
    ...(g.MixedInstancesPolicy ? { overrideLaunchTemplates: overrides } : {}),
    ...(g.LaunchConfigurationName ? { launchConfigurationName: g.LaunchConfigurationName } : {}),
    desiredCapacity: g.DesiredCapacity ?? 0,
    instanceIds: (g.Instances ?? []).map((i) => i.InstanceId).filter((x): x is string => x !== undefined),
    tags: Object.fromEntries((g.Tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? ''])),
  };
}

/**
 * Every Auto Scaling group of the region, 100 a page. All of them, not only those with instances: a group scaled to
 * zero still launches IMDSv1 instances tomorrow if its template allows it.
 */
export async function discoverGroups(asg: AutoScalingClient): Promise<DiscoveredGroup[]> {
  const out: DiscoveredGroup[] = [];
  for await (const page of paginateDescribeAutoScalingGroups({ client: asg, pageSize: ASG_PAGE }, {})) {
    for (const g of page.AutoScalingGroups ?? []) {
      const info = groupInfo(g);
      if (info) out.push(info);
    }
  }
  return out;
}

/**
 * AMI facts the assessment needs: name, whether ImdsSupport is v2.0, and who owns it (only the owner can set
 * ImdsSupport). Missing (deregistered) images are absent.
 */
export interface ImageInfo {
  imageId: string;
  name?: string;
  imdsSupport: 'v2.0' | null;
  /** `OwnerId`: the account that owns the image. */
  ownerId?: string;
  /** `ImageOwnerAlias`: `amazon`, `aws-marketplace`, `aws-backup-vault`. */
  ownerAlias?: string;
  /** `Public`. */
  public?: boolean;
}

/** The image ids an `InvalidAMIID.NotFound` error names (`The image id '[ami-1, ami-2]' does not exist`). */
function missingImageIds(e: unknown): string[] {
  if ((e as { name?: string } | null)?.name !== 'InvalidAMIID.NotFound') return [];
  return String((e as Error).message).match(/ami-[0-9a-f]+/g) ?? [];
}

/**
 * ImdsSupport of the images in use, 200 image ids per DescribeImages call. Instances outlive their AMIs: a deregistered
 * image makes DescribeImages fail the whole batch with InvalidAMIID.NotFound, so the ids it names are left out (they
 * have no image settings to inherit any more) and the rest of the batch is asked again.
 */
export async function discoverImages(ec2: EC2Client, imageIds: string[]): Promise<Map<string, ImageInfo>> {
  const out = new Map<string, ImageInfo>();
  const ids = [...new Set(imageIds)].sort();
  for (let i = 0; i < ids.length; i += IMAGES_BATCH) {
    let batch = ids.slice(i, i + IMAGES_BATCH);
    let res: DescribeImagesCommandOutput | undefined;
    while (!res && batch.length > 0) {
      try {
        res = await ec2.send(new DescribeImagesCommand({ ImageIds: batch, IncludeDeprecated: true }));
      } catch (e) {
        const gone = new Set(missingImageIds(e));
        const rest = batch.filter((id) => !gone.has(id));
        if (rest.length === batch.length) throw e;
        batch = rest;
      }
    }
    if (!res) continue;
    for (const img of res.Images ?? []) {
      if (!img.ImageId) continue;
      out.set(img.ImageId, {
        imageId: img.ImageId,
        ...(img.Name ? { name: img.Name } : {}),
        imdsSupport: img.ImdsSupport === 'v2.0' ? 'v2.0' : null,
        ...(img.OwnerId ? { ownerId: img.OwnerId } : {}),
        ...(img.ImageOwnerAlias ? { ownerAlias: img.ImageOwnerAlias } : {}),
        ...(img.Public !== undefined ? { public: img.Public } : {}),
      });
    }
  }
  return out;
}

/**
 * The MetadataOptions of the named launch configurations (DescribeLaunchConfigurations, 50 names a call, pages of
 * 100): what a launch-configuration group launches with. A configuration made without MetadataOptions maps to `{}`;
 * names DescribeLaunchConfigurations does not return (deleted) are absent.
 */
export async function discoverLaunchConfigurations(
  asg: AutoScalingClient,
  names: readonly string[],
): Promise<Map<string, TemplateMetadataOptions>> {
  const out = new Map<string, TemplateMetadataOptions>();
  const wanted = [...new Set(names)].sort();
  for (let i = 0; i < wanted.length; i += LAUNCH_CONFIGURATIONS_BATCH) {
    const pages = paginateDescribeLaunchConfigurations(
      { client: asg, pageSize: 100 },
      { LaunchConfigurationNames: wanted.slice(i, i + LAUNCH_CONFIGURATIONS_BATCH) },
    );
    for await (const page of pages) {
      for (const c of page.LaunchConfigurations ?? []) {
        if (c.LaunchConfigurationName) out.set(c.LaunchConfigurationName, metadataOptionsOf(c.MetadataOptions ?? {}));
      }
    }
  }
  return out;
}
