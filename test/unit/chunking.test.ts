/**
 * How shared documents become passages: along headings and paragraphs, about 500 tokens each with a
 * little overlap, a heading repeated over every passage under it.
 */
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/knowledge/chunking.ts';

const sentence = (n: number) => `Sentence number ${n} says something about the travel policy.`;

describe('chunking', () => {
  it('keeps short sections apart, each passage under its own heading', () => {
    const chunks = chunkText('# Refunds\n\nPaid within five days.\n\n# Travel\n\nTrains through the portal.');

    expect(chunks).toEqual(['Refunds\nPaid within five days.', 'Travel\nTrains through the portal.']);
  });

  it('cuts a long section into passages of about 500 tokens that overlap and all carry its heading', () => {
    const body = Array.from({ length: 120 }, (_, n) => sentence(n)).join(' ');

    const chunks = chunkText(`## Travel\n\n${body}`);

    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) {
      expect(chunk.startsWith('Travel\n')).toBe(true);
      expect(chunk.length).toBeLessThanOrEqual(2_000 + 10);
    }
    // The end of each passage opens the next one.
    for (let i = 1; i < chunks.length; i += 1) {
      const tail = (chunks[i - 1] ?? '').slice(-60);
      expect(chunks[i]).toContain(tail.slice(tail.indexOf(' ') + 1));
    }
    expect(chunks.join(' ')).toContain(sentence(119));
  });

  it('makes nothing of empty text', () => {
    expect(chunkText('  \n\n \n')).toEqual([]);
  });
});
