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

function popcount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

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

  /** The ids of the `count` codes nearest to `code` (ties broken by order), nearest first. */
  nearest(code: Uint8Array, count: number): string[] {
    const n = this.ids.length;
    if (n === 0 || count <= 0) return [];
    const query = new Uint32Array(this.#wordsPerCode);
    new Uint8Array(query.buffer).set(code.subarray(0, this.#wordsPerCode * 4));
    const distances = new Uint16Array(n);
    // A histogram of distances finds the cut-off in one pass: no sort of all n.
    const histogram = new Uint32Array(this.#bits + 1);
    const words = this.#words;
    const w = this.#wordsPerCode;
    for (let i = 0, offset = 0; i < n; i += 1, offset += w) {
      let distance = 0;
      for (let j = 0; j < w; j += 1) distance += popcount(((words[offset + j] ?? 0) ^ (query[j] ?? 0)) >>> 0);
      distances[i] = distance;
      histogram[distance] = (histogram[distance] ?? 0) + 1;
    }
    const wanted = Math.min(count, n);
    let cutoff = 0;
    for (let seen = 0; cutoff <= this.#bits; cutoff += 1) {
      seen += histogram[cutoff] ?? 0;
      if (seen >= wanted) break;
    }
    const picked: number[] = [];
    for (let i = 0; i < n && picked.length < wanted; i += 1) if ((distances[i] ?? 0) < cutoff) picked.push(i);
    for (let i = 0; i < n && picked.length < wanted; i += 1) if (distances[i] === cutoff) picked.push(i);
    picked.sort((a, b) => (distances[a] ?? 0) - (distances[b] ?? 0));
    return picked.map((index) => this.ids[index] as string);
  }
}

/** Dot product (cosine for unit vectors). */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
}
