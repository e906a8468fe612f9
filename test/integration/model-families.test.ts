/**
 * "Swap the model id" works for every model family through Converse: on a Bedrock stand-in that
 * refuses what those models refuse (with Bedrock's wording), Titan, Mistral 7B and Llama answer,
 * and a refusal the capability table did not foresee costs one failed attempt, once per model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { answerLogs, sentMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const SYSTEM_PROMPT = 'You answer for the Acme support team.';

/** A question in a new thread and a follow-up in it, both answered. */
async function askTwice(bot: Harness): Promise<string> {
  const first = await bot.slack.postUserMessage({
    channel: 'C0001',
    user: 'U0001',
    text: '<@UBOT> first question',
  });
  await waitForAnswers(bot, 1);
  await bot.slack.postUserMessage({
    channel: 'C0001',
    user: 'U0001',
    text: 'second question',
    threadTs: first.ts,
  });
  await waitForAnswers(bot, 2);
  return first.ts;
}

async function fallbackCount(bot: Harness): Promise<number> {
  const metric = await bot.bot.metrics.modelFeatureRefusals.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}

describe('every model family through Converse', () => {
  it.each([
    ['Titan Text', 'amazon.titan-text-express-v1'],
    ['Mistral 7B', 'mistral.mistral-7b-instruct-v0:2'],
  ])(
    'answers with %s, which takes no system prompt, by leading the first turn with it',
    async (_family, modelId) => {
      h = await startHarness({ env: { BEDROCK_MODEL_ID: modelId, SYSTEM_PROMPT } });

      const threadTs = await askTwice(h);

      expect(h.bedrock.requests.map((request) => request.error)).toEqual([undefined, undefined]);
      expect(h.bedrock.requests.every((request) => request.body.system === undefined)).toBe(true);
      const followUp = sentMessages(h.bedrock.requests[1]);
      expect(followUp[0]?.content?.[0]).toEqual({ text: `${SYSTEM_PROMPT}\n\nfirst question` });
      expect(followUp.at(-1)?.content?.[0]).toEqual({ text: 'second question' });
      expect(threadText(h, 'C0001', threadTs)).toBe(
        `You said: ${SYSTEM_PROMPT}\n\nfirst question\nYou said: second question`,
      );
      expect(answerLogs(h).map((line) => line.outcome)).toEqual(['answered', 'answered']);
    },
  );

  it('answers with a Llama model with its system prompt, and sends it no cachePoint it would refuse', async () => {
    h = await startHarness({
      env: { BEDROCK_MODEL_ID: 'us.meta.llama3-3-70b-instruct-v1:0', SYSTEM_PROMPT },
    });

    await askTwice(h);

    expect(h.bedrock.requests.map((request) => request.error)).toEqual([undefined, undefined]);
    expect(h.bedrock.requests[1]?.body.system).toEqual([{ text: SYSTEM_PROMPT }]);
    expect(JSON.stringify(h.bedrock.requests.map((request) => request.body))).not.toContain('cachePoint');
  });

  it('retries a model that refuses a system prompt once without it, and the next question pays no failed attempt', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: 'acme.text-model-v1', SYSTEM_PROMPT } });
    h.bedrock.setModelLimits('acme.text-model-v1', { system: false });

    const first = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> one' });
    await waitForAnswers(h, 1);
    const requestsForFirst = h.bedrock.requests.length;
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> two' });
    await waitForAnswers(h, 2);

    expect(requestsForFirst).toBe(2);
    expect(h.bedrock.requests.map((request) => request.error)).toEqual([
      'ValidationException',
      undefined,
      undefined,
    ]);
    expect(h.bedrock.requests[2]?.body.system).toBeUndefined();
    expect(threadText(h, 'C0001', first.ts)).toBe(`You said: ${SYSTEM_PROMPT}\n\none`);
    expect(await fallbackCount(h)).toBe(1);
    const logged = h.logs.filter(
      (line) => line.msg === 'model refused a feature; sending it without from now on',
    );
    expect(logged).toMatchObject([{ model: 'acme.text-model-v1', feature: 'system' }]);
  });

  it('drops prompt caching for a model that refuses a cachePoint (AccessDeniedException), once', async () => {
    const modelId = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
    h = await startHarness({ env: { BEDROCK_MODEL_ID: modelId } });
    // As if this account's Claude could not cache: Bedrock answers AccessDeniedException.
    h.bedrock.setModelLimits(modelId, { promptCache: null });
    const first = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> one' });
    await waitForAnswers(h, 1);

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: 'two', threadTs: first.ts });
    await waitForAnswers(h, 2);

    expect(h.bedrock.requests.map((request) => request.error)).toEqual([
      'AccessDeniedException',
      undefined,
      undefined,
    ]);
    expect(JSON.stringify(h.bedrock.requests.slice(1).map((request) => request.body))).not.toContain(
      'cachePoint',
    );
    expect(threadText(h, 'C0001', first.ts)).toBe('You said: one\nYou said: two');
  });

  it('sends the configured service tier, and leaves it out for a model that refuses it', async () => {
    h = await startHarness({
      env: { BEDROCK_SERVICE_TIER: 'flex', BEDROCK_MODEL_ID: 'amazon.nova-lite-v1:0' },
    });
    h.bedrock.setModelLimits('amazon.nova-lite-v1:0', { serviceTier: false });

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> one' });
    await waitForAnswers(h, 1);

    expect(h.bedrock.requests[0]?.body.serviceTier).toEqual({ type: 'flex' });
    expect(h.bedrock.requests.map((request) => request.error)).toEqual(['ValidationException', undefined]);
    expect(h.bedrock.requests[1]?.body.serviceTier).toBeUndefined();
    expect(answerLogs(h)[0]?.outcome).toBe('answered');
  });
});
