import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

// canonicalize is CommonJS (`module.exports = fn`) but its types declare an ES default export; under NodeNext the
// default import is the function itself at run time, so only the type needs correcting.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The canonical JSON text of a value (RFC 8785, JSON Canonicalization Scheme): key order and number format fixed. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be represented as JSON');
  return text;
}

/** sha256 (hex) of text. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** sha256 of the canonical JSON of `value`: identical for equal content, whatever the key order or whitespace. */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
