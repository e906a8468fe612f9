/**
 * Several replicas of the bot on one Redis: two bots in this process, each with its own store
 * client, lock and memory, sharing one fake workspace and one fake Bedrock. FakeSlack delivers to
 * one endpoint at a time, so each delivery first points it at the replica that should receive it.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { answerLogs, sentMessages, threadText } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { deleteRedisKeysWithPrefix } from '../support/redis-server-process.ts';
import { waitForTurnedAway } from '../support/turned-away.ts';

interface Replicas {
  slack: FakeSlack;
  bedrock: FakeBedrockRuntime;
  a: Harness;
  b: Harness;
  prefix: string;
}

let running: Replicas | undefined;

afterEach(async () => {
  if (!running) return;
  const { slack, bedrock, a, b, prefix } = running;
  running = undefined;
  // Reverse order: each harness restores the AWS variables it found when it started.
  await b.stop();
  await a.stop();
  await slack.stop();
  await bedrock.stop();
  await deleteRedisKeysWithPrefix(inject('redisUrl'), prefix);
});

async function startReplicas(): Promise<Replicas> {
  const slack = await FakeSlack.start();
  const bedrock = await FakeBedrockRuntime.start();
  const prefix = `test:replicas:${randomUUID()}:`;
  const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: prefix };
  const a = await startHarness({ slack, bedrock, env });
  const b = await startHarness({ slack, bedrock, env });
  running = { slack, bedrock, a, b, prefix };
  return running;
}

/** Points the fake Slack at one replica: the next deliveries go there. */
function deliverTo(r: Replicas, replica: Harness): void {
  r.slack.setBotEndpoint(`${replica.botUrl}/slack/events`);
}

const answered = (r: Replicas) => answerLogs(r.a).length + answerLogs(r.b).length;

describe('two replicas on one Redis', () => {
  it('does not answer again when Slack retries an event on the other replica', async () => {
    const r = await startReplicas();
    r.bedrock.enqueue({ text: 'Refunds take five days.' }, { text: 'A second answer that must not appear.' });

    deliverTo(r, r.a);
    const first = await r.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> refunds?',
    });
    await r.slack.waitFor(() => answered(r) >= 1, 10_000);
    deliverTo(r, r.b);
    const retry = await r.slack.sendEvent(
      {
        type: 'app_mention',
        user: 'U0001',
        text: '<@UBOT> refunds?',
        ts: first.ts,
        event_ts: first.ts,
        channel: 'C0001',
        team: r.slack.teamId,
      },
      { eventId: first.mention?.eventId ?? first.eventId, retryNum: 1, retryReason: 'http_timeout' },
    );
    // Replica b settles the retry as a duplicate (an answer would start only after that claim).
    await waitForTurnedAway(r.b.bot, (all) => all.duplicates === 1);

    expect(retry.status).toBe(200);
    expect(r.bedrock.requests).toHaveLength(1);
    expect(answered(r)).toBe(1);
    expect(threadText(r.a, 'C0001', first.ts)).toBe('Refunds take five days.');
  });

  it('answers two questions in one thread on two replicas one after the other, the second seeing the first', async () => {
    const r = await startReplicas();
    const firstAnswer = 'The first answer, streamed slowly over about a second and a half.';
    r.bedrock.enqueue(
      { text: FakeBedrockRuntime.chunksOf(firstAnswer, 5), chunkDelayMs: 120 },
      { text: 'The second answer.' },
    );

    deliverTo(r, r.a);
    const first = await r.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> first question',
    });
    await r.bedrock.waitForRequests(1);
    deliverTo(r, r.b);
    await r.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> second question',
      threadTs: first.ts,
    });
    await r.slack.waitFor(() => answered(r) >= 2, 20_000);

    const [firstRequest, secondRequest] = r.bedrock.requests;
    expect(r.bedrock.requests).toHaveLength(2);
    expect(answerLogs(r.a)).toHaveLength(1);
    expect(answerLogs(r.b)).toHaveLength(1);
    expect(secondRequest?.atMs).toBeGreaterThanOrEqual(firstRequest?.endedAtMs ?? Number.POSITIVE_INFINITY);
    expect(sentMessages(secondRequest)).toEqual([
      { role: 'user', content: [{ text: 'first question' }] },
      { role: 'assistant', content: [{ text: firstAnswer }] },
      { role: 'user', content: [{ text: 'second question' }] },
    ]);
    expect(threadText(r.a, 'C0001', first.ts)).toBe(`${firstAnswer}\nThe second answer.`);
  }, 40_000);
});
