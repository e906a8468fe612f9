/**
 * Starts the real bot in-process (the same `startBot` as `npm start`) against the Slack and Bedrock
 * stand-ins, with its JSON log lines captured. Each test gets its own stand-ins and bot.
 */
import { type BotOptions, type RunningBot, startBot } from '../../src/bot.ts';
import { loadConfig } from '../../src/config.ts';
import { FakeBedrockAgentRuntime } from '../stand-ins/fake-bedrock-agent-runtime.ts';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack, type FakeSlackOptions } from '../stand-ins/fake-slack.ts';
import { capturedLogger } from './captured-logger.ts';

export interface Harness {
  slack: FakeSlack;
  bedrock: FakeBedrockRuntime;
  /** The Knowledge Base stand-in (used when BEDROCK_KNOWLEDGE_BASE_ID is set). */
  agent: FakeBedrockAgentRuntime;
  bot: RunningBot;
  botUrl: string;
  logs: Array<Record<string, unknown>>;
  rawLogs: () => string;
  stop: () => Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Stand-ins to reuse (several bots on one fake workspace). */
  slack?: FakeSlack;
  /** How the harness's own Slack stand-in behaves (when `slack` is not given). */
  slackOptions?: FakeSlackOptions;
  bedrock?: FakeBedrockRuntime;
  agent?: FakeBedrockAgentRuntime;
  botOptions?: Partial<BotOptions>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const slack = options.slack ?? (await FakeSlack.start(options.slackOptions));
  const bedrock = options.bedrock ?? (await FakeBedrockRuntime.start());
  const agent = options.agent ?? (await FakeBedrockAgentRuntime.start());

  const env = {
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: 'test-signing-secret',
    SLACK_API_URL: slack.apiUrl,
    AWS_REGION: 'us-east-1',
    PORT: '0',
    STREAM_FLUSH_INTERVAL_MS: '100',
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const config = loadConfig(env);
  const { logger, lines } = capturedLogger(config.log.level);
  const previous = {
    endpoint: process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
    agentEndpoint: process.env.AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME,
    account: process.env.AWS_ACCOUNT_ID,
    key: process.env.AWS_ACCESS_KEY_ID,
    secret: process.env.AWS_SECRET_ACCESS_KEY,
  };
  // The SDK finds the stand-in the way it finds any endpoint override: its standard variables.
  process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = bedrock.url;
  process.env.AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME = agent.url;
  process.env.AWS_ACCOUNT_ID = '123456789012';
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'test-aws-secret';
  const bot = await startBot(config, { logger, defaultMetrics: false, ...options.botOptions });
  const botUrl = `http://127.0.0.1:${bot.port}`;
  slack.setBotEndpoint(`${botUrl}/slack/events`);
  return {
    slack,
    bedrock,
    agent,
    bot,
    botUrl,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLogs: () => lines.join('\n'),
    async stop() {
      await bot.shutdown(2_000);
      if (!options.slack) await slack.stop();
      if (!options.bedrock) await bedrock.stop();
      if (!options.agent) await agent.stop();
      restore('AWS_ENDPOINT_URL_BEDROCK_RUNTIME', previous.endpoint);
      restore('AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME', previous.agentEndpoint);
      restore('AWS_ACCOUNT_ID', previous.account);
      restore('AWS_ACCESS_KEY_ID', previous.key);
      restore('AWS_SECRET_ACCESS_KEY', previous.secret);
    },
  };
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
