import type { Fleet } from './fleet.js';
import { ServiceError } from './protocol/errors.js';

/** The access key that maps to an account: `AKIA` + the 12-digit account id + `SIMK`. */
export function defaultAccessKey(accountId: string): string {
  return `AKIA${accountId}SIMK`;
}

/**
 * Maps an access key to an account: keys issued by AssumeRole, keys listed in the scenario, keys of the form
 * `AKIA<account id>XXXX` / `ASIA<account id>XXXX`, and any other key to the scenario's first account.
 */
export function accountForKey(fleet: Fleet, issued: Map<string, string>, accessKey: string): string {
  const fromIssued = issued.get(accessKey);
  if (fromIssued) return fromIssued;
  for (const a of fleet.accounts) if (a.accessKeys.includes(accessKey)) return a.id;
  const m = /^A[KS]IA(\d{12})/.exec(accessKey);
  if (m) {
    if (fleet.account(m[1]!)) return m[1]!;
    throw new ServiceError(
      'AuthFailure',
      `The access key ${accessKey} names account ${m[1]!}, which is not in this scenario.`,
      { status: 401 },
    );
  }
  return fleet.accounts[0]!.id;
}

/** Access key, region and service from a SigV4 `Authorization` header. */
export function parseAuthorization(
  header: string | undefined,
): { accessKey: string; region: string; service: string } | undefined {
  if (!header) return undefined;
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(header);
  if (!m) return undefined;
  return { accessKey: m[1]!, region: m[2]!, service: m[3]! };
}
