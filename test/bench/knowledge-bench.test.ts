/**
 * The channel knowledge benchmark runs, small: it learns through Titan on the stand-in, and the
 * compact search finds what exact float search finds (recall@10), so `npm run bench:knowledge`
 * measures a search that works.
 */
import { describe, expect, it } from 'vitest';
import { knowledgeReport, runKnowledgeBench } from '../../bench/knowledge.ts';

describe('the channel knowledge benchmark', () => {
  it('learns through the embedding stand-in and finds with the compact search what exact search finds', async () => {
    const result = await runKnowledgeBench({ sizes: [2_000], indexChunks: 16 });

    expect(result.indexing.chunks).toBeGreaterThanOrEqual(16);
    expect(result.indexing.chunksPerSecond).toBeLessThanOrEqual(result.indexing.boundPerSecond * 1.05);
    expect(result.sizes[0]?.recallAt10).toBeGreaterThanOrEqual(0.95);
    expect(knowledgeReport(result)).toContain('| 2,000 |');
  }, 60_000);
});
