/**
 * Images and documents shared with a question go to Converse as image and document blocks, within
 * the model's limits (checked before the call), read from Slack with the bot token; what is left out
 * is said in one sentence. History keeps a reference to each file, and a follow-up reads it again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeSlack } from '../stand-ins/fake-slack.ts';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

/** The start of a real PNG, then filler: what matters is that the bytes arrive unchanged. */
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(200, 7)]);

type Block = {
  text?: string;
  image?: { format: string; source: { bytes: string } };
  document?: { format: string; name: string };
};
const contentOf = (request: number, message = -1): Block[] =>
  ((h.bedrock.requests[request]?.body.messages ?? []).at(message)?.content ?? []) as unknown as Block[];

async function mentionWith(files: ReturnType<FakeSlack['uploadFile']>[], text = '<@UBOT> what is in this?') {
  return h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text, files });
}

describe('files shared with a question', () => {
  it('send a PNG to Converse as an image block, and read it again for a follow-up', async () => {
    h = await startHarness();
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    const sent = await mentionWith([png]);
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: 'and the colours?',
      threadTs: sent.ts,
    });
    await waitForAnswers(h, 2);

    const [image, text] = contentOf(0);
    expect(image?.image?.format).toBe('png');
    expect(Buffer.from(image?.image?.source.bytes ?? '', 'base64').equals(PNG)).toBe(true);
    expect(text).toEqual({ text: 'what is in this?' });
    // The follow-up: the first turn carries the image again, read anew from Slack.
    expect(contentOf(1, 0)[0]?.image?.format).toBe('png');
    expect(contentOf(1).map((block) => Object.keys(block)[0])).toEqual(['text']);
    const stored = await h.bot.store.getThread(`T0001:C0001:${sent.ts}`);
    expect(stored?.turns[0]?.files).toEqual([expect.objectContaining({ id: png.id, name: 'chart.png' })]);
    expect(JSON.stringify(stored)).not.toContain(PNG.toString('base64').slice(0, 40));
  });

  it("of a thread's earlier messages go with the first question the bot is asked there", async () => {
    h = await startHarness();
    const png = h.slack.uploadFile({ name: 'error.png', mimetype: 'image/png', content: PNG, user: 'U0002' });
    const root = h.slack.addMessage({
      channel: 'C0001',
      user: 'U0002',
      text: 'the deploy shows this',
      files: [h.slack.files.json(png, h.slack.baseUrl)],
    });
    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> what does it mean?',
      threadTs: root,
    });
    await waitForAnswers(h, 1);

    const [image, text] = contentOf(0);
    expect(image?.image?.format).toBe('png');
    expect(text?.text).toContain('person "bob": the deploy shows this [shared: error.png]');
  });

  it('are shown being read in the Messages tab before the model is asked', async () => {
    h = await startHarness();
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    await h.slack.postUserMessage({ channel: 'D0001', user: 'U0001', text: 'what is this?', files: [png] });
    await waitForAnswers(h, 1);

    const statuses = h.slack.callsTo('assistant.threads.setStatus').map((call) => call.args);
    expect(statuses[0]).toMatchObject({
      status: 'is reading your files…',
      loading_messages: ['Reading the shared files…'],
    });
    expect(statuses[1]).toMatchObject({ status: 'is thinking…' });
  });

  it('leave out a 6 MB document with a clear sentence, and send the question without it', async () => {
    h = await startHarness();
    const big = h.slack.uploadFile({
      name: 'big.pdf',
      mimetype: 'application/pdf',
      content: Buffer.alloc(6_000_000, 1),
      user: 'U0001',
    });
    const sent = await mentionWith([big], '<@UBOT> summarize this');
    await waitForAnswers(h, 1);

    expect(contentOf(0)).toEqual([{ text: 'summarize this' }]);
    expect(threadText(h, 'C0001', sent.ts)).toContain(
      'I left out big.pdf (6 MB; a document can be at most 4.5 MB).',
    );
  });

  it('ask no model when the only file cannot be used, and say why', async () => {
    h = await startHarness();
    const big = h.slack.uploadFile({
      name: 'big.pdf',
      mimetype: 'application/pdf',
      content: Buffer.alloc(6_000_000),
      user: 'U0001',
    });
    await h.slack.postUserMessage({ channel: 'D0001', user: 'U0001', text: '', files: [big] });

    const reply = await h.slack.waitFor(() => h.slack.ephemerals.find((m) => m.ephemeral?.user === 'U0001'));

    expect(reply.text).toContain('I left out big.pdf (6 MB; a document can be at most 4.5 MB).');
    expect(h.bedrock.requests).toHaveLength(0);
  });

  it('notice when Slack sends its sign-in page instead of the file (no files:read)', async () => {
    h = await startHarness({ slackOptions: { grantedScopes: ['chat:write', 'app_mentions:read'] } });
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    const sent = await mentionWith([png]);
    await waitForAnswers(h, 1);

    expect(contentOf(0)).toEqual([{ text: 'what is in this?' }]);
    expect(threadText(h, 'C0001', sent.ts)).toContain(
      'I left out chart.png (Slack did not let me open it (the app needs the files:read permission)).',
    );
  });

  it('tell the person a model configured without image support does not read images', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_INPUTS: 'document' } });
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    const sent = await mentionWith([png]);
    await waitForAnswers(h, 1);

    expect(contentOf(0)).toEqual([{ text: 'what is in this?' }]);
    expect(threadText(h, 'C0001', sent.ts)).toContain(
      'I left out chart.png (this model does not read images).',
    );
  });

  it('say that a managed Knowledge Base answers from text only', async () => {
    h = await startHarness({ env: { BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678' } });
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    const sent = await mentionWith([png]);
    await waitForAnswers(h, 1);

    expect(threadText(h, 'C0001', sent.ts)).toContain(
      'I left out chart.png (the knowledge base answers from text only).',
    );
  });

  it('go with the question in retrieve mode, beside the passages', async () => {
    h = await startHarness({ env: { BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678', KB_MODE: 'retrieve' } });
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    await mentionWith([png]);
    await waitForAnswers(h, 1);

    expect(h.agent.requests.map((r) => r.operation)).toEqual(['Retrieve']);
    expect(contentOf(0)[0]?.image?.format).toBe('png');
  });
});

describe('what a model reads, from its capabilities', () => {
  const HAIKU_3_5 = 'anthropic.claude-3-5-haiku-20241022-v1:0';

  it('learns from a refused image: the file is left out with the sentence, and later images cost no refused call', async () => {
    // The table says Claude 3.5 Haiku reads images; Bedrock refuses them (no vision on Bedrock).
    h = await startHarness({ env: { BEDROCK_MODEL_ID: HAIKU_3_5 } });
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    const first = await mentionWith([png]);
    await waitForAnswers(h, 1);
    const again = h.slack.uploadFile({
      name: 'photo.png',
      mimetype: 'image/png',
      content: PNG,
      user: 'U0001',
    });
    const second = await mentionWith([again], '<@UBOT> and this one?');
    await waitForAnswers(h, 2);

    expect(h.bedrock.requests.map((request) => request.error)).toEqual([
      'ValidationException',
      undefined,
      undefined,
    ]);
    expect(contentOf(0)[0]?.image?.format).toBe('png');
    expect(contentOf(1)).toEqual([{ text: 'what is in this?' }]);
    expect(contentOf(2)).toEqual([{ text: 'and this one?' }]);
    expect(threadText(h, 'C0001', first.ts)).toContain(
      'I left out chart.png (this model does not read images).',
    );
    expect(threadText(h, 'C0001', second.ts)).toContain(
      'I left out photo.png (this model does not read images).',
    );
    const logged = h.logs.filter(
      (line) => line.msg === 'model refused a feature; sending it without from now on',
    );
    expect(logged).toMatchObject([{ model: HAIKU_3_5, feature: 'images' }]);
  });

  it("follow a channel's own model and Knowledge Base, not the configured model's", async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_CHOICES: 'amazon.titan-text-express-v1' } });
    h.slack.addChannel({ id: 'C0003', name: 'support', isMember: true });
    const change = { by: 'U0ADMIN', atMs: Date.now() };
    await h.bot.store.updateChannelSettings(
      'T0001',
      'C0001',
      { modelId: 'amazon.titan-text-express-v1' },
      change,
    );
    await h.bot.store.updateChannelSettings('T0001', 'C0003', { knowledgeBaseId: 'KB12345678' }, change);
    const png = h.slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: PNG, user: 'U0001' });
    const onTitan = await mentionWith([png]);
    await waitForAnswers(h, 1);
    const onKb = await h.slack.postUserMessage({
      channel: 'C0003',
      user: 'U0001',
      text: '<@UBOT> what is in this?',
      files: [png],
    });
    await waitForAnswers(h, 2);

    expect(h.bedrock.requests).toHaveLength(1);
    expect(h.bedrock.requests[0]?.modelId).toBe('amazon.titan-text-express-v1');
    expect(JSON.stringify(h.bedrock.requests[0]?.body.messages)).not.toContain('"image"');
    expect(threadText(h, 'C0001', onTitan.ts)).toContain(
      'I left out chart.png (this model does not read images).',
    );
    expect(threadText(h, 'C0003', onKb.ts)).toContain(
      'I left out chart.png (the knowledge base answers from text only).',
    );
  });
});
