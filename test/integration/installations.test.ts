/**
 * One deployment for many workspaces or an Enterprise Grid org: installed through Slack's OAuth
 * flow (Bolt's installer against the Slack stand-in), each event answered with its workspace's
 * token, rotating tokens refreshed once across replicas, and an uninstall purging that workspace.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { answerLogs, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { oauthEnv } from '../support/oauth-env.ts';
import { testRedisEnv } from '../support/test-redis.ts';

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop();
});

/** Replicas of one deployment share their token encryption keys. */
const KEYS = [randomBytes(32)];

async function oauthBot(
  options: { slack?: FakeSlack; bedrock?: FakeBedrockRuntime; env?: Record<string, string> } = {},
) {
  const slack = options.slack ?? (await FakeSlack.start());
  const h = await startHarness({
    slack,
    ...(options.bedrock ? { bedrock: options.bedrock } : {}),
    env: { ...oauthEnv(slack, KEYS), ...options.env },
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
    const redisEnv = testRedisEnv('oauth-org');
    const h = await oauthBot({ env: redisEnv });
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
    // Each workspace's thread is kept under its org and its own team.
    const prefix = redisEnv.REDIS_KEY_PREFIX;
    expect(await redisKeys(`${prefix}ws:E0001:T0010:{t:T0010:C0001:${first.ts}}:state`)).toHaveLength(1);
    expect(await redisKeys(`${prefix}ws:E0001:T0020:{t:T0020:C0001:${second.ts}}:state`)).toHaveLength(1);
  });
});

/** How many store calls of each operation the bot has made (the store latency histogram's counts). */
async function storeCalls(h: Harness): Promise<Record<string, number>> {
  const metric = await h.bot.metrics.storeLatency.get();
  const counts: Record<string, number> = {};
  for (const value of metric.values)
    if (value.metricName?.endsWith('_count')) counts[String(value.labels.operation)] = value.value;
  return counts;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([operation, count]) => [operation, count - (before[operation] ?? 0)] as const)
      .filter(([, count]) => count > 0),
  );
}

async function redisKeys(pattern: string): Promise<string[]> {
  const redis = new Redis(inject('redisUrl'));
  try {
    return await redis.keys(pattern);
  } finally {
    redis.disconnect();
  }
}

describe('installations in steady state and across replicas', () => {
  it('answers without reading the installation from the store again once it is cached', async () => {
    const h = await oauthBot({ env: testRedisEnv('oauth-steady') });
    h.bedrock.enqueue({ text: 'First.' }, { text: 'Second.' });
    await h.slack.installApp(`${h.botUrl}/slack/install`, { teamId: 'T0002' });
    await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> one?' },
      { teamId: 'T0002' },
    );
    await waitForAnswers(h, 1);

    const before = await storeCalls(h);
    await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> two?' },
      { teamId: 'T0002' },
    );
    await waitForAnswers(h, 2);
    const second = delta(await storeCalls(h), before);

    expect(Object.keys(second).filter((operation) => operation.startsWith('installation_'))).toEqual([]);
    expect(Object.keys(second).length).toBeGreaterThan(0);
  });

  it('refreshes a rotating token once when two replicas need it at the same moment', async () => {
    const slack = await FakeSlack.start();
    const bedrock = await FakeBedrockRuntime.start();
    running.push(async () => {
      await slack.stop();
      await bedrock.stop();
    });
    const env = testRedisEnv('oauth-rotation');
    const a = await oauthBot({ slack, bedrock, env });
    const b = await oauthBot({ slack, bedrock, env });
    bedrock.enqueue({ text: 'Answer from one replica.' }, { text: 'Answer from the other.' });
    // A token that expires within the refresh window: the next event that needs it refreshes it.
    await slack.installApp(`${a.botUrl}/slack/install`, {
      teamId: 'T0002',
      tokenRotation: true,
      tokenLifetimeS: 600,
    });
    const installToken = [...slack.oauth.tokens.values()].find((t) => t.teamId === 'T0002')?.token;

    slack.setBotEndpoint(`${a.botUrl}/slack/events`);
    const toA = slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> one?' },
      { teamId: 'T0002' },
    );
    slack.setBotEndpoint(`${b.botUrl}/slack/events`);
    const toB = slack.postUserMessage(
      { channel: 'C0001', user: 'U0002', text: '<@UBOT> two?' },
      { teamId: 'T0002' },
    );
    await Promise.all([toA, toB]);
    await slack.waitFor(() => answerLogs(a).length + answerLogs(b).length >= 2, 10_000);

    const refreshes = slack
      .callsTo('oauth.v2.access')
      .filter((call) => call.args.grant_type === 'refresh_token');
    expect(refreshes).toHaveLength(1);
    const refreshed = [...slack.oauth.tokens.values()].filter((t) => t.teamId === 'T0002').at(-1)?.token;
    expect(refreshed).not.toBe(installToken);
    expect(new Set(tokensUsedFor(a, 'chat.startStream'))).toEqual(new Set([refreshed]));
  });

  it('purges an uninstalled workspace’s installation and keys, and nothing of another workspace', async () => {
    const env = testRedisEnv('oauth-uninstall');
    const h = await oauthBot({ env });
    h.bedrock.enqueue({ text: 'Kept in T0002.' }, { text: 'Kept in T0003.' }, { text: 'Still here.' });
    await h.slack.installApp(`${h.botUrl}/slack/install`, { teamId: 'T0002' });
    await h.slack.installApp(`${h.botUrl}/slack/install`, { teamId: 'T0003' });
    await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> one?' },
      { teamId: 'T0002' },
    );
    await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> two?' },
      { teamId: 'T0003' },
    );
    await waitForAnswers(h, 2);
    const prefix = env.REDIS_KEY_PREFIX;
    const otherBefore = (await redisKeys(`${prefix}ws:-:T0003:*`)).sort();
    expect(await redisKeys(`${prefix}ws:-:T0002:*`)).not.toEqual([]);

    await h.slack.uninstall({ teamId: 'T0002' });
    await h.slack.waitFor(() => h.logs.some((line) => String(line.msg).startsWith('app uninstalled')));

    expect(await redisKeys(`${prefix}ws:-:T0002:*`)).toEqual([]);
    expect(await redisKeys(`${prefix}install:-:T0002`)).toEqual([]);
    expect((await redisKeys(`${prefix}ws:-:T0003:*`)).sort()).toEqual(otherBefore);
    expect(await redisKeys(`${prefix}install:-:T0003`)).toHaveLength(1);
    await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> three?' },
      { teamId: 'T0003' },
    );
    await waitForAnswers(h, 3);
  });
});

describe('every workspace apart', () => {
  const ADMIN = 'U0001';

  it('keeps separate history and settings for two workspaces with the same channel id and thread ts', async () => {
    const env = testRedisEnv('oauth-apart');
    const h = await oauthBot({ env: { ...env, SETTINGS_ADMIN_USER_IDS: ADMIN } });
    h.bedrock.enqueue({ text: 'Noted: apples.' }, { text: 'I do not know your secret.' });
    await h.slack.installApp(`${h.botUrl}/slack/install`, { teamId: 'T0002' });
    await h.slack.installApp(`${h.botUrl}/slack/install`, { teamId: 'T0003' });

    // The same channel id and root ts in both workspaces (ids are only unique within one).
    const first = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0002', text: '<@UBOT> my secret is apples' },
      { teamId: 'T0002' },
    );
    await waitForAnswers(h, 1);
    await h.slack.sendEvent(
      {
        type: 'app_mention',
        user: 'U0002',
        text: '<@UBOT> what is my secret?',
        ts: first.ts,
        event_ts: first.ts,
        channel: 'C0001',
        team: 'T0003',
      },
      { teamId: 'T0003' },
    );
    await waitForAnswers(h, 2);
    // An admin of T0002 switches the bot off in its C0001.
    await h.slack.openAppHome(ADMIN, { teamId: 'T0002' });
    await h.slack.waitFor(() => h.slack.homeViewOf(ADMIN));
    await h.slack.act(
      ADMIN,
      'home',
      { actionId: 'settings_channel', selectedConversation: 'C0001' },
      { teamId: 'T0002' },
    );
    await h.slack.waitFor(() => h.slack.homeViewOf(ADMIN)?.private_metadata.includes('C0001'));
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_toggle' }, { teamId: 'T0002' });
    await h.slack.waitFor(() => h.logs.some((line) => line.msg === 'channel settings changed'));
    h.bedrock.enqueue({ text: 'Still answering in T0003.' });
    const inT3 = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0002', text: '<@UBOT> still on here?' },
      { teamId: 'T0003' },
    );
    await waitForAnswers(h, 3);

    const secondRequest = JSON.stringify(h.bedrock.requests[1]?.body.messages ?? []);
    expect(secondRequest).toContain('what is my secret?');
    expect(secondRequest).not.toContain('apples');
    expect(threadText(h, 'C0001', inT3.ts)).toContain('Still answering in T0003.');
    const prefix = env.REDIS_KEY_PREFIX;
    expect(await redisKeys(`${prefix}ws:-:T0002:{c:T0002:C0001}:settings`)).toHaveLength(1);
    expect(await redisKeys(`${prefix}ws:-:T0003:{c:*`)).toEqual([]);
    expect(await redisKeys(`${prefix}ws:-:T0003:{t:T0003:C0001:${first.ts}}:state`)).toHaveLength(1);
  });
});

describe('moving from SLACK_BOT_TOKEN to OAuth', () => {
  it('keeps answering the bot token’s workspace with the history it kept before the move', async () => {
    const slack = await FakeSlack.start();
    const bedrock = await FakeBedrockRuntime.start();
    running.push(async () => {
      await slack.stop();
      await bedrock.stop();
    });
    const env = testRedisEnv('oauth-legacy');
    bedrock.enqueue({ text: 'Noted: the code word is heron.' }, { text: 'It was heron.' });
    const before = await startHarness({ slack, bedrock, env });
    const { ts } = await slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> the code word is heron',
    });
    await waitForAnswers(before, 1);
    await before.stop();

    const after = await oauthBot({ slack, bedrock, env: { ...env, SLACK_BOT_TOKEN: slack.botToken } });
    await slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> what was the code word?',
      threadTs: ts,
    });
    await waitForAnswers(after, 1);

    expect(JSON.stringify(bedrock.requests[1]?.body.messages)).toContain('the code word is heron');
    expect(new Set(tokensUsedFor(after, 'chat.startStream'))).toEqual(new Set([slack.botToken]));
    // The thread's state is the one written before the move, under the same key.
    expect(await redisKeys(`${env.REDIS_KEY_PREFIX}{t:T0001:C0001:${ts}}:state`)).toHaveLength(1);
    expect(await redisKeys(`${env.REDIS_KEY_PREFIX}ws:*`)).toEqual([]);
  });
});
