/**
 * Child process: the naive baseline, the same flow written plainly, as a first version of such a
 * bot usually is: a Bolt app that answers `app_mention` by posting a placeholder, calling
 * ConverseStream, and doing one `chat.update` with the whole text so far for every model chunk (no
 * coalescing), with the Slack web client's default 429 handling (pause and retry) and the thread's
 * history in a Map. Same Bolt, same AWS SDK, same stand-ins, same probe as the bot.
 *
 * Environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, AWS_REGION, BEDROCK_MODEL_ID,
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME (+ credentials), PORT.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient, ConverseStreamCommand, type Message } from '@aws-sdk/client-bedrock-runtime';
import { App, LogLevel } from '@slack/bolt';
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

app.event('app_mention', async ({ event, client }) => {
  const threadTs = event.thread_ts ?? event.ts;
  const key = `${event.channel}:${threadTs}`;
  const question = event.text.replace(/<@[A-Z0-9]+>/g, '').trim();
  const posted = await client.chat.postMessage({
    channel: event.channel,
    thread_ts: threadTs,
    text: '_Thinking…_',
  });
  const ts = posted.ts as string;
  const messages: Message[] = [...(history.get(key) ?? []), { role: 'user', content: [{ text: question }] }];
  const response = await bedrock.send(
    new ConverseStreamCommand({
      modelId,
      messages,
      system: [{ text: 'You are a helpful assistant.' }],
      inferenceConfig: { maxTokens: 2048 },
    }),
  );
  let answer = '';
  for await (const item of response.stream ?? []) {
    const text = item.contentBlockDelta?.delta?.text;
    if (!text) continue;
    answer += text;
    await client.chat.update({ channel: event.channel, ts, text: answer });
  }
  history.set(key, [...messages, { role: 'assistant', content: [{ text: answer }] }]);
});

const server = (await app.start(Number(env.PORT ?? 0))) as unknown as Server;
const probe = installProbe({
  extra: { reset: () => receipts.reset(), read: () => ({ receipts: receipts.read() }) },
  shutdown: () => app.stop().then(() => undefined),
});
probe.ready({ port: (server.address() as AddressInfo).port });
