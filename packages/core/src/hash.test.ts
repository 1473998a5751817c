import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, sha256Hex } from './hash.js';

// canonicalize is CommonJS (`module.exports = fn`) but its types declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

describe('canonicalJson', () => {
  it('matches the RFC 8785 reference implementation on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(canonicalize(v));
      }),
      { numRuns: 500 },
    );
  });

  it('follows the RFC 8785 examples for key order and numbers', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: 1e21, c: 0.000001 }], '\u20ac': 'x', '\r': 'y' })).toBe(
      '{"\\r":"y","a":[3,{"c":0.000001,"d":1e+21}],"b":1,"€":"x"}',
    );
  });

  it('orders index-like keys as strings, as RFC 8785 requires', () => {
    expect(canonicalJson({ tags: { b: '1', '10': 'x', '2': 'y', '': 'z' } })).toBe(
      '{"tags":{"":"z","10":"x","2":"y","b":"1"}}',
    );
  });

  it('keeps a "__proto__" key as a plain property', () => {
    expect(canonicalJson(JSON.parse('{"z":1,"__proto__":0}'))).toBe('{"__proto__":0,"z":1}');
  });

  it('contentHash is the sha256 of the reference canonical text, for values large enough to be hashed in pieces', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 0, maxLength: 400 }), (v) => {
        expect(contentHash(v)).toBe(sha256Hex(canonicalize(v)!));
      }),
      { numRuns: 100 },
    );
    const big = Array.from({ length: 5000 }, (_, i) => ({ z: i, a: `instance ${i}`, m: { '10': 1, '9': 2, b: [i] } }));
    expect(contentHash(big)).toBe(sha256Hex(canonicalize(big)!));
    expect(canonicalJson(big)).toBe(canonicalize(big));
  });

  it('gives the same hash whatever the key order', () => {
    expect(contentHash({ a: 1, b: { c: 2, d: 3 } })).toBe(contentHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});
