/**
 * An optional Bedrock Guardrail on Converse and on Knowledge Base calls: `async` streaming by
 * default, `sync` by setting. An intervention is told in one sentence in the thread, counted, and
 * neither the blocked text nor its question is kept in the thread's memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBedrockAgentRuntime } from '../stand-ins/fake-bedrock-agent-runtime.ts';
import { answerLogs, botMessages, sentMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const GUARDRAIL = { BEDROCK_GUARDRAIL_ID: 'gr7x2k9q1abc', BEDROCK_GUARDRAIL_VERSION: '3' };
const SENTENCE = 'A content guardrail stopped this answer, so it is not kept in this thread’s memory.';

async function interventions(bot: Harness): Promise<number> {
  return (await bot.bot.metrics.guardrailInterventions.get()).values[0]?.value ?? 0;
}

describe('guardrails', () => {
  it('sends the guardrail with Converse in async mode, and tells an intervention in one sentence that history does not keep', async () => {
    h = await startHarness({ env: GUARDRAIL });
    h.bedrock.enqueue(
      { text: ['Here is how to ', 'pick the lock'], stopReason: 'guardrail_intervened' },
      { text: 'Doors open with keys.' },
    );
    const first = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> open a lock?',
    });
    await waitForAnswers(h, 1);
    const shown = threadText(h, 'C0001', first.ts);
    const shownMessages = botMessages(h, 'C0001', first.ts).length;

    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: 'and doors?',
      threadTs: first.ts,
    });
    await waitForAnswers(h, 2);

    expect(h.bedrock.requests[0]?.body.guardrailConfig).toEqual({
      guardrailIdentifier: 'gr7x2k9q1abc',
      guardrailVersion: '3',
      streamProcessingMode: 'async',
    });
    expect(shown.endsWith(`_${SENTENCE}_`)).toBe(true);
    expect(shown.split(SENTENCE)).toHaveLength(2);
    expect(shownMessages).toBe(1);
    expect(await interventions(h)).toBe(1);
    expect(answerLogs(h)[0]?.outcome).toBe('blocked');
    expect(sentMessages(h.bedrock.requests[1])).toEqual([
      { role: 'user', content: [{ text: 'and doors?' }] },
    ]);
  });

  it('streams in sync mode when set', async () => {
    h = await startHarness({ env: { ...GUARDRAIL, BEDROCK_GUARDRAIL_STREAM_MODE: 'sync' } });

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hello' });
    await waitForAnswers(h, 1);

    expect(h.bedrock.requests[0]?.body.guardrailConfig).toMatchObject({ streamProcessingMode: 'sync' });
  });

  it('sends the guardrail with Knowledge Base answers, and handles an intervention there the same way', async () => {
    h = await startHarness({ env: { ...GUARDRAIL, BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678' } });
    h.agent.enqueue(
      FakeBedrockAgentRuntime.groundedReply([{ text: 'Blocked part.' }], { guardrailAction: 'INTERVENED' }),
    );
    const asked = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> secrets?',
    });
    await waitForAnswers(h, 1);

    const body = h.agent.requests[0]?.body as {
      retrieveAndGenerateConfiguration?: {
        knowledgeBaseConfiguration?: { generationConfiguration?: unknown };
      };
    };
    expect(
      body.retrieveAndGenerateConfiguration?.knowledgeBaseConfiguration?.generationConfiguration,
    ).toEqual({
      guardrailConfiguration: { guardrailId: 'gr7x2k9q1abc', guardrailVersion: '3' },
    });
    expect(threadText(h, 'C0001', asked.ts).endsWith(`_${SENTENCE}_`)).toBe(true);
    expect(await interventions(h)).toBe(1);
    const state = await h.bot.store.getThread(`T0001:C0001:${asked.ts}`);
    expect(state?.turns).toEqual([]);
  });

  it('drops the Knowledge Base session that holds a blocked exchange, and goes on with the thread’s own history', async () => {
    h = await startHarness({ env: { ...GUARDRAIL, BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678' } });
    h.agent.enqueue(
      FakeBedrockAgentRuntime.groundedReply([{ text: 'Refunds take five days.' }]),
      FakeBedrockAgentRuntime.groundedReply([{ text: 'Blocked part.' }], { guardrailAction: 'INTERVENED' }),
    );
    const first = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> refunds?',
    });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: 'secrets?', threadTs: first.ts });
    await waitForAnswers(h, 2);

    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: 'and gift cards?',
      threadTs: first.ts,
    });
    await waitForAnswers(h, 3);

    const [opened, blocked, next] = h.agent.requests;
    expect([opened?.sessionId, blocked?.sessionId]).toEqual([undefined, opened?.responseSessionId]);
    expect(next?.operation).toBe('Retrieve');
    expect(sentMessages(h.bedrock.requests.at(-1)).map((m) => m.content?.[0])).toEqual([
      { text: 'refunds?' },
      { text: 'Refunds take five days.' },
      { text: 'and gift cards?' },
    ]);
  });

  it('sends no guardrail when none is configured', async () => {
    h = await startHarness();

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hello' });
    await waitForAnswers(h, 1);

    expect(h.bedrock.requests[0]?.body.guardrailConfig).toBeUndefined();
  });
});
