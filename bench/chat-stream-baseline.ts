/**
 * Child process: the second baseline, Slack's own way to stream an answer: a Bolt app that answers
 * `app_mention` (and direct messages) by calling ConverseStream and handing each model chunk to
 * the web client's `client.chatStream()` helper (ChatStreamer: it buffers 256 characters, then
 * `chat.startStream`, `chat.appendStream` per buffer, `chat.stopStream` at the end), with the web
 * client's default 429 handling (pause and retry). Same Bolt, same AWS SDK, same stand-ins, same
 * probe as the bot.
 *
 * Environment: as the naive baseline (see naive-baseline.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient, ConverseStreamCommand, type Message } from '@aws-sdk/client-bedrock-runtime';
import { App, LogLevel } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { recordBoltReceipts } from './instrument.ts';
import { installProbe } from './probe.ts';

const receipts = recordBoltReceipts();

const env = process.env;
const modelId = env.BEDROCK_MODEL_ID ?? 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const bedrock = new BedrockRuntimeClient({ region: env.AWS_REGION ?? 'us-east-1' });
const app = new App({
  token: env.SLACK_BOT_TOKEN,
  signingSecret: env.SLACK_SIGNING_SECRET ?? '',
  logLevel: LogLevel.ERROR,
  ...(env.SLACK_API_URL ? { clientOptions: { slackApiUrl: env.SLACK_API_URL } } : {}),
});
const history = new Map<string, Message[]>();

interface Asked {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  user: string;
  team?: string;
}

async function answer(event: Asked, client: WebClient): Promise<void> {
  const threadTs = event.thread_ts ?? event.ts;
  const key = `${event.channel}:${threadTs}`;
  const question = event.text.replace(/<@[A-Z0-9]+>/g, '').trim();
  const streamer = client.chatStream({
    channel: event.channel,
    thread_ts: threadTs,
    recipient_user_id: event.user,
    recipient_team_id: event.team ?? '',
  });
  const messages: Message[] = [...(history.get(key) ?? []), { role: 'user', content: [{ text: question }] }];
  const response = await bedrock.send(
    new ConverseStreamCommand({
      modelId,
      messages,
      system: [{ text: 'You are a helpful assistant.' }],
      inferenceConfig: { maxTokens: 2048 },
    }),
  );
  let text = '';
  for await (const item of response.stream ?? []) {
    const delta = item.contentBlockDelta?.delta?.text;
    if (!delta) continue;
    text += delta;
    await streamer.append({ markdown_text: delta });
  }
  await streamer.stop();
  history.set(key, [...messages, { role: 'assistant', content: [{ text }] }]);
}

app.event('app_mention', async ({ event, client }) => {
  await answer(event as unknown as Asked, client);
});
app.event('message', async ({ event, client }) => {
  const message = event as unknown as Asked & { channel_type?: string; subtype?: string; bot_id?: string };
  if (message.channel_type !== 'im' || message.subtype || message.bot_id) return;
  await answer(message, client);
});

const server = (await app.start(Number(env.PORT ?? 0))) as unknown as Server;
const probe = installProbe({
  extra: { reset: () => receipts.reset(), read: () => ({ receipts: receipts.read() }) },
  shutdown: () => app.stop().then(() => undefined),
});
probe.ready({ port: (server.address() as AddressInfo).port });
