import { createHash } from 'node:crypto';

/**
 * Writes the canonical JSON text of a value (RFC 8785, JSON Canonicalization Scheme: key order and number format
 * fixed) in pieces to `emit`, walking the value once. Keys are ordered by UTF-16 code units (JavaScript's default
 * sort, which RFC 8785 prescribes); strings and numbers are written by `JSON.stringify`, whose escaping and ECMAScript
 * number format RFC 8785 adopts. Pieces are about 64 KiB, so a hash can take them without the whole text (165 MB for
 * an assessment of 100,000 instances) ever existing as one string. A property test checks the result against the
 * `canonicalize` reference package.
 */
export function writeCanonical(value: unknown, emit: (piece: string) => void): void {
  if (inCanonicalOrder(value)) {
    emit(JSON.stringify(value));
    return;
  }
  let buf = '';
  const skipped = (x: unknown) => x === undefined || typeof x === 'function' || typeof x === 'symbol';
  const walk = (v: unknown): void => {
    if (v === null) {
      buf += 'null';
    } else if (typeof v === 'string') {
      buf += JSON.stringify(v);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError('value cannot be represented as JSON: a non-finite number');
      buf += JSON.stringify(v);
    } else if (typeof v === 'boolean') {
      buf += v ? 'true' : 'false';
    } else if (typeof v !== 'object') {
      throw new TypeError(`value cannot be represented as JSON: a ${typeof v}`);
    } else if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      walk((v as { toJSON: () => unknown }).toJSON());
    } else if (Array.isArray(v)) {
      buf += '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) buf += ',';
        const x: unknown = v[i];
        // An element already in canonical order (a plan entry, a parsed canonical file) is written by the engine.
        if (x !== null && typeof x === 'object' && inCanonicalOrder(x)) buf += JSON.stringify(x);
        else walk(skipped(x) ? null : x);
      }
      buf += ']';
    } else {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      for (let i = 1; i < keys.length; i++) {
        if (keys[i - 1]! > keys[i]!) {
          keys.sort();
          break;
        }
      }
      buf += '{';
      let first = true;
      for (const k of keys) {
        const x = o[k];
        if (skipped(x)) continue;
        if (!first) buf += ',';
        first = false;
        buf += JSON.stringify(k);
        buf += ':';
        walk(x);
      }
      buf += '}';
    }
    if (buf.length >= 65_536) {
      emit(buf);
      buf = '';
    }
  };
  if (skipped(value)) throw new TypeError('value cannot be represented as JSON');
  walk(value);
  if (buf !== '') emit(buf);
}

/**
 * Whether `JSON.stringify(value)` is already its canonical text: every object's keys in UTF-16 order (which also rules
 * out integer-like keys out of that order: JavaScript lists them first), no `toJSON`, only finite numbers. Checking is
 * a walk over keys without building text; `JSON.stringify` then writes it several times faster than `walk` can.
 */
function inCanonicalOrder(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'number' || Number.isFinite(v);
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!inCanonicalOrder(x)) return false;
    return true;
  }
  const o = v as Record<string, unknown>;
  let previous: string | undefined;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) return false;
    if (previous !== undefined && previous > k) return false;
    previous = k;
    if (!inCanonicalOrder(o[k])) return false;
  }
  return true;
}

/**
 * `value` with every object's keys in canonical (UTF-16) order: the value itself when they already are, else a copy.
 * Objects built this way serialise to their canonical text with `JSON.stringify`, which `contentHash` then uses.
 */
export function inKeyOrder<T>(value: T): T {
  if (value === null || typeof value !== 'object' || inCanonicalOrder(value)) return value;
  if (Array.isArray(value)) return value.map((x: unknown) => inKeyOrder(x)) as T;
  const o = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = inKeyOrder(o[k]);
  return out as T;
}

/** The canonical JSON text of a value (RFC 8785, JSON Canonicalization Scheme): key order and number format fixed. */
export function canonicalJson(value: unknown): string {
  const pieces: string[] = [];
  writeCanonical(value, (p) => pieces.push(p));
  return pieces.join('');
}

/** sha256 (hex) of text. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * sha256 of the canonical JSON of `value`: identical for equal content, whatever the key order or whitespace. The
 * canonical text is hashed as it is produced, never held whole.
 */
export function contentHash(value: unknown): string {
  const hash = createHash('sha256');
  writeCanonical(value, (p) => hash.update(p, 'utf8'));
  return hash.digest('hex');
}
