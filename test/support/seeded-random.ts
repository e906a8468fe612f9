/** A seeded PRNG (mulberry32) returning numbers in [0, 1), so property loops are reproducible. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `text` cut into pieces of 1 to `maxChunk` characters, as a model streams it. */
export function randomPieces(text: string, random: () => number, maxChunk: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; ) {
    const size = 1 + Math.floor(random() * maxChunk);
    pieces.push(text.slice(start, start + size));
    start += size;
  }
  return pieces;
}
