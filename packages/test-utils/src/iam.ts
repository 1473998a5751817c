/**
 * IAM's wildcard match, as policies use it in `Resource`, `Action` and the `*Like` operators: `*` matches any run of
 * characters, `?` one character, everything else itself (IAM User Guide, "IAM JSON policy elements: Resource").
 */
export function iamWildcardMatch(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}
