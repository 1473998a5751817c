import { Policy } from '../schemas/policy.js';

/**
 * The commented default rollout policy that `imdsv2 plan --init-policy` writes. Every value equals the schema's default
 * (a test checks it), so the file documents the defaults and is a starting point to edit. Reference: docs/policy.md.
 */
export const DEFAULT_POLICY_YAML = `# imdsv2-cutover rollout policy: how an assessment becomes waves (reference: docs/policy.md).
# Every field is optional; the values below are the defaults.
schema:
  name: imdsv2-cutover/policy
  version: 1

# Which tags name an instance's environment, application and owner.
tags:
  environment: Environment
  application: Application
  owner: Owner

# What makes a group for canaries and per-wave caps: the Auto Scaling group when the instance is in one, else the
# application tag. Instances with neither form one group, "ungrouped".
groupBy: [autoScalingGroup, application]

canary:
  enabled: true
  # Size: give count (e.g. 10) or percent of the ready instances (e.g. 5), not both. With neither, the canary is one
  # member of every group (or a single instance when onePerGroup is false).
  # count: 10
  # percent: 5
  # One member of every group goes into the canary wave, even when that is more than count/percent asks.
  onePerGroup: true
  # Canaries come from these environments first (matched case-insensitively); empty: earlier waves.order first.
  preferEnvironments: []
  soak: 24h

waves:
  # Environment tag values in rollout order (case-insensitive).
  order: [dev, test, staging, prod]
  # Instances whose environment is not listed (or untagged): "last" rolls them out after the listed ones; "hold" keeps
  # them out of the plan.
  unmatched: last
  maxInstances: 250
  # At most this share of any group in one wave (rounded down, at least one instance).
  maxGroupShare: 0.5
  soak: 24h

# Instances never to touch (they are listed as held, status "excluded").
exclude:
  instanceIds: []
  accounts: []
  # e.g. - { key: imdsv2-cutover, values: [skip] }    (without values: any instance with the tag key)
  tags: []

hopLimit:
  # Hosts where containers run: at least this hop limit (2 lets bridge-networked containers get a token).
  containerHosts: 2
  # Other instances: "keep" their hop limit, or a number (at least this). A hop limit is never lowered.
  others: keep

# Instances whose readiness is unknown (no metric data, too short a window): "hold" keeps them out; "last-wave" rolls
# them out after every ready instance.
unknown: hold

# Stopped instances: "hold" keeps them out; "include" plans them like running ones (the change applies at next start).
stopped: hold

# What enforce watches during each wave's soak.
guard:
  # Rejected IMDSv1 calls (MetadataNoTokenRejected) tolerated per instance before rolling back.
  maxRejectedCalls: 0
  # Roll back the whole wave, or only the instances that tripped.
  rollback: wave
  pollInterval: 1m

# Steps that keep IMDSv1 from coming back once the fleet is converted.
lockIn:
  # A new default version, with HttpTokens=required, of each launch template that still launches IMDSv1.
  launchTemplates: true
  # Account default HttpTokens=required in each region (affects new launches only).
  accountDefaults: true
  # Also HttpTokensEnforced: launches that resolve to IMDSv1 fail. Off by default.
  httpTokensEnforced: false
  # ImdsSupport=v2.0 on the AMIs in use. IRREVERSIBLE: off unless you opt in.
  amiImdsSupport: false
  # Generate a service control policy document (not applied by the tool).
  scp: true
  # The role allowed to set HttpTokens back to optional despite the SCP (rollback runs as it). {partition} becomes the
  # partition of the assessment (aws, aws-cn, aws-us-gov) when the plan is made.
  scpAdminPrincipalArn: "arn:{partition}:iam::*:role/imdsv2-cutover-admin"
  # Also deny launches with a hop limit above this number.
  # scpMaxHopLimit: 2
  # Also deny every API call made with credentials fetched over IMDSv1 (ec2:RoleDelivery < 2.0). Enable only after
  # the last wave: it breaks whatever still uses IMDSv1 credentials.
  scpDenyImdsV1Credentials: false
`;

/** The policy used when none is given: every field at its default. */
export function defaultPolicy(): Policy {
  return Policy.parse({ schema: { name: 'imdsv2-cutover/policy', version: 1 } });
}
