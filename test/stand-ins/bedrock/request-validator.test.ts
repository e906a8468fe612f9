/**
 * The Bedrock stand-ins' request checks: the service model walked generically (request-validator.ts)
 * and Converse's rules the model cannot express (converse-rules.ts), each refusal as Bedrock words it.
 * The last tests send the refused requests through the real SDK client to the stand-in.
 */
import {
  ValidationException as AgentValidationException,
  BedrockAgentRuntimeClient,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamCommandInput,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBedrockAgentRuntime } from '../fake-bedrock-agent-runtime.ts';
import { FakeBedrockRuntime } from '../fake-bedrock-runtime.ts';
import { converseRuleViolation } from './converse-rules.ts';
import { type HttpRequest, serviceModel, validateHttpRequest } from './request-validator.ts';

const runtime = serviceModel('bedrock-runtime');
const agentRuntime = serviceModel('bedrock-agent-runtime');
const MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

function post(path: string, body: unknown, headers: Record<string, string> = {}): HttpRequest {
  const rawBody = JSON.stringify(body);
  return { method: 'POST', path, query: new URLSearchParams(), headers, body, rawBody };
}

const converse = (body: Record<string, unknown>) =>
  validateHttpRequest(runtime, post(`/model/${encodeURIComponent(MODEL_ID)}/converse-stream`, body));
const ask = (text = 'hi') => ({ messages: [{ role: 'user', content: [{ text }] }] });
const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer();

describe('the service-model check', () => {
  it('finds the operation from the path and accepts a valid request', () => {
    const checked = converse({ ...ask(), inferenceConfig: { maxTokens: 100, temperature: 0.5 } });

    expect(checked.operation).toBe('ConverseStream');
    expect(checked.input.modelId).toBe(MODEL_ID);
    expect(checked.errors).toEqual([]);
  });

  it('reports a missing required member, an unknown member and a wrong type', () => {
    const checked = converse({
      messages: [{ content: [{ text: 'hi' }] }],
      surprise: true,
      system: 'be brief',
    });

    expect(checked.errors).toEqual([
      "Unknown member 'surprise': not in shape ConverseStreamRequest",
      "Value null at 'messages.1.member.role' failed to satisfy constraint: Member must not be null",
      "Value 'be brief' at 'system' failed to satisfy constraint: Member must be a list",
    ]);
  });

  it('reports an enum, a range, a length and a pattern, with the path Bedrock uses', () => {
    const checked = converse({
      messages: [{ role: 'bot', content: [{ text: 'hi' }] }],
      inferenceConfig: { maxTokens: 0 },
      toolConfig: { tools: [{ toolSpec: { name: 'kb.search', inputSchema: { json: {} } } }] },
      guardrailConfig: { guardrailIdentifier: 'g1', guardrailVersion: 'latest' },
    });

    expect(checked.errors).toEqual([
      expect.stringMatching(/^Value 'bot' at 'messages.1.member.role' .*enum value set: \[user, assistant/),
      expect.stringMatching(/at 'inferenceConfig.maxTokens' .*greater than or equal to 1$/),
      expect.stringMatching(/at 'toolConfig.tools.1.member.toolSpec.name' .*pattern: \[a-zA-Z0-9_-\]\+$/),
      expect.stringMatching(/^Value 'latest' at 'guardrailConfig.guardrailVersion' .*pattern/),
    ]);
  });

  it('holds a union to exactly one member and measures blobs in decoded bytes', () => {
    const checked = converse({
      messages: [{ role: 'user', content: [{ text: 'a', image: { format: 'png', source: { bytes: '' } } }] }],
    });

    expect(checked.errors).toEqual([
      expect.stringMatching(/'messages.1.member.content.1.member' .*exactly one of text, image/),
      expect.stringMatching(
        /'messages.1.member.content.1.member.image.source.bytes' .*greater than or equal to 1$/,
      ),
    ]);
  });

  it('checks any operation of the model, reading header and path members (InvokeModel, Retrieve)', () => {
    const invoke = validateHttpRequest(
      runtime,
      post(
        '/model/amazon.titan-embed-text-v2%3A0/invoke',
        { inputText: 'x' },
        { 'x-amzn-bedrock-trace': 'LOUD' },
      ),
    );
    const retrieve = validateHttpRequest(
      agentRuntime,
      post('/knowledgebases/KB12345678/retrieve', { retrievalQuery: { text: 'refunds' } }),
    );
    const badRetrieve = validateHttpRequest(
      agentRuntime,
      post('/knowledgebases/not%20an%20id%21/retrieve', {}),
    );

    expect(invoke.operation).toBe('InvokeModel');
    expect(invoke.errors).toEqual([expect.stringMatching(/^Value 'LOUD' at 'trace' .*enum/)]);
    expect(retrieve).toMatchObject({ operation: 'Retrieve', errors: [] });
    expect(badRetrieve.errors).toEqual([
      "Value null at 'retrievalQuery' failed to satisfy constraint: Member must not be null",
      expect.stringMatching(/at 'knowledgeBaseId' .*pattern/),
    ]);
  });
});

describe("Converse's rules beyond the model", () => {
  const document = (name: string) => ({
    document: { format: 'txt', name, source: { bytes: Buffer.from('notes').toString('base64') } },
  });

  it('accepts a well-formed conversation with documents of distinct names', async () => {
    const body = {
      messages: [
        { role: 'user', content: [document('document-1'), { text: 'read this' }] },
        { role: 'assistant', content: [{ text: 'done' }] },
        { role: 'user', content: [document('document-2'), { text: 'and this' }] },
      ],
    };

    expect(await converseRuleViolation(body)).toBeNull();
  });

  it('refuses a document name used twice in one request, even in different messages', async () => {
    const body = {
      messages: [
        { role: 'user', content: [document('document-1'), { text: 'read this' }] },
        { role: 'assistant', content: [{ text: 'done' }] },
        { role: 'user', content: [document('document-1'), { text: 'and this' }] },
      ],
    };

    expect(await converseRuleViolation(body)).toBe("Messages can't contain duplicate document names.");
  });

  it.each([
    [
      'a name with a dot',
      { messages: [{ role: 'user', content: [document('notes.txt'), { text: 'x' }] }] },
      /can only contain/,
    ],
    [
      'six documents',
      { messages: [{ role: 'user', content: [1, 2, 3, 4, 5, 6].map((n) => document(`d${n}`)) }] },
      /6 documents; at most 5/,
    ],
    [
      'an assistant first',
      { messages: [{ role: 'assistant', content: [{ text: 'x' }] }] },
      /must start with a user message/,
    ],
    ['two user turns in a row', { messages: [ask().messages[0], ask().messages[0]] }, /must alternate/],
    ['blank text', ask('  '), /is blank/],
    [
      'tool blocks without toolConfig',
      { messages: [{ role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [] } }] }] },
      /toolConfig field must be defined/,
    ],
    [
      'a toolResult that answers no toolUse of the message before',
      {
        toolConfig: { tools: [] },
        messages: [
          { role: 'user', content: [{ text: 'q' }] },
          { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'kb', input: {} } }] },
          { role: 'user', content: [{ toolResult: { toolUseId: 't2', content: [{ text: 'r' }] } }] },
        ],
      },
      /toolUseId t2 .* does not answer/,
    ],
    [
      'five cache points',
      {
        ...ask(),
        system: [1, 2, 3, 4, 5].flatMap(() => [{ text: 's' }, { cachePoint: { type: 'default' } }]),
      },
      /5 cachePoint blocks; at most 4/,
    ],
  ])('refuses %s', async (_what, body, message) => {
    expect(await converseRuleViolation(body as never)).toMatch(message);
  });

  it('refuses an image taller than 8,000 pixels and one that is not an image at all', async () => {
    const image = (bytes: Buffer) => ({
      messages: [
        {
          role: 'user',
          content: [{ image: { format: 'png', source: { bytes: bytes.toString('base64') } } }, { text: 'x' }],
        },
      ],
    });

    expect(await converseRuleViolation(image(await png(1280, 8000)))).toBeNull();
    expect(await converseRuleViolation(image(await png(1280, 8001)))).toMatch(
      /1280x8001 pixels; each side can be at most 8000/,
    );
    expect(await converseRuleViolation(image(Buffer.from('not a png')))).toMatch(/could not be processed/);
  });
});

describe('the runtime stand-in with the real SDK client', () => {
  let fake: FakeBedrockRuntime;
  let client: BedrockRuntimeClient;
  beforeAll(async () => {
    fake = await FakeBedrockRuntime.start();
    client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: fake.url,
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    });
  });
  afterAll(async () => {
    client.destroy();
    await fake.stop();
  });

  const duplicateNames: ConverseStreamCommandInput = {
    modelId: MODEL_ID,
    messages: [
      {
        role: 'user',
        content: [
          { document: { format: 'txt', name: 'document-1', source: { bytes: Buffer.from('a') } } },
          { document: { format: 'txt', name: 'document-1', source: { bytes: Buffer.from('b') } } },
          { text: 'compare' },
        ],
      },
    ],
  };

  it('refuses a request with a duplicate document name: 400 ValidationException, no answer used', async () => {
    fake.enqueue({ text: 'never sent' });

    const refused = client.send(new ConverseStreamCommand(duplicateNames));

    await expect(refused).rejects.toThrow(ValidationException);
    await expect(refused).rejects.toThrow("Messages can't contain duplicate document names.");
    expect(fake.queuedReplies).toBe(1);
    expect(fake.requests.at(-1)?.error).toBe('ValidationException');
    fake.reset();
  });

  it('refuses what breaks the service model with its "validation errors detected" message', async () => {
    const refused = client.send(
      new ConverseStreamCommand({ modelId: MODEL_ID, ...ask(), inferenceConfig: { maxTokens: 0 } } as never),
    );

    await expect(refused).rejects.toThrow(
      /^1 validation error detected: Value '0' at 'inferenceConfig.maxTokens'/,
    );
  });

  it('lets a test turn validation off to send what Bedrock would refuse', async () => {
    fake.validation = false;
    try {
      const answer = await client.send(new ConverseStreamCommand(duplicateNames));
      expect(answer.$metadata.httpStatusCode).toBe(200);
      for await (const _event of answer.stream ?? []);
    } finally {
      fake.validation = true;
    }
  });
});

describe('the agent runtime stand-in with the real SDK client', () => {
  it('refuses a Retrieve that breaks the service model (a Knowledge Base id of the wrong shape)', async () => {
    const fake = await FakeBedrockAgentRuntime.start();
    const client = new BedrockAgentRuntimeClient({
      region: 'us-east-1',
      endpoint: fake.url,
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    });
    try {
      const refused = client.send(
        new RetrieveCommand({ knowledgeBaseId: 'kb-1', retrievalQuery: { text: 'refunds' } }),
      );

      await expect(refused).rejects.toThrow(AgentValidationException);
      await expect(refused).rejects.toThrow(
        /^2 validation errors detected: Value 'kb-1' at 'knowledgeBaseId'/,
      );
      expect(fake.requests.at(-1)?.error).toBe('ValidationException');
    } finally {
      client.destroy();
      await fake.stop();
    }
  });
});
