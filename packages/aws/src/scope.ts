import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { paginateListAccounts } from '@aws-sdk/client-organizations';
import type { AwsClients } from './clients.js';

/** Which accounts to assess and how to reach them. */
export interface AccountScope {
  /** Explicit accounts (`--accounts`), reached with `roleName`. */
  accounts?: string[];
  /** All active accounts of the organization (`--org`), reached with `roleName`. */
  organization?: boolean;
  roleName?: string;
  excludeAccounts?: string[];
}

/** An account to assess: `viaRole` unset means the base credentials' own account. */
export interface TargetAccount {
  accountId: string;
  name?: string;
  viaRole?: string;
}

/**
 * Resolves the accounts of the run. Without `--accounts`/`--org` it is the caller's account. With `--org`, the
 * organization's ACTIVE accounts minus `--exclude-accounts`; the caller's own account is reached with the base
 * credentials rather than a role (the management account usually has no member role).
 */
export async function resolveAccounts(clients: AwsClients, scope: AccountScope): Promise<TargetAccount[]> {
  const caller = await clients.callerAccount();
  const exclude = new Set(scope.excludeAccounts ?? []);
  const viaRole = (accountId: string, name?: string): TargetAccount => ({
    accountId,
    ...(name ? { name } : {}),
    ...(accountId !== caller && scope.roleName ? { viaRole: scope.roleName } : {}),
  });
  if (scope.organization) {
    const out: TargetAccount[] = [];
    for await (const page of paginateListAccounts({ client: clients.organizations(), pageSize: 20 }, {})) {
      for (const a of page.Accounts ?? []) {
        const active = (a.State ?? a.Status) === 'ACTIVE';
        if (a.Id && active && !exclude.has(a.Id)) out.push(viaRole(a.Id, a.Name));
      }
    }
    return out.sort((a, b) => a.accountId.localeCompare(b.accountId));
  }
  if (scope.accounts && scope.accounts.length > 0) {
    return [...new Set(scope.accounts)]
      .filter((a) => !exclude.has(a))
      .sort()
      .map((a) => viaRole(a));
  }
  return [{ accountId: caller }];
}

/** The regions enabled for an account (DescribeRegions without AllRegions lists only enabled ones), sorted. */
export async function enabledRegions(clients: AwsClients, accountId: string | undefined): Promise<string[]> {
  const out = await clients.ec2({ accountId, region: clients.config.region }).send(new DescribeRegionsCommand({}));
  return (out.Regions ?? [])
    .map((r) => r.RegionName)
    .filter((r): r is string => r !== undefined)
    .sort();
}
