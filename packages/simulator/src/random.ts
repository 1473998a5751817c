/** Small deterministic PRNG and hashing: same seed, same fleet. */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche (murmur3 fmix32) so that close inputs give unrelated outputs.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) derived from a key. */
export function unit(key: string, seed: number): number {
  return hash32(key, seed) / 0x1_0000_0000;
}

/** `digits` lowercase hex digits derived from a key. */
export function hexId(key: string, seed: number, digits: number): string {
  let out = '';
  for (let i = 0; out.length < digits; i++) out += hash32(`${key}#${i}`, seed).toString(16).padStart(8, '0');
  return out.slice(0, digits);
}
