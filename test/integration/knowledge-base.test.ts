import { afterEach, describe, expect, it } from 'vitest';
import { FakeBedrockAgentRuntime, type RetrievedPassage } from '../stand-ins/fake-bedrock-agent-runtime.ts';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { testRedisEnv } from '../support/test-redis.ts';

const KB = { BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678' };

const s3Doc: RetrievedPassage = {
  text: 'Refunds are paid within five working days.',
  location: { type: 'S3', s3Location: { uri: 's3://company-docs/policies/refund-policy.pdf' } },
  metadata: { title: 'Refund policy' },
};
const webPage: RetrievedPassage = {
  text: 'Open the refunds form in the portal.',
  location: { type: 'WEB', webLocation: { url: 'https://help.example.com/refunds/form' } },
};
const confluencePage: RetrievedPassage = {
  text: 'Finance approves refunds over 500 EUR.',
  location: {
    type: 'CONFLUENCE',
    confluenceLocation: { url: 'https://example.atlassian.net/wiki/spaces/FIN/pages/42/Approvals' },
  },
  metadata: { title: 'Approvals' },
};

let harnesses: Harness[] = [];
async function start(env: Record<string, string> = {}, shared: Partial<Harness> = {}): Promise<Harness> {
  const h = await startHarness({
    env: { ...KB, ...env },
    slack: shared.slack,
    bedrock: shared.bedrock,
    agent: shared.agent,
  });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.reverse()) await h.stop();
  harnesses = [];
});

const sessionIdsSent = (h: Harness) =>
  h.agent.requests.filter((r) => r.operation === 'RetrieveAndGenerateStream').map((r) => r.sessionId ?? null);

describe('Knowledge Base answers (managed mode)', () => {
  it('marks cited spans and lists each document once with a link people can open', async () => {
    const h = await start();
    h.agent.enqueue(
      FakeBedrockAgentRuntime.groundedReply([
        { text: 'Refunds are paid within five days.', references: [s3Doc] },
        { text: ' Use the form in the portal.', references: [webPage, s3Doc] },
        { text: ' Big refunds need finance approval.', references: [confluencePage] },
        { text: ' That is all.' },
      ]),
    );
    const sent = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> how do refunds work?',
    });
    await waitForAnswers(h, 1);

    const text = threadText(h, 'C0001', sent.ts);
    expect(text).toContain('Refunds are paid within five days.[1]');
    expect(text).toContain('Use the form in the portal.[2][1]');
    expect(text).toContain('Big refunds need finance approval.[3]');
    const sources = text.slice(text.indexOf('**Sources**'));
    expect(sources).toMatch(
      /1\. \[Refund policy \(console\.aws\.amazon\.com\)\]\(https:\/\/console\.aws\.amazon\.com\/s3\/object\/company-docs\?region=us-east-1&prefix=policies%2Frefund-policy\.pdf\)/,
    );
    expect(sources).toContain('2. [form (help.example.com)](https://help.example.com/refunds/form)');
    expect(sources).toContain(
      '3. [Approvals (example.atlassian.net)](https://example.atlassian.net/wiki/spaces/FIN/pages/42/Approvals)',
    );
    expect(sources.match(/refund-policy/g)).toHaveLength(1);
    const request = h.agent.requests[0];
    expect(request?.body).toMatchObject({
      retrieveAndGenerateConfiguration: {
        knowledgeBaseConfiguration: {
          knowledgeBaseId: 'KB12345678',
          modelArn:
            'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        },
      },
    });
  });

  it('shows that it is searching the knowledge base until the answer arrives', async () => {
    const h = await start();
    h.agent.enqueue(
      FakeBedrockAgentRuntime.groundedReply([{ text: 'Found it.', references: [s3Doc] }], {
        firstTokenDelayMs: 400,
      }),
    );
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> search' });
    const searching = await h.slack.waitFor(() =>
      h.slack
        .botReplies('C0001', sent.ts)
        .find((m) => m.tasks.some((t) => /Searching the knowledge base/.test(t.title))),
    );
    expect(searching).toBeDefined();
    await waitForAnswers(h, 1);
  });

  it('offers S3 sources as presigned https links when configured', async () => {
    const h = await start({ KB_S3_LINKS: 'presigned', KB_PRESIGNED_URL_TTL_SECONDS: '900' });
    h.agent.enqueue(
      FakeBedrockAgentRuntime.groundedReply([{ text: 'Paid in five days.', references: [s3Doc] }]),
    );
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);
    const link =
      /\[Refund policy \(company-docs\.s3\.us-east-1\.amazonaws\.com\)\]\((https:[^)]+)\)/.exec(
        threadText(h, 'C0001', sent.ts),
      )?.[1] ?? '';
    const url = new URL(link);
    expect(url.hostname).toBe('company-docs.s3.us-east-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('puts the marker after its span even when the span fell across streamed chunks', async () => {
    const h = await start();
    const cited = 'Refunds are paid within five days.';
    h.agent.enqueue({
      outputs: ['Refunds are pa', 'id within fi', 've days. Other', ' text follows.'],
      citations: [
        { afterOutputIndex: 3, text: cited, span: { start: 0, end: cited.length - 1 }, references: [s3Doc] },
      ],
      chunkDelayMs: 30,
    });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);
    expect(threadText(h, 'C0001', sent.ts)).toContain(
      'Refunds are paid within five days.[1] Other text follows.',
    );
  });

  it('keeps the KB session per thread, across a restart, and replaces an expired one', async () => {
    const env = testRedisEnv('kb');
    const first = await start(env);
    const sent = await first.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> q1' });
    await waitForAnswers(first, 1);
    await first.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: 'q2', threadTs: sent.ts });
    await waitForAnswers(first, 2);
    const [none, session] = sessionIdsSent(first);
    expect(none).toBeNull();
    expect(session).toBe(first.agent.requests[0]?.responseSessionId);

    // A restarted bot on the same Redis, same stand-ins.
    await first.bot.shutdown(1_000);
    const second = await start(env, { slack: first.slack, bedrock: first.bedrock, agent: first.agent });
    await second.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: 'q3', threadTs: sent.ts });
    await waitForAnswers(second, 1);
    expect(sessionIdsSent(first).at(-1)).toBe(session);

    // Bedrock forgets the session: the question is answered on a new one, which the next follow-up uses.
    first.agent.expireSession(session ?? '');
    await second.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: 'q4', threadTs: sent.ts });
    await waitForAnswers(second, 2);
    const renewed = first.agent.requests.at(-1)?.responseSessionId;
    expect(renewed).toBeDefined();
    expect(renewed).not.toBe(session);
    expect(threadText(second, 'C0001', sent.ts)).toContain('Answer to: q4');
    await second.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: 'q5', threadTs: sent.ts });
    await waitForAnswers(second, 3);
    expect(sessionIdsSent(first).at(-1)).toBe(renewed);

    // A new thread starts without a session.
    await second.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> new thread' });
    await waitForAnswers(second, 4);
    expect(sessionIdsSent(first).at(-1)).toBeNull();
  });

  it('keeps a long question in the context of the short follow-ups after it', async () => {
    const h = await start();
    const long = `${'why '.repeat(300)}is the sky blue`;
    const sent = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> short one',
    });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: long, threadTs: sent.ts });
    await waitForAnswers(h, 2);

    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: 'and at night?',
      threadTs: sent.ts,
    });
    await waitForAnswers(h, 3);

    // The KB session never saw the long turn, so the follow-up is answered with the thread's history.
    const followUp = h.bedrock.requests.at(-1)?.body.messages ?? [];
    expect(h.agent.requests.at(-1)?.operation).toBe('Retrieve');
    expect(JSON.stringify(followUp)).toContain('is the sky blue');
    expect(followUp.at(-1)).toEqual({ role: 'user', content: [{ text: 'and at night?' }] });
  });

  it('answers a question over 1,000 characters through retrieval instead of being refused', async () => {
    const h = await start();
    h.agent.enqueue({ retrievalResults: [{ ...s3Doc, score: 0.8 }] });
    h.bedrock.enqueue({ text: 'Long question answered [1].' });
    const sent = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: `<@UBOT> ${'why '.repeat(300)}`,
    });
    await waitForAnswers(h, 1);
    expect(h.agent.requests.map((r) => r.operation)).toEqual(['Retrieve']);
    expect(threadText(h, 'C0001', sent.ts)).toContain('Long question answered [1].');
  });

  it.each([
    [{ error: 'ResourceNotFoundException' as const }, 'was not found'],
    [{ error: 'AccessDeniedException' as const }, 'not allowed to use the knowledge base'],
  ])('gives a specific message for %o', async (reply, message) => {
    const h = await start();
    h.agent.enqueue(reply);
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> q' });
    await waitForAnswers(h, 1);
    expect(threadText(h, 'C0001', sent.ts)).toContain(message);
  });

  it('retries knowledge base throttling, and says when a guardrail intervened', async () => {
    const h = await start();
    h.agent.enqueue(
      { error: 'ThrottlingException' },
      FakeBedrockAgentRuntime.groundedReply([{ text: 'Partly blocked.', references: [s3Doc] }], {
        guardrailAction: 'INTERVENED',
      }),
    );
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> q' });
    await waitForAnswers(h, 1);
    const text = threadText(h, 'C0001', sent.ts);
    expect(text).toContain('Partly blocked.[1]');
    expect(text).toContain('content guardrail stopped this answer');
  });
});

describe('Knowledge Base answers (retrieve mode)', () => {
  it('retrieves, then streams a Converse answer that carries the passages and the history, with the same sources', async () => {
    const h = await start({ KB_MODE: 'retrieve' });
    h.agent.setHandler(() => ({
      retrievalResults: [
        { ...webPage, score: 0.9 },
        { ...s3Doc, score: 0.8 },
        { ...s3Doc, text: 'A second passage of the refund policy.', score: 0.7 },
      ],
    }));
    h.bedrock.enqueue({ text: 'First.' }, { text: ['Paid in five days [2', ']. Use the form [1].'] });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> first' });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: 'refunds?', threadTs: sent.ts });
    await waitForAnswers(h, 2);

    expect(h.agent.requests.map((r) => r.operation)).toEqual(['Retrieve', 'Retrieve']);
    const converse = h.bedrock.requests.at(-1)?.body;
    const system = JSON.stringify(converse?.system);
    expect(system).toContain('Refunds are paid within five working days.');
    expect(system).toContain('A second passage of the refund policy.');
    expect(converse?.messages).toHaveLength(3);
    const text = threadText(h, 'C0001', sent.ts);
    expect(text).toContain('Paid in five days [1]. Use the form [2].');
    const sources = text.slice(text.lastIndexOf('**Sources**'));
    expect(sources).toMatch(
      /1\. \[Refund policy \(console\.aws\.amazon\.com\)\]\(https:\/\/console\.aws\.amazon\.com/,
    );
    expect(sources).toContain('2. [form (help.example.com)](https://help.example.com/refunds/form)');
  });
});
