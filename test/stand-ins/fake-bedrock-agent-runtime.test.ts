import {
  BedrockAgentRuntimeClient,
  DependencyFailedException,
  ResourceNotFoundException,
  RetrieveAndGenerateCommand,
  type RetrieveAndGenerateCommandInput,
  RetrieveAndGenerateStreamCommand,
  type RetrieveAndGenerateStreamCommandOutput,
  RetrieveCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeBedrockAgentRuntime, type RetrievedPassage } from './fake-bedrock-agent-runtime.ts';

const KB_ID = 'KB12345678';
const MODEL_ARN = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const refundPolicy: RetrievedPassage = {
  text: 'Refunds are paid within five working days.',
  location: { type: 'S3', s3Location: { uri: 's3://company-docs/policies/refunds.pdf' } },
  metadata: { 'x-amz-bedrock-kb-source-uri': 's3://company-docs/policies/refunds.pdf' },
};
const financeWiki: RetrievedPassage = {
  text: 'Finance answers questions in #ask-finance.',
  location: { type: 'CONFLUENCE', confluenceLocation: { url: 'https://example.atlassian.net/wiki/finance' } },
};

let fake: FakeBedrockAgentRuntime;
let client: BedrockAgentRuntimeClient;

beforeAll(async () => {
  fake = await FakeBedrockAgentRuntime.start({ knowledgeBaseIds: [KB_ID] });
  client = new BedrockAgentRuntimeClient({
    region: 'us-east-1',
    endpoint: fake.url,
    credentials,
    maxAttempts: 1,
  });
});
afterEach(() => fake.reset());
afterAll(async () => {
  client.destroy();
  await fake.stop();
});

function ragInput(text: string, sessionId?: string): RetrieveAndGenerateCommandInput {
  return {
    input: { text },
    ...(sessionId ? { sessionId } : {}),
    retrieveAndGenerateConfiguration: {
      type: 'KNOWLEDGE_BASE',
      knowledgeBaseConfiguration: { knowledgeBaseId: KB_ID, modelArn: MODEL_ARN },
    },
  };
}

async function collectStream(response: RetrieveAndGenerateStreamCommandOutput) {
  const events: Array<{ kind: string; value: unknown }> = [];
  for await (const event of response.stream ?? []) {
    if (event.output) events.push({ kind: 'output', value: event.output.text });
    if (event.citation) events.push({ kind: 'citation', value: event.citation });
    if (event.guardrail) events.push({ kind: 'guardrail', value: event.guardrail.action });
  }
  return events;
}

describe('FakeBedrockAgentRuntime with the real BedrockAgentRuntimeClient', () => {
  it('answers Retrieve with results in Bedrock shape, whatever the source type', async () => {
    fake.enqueue({
      retrievalResults: [
        { ...refundPolicy, score: 0.87 },
        {
          text: 'From the web',
          location: { type: 'WEB', webLocation: { url: 'https://example.com/refunds' } },
        },
        { text: 'A custom doc', location: { type: 'CUSTOM', customDocumentLocation: { id: 'doc-42' } } },
      ],
    });

    const response = await client.send(
      new RetrieveCommand({ knowledgeBaseId: KB_ID, retrievalQuery: { text: 'refund policy' } }),
    );

    expect(response.retrievalResults).toEqual([
      {
        content: { text: refundPolicy.text, type: 'TEXT' },
        location: refundPolicy.location,
        score: 0.87,
        metadata: refundPolicy.metadata,
      },
      {
        content: { text: 'From the web', type: 'TEXT' },
        location: { type: 'WEB', webLocation: { url: 'https://example.com/refunds' } },
        score: 0.5,
        metadata: {},
      },
      {
        content: { text: 'A custom doc', type: 'TEXT' },
        location: { type: 'CUSTOM', customDocumentLocation: { id: 'doc-42' } },
        score: 0.5,
        metadata: {},
      },
    ]);
    expect(fake.requests[0]).toMatchObject({
      operation: 'Retrieve',
      knowledgeBaseId: KB_ID,
      text: 'refund policy',
    });
  });

  it('answers RetrieveAndGenerate with a new session id, the text and citations with spans', async () => {
    fake.enqueue(
      FakeBedrockAgentRuntime.groundedReply([
        { text: 'Refunds take five days.', references: [refundPolicy] },
        { text: ' Ask finance.', references: [financeWiki] },
      ]),
    );

    const response = await client.send(new RetrieveAndGenerateCommand(ragInput('how do refunds work?')));

    expect(response.sessionId).toMatch(UUID);
    expect(response.output?.text).toBe('Refunds take five days. Ask finance.');
    expect(response.citations).toHaveLength(2);
    expect(response.citations?.[0]?.generatedResponsePart?.textResponsePart).toEqual({
      text: 'Refunds take five days.',
      span: { start: 0, end: 22 },
    });
    expect(response.citations?.[1]?.generatedResponsePart?.textResponsePart?.span).toEqual({
      start: 23,
      end: 35,
    });
    expect(response.citations?.[1]?.retrievedReferences?.[0]).toEqual({
      content: { text: financeWiki.text, type: 'TEXT' },
      location: financeWiki.location,
      metadata: {},
    });
    expect(fake.requests[0]).toMatchObject({
      operation: 'RetrieveAndGenerate',
      knowledgeBaseId: KB_ID,
      text: 'how do refunds work?',
      sessionId: undefined,
      responseSessionId: response.sessionId,
    });
  });

  it('continues a session it issued and records the id the client sent', async () => {
    const first = await client.send(new RetrieveAndGenerateCommand(ragInput('first question')));

    const second = await client.send(new RetrieveAndGenerateCommand(ragInput('follow-up', first.sessionId)));

    expect(second.sessionId).toBe(first.sessionId);
    expect(fake.requests[1]?.sessionId).toBe(first.sessionId);
    expect(fake.activeSessionIds).toEqual([first.sessionId]);
  });

  it('streams outputs, each citation after its chunk, and the guardrail action, with the session id header', async () => {
    fake.enqueue(
      FakeBedrockAgentRuntime.groundedReply(
        [{ text: 'Refunds take five days.', references: [refundPolicy] }, { text: ' Thanks.' }],
        { guardrailAction: 'NONE' },
      ),
    );

    const response = await client.send(new RetrieveAndGenerateStreamCommand(ragInput('refunds?')));
    const events = await collectStream(response);

    expect(response.sessionId).toMatch(UUID);
    expect(fake.requests[0]?.responseSessionId).toBe(response.sessionId);
    expect(events.map((event) => event.kind)).toEqual(['output', 'citation', 'output', 'guardrail']);
    expect(events[0]?.value).toBe('Refunds take five days.');
    expect(events[1]?.value).toEqual({
      generatedResponsePart: {
        textResponsePart: { text: 'Refunds take five days.', span: { start: 0, end: 22 } },
      },
      retrievedReferences: [
        {
          content: { text: refundPolicy.text, type: 'TEXT' },
          location: refundPolicy.location,
          metadata: refundPolicy.metadata,
        },
      ],
    });
    expect(events[3]?.value).toBe('NONE');
  });

  it('can also send the deprecated citation wrapper, which the SDK still reads', async () => {
    fake.enqueue({
      outputs: ['Cited.'],
      citations: [
        { afterOutputIndex: 0, text: 'Cited.', span: { start: 0, end: 5 }, references: [refundPolicy] },
      ],
      citationEventStyle: 'wrapped',
    });

    const events = await collectStream(
      await client.send(new RetrieveAndGenerateStreamCommand(ragInput('q'))),
    );

    const citation = events.find((event) => event.kind === 'citation')?.value as Record<string, unknown>;
    expect(Object.keys(citation)).toEqual(['citation']);
    expect(citation.citation).toMatchObject({
      generatedResponsePart: { textResponsePart: { text: 'Cited.' } },
    });
  });

  it('holds the first output back by firstTokenDelayMs', async () => {
    fake.enqueue({ outputs: ['late'], firstTokenDelayMs: 250 });
    const startedAtMs = performance.now();

    const response = await client.send(new RetrieveAndGenerateStreamCommand(ragInput('q')));
    await collectStream(response);

    expect(performance.now() - startedAtMs).toBeGreaterThanOrEqual(240);
    const recorded = fake.requests[0];
    expect((recorded?.firstTokenAtMs ?? 0) - (recorded?.atMs ?? 0)).toBeGreaterThanOrEqual(245);
  });

  it('refuses a session id it never issued with ValidationException, as Bedrock does', async () => {
    const error = await client
      .send(new RetrieveAndGenerateStreamCommand(ragInput('q', 'not-a-session-we-know')))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).message).toBe(
      'Session with Id not-a-session-we-know is not valid. Please check and try again.',
    );
    expect((error as ValidationException).$metadata.httpStatusCode).toBe(400);
  });

  it('refuses an expired session with ValidationException and issues a new one on a request without', async () => {
    const first = await client.send(new RetrieveAndGenerateCommand(ragInput('q1')));
    fake.expireSession(first.sessionId ?? '');

    const error = await client
      .send(new RetrieveAndGenerateCommand(ragInput('q2', first.sessionId)))
      .catch((e: unknown) => e);
    const fresh = await client.send(new RetrieveAndGenerateCommand(ragInput('q2')));

    expect(error).toBeInstanceOf(ValidationException);
    expect(fresh.sessionId).toMatch(UUID);
    expect(fresh.sessionId).not.toBe(first.sessionId);
  });

  it('refuses input over 1,000 characters without using a queued reply, and takes exactly 1,000', async () => {
    fake.enqueue({ outputs: ['kept'] });

    const error = await client
      .send(new RetrieveAndGenerateStreamCommand(ragInput('x'.repeat(1_001))))
      .catch((e: unknown) => e);
    const atLimit = await client.send(new RetrieveAndGenerateCommand(ragInput('x'.repeat(1_000))));

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).message).toContain('1000');
    expect(atLimit.output?.text).toBe('kept');
  });

  it('answers an unknown Knowledge Base with ResourceNotFoundException (404)', async () => {
    const error = await client
      .send(new RetrieveCommand({ knowledgeBaseId: 'KBUNKNOWN1', retrievalQuery: { text: 'q' } }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);
  });

  it.each([
    ['ThrottlingException', 429],
    ['AccessDeniedException', 403],
    ['ServiceQuotaExceededException', 400],
    ['ConflictException', 409],
    ['DependencyFailedException', 424],
    ['BadGatewayException', 502],
  ] as const)('answers %s with HTTP %i and the SDK names the error after it', async (name, status) => {
    fake.enqueue({ error: name, message: `simulated ${name}` });

    const error = (await client
      .send(new RetrieveAndGenerateStreamCommand(ragInput('q')))
      .catch((e: unknown) => e)) as { name: string; message: string; $metadata: { httpStatusCode?: number } };

    expect(error.name).toBe(name);
    expect(error.message).toBe(`simulated ${name}`);
    expect(error.$metadata.httpStatusCode).toBe(status);
  });

  it('throws a mid-stream exception from the iterator after the outputs sent before it', async () => {
    fake.enqueue({
      outputs: ['one', 'two', 'three'],
      failAfterChunks: 2,
      streamError: 'throttlingException',
    });
    const seen: unknown[] = [];

    const response = await client.send(new RetrieveAndGenerateStreamCommand(ragInput('q')));
    const error = await (async () => {
      for await (const event of response.stream ?? []) if (event.output) seen.push(event.output.text);
    })().catch((e: unknown) => e);

    expect(seen).toEqual(['one', 'two']);
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(fake.requests[0]?.outcome).toBe('failed');
  });

  it('fails a non-streaming RetrieveAndGenerate whose reply fails midway with the matching HTTP error', async () => {
    fake.enqueue({ outputs: ['one', 'two'], failAfterChunks: 1 });

    const error = await client.send(new RetrieveAndGenerateCommand(ragInput('q'))).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DependencyFailedException);
  });

  it('makes a reply that does not fit the operation a loud 500', async () => {
    fake.enqueue({ outputs: ['not a retrieval'] });

    const error = (await client
      .send(new RetrieveCommand({ knowledgeBaseId: KB_ID, retrievalQuery: { text: 'q' } }))
      .catch((e: unknown) => e)) as { name: string; message: string };

    expect(error.name).toBe('InternalServerException');
    expect(error.message).toContain('stand-in misuse');
  });

  it('is reached through AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME and credentials from the environment', async () => {
    const names = [
      'AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
    ] as const;
    const saved = names.map((name) => process.env[name]);
    process.env.AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME = fake.url;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
    const envClient = new BedrockAgentRuntimeClient({ region: 'us-east-1', maxAttempts: 1 });
    try {
      const response = await envClient.send(new RetrieveAndGenerateCommand(ragInput('via env')));

      expect(response.output?.text).toBe('Answer to: via env');
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
