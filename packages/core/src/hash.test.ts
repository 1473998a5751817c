import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from './hash.js';

// The reference implementation of RFC 8785 (CommonJS default export; see its types).
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

describe('canonicalJson', () => {
  it('gives the same text as the canonicalize reference for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(canonicalize(v));
      }),
      { numRuns: 500 },
    );
  });

  it('orders keys by UTF-16 code units and writes numbers in ECMAScript form', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: 1e21, c: 0.1 }], é: true, Z: null })).toBe(
      '{"Z":null,"a":[3,{"c":0.1,"d":1e+21}],"b":1,"é":true}',
    );
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([Infinity])).toThrow(TypeError);
  });

  it('hashes equal content equally whatever the key order', () => {
    expect(contentHash({ a: 1, b: { c: 2, d: 3 } })).toBe(contentHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});

describe('canonicalJson with integer-like keys', () => {
  it('orders them as strings, like any other key', () => {
    expect(canonicalJson({ b: 1, '10': 2, '9': 3, a: { '0': null, '': false } })).toBe(
      '{"10":2,"9":3,"a":{"":false,"0":null},"b":1}',
    );
  });
});
