import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseStreamCommandOutput,
  CountTokensCommand,
  ModelStreamErrorException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeBedrockRuntime } from './fake-bedrock-runtime.ts';

const MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

let fake: FakeBedrockRuntime;
let client: BedrockRuntimeClient;

beforeAll(async () => {
  fake = await FakeBedrockRuntime.start();
  client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: fake.url, credentials, maxAttempts: 1 });
});
afterEach(() => fake.reset());
afterAll(async () => {
  client.destroy();
  await fake.stop();
});

function ask(text: string) {
  return { modelId: MODEL_ID, messages: [{ role: 'user' as const, content: [{ text }] }] };
}

interface CollectedStream {
  deltas: string[];
  stopReason?: string;
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number };
  latencyMs?: number;
  firstDeltaAtMs?: number;
}

async function collect(response: ConverseStreamCommandOutput, collected: CollectedStream = { deltas: [] }) {
  for await (const event of response.stream ?? []) {
    const text = event.contentBlockDelta?.delta?.text;
    if (text !== undefined) {
      collected.firstDeltaAtMs ??= performance.now();
      collected.deltas.push(text);
    }
    if (event.messageStop) collected.stopReason = event.messageStop.stopReason;
    if (event.metadata) {
      collected.usage = event.metadata.usage;
      collected.latencyMs = event.metadata.metrics?.latencyMs;
    }
  }
  return collected;
}

describe('FakeBedrockRuntime with the real BedrockRuntimeClient', () => {
  it('answers Converse with the default echo, usage and the decoded model id', async () => {
    const response = await client.send(new ConverseCommand(ask('how do refunds work?')));

    expect(response.output?.message?.content?.[0]?.text).toBe('You said: how do refunds work?');
    expect(response.output?.message?.role).toBe('assistant');
    expect(response.stopReason).toBe('end_turn');
    expect(response.usage?.outputTokens).toBeGreaterThan(0);
    expect(response.usage?.totalTokens).toBe(
      (response.usage?.inputTokens ?? 0) + (response.usage?.outputTokens ?? 0),
    );
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.operation).toBe('Converse');
    expect(fake.requests[0]?.modelId).toBe(MODEL_ID);
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'user', content: [{ text: 'how do refunds work?' }] },
    ]);
    expect(fake.requests[0]?.headers.authorization).toContain('Credential=AKIDTEST/');
  });

  it('decodes an inference-profile ARN in the path back to the id the client sent', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6';

    await client.send(new ConverseCommand({ ...ask('hi'), modelId: arn }));

    expect(fake.requests[0]?.modelId).toBe(arn);
  });

  it('streams explicit chunks, then the stop reason and the given usage', async () => {
    fake.enqueue({
      text: ['Refunds ', 'take ', 'five days.'],
      stopReason: 'max_tokens',
      usage: { inputTokens: 7, outputTokens: 3 },
    });

    const response = await client.send(new ConverseStreamCommand(ask('refunds?')));
    const collected = await collect(response);

    expect(collected.deltas).toEqual(['Refunds ', 'take ', 'five days.']);
    expect(collected.stopReason).toBe('max_tokens');
    expect(collected.usage).toEqual({ inputTokens: 7, outputTokens: 3, totalTokens: 10 });
    expect(collected.latencyMs).toBeGreaterThanOrEqual(0);
    expect(fake.requests[0]?.operation).toBe('ConverseStream');
    expect(fake.requests[0]?.outcome).toBe('completed');
  });

  it('streams a plain string as word-ish tokens that join back to the text', async () => {
    fake.setHandler(() => ({ text: 'one two  three\nfour' }));

    const collected = await collect(await client.send(new ConverseStreamCommand(ask('count'))));

    expect(collected.deltas.length).toBe(4);
    expect(collected.deltas.join('')).toBe('one two  three\nfour');
  });

  it('uses queued replies first, in order, then the handler', async () => {
    fake.setHandler(() => ({ text: 'from the handler' }));
    fake.enqueue({ text: 'first' }, { text: 'second' });

    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await client.send(new ConverseCommand(ask(`q${i}`)));
      texts.push(response.output?.message?.content?.[0]?.text ?? '');
    }

    expect(texts).toEqual(['first', 'second', 'from the handler']);
  });

  it('turns a pre-stream error into the SDK typed exception with its HTTP status', async () => {
    fake.enqueue({ error: 'ThrottlingException', message: 'Too many tokens, slow down.' });

    const error = await client.send(new ConverseStreamCommand(ask('hi'))).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ThrottlingException);
    expect((error as ThrottlingException).message).toBe('Too many tokens, slow down.');
    expect((error as ThrottlingException).$metadata.httpStatusCode).toBe(429);
    expect(fake.requests[0]?.outcome).toBe('failed');
  });

  it.each([
    ['AccessDeniedException', 403],
    ['ResourceNotFoundException', 404],
    ['ModelTimeoutException', 408],
    ['ModelErrorException', 424],
    ['ModelNotReadyException', 429],
    ['ServiceUnavailableException', 503],
  ] as const)('answers %s with HTTP %i and the SDK names the error after it', async (name, status) => {
    fake.enqueue({ error: name });

    const error = (await client.send(new ConverseCommand(ask('hi'))).catch((e: unknown) => e)) as {
      name: string;
      $metadata: { httpStatusCode?: number };
    };

    expect(error.name).toBe(name);
    expect(error.$metadata.httpStatusCode).toBe(status);
  });

  it('throws ModelStreamErrorException from the iterator after the chunks sent before the failure', async () => {
    fake.enqueue({
      text: ['Half ', 'an ', 'answer'],
      failAfterChunks: 2,
      streamErrorMessage: 'model fell over',
    });
    const collected: CollectedStream = { deltas: [] };

    const response = await client.send(new ConverseStreamCommand(ask('hi')));
    const error = await collect(response, collected).catch((e: unknown) => e);

    expect(collected.deltas).toEqual(['Half ', 'an ']);
    expect(error).toBeInstanceOf(ModelStreamErrorException);
    expect((error as ModelStreamErrorException).name).toBe('ModelStreamErrorException');
    expect((error as ModelStreamErrorException).message).toBe('model fell over');
    expect(fake.requests[0]?.outcome).toBe('failed');
  });

  it('throws the named exception when a stream fails with throttlingException', async () => {
    fake.enqueue({ text: 'never mind', failAfterChunks: 0, streamError: 'throttlingException' });

    const response = await client.send(new ConverseStreamCommand(ask('hi')));
    const error = await collect(response).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ThrottlingException);
  });

  it('holds the first text delta back by firstTokenDelayMs and records when tokens were written', async () => {
    fake.enqueue({ text: ['a', 'b', 'c'], firstTokenDelayMs: 300, chunkDelayMs: 50 });
    const startedAtMs = performance.now();

    const collected = await collect(await client.send(new ConverseStreamCommand(ask('hi'))));
    const firstDeltaAfterMs = (collected.firstDeltaAtMs ?? 0) - startedAtMs;

    expect(firstDeltaAfterMs).toBeGreaterThanOrEqual(280);
    expect(firstDeltaAfterMs).toBeLessThan(2_000);
    const recorded = fake.requests[0];
    expect((recorded?.firstTokenAtMs ?? 0) - (recorded?.atMs ?? 0)).toBeGreaterThanOrEqual(295);
    expect((recorded?.lastTokenAtMs ?? 0) - (recorded?.firstTokenAtMs ?? 0)).toBeGreaterThanOrEqual(95);
  });

  it('paces tokens at tokensPerSecond', async () => {
    fake.enqueue({ text: 'one two three four five six', tokensPerSecond: 50 });

    await collect(await client.send(new ConverseStreamCommand(ask('hi'))));

    const recorded = fake.requests[0];
    // Six tokens at 50/s: five gaps of 20 ms between the first and the last.
    expect((recorded?.lastTokenAtMs ?? 0) - (recorded?.firstTokenAtMs ?? 0)).toBeGreaterThanOrEqual(95);
  });

  it('refuses a conversation that does not start with a user turn, as Bedrock does, without using the queue', async () => {
    fake.enqueue({ text: 'kept for later' });
    const messages = [{ role: 'assistant' as const, content: [{ text: 'hello' }] }];

    const error = await client
      .send(new ConverseCommand({ modelId: MODEL_ID, messages }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).message).toContain('must start with a user message');
    expect(fake.queuedReplies).toBe(1);
  });

  it('refuses a conversation whose roles do not alternate', async () => {
    const messages = [
      { role: 'user' as const, content: [{ text: 'one' }] },
      { role: 'user' as const, content: [{ text: 'two' }] },
    ];

    const error = await client
      .send(new ConverseStreamCommand({ modelId: MODEL_ID, messages }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).message).toContain('alternate');
  });

  it('survives a client that aborts mid-stream and keeps answering', async () => {
    fake.enqueue({ text: ['first ', 'second ', 'third'], chunkDelayMs: 200 });
    const abort = new AbortController();
    const response = await client.send(new ConverseStreamCommand(ask('hi')), { abortSignal: abort.signal });
    const seen: string[] = [];

    // The SDK's iterator may end quietly or throw after an abort; either way the reader stops.
    await (async () => {
      for await (const event of response.stream ?? []) {
        const text = event.contentBlockDelta?.delta?.text;
        if (text) seen.push(text);
        if (seen.length === 1) abort.abort();
      }
    })().catch(() => undefined);
    await expect.poll(() => fake.requests[0]?.outcome).toBe('cancelled');
    const next = await client.send(new ConverseCommand(ask('still there?')));

    expect(seen).toEqual(['first ']);
    expect(next.output?.message?.content?.[0]?.text).toBe('You said: still there?');
  });

  it('ends an open stream when stopped, so the reader never sees a messageStop', async () => {
    const own = await FakeBedrockRuntime.start();
    const ownClient = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: own.url,
      credentials,
      maxAttempts: 1,
    });
    own.enqueue({ text: ['a', 'b'], chunkDelayMs: 10_000 });
    const response = await ownClient.send(new ConverseStreamCommand(ask('hi')));
    const reading: Promise<CollectedStream | Error> = collect(response).catch((e: unknown) => e as Error);

    await own.waitForRequests(1);
    await expect.poll(() => own.requests[0]?.firstTokenAtMs).toBeDefined();
    await own.stop();
    const result = await reading;

    // Seen here: the SDK ends the iterator quietly on a dropped connection, so only the missing
    // messageStop tells; a reset socket may also surface as an error. Either way it is no answer.
    const ending =
      result instanceof Error ? 'threw' : result.stopReason === undefined ? 'no messageStop' : 'done';
    expect(['threw', 'no messageStop']).toContain(ending);
    ownClient.destroy();
  });

  it('counts tokens for a Converse input at about four characters a token', async () => {
    const response = await client.send(
      new CountTokensCommand({
        modelId: MODEL_ID,
        input: { converse: { messages: [{ role: 'user', content: [{ text: 'x'.repeat(40) }] }] } },
      }),
    );

    expect(response.inputTokens).toBe(10);
    expect(fake.countTokensRequests).toHaveLength(1);
    expect(fake.requests).toHaveLength(0);
  });

  it('accepts HTTP/1.1 too, for a client configured with an HTTP/1.1 handler', async () => {
    const response = await fetch(`${fake.url}/model/${encodeURIComponent(MODEL_ID)}/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'over h1' }] }] }),
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      output: { message: { content: [{ text: 'You said: over h1' }] } },
    });
  });

  it('is reached through AWS_ENDPOINT_URL_BEDROCK_RUNTIME and credentials from the environment', async () => {
    const names = ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
    const saved = names.map((name) => process.env[name]);
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = fake.url;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
    const envClient = new BedrockRuntimeClient({ region: 'us-east-1', maxAttempts: 1 });
    try {
      const response = await envClient.send(new ConverseCommand(ask('via env')));

      expect(response.output?.message?.content?.[0]?.text).toBe('You said: via env');
      expect(fake.requests[0]?.headers.authorization).toContain('Credential=AKIDFROMENV/');
    } finally {
      envClient.destroy();
      names.forEach((name, i) => {
        const value = saved[i];
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      });
    }
  });
});

describe('FakeBedrockRuntime: what models refuse, and the prompt cache', () => {
  const withSystem = (modelId: string, text: string) => ({
    modelId,
    system: [{ text: 'Be brief.' }],
    messages: [{ role: 'user' as const, content: [{ text }] }],
  });
  /** A prefix long enough to be cached (over 1,024 tokens at four characters a token). */
  const longText = 'refund policy details '.repeat(250);
  const cachedAsk = (question: string) => ({
    modelId: MODEL_ID,
    system: [{ text: 'Be brief.' }],
    messages: [
      { role: 'user' as const, content: [{ text: longText }] },
      {
        role: 'assistant' as const,
        content: [{ text: 'Noted.' }, { cachePoint: { type: 'default' as const } }],
      },
      { role: 'user' as const, content: [{ text: question }] },
    ],
  });

  it('refuses a system prompt for Titan Text and Mistral 7B with Bedrock wording, and takes it for Llama', async () => {
    const titan = await client
      .send(new ConverseStreamCommand(withSystem('amazon.titan-text-express-v1', 'hi')))
      .catch((e: unknown) => e);
    const mistral = await client
      .send(new ConverseStreamCommand(withSystem('mistral.mistral-7b-instruct-v0:2', 'hi')))
      .catch((e: unknown) => e);
    const llama = await client.send(
      new ConverseCommand(withSystem('us.meta.llama3-3-70b-instruct-v1:0', 'hi')),
    );

    expect(titan).toBeInstanceOf(ValidationException);
    expect((titan as Error).message).toBe(
      "This model doesn't support system messages. Try again without a system message or use a model that supports system messages.",
    );
    expect(mistral).toBeInstanceOf(ValidationException);
    expect(llama.output?.message?.content?.[0]?.text).toBe('You said: hi');
  });

  it('refuses a cachePoint for a model without prompt caching, as Bedrock does (AccessDeniedException)', async () => {
    const request = { ...cachedAsk('and?'), modelId: 'meta.llama3-3-70b-instruct-v1:0' };

    const error = await client.send(new ConverseCommand(request)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccessDeniedException);
    expect((error as Error).message).toMatch(/did not allow prompt caching/);
  });

  it('writes a long prefix to the cache once and reads it on the next request, outside inputTokens', async () => {
    const first = await collect(await client.send(new ConverseStreamCommand(cachedAsk('first?'))));
    const second = await client.send(new ConverseCommand(cachedAsk('second?')));

    const prefix = fake.requests[0]?.cache;
    expect(prefix?.writeTokens).toBeGreaterThan(1_024);
    expect(first.usage).toMatchObject({
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: prefix?.writeTokens,
    });
    expect(second.usage).toMatchObject({
      cacheReadInputTokens: prefix?.writeTokens,
      cacheWriteInputTokens: 0,
    });
    expect(second.usage?.inputTokens).toBe(2); // "second?" and nothing else
    expect(second.usage?.totalTokens).toBe(
      (second.usage?.inputTokens ?? 0) + (second.usage?.outputTokens ?? 0) + (prefix?.writeTokens ?? 0),
    );
  });

  it('ignores a checkpoint whose prefix is under the model minimum', async () => {
    const short = {
      ...cachedAsk('q'),
      messages: [
        { role: 'user' as const, content: [{ text: 'short' }] },
        {
          role: 'assistant' as const,
          content: [{ text: 'ok' }, { cachePoint: { type: 'default' as const } }],
        },
        { role: 'user' as const, content: [{ text: 'q' }] },
      ],
    };

    await client.send(new ConverseCommand(short));
    const again = await client.send(new ConverseCommand(short));

    expect(again.usage).toMatchObject({ cacheReadInputTokens: 0, cacheWriteInputTokens: 0 });
  });

  it('takes limits changed for one model id, also behind a cross-region prefix', async () => {
    fake.setModelLimits('acme.new-model-v1', { system: false });

    const error = await client
      .send(new ConverseCommand(withSystem('us.acme.new-model-v1', 'hi')))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationException);
    expect(fake.requests[0]?.error).toBe('ValidationException');
  });
});
