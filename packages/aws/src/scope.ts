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
  /** Only the accounts of this shard (`--shard K/N`): see `inShard`. */
  shard?: AccountShard;
}

/** Shard `index` (0-based) of `count` shards of a run split across jobs. */
export interface AccountShard {
  index: number;
  count: number;
}

/**
 * Whether an account belongs to a shard: its 12-digit id modulo the shard count is the shard's index. Deterministic
 * and independent of the other accounts (an account keeps its shard when accounts join or leave the organization),
 * and anyone can check it by hand. Without a shard every account belongs.
 */
export function inShard(accountId: string, shard: AccountShard | undefined): boolean {
  return shard === undefined || Number(accountId) % shard.count === shard.index;
}

/** An account to assess: `viaRole` unset means the base credentials' own account. */
export interface TargetAccount {
  accountId: string;
  name?: string;
  viaRole?: string;
}

/**
 * The accounts of the run, as they become known. Without `--accounts`/`--org` it is the caller's account. With
 * `--org`, the organization's ACTIVE accounts minus `--exclude-accounts`, yielded page by page as ListAccounts answers
 * (so that work on the first accounts starts while the others are listed); the caller's own account is reached with
 * the base credentials rather than a role (the management account usually has no member role). Only the accounts of
 * `shard` when one is given. Errors of the first call (GetCallerIdentity) and of ListAccounts are thrown.
 */
export async function* accountsOf(clients: AwsClients, scope: AccountScope): AsyncGenerator<TargetAccount> {
  const caller = await clients.callerAccount();
  const exclude = new Set(scope.excludeAccounts ?? []);
  const wanted = (id: string) => !exclude.has(id) && inShard(id, scope.shard);
  const viaRole = (accountId: string, name?: string): TargetAccount => ({
    accountId,
    ...(name ? { name } : {}),
    ...(accountId !== caller && scope.roleName ? { viaRole: scope.roleName } : {}),
  });
  if (scope.organization) {
    for await (const page of paginateListAccounts({ client: clients.organizations(), pageSize: 20 }, {})) {
      for (const a of page.Accounts ?? []) {
        const active = (a.State ?? a.Status) === 'ACTIVE';
        if (a.Id && active && wanted(a.Id)) yield viaRole(a.Id, a.Name);
      }
    }
    return;
  }
  if (scope.accounts && scope.accounts.length > 0) {
    for (const a of [...new Set(scope.accounts)].filter(wanted).sort()) yield viaRole(a);
    return;
  }
  if (inShard(caller, scope.shard)) yield { accountId: caller };
}

/** The accounts of the run (`accountsOf`), all of them, sorted by id. */
export async function resolveAccounts(clients: AwsClients, scope: AccountScope): Promise<TargetAccount[]> {
  const out: TargetAccount[] = [];
  for await (const a of accountsOf(clients, scope)) out.push(a);
  return out.sort((a, b) => a.accountId.localeCompare(b.accountId));
}

/** The regions enabled for an account (DescribeRegions without AllRegions lists only enabled ones), sorted. */
export async function enabledRegions(clients: AwsClients, accountId: string | undefined): Promise<string[]> {
  const out = await clients.ec2({ accountId, region: clients.config.region }).send(new DescribeRegionsCommand({}));
  return (out.Regions ?? [])
    .map((r) => r.RegionName)
    .filter((r): r is string => r !== undefined)
    .sort();
}
