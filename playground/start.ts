/**
 * `npm run playground`: the bot on this machine, in a Slack-like page. See `playground.ts`.
 *
 *   npm run playground                 demo model (no AWS account needed)
 *   npm run playground -- --kb         demo model answering from a demo Knowledge Base, with citations
 *   npm run playground -- --bedrock    real Amazon Bedrock (AWS_REGION, BEDROCK_MODEL_ID, BEDROCK_KNOWLEDGE_BASE_ID)
 *
 * A `.env` file is read when present. Ctrl-C stops everything.
 */
import { parseArgs } from 'node:util';
import { config as loadDotEnv } from 'dotenv';
import {
  DEFAULT_PLAYGROUND_PORT,
  PlaygroundError,
  type RunningPlayground,
  startPlayground,
} from './playground.ts';

const USAGE = `Usage: npm run playground [-- options]

  --kb                    answer from a Knowledge Base, with citations: the demo one, or with
                          --bedrock the one in BEDROCK_KNOWLEDGE_BASE_ID
  --bedrock               use real Amazon Bedrock (AWS credentials from the SDK's usual sources,
                          AWS_REGION, BEDROCK_MODEL_ID, BEDROCK_KNOWLEDGE_BASE_ID); Slack stays local
  --port <port>           the page's port (PLAYGROUND_PORT, default ${DEFAULT_PLAYGROUND_PORT}; 0 picks a free one)
  --first-token-ms <ms>   demo model: time to first token (PLAYGROUND_FIRST_TOKEN_MS, default 700)
  --tokens-per-second <n> demo model: pace (PLAYGROUND_TOKENS_PER_SECOND, default 30)
  --verbose               also print the bot's JSON log lines (they are always in the page's "Bot log")
  -h, --help              this help

The bot's own variables (STREAM_FLUSH_INTERVAL_MS, SYSTEM_PROMPT, THREAD_REPLY_POLICY, REDIS_URL, …)
work as with npm start; Slack's are always the local stand-in's.`;

function fail(message: string): never {
  process.stderr.write(`playground: ${message}\n`);
  process.exit(1);
}

function numberOption(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) fail(`${flag} must be a number ≥ ${min} (got "${raw}").`);
  return value;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  loadDotEnv({ quiet: true });
  const env = process.env;
  const port = numberOption('--port', values.port ?? env.PLAYGROUND_PORT, 0) ?? DEFAULT_PLAYGROUND_PORT;
  const firstTokenDelayMs = numberOption(
    '--first-token-ms',
    values['first-token-ms'] ?? env.PLAYGROUND_FIRST_TOKEN_MS,
    0,
  );
  const tokensPerSecond = numberOption(
    '--tokens-per-second',
    values['tokens-per-second'] ?? env.PLAYGROUND_TOKENS_PER_SECOND,
    0.1,
  );
  const bedrock = values.bedrock === true;
  if (bedrock) process.stdout.write('Checking AWS credentials…\n');

  let playground: RunningPlayground;
  try {
    playground = await startPlayground({
      port,
      model: bedrock ? 'bedrock' : 'demo',
      knowledgeBase: values.kb === true,
      demo: {
        ...(firstTokenDelayMs === undefined ? {} : { firstTokenDelayMs }),
        ...(tokensPerSecond === undefined ? {} : { tokensPerSecond }),
      },
      env,
      ...(values.verbose ? { logDestination: process.stdout } : {}),
    });
  } catch (error) {
    if (error instanceof PlaygroundError) fail(error.message);
    fail(`could not start: ${(error as Error).stack ?? String(error)}`);
  }

  const model = bedrock
    ? `Amazon Bedrock, ${env.BEDROCK_MODEL_ID ?? 'the default model'} in ${env.AWS_REGION}`
    : 'the built-in demo model (not a real LLM; --bedrock uses Amazon Bedrock)';
  const kb = playground.knowledgeBaseId
    ? `Knowledge Base ${playground.knowledgeBaseId}${bedrock ? '' : ' (demo documents)'}`
    : 'no Knowledge Base (--kb adds one)';
  process.stdout.write(
    [
      '',
      `  Playground: ${playground.url}`,
      '',
      `  Answers from ${model}; ${kb}.`,
      `  The bot runs in HTTP mode on port ${playground.bot.port}, ${env.REDIS_URL ? 'with Redis' : 'on the in-process store'}.`,
      '  Ctrl-C stops everything.',
      '',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write('playground: stopping at once.\n');
      process.exit(130);
    }
    stopping = true;
    process.stdout.write(`\nStopping (${signal})…\n`);
    playground.stop().then(
      () => process.exit(0),
      (error: unknown) => fail(`error while stopping: ${(error as Error).message}`),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function parse() {
  return parseArgs({
    options: {
      kb: { type: 'boolean' },
      bedrock: { type: 'boolean' },
      port: { type: 'string' },
      'first-token-ms': { type: 'string' },
      'tokens-per-second': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

void main();
