/**
 * One deployment for many workspaces or an Enterprise Grid org: installed through Slack's OAuth
 * flow (Bolt's installer against the Slack stand-in), each event answered with its workspace's
 * token, rotating tokens refreshed once across replicas, and an uninstall purging that workspace.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { answerLogs, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { oauthEnv } from '../support/oauth-env.ts';
import { testRedisEnv } from '../support/test-redis.ts';

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop();
});

async function oauthBot(
  options: { slack?: FakeSlack; bedrock?: FakeBedrockRuntime; env?: Record<string, string> } = {},
) {
  const slack = options.slack ?? (await FakeSlack.start());
  const h = await startHarness({
    slack,
    ...(options.bedrock ? { bedrock: options.bedrock } : {}),
    env: { ...oauthEnv(slack), ...options.env },
  });
  running.push(async () => {
    await h.stop();
    if (!options.slack) await slack.stop();
  });
  return h;
}

function tokensUsedFor(h: Harness, method: string): string[] {
  return h.slack.callsTo(method).map((call) => call.token ?? '');
}

describe('installation by OAuth', () => {
  it('answers a mention in a workspace installed through the OAuth flow, with that workspace’s token', async () => {
    const h = await oauthBot({ env: testRedisEnv('oauth-install') });
    h.bedrock.enqueue({ text: 'Hello from the new workspace.' });

    const installed = await h.slack.installApp(`${h.botUrl}/slack/install`, { teamId: 'T0002' });
    const { ts } = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> hello?' },
      { teamId: 'T0002' },
    );
    await waitForAnswers(h, 1);

    expect(installed.status).toBe(200);
    const token = [...h.slack.oauth.tokens.values()].find((t) => t.teamId === 'T0002')?.token;
    expect(token).toBeDefined();
    expect(threadText(h, 'C0001', ts)).toContain('Hello from the new workspace.');
    const writes = [...tokensUsedFor(h, 'chat.startStream'), ...tokensUsedFor(h, 'chat.postMessage')];
    expect(writes.length).toBeGreaterThan(0);
    expect(new Set(writes)).toEqual(new Set([token]));
  });

  it('keeps the bot token sealed at rest in Redis', async () => {
    const redisEnv = testRedisEnv('oauth-sealed');
    const h = await oauthBot({ env: redisEnv });

    await h.slack.installApp(`${h.botUrl}/slack/install`, { teamId: 'T0002' });

    const token = [...h.slack.oauth.tokens.values()].find((t) => t.teamId === 'T0002')?.token ?? '';
    const redis = new Redis(inject('redisUrl'));
    try {
      const stored = await redis.get(`${redisEnv.REDIS_KEY_PREFIX}install:-:T0002`);
      expect(stored).toMatch(/^v1\./);
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(token.slice(5));
    } finally {
      redis.disconnect();
    }
  });

  it('answers in two workspaces of an org after one org-wide install', async () => {
    const h = await oauthBot({ env: testRedisEnv('oauth-org') });
    h.bedrock.enqueue(
      { text: 'Answer in the first workspace.' },
      { text: 'Answer in the second workspace.' },
    );

    await h.slack.installApp(`${h.botUrl}/slack/install`, { enterpriseId: 'E0001', orgWide: true });
    const org = { enterpriseId: 'E0001', isEnterpriseInstall: true };
    const first = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> one?' },
      { ...org, teamId: 'T0010' },
    );
    await waitForAnswers(h, 1);
    const second = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0002', text: '<@UBOT> two?' },
      { ...org, teamId: 'T0020', isExtSharedChannel: true },
    );
    await waitForAnswers(h, 2);

    expect(threadText(h, 'C0001', first.ts)).toContain('Answer in the first workspace.');
    expect(threadText(h, 'C0001', second.ts)).toContain('Answer in the second workspace.');
    const orgToken = [...h.slack.oauth.tokens.values()].find((t) => t.isEnterpriseInstall)?.token;
    expect(new Set(tokensUsedFor(h, 'chat.startStream'))).toEqual(new Set([orgToken]));
    expect(answerLogs(h).every((line) => line.outcome === 'answered' || line.outcome === undefined)).toBe(
      true,
    );
  });
});
