/**
 * Channel knowledge: a channel learns from the files shared in it and from the bot's answered
 * threads (as its admins choose in the Home tab), a person's DM from the files they share there
 * (`/ask learn on`); answers are grounded in it through the `search_channel_knowledge` tool (or
 * quoted passages for models without tools), cite the file or thread, and say "Answered before".
 * Knowledge stays where it was learned, and forgetting is real. Every acceptance test runs on the
 * embedded index and on S3 Vectors, through the Slack, Bedrock (Titan) and S3 Vectors stand-ins.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import type { RecordedModelRequest } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeS3Vectors } from '../stand-ins/fake-s3-vectors.ts';
import { type DeliveryOptions, FakeSlack } from '../stand-ins/fake-slack.ts';
import { deleteFile, shareFile, unshareFile } from '../stand-ins/slack/file-events.ts';
import type { FakeFile } from '../stand-ins/slack/files.ts';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { minimalDocx, minimalPdf } from '../support/documents.ts';
import { oauthEnv } from '../support/oauth-env.ts';
import { testRedisEnv } from '../support/test-redis.ts';

const ADMIN = 'U0001';
const PERSON = 'U0002';
const REFUNDS = `# Refunds

Refunds are paid within five working days after finance approves them.

# Travel

Book trains through the travel portal; flights need a manager's approval.`;
const LUNCH = 'The canteen serves pasta on Mondays and curry on Thursdays.';

let s3v: FakeS3Vectors;
beforeAll(async () => {
  s3v = await FakeS3Vectors.start({ buckets: ['knowledge'] });
});
afterAll(async () => {
  await s3v.stop();
});

let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.reverse()) await h.stop();
  harnesses = [];
  delete process.env.AWS_ENDPOINT_URL_S3VECTORS;
});

type IndexKind = 'embedded' | 's3vectors';

async function start(
  index: IndexKind,
  env: Record<string, string> = {},
  shared: Partial<Harness> = {},
): Promise<Harness> {
  process.env.AWS_ENDPOINT_URL_S3VECTORS = s3v.url;
  const h = await startHarness({
    env: {
      KNOWLEDGE_INDEX: index,
      ...(index === 's3vectors' ? { KNOWLEDGE_S3VECTORS_BUCKET: 'knowledge' } : {}),
      SETTINGS_ADMIN_USER_IDS: ADMIN,
      ...env,
    },
    ...(shared.slack ? { slack: shared.slack } : {}),
    ...(shared.bedrock ? { bedrock: shared.bedrock } : {}),
  });
  if (!shared.slack) {
    h.slack.addChannel({ id: 'C0003', name: 'support', isMember: true });
    h.slack.addChannel({ id: 'D0002', name: '', user: PERSON });
  }
  modelSearchesKnowledge(h);
  harnesses.push(h);
  return h;
}

/** A model with tool use that looks in the channel's knowledge and answers from what it found. */
function modelSearchesKnowledge(h: Harness): void {
  h.bedrock.setHandler((request) => {
    const last = request.body.messages?.at(-1);
    const results = (last?.content ?? []).flatMap((block) => (block.toolResult ? [block.toolResult] : []));
    if (results.length > 0) {
      const found = results.flatMap((r) => r.content ?? []).map((c) => c.text ?? '');
      return { text: `From what I found: ${found.join(' ').slice(0, 300)}` };
    }
    const tools = (request.body.toolConfig as { tools?: Array<{ toolSpec?: { name?: string } }> } | undefined)
      ?.tools;
    if (tools?.some((tool) => tool.toolSpec?.name === 'search_channel_knowledge'))
      return {
        text: 'Let me look.',
        toolUses: [{ name: 'search_channel_knowledge', input: { query: questionOf(request) } }],
      };
    return { text: 'I have nothing to go on.' };
  });
}

function questionOf(request: RecordedModelRequest): string {
  const user = (request.body.messages ?? []).filter((m) => m.role === 'user').at(-1);
  return (user?.content ?? []).map((block) => block.text ?? '').join(' ');
}

/** What the knowledge search told the model in answer `n` (0-based), or null when it did not search. */
function searchResult(h: Harness, n: number): string | null {
  const withResults = h.bedrock.requests.filter((r) =>
    (r.body.messages?.at(-1)?.content ?? []).some((block) => block.toolResult),
  );
  const request = withResults[n];
  if (!request) return null;
  return (request.body.messages?.at(-1)?.content ?? [])
    .flatMap((block) => block.toolResult?.content ?? [])
    .map((c) => c.text ?? '')
    .join('\n');
}

/** The admin turns learning on for `channel` in the Home tab's settings modal. */
async function learnIn(
  h: Harness,
  channel: string,
  what: { files?: boolean; answers?: boolean },
  from: DeliveryOptions = {},
) {
  await h.slack.openAppHome(ADMIN, from);
  await h.slack.waitFor(() => h.slack.homeViewOf(ADMIN));
  await h.slack.act(ADMIN, 'home', { actionId: 'settings_channel', selectedConversation: channel }, from);
  await h.slack.waitFor(() => h.slack.homeViewOf(ADMIN)?.private_metadata.includes(channel));
  await h.slack.act(ADMIN, 'home', { actionId: 'settings_edit' }, from);
  await h.slack.waitFor(() => h.slack.modalOf(ADMIN));
  const saved = await h.slack.submitModal(
    ADMIN,
    { learnFromFiles: what.files ? 'on' : 'off', learnFromAnswers: what.answers ? 'on' : 'off' },
    from,
  );
  expect(saved.status).toBe(200);
}

const logged = (h: Harness, msg: string, source: string) =>
  h.logs.filter((line) => line.msg === msg && line.source === source).length;

async function shareAndLearn(
  h: Harness,
  input: {
    channel: string;
    user: string;
    name: string;
    content: string | Buffer;
    mimetype?: string;
    teamId?: string;
  },
): Promise<FakeFile> {
  const file = await shareFile(h.slack, {
    channel: input.channel,
    user: input.user,
    name: input.name,
    mimetype: input.mimetype ?? 'text/markdown',
    content: typeof input.content === 'string' ? Buffer.from(input.content) : input.content,
    text: input.channel.startsWith('D') ? null : 'here you go',
    ...(input.teamId ? { teamId: input.teamId } : {}),
  });
  await h.slack.waitFor(() => logged(h, 'channel knowledge learned', `file:${file.id}`) > 0);
  return file;
}

async function ask(
  h: Harness,
  channel: string,
  user: string,
  text: string,
  answers: number,
  from: DeliveryOptions = {},
) {
  const sent = await h.slack.postUserMessage(
    { channel, user, text: channel.startsWith('D') ? text : `<@UBOT> ${text}` },
    from,
  );
  await waitForAnswers(h, answers);
  return { ts: sent.ts, text: threadText(h, channel, sent.ts) };
}

/** `/ask <text>` from `user` in `channel`; resolves with the private reply. */
async function command(h: Harness, user: string, channel: string, text: string): Promise<string> {
  const before = h.slack.responseUrlPosts.length;
  await h.slack.sendCommand({ user, channel, text });
  const post = await h.slack.waitFor(() => h.slack.responseUrlPosts[before]);
  return JSON.stringify(post);
}

const permalinkOf = (file: FakeFile) => `https://fake.slack/files/${file.user}/${file.id}/${file.name}`;

describe.each(['embedded', 's3vectors'] as const)('channel knowledge (%s index)', (index) => {
  it('learns a file shared in a learning channel and answers from it, citing the file', async () => {
    const h = await start(index);
    await learnIn(h, 'C0001', { files: true });
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });
    await shareAndLearn(h, { channel: 'C0001', user: PERSON, name: 'lunch.md', content: LUNCH });

    const answer = await ask(h, 'C0001', PERSON, 'how many days until refunds are paid?', 1);

    expect(searchResult(h, 0)).toContain('Refunds are paid within five working days');
    expect(answer.text).toContain('five working days');
    expect(answer.text).toContain(permalinkOf(refunds));
    expect(h.bedrock.embeddings.requests.length).toBeGreaterThanOrEqual(3);
    for (const request of h.bedrock.embeddings.requests)
      expect(request.body).toMatchObject({ dimensions: 512, normalize: true });
  });

  it('keeps a channel’s knowledge in that channel, and a DM’s for its person', async () => {
    const h = await start(index);
    await learnIn(h, 'C0001', { files: true });
    await learnIn(h, 'C0003', { files: true });
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });
    await command(h, ADMIN, 'D0001', 'learn on');
    const salary = await shareAndLearn(h, {
      channel: 'D0001',
      user: ADMIN,
      name: 'my-salary.md',
      content: 'My salary review is in March; refunds of my travel are paid monthly.',
    });

    const otherChannel = await ask(h, 'C0003', PERSON, 'how many days until refunds are paid?', 1);
    const otherPersonsDm = await ask(h, 'D0002', PERSON, 'when is the salary review?', 2);
    const ownDm = await ask(h, 'D0001', ADMIN, 'when is my salary review?', 3);

    expect(searchResult(h, 0)).toContain('Nothing found.');
    expect(otherChannel.text).not.toContain(permalinkOf(refunds));
    // Another person's DM does not learn, so the tool is not even offered there.
    expect(otherPersonsDm.text).not.toContain('salary review is in March');
    expect(otherPersonsDm.text).not.toContain(permalinkOf(salary));
    expect(searchResult(h, 1)).toContain('salary review is in March');
    expect(ownDm.text).toContain(permalinkOf(salary));
  });

  it('forgets a deleted file and an unshared one: the next question does not cite them', async () => {
    const h = await start(index);
    await learnIn(h, 'C0001', { files: true });
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });
    const travel = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'travel.md',
      content: 'Trains are booked through the travel portal.',
    });
    const before = await ask(h, 'C0001', PERSON, 'how are refunds paid and trains booked?', 1);

    await deleteFile(h.slack, refunds);
    await unshareFile(h.slack, travel, 'C0001');
    await h.slack.waitFor(() => logged(h, 'channel knowledge forgot a source', `file:${travel.id}`) > 0);
    await h.slack.waitFor(() => logged(h, 'channel knowledge forgot a source', `file:${refunds.id}`) > 0);
    const after = await ask(h, 'C0001', PERSON, 'how are refunds paid and trains booked?', 2);

    expect(before.text).toContain(permalinkOf(refunds));
    expect(before.text).toContain(permalinkOf(travel));
    expect(searchResult(h, 1)).toContain('Nothing found.');
    expect(after.text).not.toContain(permalinkOf(refunds));
    expect(after.text).not.toContain(permalinkOf(travel));
    if (index === 's3vectors')
      expect(
        s3v.vectorsIn('knowledge', 'slack-t0001').filter((v) => String(v.key).includes(refunds.id)),
      ).toEqual([]);
  });

  it('forgets a whole workspace (what an uninstall calls): nothing learned there is cited again', async () => {
    const h = await start(index);
    await learnIn(h, 'C0001', { files: true });
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });

    await h.bot.knowledge?.forgetWorkspace(h.slack.teamId);
    const answer = await ask(h, 'C0001', PERSON, 'how many days until refunds are paid?', 1);

    expect(searchResult(h, 0)).toContain('Nothing found.');
    expect(answer.text).not.toContain(permalinkOf(refunds));
    if (index === 's3vectors')
      expect(s3v.vectorsIn('knowledge', 'slack-t0001').filter((v) => v.key.includes(refunds.id))).toEqual([]);
  });

  it('shows "Answered before" with the first thread’s link when a question is asked again', async () => {
    const h = await start(index);
    await learnIn(h, 'C0001', { answers: true });
    const first = await ask(h, 'C0001', PERSON, 'what is the wifi password for guests?', 1);
    await h.slack.waitFor(() => logged(h, 'channel knowledge learned', `thread:${first.ts}`) > 0);

    const again = await ask(h, 'C0001', ADMIN, 'What is the wifi password for guests?', 2);

    expect(first.text).not.toContain('Answered before');
    expect(again.text).toContain('Answered before');
    expect(again.text).toContain(`https://fake.slack/archives/C0001/p${first.ts.replace('.', '')}`);
  });
});

describe('channel knowledge on the embedded index', () => {
  it('is shared by two replicas on one Redis: a file learned through one is found by the other', async () => {
    const redis = testRedisEnv('knowledge');
    const a = await start('embedded', redis);
    const b = await start('embedded', redis, { slack: a.slack, bedrock: a.bedrock });
    a.slack.setBotEndpoint(`${a.botUrl}/slack/events`);
    await learnIn(a, 'C0001', { files: true });
    const refunds = await shareAndLearn(a, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });

    a.slack.setBotEndpoint(`${b.botUrl}/slack/events`);
    const sent = await b.slack.postUserMessage({
      channel: 'C0001',
      user: PERSON,
      text: '<@UBOT> when are refunds paid?',
    });
    await waitForAnswers(b, 1);

    expect(b.logs.some((line) => line.msg === 'channel knowledge learned')).toBe(false);
    expect(searchResult(b, 0)).toContain('five working days');
    expect(threadText(b, 'C0001', sent.ts)).toContain(permalinkOf(refunds));
  });

  it('quotes the closest passages to a model without tool use, and lists their file', async () => {
    const h = await start('embedded', { BEDROCK_MODEL_ID: 'mistral.mistral-7b-instruct-v0:2' });
    await learnIn(h, 'C0001', { files: true });
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });

    const answer = await ask(h, 'C0001', PERSON, 'how many days until refunds are paid?', 1);

    const sent = questionOf(h.bedrock.requests[0] as RecordedModelRequest);
    expect(h.bedrock.requests[0]?.body.toolConfig).toBeUndefined();
    expect(sent).toContain('quoted data');
    expect(sent).toContain('Refunds are paid within five working days');
    expect(answer.text).toContain(permalinkOf(refunds));
  });

  it('lists what a channel learned in the Home tab, and a forgotten file is never cited again', async () => {
    const h = await start('embedded');
    await learnIn(h, 'C0001', { files: true });
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });
    await h.slack.openAppHome(ADMIN);
    await h.slack.waitFor(() => JSON.stringify(h.slack.homeViewOf(ADMIN)?.blocks).includes('refunds.md'));

    await h.slack.act(ADMIN, 'home', { actionId: 'settings_forget', blockId: `source:file:${refunds.id}` });
    await h.slack.waitFor(() => logged(h, 'channel knowledge forgot a source', `file:${refunds.id}`) > 0);
    const answer = await ask(h, 'C0001', PERSON, 'how many days until refunds are paid?', 1);
    const again = await ask(h, 'C0001', PERSON, 'refunds five working days finance', 2);

    expect(searchResult(h, 0)).toContain('Nothing found.');
    expect(searchResult(h, 1)).toContain('Nothing found.');
    expect(answer.text + again.text).not.toContain(permalinkOf(refunds));
    expect(JSON.stringify(h.slack.homeViewOf(ADMIN)?.blocks)).not.toContain('refunds.md');
  });

  it('forgets what a channel learned from files when an admin switches that learning off', async () => {
    const h = await start('embedded');
    await learnIn(h, 'C0001', { files: true });
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
    });

    await learnIn(h, 'C0001', { files: false });
    await h.slack.waitFor(() => logged(h, 'channel knowledge forgot a source', `file:${refunds.id}`) > 0);
    await learnIn(h, 'C0001', { files: true });
    await ask(h, 'C0001', PERSON, 'how many days until refunds are paid?', 1);

    expect(searchResult(h, 0)).toContain('Nothing found.');
  });

  it('forgets an answered thread when its answer is deleted: the same question is no longer "answered before"', async () => {
    const h = await start('embedded');
    await learnIn(h, 'C0001', { answers: true });
    const first = await ask(h, 'C0001', PERSON, 'what is the wifi password for guests?', 1);
    await h.slack.waitFor(() => logged(h, 'channel knowledge learned', `thread:${first.ts}`) > 0);
    const answer = h.slack.botReplies('C0001', first.ts).find((m) => !m.ephemeral);

    await h.slack.sendEvent({
      type: 'message',
      subtype: 'message_deleted',
      channel: 'C0001',
      hidden: true,
      deleted_ts: answer?.ts,
      ts: (Date.now() / 1000).toFixed(6),
      previous_message: {
        type: 'message',
        ts: answer?.ts,
        thread_ts: first.ts,
        bot_id: h.slack.botId,
        text: 'x',
      },
    });
    await h.slack.waitFor(() => logged(h, 'channel knowledge forgot a source', `thread:${first.ts}`) > 0);
    const again = await ask(h, 'C0001', ADMIN, 'What is the wifi password for guests?', 2);

    expect(again.text).not.toContain('Answered before');
  });

  it('clears a person’s DM knowledge on `/ask forget`', async () => {
    const h = await start('embedded');
    await command(h, ADMIN, 'D0001', 'learn on');
    const notes = await shareAndLearn(h, {
      channel: 'D0001',
      user: ADMIN,
      name: 'notes.md',
      content: 'The locker code is on the back of the badge.',
    });

    const reply = await command(h, ADMIN, 'D0001', 'forget');
    const answer = await ask(h, 'D0001', ADMIN, 'where is the locker code?', 1);

    expect(reply).toContain('I forgot what I learned from your files here (1 passages)');
    expect(searchResult(h, 0)).toContain('Nothing found.');
    expect(answer.text).not.toContain(permalinkOf(notes));
  });

  it('learns PDF, DOCX and HTML files through their parsers, and cites each', async () => {
    const h = await start('embedded');
    await learnIn(h, 'C0001', { files: true });
    const pdf = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'expenses.pdf',
      mimetype: 'application/pdf',
      content: minimalPdf(['Expenses are filed within thirty days.', 'Receipts go to finance.']),
    });
    const docx = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'laptops.docx',
      mimetype: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      content: minimalDocx(['Laptops are replaced every three years.']),
    });
    const html = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'oncall.html',
      mimetype: 'text/html',
      content:
        '<html><body><h1>On-call</h1><p>The pager rotates <b>weekly</b>.</p><script>alert(1)</script></body></html>',
    });

    const expenses = await ask(h, 'C0001', PERSON, 'when are expenses filed?', 1);
    const laptops = await ask(h, 'C0001', PERSON, 'how often are laptops replaced?', 2);
    const pager = await ask(h, 'C0001', PERSON, 'how often does the pager rotate?', 3);

    expect(searchResult(h, 0)).toContain('Expenses are filed within thirty days.');
    expect(expenses.text).toContain(permalinkOf(pdf));
    expect(searchResult(h, 1)).toContain('Laptops are replaced every three years.');
    expect(laptops.text).toContain(permalinkOf(docx));
    expect(searchResult(h, 2)).toContain('The pager rotates weekly.');
    expect(searchResult(h, 2)).not.toContain('alert(1)');
    expect(pager.text).toContain(permalinkOf(html));
  });

  it('tells the person when Slack sends its sign-in page instead of the file, and learns nothing', async () => {
    const h = await startHarness({
      env: { KNOWLEDGE_INDEX: 'embedded', SETTINGS_ADMIN_USER_IDS: ADMIN },
      slackOptions: { grantedScopes: ['chat:write', 'app_mentions:read', 'commands'] },
    });
    harnesses.push(h);
    await learnIn(h, 'C0001', { files: true });

    const file = await shareFile(h.slack, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      mimetype: 'text/markdown',
      content: Buffer.from(REFUNDS),
    });
    const told = await h.slack.waitFor(() =>
      h.slack.ephemerals.find((m) => m.ephemeral?.user === PERSON && m.text.includes('files:read')),
    );

    expect(told.text).toContain('sign-in page');
    expect(logged(h, 'channel knowledge learned', `file:${file.id}`)).toBe(0);
    expect(await h.bot.knowledge?.sources(h.slack.teamId, 'C0001')).toEqual([]);
  });

  it('refuses to learn beyond its bound, telling the person and naming S3 Vectors', async () => {
    const h = await start('embedded', { KNOWLEDGE_MAX_CHUNKS: '1' });
    await learnIn(h, 'C0001', { files: true });

    const file = await shareFile(h.slack, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      mimetype: 'text/markdown',
      content: Buffer.from(REFUNDS),
    });
    const told = await h.slack.waitFor(() =>
      h.slack.ephemerals.find((m) => m.ephemeral?.user === PERSON && m.text.includes('S3 Vectors')),
    );

    expect(told.text).toContain('KNOWLEDGE_INDEX=s3vectors');
    expect(logged(h, 'channel knowledge learned', `file:${file.id}`)).toBe(0);
  });
});

describe('channel knowledge with installation by OAuth', () => {
  /** A workspace's knowledge keys in Redis, but its version counters (kept so replicas reload). */
  async function knowledgeKeysOf(prefix: string, teamId: string): Promise<string[]> {
    const redis = new Redis(inject('redisUrl'));
    try {
      const keys = [
        ...(await redis.keys(`${prefix}{k:${teamId}:*`)),
        ...(await redis.keys(`${prefix}{kt:${teamId}}:*`)),
      ];
      return keys.filter((key) => !key.endsWith(':ver') && !key.endsWith(':count')).sort();
    } finally {
      redis.disconnect();
    }
  }

  it('forgets what a workspace learned when the app is uninstalled there, and keeps what another learned', async () => {
    const redis = testRedisEnv('knowledge-uninstall');
    const slack = await FakeSlack.start();
    onTestFinished(() => slack.stop());
    const h = await start('embedded', { ...redis, ...oauthEnv(slack) }, { slack });
    const [inT2, inT3] = [{ teamId: 'T0002' }, { teamId: 'T0003' }];
    for (const from of [inT2, inT3]) {
      await slack.installApp(`${h.botUrl}/slack/install`, from);
      await learnIn(h, 'C0001', { files: true }, from);
    }
    const refunds = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'refunds.md',
      content: REFUNDS,
      ...inT2,
    });
    const lunch = await shareAndLearn(h, {
      channel: 'C0001',
      user: PERSON,
      name: 'lunch.md',
      content: LUNCH,
      ...inT3,
    });
    const prefix = redis.REDIS_KEY_PREFIX;
    expect(await knowledgeKeysOf(prefix, 'T0002')).not.toEqual([]);
    const t3Before = await knowledgeKeysOf(prefix, 'T0003');

    await slack.uninstall(inT2);
    await slack.waitFor(() => h.logs.some((line) => String(line.msg).startsWith('app uninstalled')));
    // Installed again, and learning again: nothing of before comes back.
    await slack.installApp(`${h.botUrl}/slack/install`, inT2);
    await learnIn(h, 'C0001', { files: true }, inT2);
    const again = await ask(h, 'C0001', PERSON, 'how many days until refunds are paid?', 1, inT2);
    const other = await ask(h, 'C0001', PERSON, 'what does the canteen serve on Mondays?', 2, inT3);

    expect(await knowledgeKeysOf(prefix, 'T0002')).toEqual([]);
    expect(searchResult(h, 0)).toContain('Nothing found.');
    expect(again.text).not.toContain(permalinkOf(refunds));
    expect(await knowledgeKeysOf(prefix, 'T0003')).toEqual(t3Before);
    expect(searchResult(h, 1)).toContain('pasta on Mondays');
    expect(other.text).toContain(permalinkOf(lunch));
  });
});
