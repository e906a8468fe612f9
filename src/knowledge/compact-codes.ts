/**
 * The compact copy of a scope's vectors that each replica searches in memory: one sign bit per
 * dimension (64 bytes for 512 dimensions, a 32nd of the float vector), compared by Hamming
 * distance. For unit vectors the Hamming distance of sign bits tracks the angle (random hyperplane
 * hashing), so the closest codes, searched exactly, hold the closest vectors; the caller rescores
 * those candidates with the full vectors.
 */

/** The sign bits of `vector`, packed little-endian into bytes (bit i of byte j is dimension 8j + i). */
export function signCode(vector: Float32Array): Uint8Array {
  const code = new Uint8Array(Math.ceil(vector.length / 8));
  for (let i = 0; i < vector.length; i += 1)
    if ((vector[i] ?? 0) >= 0) code[i >> 3] = (code[i >> 3] ?? 0) | (1 << (i & 7));
  return code;
}

/** Bits set in each 16-bit value: two lookups count a 32-bit word (faster in V8 than bit tricks). */
const BITS16 = (() => {
  const table = new Uint8Array(65_536);
  for (let i = 1; i < table.length; i += 1) table[i] = (table[i >> 1] ?? 0) + (i & 1);
  return table;
})();

/** Codes of equal length, with their ids, searched by Hamming distance. */
export class CompactCodes {
  readonly ids: string[];
  /** Every code's bits as 32-bit words, one code after another. */
  readonly #words: Uint32Array;
  readonly #wordsPerCode: number;
  readonly #bits: number;

  constructor(entries: Array<{ id: string; code: Uint8Array }>) {
    const bytes = entries[0]?.code.length ?? 0;
    this.#wordsPerCode = Math.ceil(bytes / 4);
    this.#bits = this.#wordsPerCode * 32;
    this.ids = entries.map((entry) => entry.id);
    const packed = new Uint8Array(entries.length * this.#wordsPerCode * 4);
    entries.forEach((entry, index) => {
      if (entry.code.length === bytes) packed.set(entry.code, index * this.#wordsPerCode * 4);
    });
    this.#words = new Uint32Array(packed.buffer);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Bytes this copy holds (the codes; the ids besides them are counted by the caller). */
  get codeBytes(): number {
    return this.#words.byteLength;
  }

  /**
   * The ids of the `count` codes closest to `query`, closest first, in two exact passes over the
   * codes: Hamming distance to the query's own sign bits keeps the best `prefilter`, then the full
   * query against their bits (each bit as ±1, summed through a table per code byte) orders those.
   */
  nearest(query: Float32Array, count: number, prefilter = Math.max(16_384, count * 32)): string[] {
    const n = this.ids.length;
    if (n === 0 || count <= 0) return [];
    const shortlist = this.#byHamming(signCode(query), Math.min(n, prefilter));
    const table = byteTable(query, this.#wordsPerCode * 4);
    const bytes = new Uint8Array(this.#words.buffer);
    const stride = this.#wordsPerCode * 4;
    const scores = new Float32Array(shortlist.length);
    for (let s = 0; s < shortlist.length; s += 1) {
      const base = (shortlist[s] as number) * stride;
      let score = 0;
      for (let b = 0; b < stride; b += 1) score += table[b * 256 + (bytes[base + b] as number)] as number;
      scores[s] = score;
    }
    // The best `count` by a cut-off score (a typed-array sort of the scores), then only those ordered.
    const keep = Math.min(count, scores.length);
    const cutoff = scores.slice().sort()[scores.length - keep] as number;
    const best: number[] = [];
    for (let s = 0; s < scores.length && best.length < keep; s += 1)
      if ((scores[s] as number) >= cutoff) best.push(s);
    best.sort((a, b) => (scores[b] as number) - (scores[a] as number));
    return best.map((s) => this.ids[shortlist[s] as number] as string);
  }

  /** Indexes of the `wanted` codes nearest to `code` by Hamming distance (a histogram finds the cut-off: no sort of all n). */
  #byHamming(code: Uint8Array, wanted: number): Uint32Array {
    const n = this.ids.length;
    const query = new Uint32Array(this.#wordsPerCode);
    new Uint8Array(query.buffer).set(code.subarray(0, this.#wordsPerCode * 4));
    const distances = new Uint16Array(n);
    const histogram = new Uint32Array(this.#bits + 1);
    const words = this.#words;
    const w = this.#wordsPerCode;
    for (let i = 0, offset = 0; i < n; i += 1, offset += w) {
      let distance = 0;
      for (let j = 0; j < w; j += 1) {
        const x = ((words[offset + j] as number) ^ (query[j] as number)) >>> 0;
        distance += (BITS16[x & 0xffff] as number) + (BITS16[x >>> 16] as number);
      }
      distances[i] = distance;
      histogram[distance] = (histogram[distance] ?? 0) + 1;
    }
    let cutoff = 0;
    for (let seen = 0; cutoff <= this.#bits; cutoff += 1) {
      seen += histogram[cutoff] ?? 0;
      if (seen >= wanted) break;
    }
    const picked = new Uint32Array(wanted);
    let found = 0;
    for (let i = 0; i < n && found < wanted; i += 1)
      if ((distances[i] as number) < cutoff) picked[found++] = i;
    for (let i = 0; i < n && found < wanted; i += 1) if (distances[i] === cutoff) picked[found++] = i;
    return picked.subarray(0, found);
  }
}

/**
 * For each code byte (eight dimensions), the query's dot product with every value of that byte,
 * each bit read as +1 (set) or −1: 256 entries a byte, built incrementally from the lowest set bit.
 */
function byteTable(query: Float32Array, bytes: number): Float32Array {
  const table = new Float32Array(bytes * 256);
  for (let b = 0; b < bytes; b += 1) {
    const at = b * 256;
    let none = 0;
    for (let bit = 0; bit < 8; bit += 1) none -= query[b * 8 + bit] ?? 0;
    table[at] = none;
    for (let value = 1; value < 256; value += 1) {
      const low = value & -value;
      const bit = 31 - Math.clz32(low);
      table[at + value] = (table[at + (value ^ low)] as number) + 2 * (query[b * 8 + bit] ?? 0);
    }
  }
  return table;
}

/** Dot product (cosine for unit vectors). */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
}
