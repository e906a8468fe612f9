/**
 * Per-channel settings set in Slack: admins (user ids or a user group) open the Home tab, pick a
 * channel and switch the bot off there or edit its settings in a modal; everyone reads them with
 * `/ask settings`. Settings live in the store (shared by every replica), every change is logged
 * with who, when, before and after, and the environment stays the default.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { answerLogs, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { testRedisEnv } from '../support/test-redis.ts';
import { waitForTurnedAway } from '../support/turned-away.ts';

let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.reverse()) await h.stop();
  harnesses = [];
});

const ADMIN = 'U0001';
const PERSON = 'U0002';
const DEFAULT_MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OTHER_MODEL = 'amazon.nova-pro-v1:0';

async function start(env: Record<string, string> = {}, shared: Partial<Harness> = {}): Promise<Harness> {
  const h = await startHarness({
    env: { SETTINGS_ADMIN_USER_IDS: ADMIN, BEDROCK_MODEL_CHOICES: OTHER_MODEL, ...env },
    ...(shared.slack ? { slack: shared.slack } : {}),
    ...(shared.bedrock ? { bedrock: shared.bedrock } : {}),
  });
  h.slack.addChannel({ id: 'C0003', name: 'support', isMember: true });
  harnesses.push(h);
  return h;
}

/** The admin opens the Home tab and picks `channel`; resolves once its settings are shown. */
async function adminPicks(h: Harness, channel: string, user = ADMIN): Promise<void> {
  await h.slack.openAppHome(user);
  await h.slack.waitFor(() => h.slack.homeViewOf(user));
  await h.slack.act(user, 'home', { actionId: 'settings_channel', selectedConversation: channel });
  await h.slack.waitFor(() => h.slack.homeViewOf(user)?.private_metadata.includes(channel));
}

function homeText(h: Harness, user: string): string {
  return JSON.stringify(h.slack.homeViewOf(user)?.blocks ?? []);
}

function changeLog(h: Harness): Array<Record<string, unknown>> {
  return h.logs.filter((line) => line.msg === 'channel settings changed');
}

async function settingsChanges(h: Harness, result: string): Promise<number> {
  const metric = await h.bot.metrics.settingsChanges.get();
  return metric.values.find((value) => value.labels.result === result)?.value ?? 0;
}

describe('channel settings in the Home tab', () => {
  it('a channel an admin switched off is not answered, and the asker is told once', async () => {
    const h = await start();
    await adminPicks(h, 'C0001');
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_toggle' });
    await h.slack.waitFor(() => changeLog(h).length === 1);

    await h.slack.postUserMessage({ channel: 'C0001', user: PERSON, text: '<@UBOT> are you there?' });
    await waitForTurnedAway(h.bot, (all) => all.ignored.mention_copy === 1);
    await h.slack.waitFor(() => h.slack.ephemerals.length > 0);
    await h.slack.postUserMessage({ channel: 'C0003', user: PERSON, text: '<@UBOT> and here?' });
    await waitForAnswers(h, 1);

    expect(h.slack.ephemerals.map((m) => [m.channel, m.ephemeral?.user, m.text])).toEqual([
      ['C0001', PERSON, 'An admin has switched me off in this channel, so I won’t answer here.'],
    ]);
    expect(h.bedrock.requests.map((request) => lastUserText(request.body.messages))).toEqual(['and here?']);
    expect(homeText(h, ADMIN)).toContain('Turn on here');
  });

  it('takes a model, system prompt and Knowledge Base from the modal for that channel only, and logs who, when, before and after', async () => {
    const h = await start();
    await adminPicks(h, 'C0001');
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_edit' });
    await h.slack.waitFor(() => h.slack.modalOf(ADMIN));
    const beforeMs = Date.now();

    const saved = await h.slack.submitModal(ADMIN, {
      modelId: OTHER_MODEL,
      systemPrompt: 'Answer like a pirate.',
    });
    await h.slack.postUserMessage({ channel: 'C0001', user: PERSON, text: '<@UBOT> here?' });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({ channel: 'C0003', user: PERSON, text: '<@UBOT> there?' });
    await waitForAnswers(h, 2);

    expect(saved.status).toBe(200);
    expect(h.slack.modalOf(ADMIN)).toBeUndefined();
    const [here, there] = h.bedrock.requests;
    expect([here?.modelId, there?.modelId]).toEqual([OTHER_MODEL, DEFAULT_MODEL]);
    expect(here?.body.system?.[0]).toEqual({ text: 'Answer like a pirate.' });
    expect(there?.body.system?.[0]).not.toEqual({ text: 'Answer like a pirate.' });
    expect(answerLogs(h).map((line) => line.model)).toEqual([OTHER_MODEL, DEFAULT_MODEL]);
    const [line] = changeLog(h);
    expect(line).toMatchObject({
      teamId: 'T0001',
      channelId: 'C0001',
      by: ADMIN,
      changed: ['modelId', 'systemPrompt'],
      before: { modelId: DEFAULT_MODEL, enabled: true },
      after: { modelId: OTHER_MODEL, systemPrompt: 'Answer like a pirate.', enabled: true },
    });
    expect(Date.parse(String(line?.at))).toBeGreaterThanOrEqual(Math.floor(beforeMs / 1000) * 1000);
    expect(Date.parse(String(line?.at))).toBeLessThanOrEqual(Date.now());
  });

  it("offers the model only the channel's enabled tools", async () => {
    const h = await start({ BUILTIN_TOOLS: 'search_slack' });
    await adminPicks(h, 'C0001');
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_edit' });
    await h.slack.waitFor(() => h.slack.modalOf(ADMIN));

    await h.slack.submitModal(ADMIN, { tools: 'none' });
    await h.slack.postUserMessage({ channel: 'C0001', user: PERSON, text: '<@UBOT> here?' });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({ channel: 'C0003', user: PERSON, text: '<@UBOT> there?' });
    await waitForAnswers(h, 2);

    const [here, there] = h.bedrock.requests;
    expect(here?.body.toolConfig).toBeUndefined();
    expect(JSON.stringify(there?.body.toolConfig)).toContain('search_slack');
    expect(changeLog(h)[0]).toMatchObject({ changed: ['tools'], after: { tools: [] } });
  });

  it('answers a channel from its own Knowledge Base', async () => {
    const h = await start();
    await adminPicks(h, 'C0001');
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_edit' });
    await h.slack.waitFor(() => h.slack.modalOf(ADMIN));

    await h.slack.submitModal(ADMIN, { knowledgeBaseId: 'KBCHANNEL1', kbMode: 'retrieve' });
    await h.slack.postUserMessage({ channel: 'C0001', user: PERSON, text: '<@UBOT> policy?' });
    await waitForAnswers(h, 1);

    expect(h.agent.requests.map((request) => [request.operation, request.knowledgeBaseId])).toEqual([
      ['Retrieve', 'KBCHANNEL1'],
    ]);
  });

  it('keeps the modal open with the problem when a value is not valid, and stores nothing', async () => {
    const h = await start();
    await adminPicks(h, 'C0001');
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_edit' });
    await h.slack.waitFor(() => h.slack.modalOf(ADMIN));

    const saved = await h.slack.submitModal(ADMIN, { knowledgeBaseId: 'not a kb id' });

    expect(saved.body).toEqual({
      response_action: 'errors',
      errors: { knowledgeBaseId: 'Knowledge Base must be a Knowledge Base id: ten letters and digits.' },
    });
    expect(h.slack.modalOf(ADMIN)).toBeDefined();
    expect(await h.bot.store.getChannelSettings('T0001', 'C0001')).toBeNull();
    expect(await settingsChanges(h, 'invalid')).toBe(1);
  });

  it('does not let a non-admin change settings, not even with a forged payload', async () => {
    const h = await start();
    await h.slack.openAppHome(PERSON);
    await h.slack.waitFor(() => h.slack.homeViewOf(PERSON));
    const shown = homeText(h, PERSON);
    await adminPicks(h, 'C0001');
    const adminView = h.slack.homeViewOf(ADMIN);

    // The admin's Home tab, replayed by someone else.
    const forged = {
      type: 'block_actions',
      user: { id: PERSON, team_id: 'T0001' },
      team: { id: 'T0001' },
      api_app_id: h.slack.appId,
      trigger_id: 'forged',
      view: { ...adminView, state: { values: {} } },
      actions: [{ action_id: 'settings_toggle', block_id: 'settings_actions', type: 'button', value: 'off' }],
    };
    await h.slack.sendAction(forged);
    await until(async () => (await settingsChanges(h, 'refused')) === 1);
    const { actions: _actions, ...rest } = forged;
    const submission = await h.slack.sendAction({
      ...rest,
      type: 'view_submission',
      view: {
        callback_id: 'channel_settings',
        private_metadata: '{"channelId":"C0001"}',
        state: {
          values: { enabled: { enabled: { type: 'static_select', selected_option: { value: 'off' } } } },
        },
      },
    });

    expect(shown).not.toContain('settings_channel');
    expect(shown).toContain('Channel settings are changed here by admins.');
    await expect(h.slack.act(PERSON, 'home', { actionId: 'settings_toggle' })).rejects.toThrow(/no element/);
    expect(submission.body).toEqual({
      response_action: 'errors',
      errors: { enabled: 'Only admins can change channel settings.' },
    });
    expect(await h.bot.store.getChannelSettings('T0001', 'C0001')).toBeNull();
    expect(changeLog(h)).toEqual([]);
    expect(
      h.logs.filter((line) => line.msg === 'channel settings change refused: not an admin'),
    ).toHaveLength(2);
  });

  it('lets the members of the admins user group change settings', async () => {
    const h = await start({ SETTINGS_ADMIN_USER_IDS: '', SETTINGS_ADMIN_USERGROUP_ID: 'S0ADMINS' });
    h.slack.addUsergroup({ id: 'S0ADMINS', handle: 'assistant-admins', users: [PERSON] });

    await adminPicks(h, 'C0001', PERSON);
    await h.slack.act(PERSON, 'home', { actionId: 'settings_toggle' });
    await h.slack.waitFor(() => changeLog(h).length === 1);

    expect(changeLog(h)[0]).toMatchObject({ by: PERSON, after: { enabled: false } });
    expect(h.slack.callsTo('usergroups.users.list')[0]?.args.usergroup).toBe('S0ADMINS');
  });

  it("shows a channel with fifty enabled tools in the Home tab within Slack's 2,000 characters a field", async () => {
    const h = await start();
    const tools = Array.from(
      { length: 50 },
      (_, i) => `warehouse_inventory_lookup_for_the_north_eastern_region_${i}`,
    );
    await h.bot.store.updateChannelSettings('T0001', 'C0001', { tools }, { by: ADMIN, atMs: Date.now() });

    await adminPicks(h, 'C0001');

    const published = h.slack.callsTo('views.publish').at(-1);
    expect(published).toMatchObject({ ok: true });
    expect(homeText(h, ADMIN)).toContain('warehouse_inventory_lookup_for_the_north_eastern_region_0');
    expect(homeText(h, ADMIN)).toMatch(/ and \d+ more/);
  });

  it('shows anyone how the bot answers in a channel with /ask settings', async () => {
    const h = await start();
    await adminPicks(h, 'C0001');
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_edit' });
    await h.slack.waitFor(() => h.slack.modalOf(ADMIN));
    await h.slack.submitModal(ADMIN, { modelId: OTHER_MODEL });

    const command = await h.slack.sendCommand({ text: 'settings', user: PERSON, channel: 'C0001' });
    const post = await h.slack.waitFor(() =>
      h.slack.responseUrlPosts.find((p) => command.responseUrl.endsWith(p.id)),
    );

    const text = JSON.stringify(post.body);
    expect(text).toContain(`\`${OTHER_MODEL}\``);
    expect(text).toContain('Set for this channel: Model');
    expect(text).toContain(`Last changed by <@${ADMIN}>`);
    expect(h.bedrock.requests).toHaveLength(0);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('shares settings between replicas through Redis', async () => {
    const env = testRedisEnv('settings');
    const a = await start(env);
    const b = await start(env, { slack: a.slack, bedrock: a.bedrock });
    a.slack.setBotEndpoint(`${a.botUrl}/slack/events`);
    await adminPicks(a, 'C0001');
    await a.slack.act(ADMIN, 'home', { actionId: 'settings_toggle' });
    await a.slack.waitFor(() => changeLog(a).length === 1);

    // Replica b answers this one: a delivery reaches whichever replica the endpoint names.
    a.slack.setBotEndpoint(`${b.botUrl}/slack/events`);
    await a.slack.postUserMessage({ channel: 'C0001', user: PERSON, text: '<@UBOT> hello?' });
    await a.slack.waitFor(() => a.slack.ephemerals.length > 0);

    expect(a.slack.ephemerals[0]?.text).toContain('switched me off');
    expect(a.bedrock.requests).toHaveLength(0);
  });
});

/** Polls an async condition (FakeSlack.waitFor takes only synchronous ones). */
async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function lastUserText(messages: Array<{ content?: Array<{ text?: string }> }> | undefined): string {
  return messages?.at(-1)?.content?.[0]?.text ?? '';
}
