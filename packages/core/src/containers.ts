/**
 * Container hosts known from what EC2 shows, without a probe. A container on bridge networking is one hop further from
 * the metadata service than its host, so with hop limit 1 its IMDSv2 token never arrives (EC2 User Guide, "Configure
 * the instance metadata options": "we recommend setting the hop limit to 2" for containers). The signals, strongest
 * first:
 * - EKS node tags: managed node groups and self-managed nodes carry `kubernetes.io/cluster/<name>`, managed node groups
 *   also `eks:cluster-name` / `eks:nodegroup-name` (Amazon EKS User Guide, "Managed node groups"; "Self-managed
 *   nodes"), Karpenter nodes `karpenter.sh/nodepool`;
 * - ECS tags: `AmazonECSManaged` on instances of a capacity provider's Auto Scaling group (Amazon ECS Developer Guide,
 *   "Auto Scaling group capacity providers"), `aws:ecs:clusterName` / `ecs:cluster-name` set by some launchers;
 * - the AMI family: EKS-optimized (`amazon-eks-node-*`, `amazon-eks-gpu-node-*`, `amazon-eks-arm64-node-*`,
 *   `*-EKS_Optimized-*`), ECS-optimized (`amzn2-ami-ecs-*`, `al2023-ami-ecs-*`, `amzn-ami-*-amazon-ecs-optimized`,
 *   `*-ECS_Optimized-*`) and Bottlerocket (`bottlerocket-aws-k8s-*`, `bottlerocket-aws-ecs-*`), as AWS names the images
 *   it publishes;
 * - the same tags on the instance's Auto Scaling group.
 */
export type ContainerSignal = 'probe' | 'eks-tag' | 'ecs-tag' | 'ami-family' | 'asg-tag';

export interface ContainerEvidence {
  signal: ContainerSignal;
  /** What was seen, e.g. `tag kubernetes.io/cluster/prod=owned`, `image amazon-eks-node-1.29-v20240213`. Untrusted. */
  detail: string;
}

const EKS_TAGS = [
  /^kubernetes\.io\/cluster\/.+/,
  /^eks:cluster-name$/,
  /^eks:nodegroup-name$/,
  /^karpenter\.sh\/nodepool$/,
];
const ECS_TAGS = [/^AmazonECSManaged$/, /^aws:ecs:clusterName$/, /^ecs:cluster-name$/];
const IMAGE_FAMILIES: [RegExp, string][] = [
  [/^amazon-eks-(?:[a-z0-9]+-)*node-/i, 'EKS-optimized'],
  [/EKS_Optimized/i, 'EKS-optimized'],
  [/^bottlerocket-aws-(k8s|ecs)-/i, 'Bottlerocket'],
  [/^(amzn2|al2023)-ami-ecs-/i, 'ECS-optimized'],
  [/^amzn-ami-.*-amazon-ecs-optimized/i, 'ECS-optimized'],
  [/ECS_Optimized/i, 'ECS-optimized'],
];

function tagSignal(tags: Readonly<Record<string, string>>, signal: 'eks-tag' | 'ecs-tag', patterns: RegExp[]) {
  for (const [k, v] of Object.entries(tags)) {
    if (patterns.some((p) => p.test(k))) return { signal, detail: `tag ${k}=${v}` };
  }
  return null;
}

/**
 * The signal that an instance runs containers, from EC2's view of it: its tags, its image's name, its Auto Scaling
 * group's tags. Null when nothing says so (which is not "no containers": only a probe can say that).
 */
export function containerEvidenceFromEc2(input: {
  tags: Readonly<Record<string, string>>;
  imageName?: string;
  groupTags?: Readonly<Record<string, string>>;
}): ContainerEvidence | null {
  const fromTags = tagSignal(input.tags, 'eks-tag', EKS_TAGS) ?? tagSignal(input.tags, 'ecs-tag', ECS_TAGS);
  if (fromTags) return fromTags;
  if (input.imageName) {
    const family = IMAGE_FAMILIES.find(([p]) => p.test(input.imageName!));
    if (family) return { signal: 'ami-family', detail: `${family[1]} image ${input.imageName}` };
  }
  if (input.groupTags) {
    const g = tagSignal(input.groupTags, 'eks-tag', EKS_TAGS) ?? tagSignal(input.groupTags, 'ecs-tag', ECS_TAGS);
    if (g) return { signal: 'asg-tag', detail: `Auto Scaling group ${g.detail}` };
  }
  return null;
}
