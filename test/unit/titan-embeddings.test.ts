/**
 * Titan Text Embeddings v2 through the real Bedrock Runtime client's InvokeModel, against the
 * stand-in: Titan's request body, its errors in the answer vocabulary, retries and the bound on
 * calls in flight.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTitanEmbedder } from '../../src/bedrock/titan-embeddings.ts';
import { AnswerError } from '../../src/errors.ts';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';

let fake: FakeBedrockRuntime;
let client: BedrockRuntimeClient;

beforeAll(async () => {
  fake = await FakeBedrockRuntime.start();
  client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: fake.url,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
  });
});
afterEach(() => {
  fake.embeddings.requests.length = 0;
  fake.embeddings.latencyMs = 0;
});
afterAll(async () => {
  client.destroy();
  await fake.stop();
});

const embedder = (options: { concurrency?: number; onTokens?: (n: number) => void } = {}) =>
  createTitanEmbedder({
    client,
    region: 'us-east-1',
    modelId: 'amazon.titan-embed-text-v2:0',
    dimensions: 512,
    concurrency: options.concurrency ?? 4,
    ...(options.onTokens ? { onTokens: options.onTokens } : {}),
  });

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0);

describe('Titan Text Embeddings v2', () => {
  it('asks for 512 normalized dimensions and gets unit vectors, closer for texts sharing words', async () => {
    const tokens: number[] = [];
    const titan = await embedder({ onTokens: (n) => tokens.push(n) });

    const [refunds, refundsAgain, lunch] = await titan.embed(
      ['Refunds are paid within five working days.', 'How many days until refunds are paid?', 'Lunch menu'],
      'document',
    );

    expect(fake.embeddings.requests[0]?.body).toMatchObject({
      dimensions: 512,
      normalize: true,
      embeddingTypes: ['float'],
    });
    expect(refunds?.vector).toHaveLength(512);
    expect(dot(refunds?.vector as Float32Array, refunds?.vector as Float32Array)).toBeCloseTo(1, 4);
    expect(dot(refunds?.vector as Float32Array, refundsAgain?.vector as Float32Array)).toBeGreaterThan(
      dot(refunds?.vector as Float32Array, lunch?.vector as Float32Array) + 0.3,
    );
    expect(tokens).toHaveLength(3);
    expect(tokens.every((n) => n > 0)).toBe(true);
  });

  it('retries a throttled call with backoff and then answers', async () => {
    const titan = await embedder();
    fake.embeddings.enqueue({ error: 'ThrottlingException' }, { error: 'ThrottlingException' });

    const [embedding] = await titan.embed(['refunds'], 'query');

    expect(embedding?.vector).toHaveLength(512);
    expect(fake.embeddings.requests.map((r) => r.error ?? 'ok')).toEqual([
      'ThrottlingException',
      'ThrottlingException',
      'ok',
    ]);
  });

  it('says that model access is missing, without retrying', async () => {
    const titan = await embedder();
    fake.embeddings.enqueue({ error: 'AccessDeniedException' });

    const failure = await titan.embed(['refunds'], 'query').catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(AnswerError);
    expect((failure as AnswerError).code).toBe('model_access_denied');
    expect((failure as AnswerError).userMessage).toContain('amazon.titan-embed-text-v2:0');
    expect(fake.embeddings.requests).toHaveLength(1);
  });

  it('cuts a text Titan finds too long and embeds what fits', async () => {
    const titan = await embedder();
    const long = 'word '.repeat(9_000); // 45,000 characters: more than 8,192 tokens by Titan's count

    const [embedding] = await titan.embed([long], 'document');

    expect(embedding?.vector).toHaveLength(512);
    const sent = fake.embeddings.requests.map((r) => String(r.body.inputText).length);
    expect(sent[0]).toBe(45_000);
    expect(fake.embeddings.requests[0]?.error).toBe('ValidationException');
    expect(sent.at(-1)).toBeLessThanOrEqual(22_500);
  });

  it('keeps at most the configured number of calls in flight', async () => {
    const titan = await embedder({ concurrency: 2 });
    // Long enough that calls the client sends together overlap at the stand-in, even on a busy machine.
    fake.embeddings.latencyMs = 100;

    await titan.embed(['a1', 'b2', 'c3', 'd4', 'e5', 'f6'], 'document');

    // Six calls, answered two at a time: never more, and the two slots were used.
    expect(fake.embeddings.requests).toHaveLength(6);
    expect(fake.embeddings.maxInFlight).toBe(2);
  });
});
