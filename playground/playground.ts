/**
 * The local playground: the real bot (`startBot`, the same composition root and code path as
 * `npm start`, in HTTP mode) against the Slack stand-in, which also serves a Slack-like page, and
 * either the demo model on the Bedrock stand-ins or real Amazon Bedrock. `start.ts` is its command
 * line; the browser test starts it in-process.
 *
 * @example
 * const playground = await startPlayground({ port: 0, demo: { firstTokenDelayMs: 100 } });
 * console.log(playground.url); // http://127.0.0.1:<port>/
 * await playground.stop();
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { type RunningBot, startBot } from '../src/bot.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import {
  DEMO_KNOWLEDGE_BASE_ID,
  DEMO_MODEL_ID,
  DemoModel,
  type DemoModelOptions,
  demoAnswer,
  demoDocuments,
  SLOW_FIRST_TOKEN_MS,
} from '../test/stand-ins/demo-model.ts';
import {
  FakeBedrockAgentRuntime,
  type RecordedAgentRequest,
} from '../test/stand-ins/fake-bedrock-agent-runtime.ts';
import { FakeBedrockRuntime, type RecordedModelRequest } from '../test/stand-ins/fake-bedrock-runtime.ts';
import { FakeMcpServer } from '../test/stand-ins/fake-mcp-server.ts';
import { FakeSlack } from '../test/stand-ins/fake-slack.ts';
import { estimateTokens } from '../test/stand-ins/http2-json-server.ts';
import {
  type PageModelRequest,
  type PageSwitch,
  PlaygroundPage,
} from '../test/stand-ins/slack/page/playground-page.ts';

export const DEFAULT_PLAYGROUND_PORT = 3100;

export interface PlaygroundOptions {
  /** Port of the page (the Slack stand-in); 0 picks a free one. The bot and Bedrock stand-ins use free ports. */
  port?: number;
  /** `demo` (default): the demo model on the Bedrock stand-ins. `bedrock`: real Amazon Bedrock. */
  model?: 'demo' | 'bedrock';
  /**
   * Answer from a Knowledge Base: the demo one, or with `bedrock` the one in BEDROCK_KNOWLEDGE_BASE_ID
   * (with `bedrock`, a set BEDROCK_KNOWLEDGE_BASE_ID is used either way).
   */
  knowledgeBase?: boolean;
  /** Pace of the demo model. */
  demo?: DemoModelOptions;
  /**
   * The bot's environment: tuning variables (STREAM_FLUSH_INTERVAL_MS, SYSTEM_PROMPT, …), REDIS_URL,
   * and with `bedrock` AWS_REGION, BEDROCK_MODEL_ID, BEDROCK_KNOWLEDGE_BASE_ID. Slack variables are
   * always the stand-in's. Default: process.env. AWS credentials are not read from here: the SDK
   * takes them from its usual sources (the process environment, shared config, roles).
   */
  env?: NodeJS.ProcessEnv;
  /** Also write the bot's JSON log lines here (they always reach the page's "Bot log"). */
  logDestination?: NodeJS.WritableStream;
}

export interface RunningPlayground {
  /** The page: `http://127.0.0.1:<port>/`. */
  url: string;
  mode: 'demo' | 'bedrock';
  knowledgeBaseId: string | null;
  slack: FakeSlack;
  /** The Bedrock stand-ins and the demo model; null with real Bedrock. */
  bedrock: FakeBedrockRuntime | null;
  agent: FakeBedrockAgentRuntime | null;
  demo: DemoModel | null;
  bot: RunningBot;
  /** Stops the bot (answers in flight get two seconds), the stand-ins and the page. */
  stop(): Promise<void>;
}

/** A problem that stops the playground from starting, worded for the person who started it. */
export class PlaygroundError extends Error {
  override readonly name = 'PlaygroundError';
}

/** AWS variables that would take the SDK past the stand-ins (or confuse it) in demo mode. */
const AWS_VARIABLES_SET_ASIDE = [
  'AWS_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_ENDPOINT_URL',
];

export async function startPlayground(options: PlaygroundOptions = {}): Promise<RunningPlayground> {
  const mode = options.model ?? 'demo';
  const env = options.env ?? process.env;
  const port = options.port ?? DEFAULT_PLAYGROUND_PORT;
  if (mode === 'bedrock') await checkBedrockSetUp(env, options.knowledgeBase ?? false);

  const slack = await startSlack(port);
  const cleanups: Array<() => Promise<void> | void> = [() => slack.stop()];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    let demo: DemoModel | null = null;
    let bedrock: FakeBedrockRuntime | null = null;
    let agent: FakeBedrockAgentRuntime | null = null;
    const botEnv: NodeJS.ProcessEnv = {
      ...env,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: slack.signingSecret,
      SLACK_APP_TOKEN: '',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      // One person trying questions in quick succession: give streams a roomier budget than a busy
      // workspace's Tier 2 (set SLACK_WRITE_BUDGET_SCALE=1 to see the real tiers' fallbacks).
      SLACK_WRITE_BUDGET_SCALE: env.SLACK_WRITE_BUDGET_SCALE ?? '10',
    };
    if (mode === 'demo') {
      demo = new DemoModel(options.demo);
      bedrock = await FakeBedrockRuntime.start();
      cleanups.push(() => bedrock?.stop());
      bedrock.setHandler(demo.converse);
      if (options.knowledgeBase) {
        agent = await FakeBedrockAgentRuntime.start({ knowledgeBaseIds: [DEMO_KNOWLEDGE_BASE_ID] });
        cleanups.push(() => agent?.stop());
        agent.setHandler(demo.knowledgeBase);
      }
      // Demo tools: the MCP stand-in's shop ("status of order 1234" reads, "open a ticket" needs approval).
      const mcp = await FakeMcpServer.start();
      cleanups.push(() => mcp.stop());
      const toolsDir = await mkdtemp(join(tmpdir(), 'playground-mcp-'));
      cleanups.push(() => rm(toolsDir, { recursive: true, force: true }));
      const mcpConfig = join(toolsDir, 'mcp.yaml');
      await writeFile(
        mcpConfig,
        `servers:\n  - name: shop\n    url: ${mcp.url}\n    tools: [order_status, open_ticket]\n    approval: [open_ticket]\n`,
      );
      Object.assign(botEnv, {
        MCP_CONFIG: env.MCP_CONFIG ?? mcpConfig,
        AWS_REGION: 'us-east-1',
        BEDROCK_MODEL_ID: DEMO_MODEL_ID,
        // The demo model reads what Claude reads, and says what it received.
        BEDROCK_MODEL_INPUTS: 'image,document',
        BEDROCK_MODEL_ARN: '',
        BEDROCK_KNOWLEDGE_BASE_ID: options.knowledgeBase ? DEMO_KNOWLEDGE_BASE_ID : '',
        // Channel knowledge: #general learns from the files shared there and from its answered threads.
        KNOWLEDGE_INDEX: env.KNOWLEDGE_INDEX ?? 'embedded',
        // The demo company's own intranet and AWS console, as a deployment lists its own: their sources keep their titles.
        TRUSTED_LINK_HOSTS: env.TRUSTED_LINK_HOSTS ?? 'acme-demo.example,console.aws.amazon.com',
      });
      // The SDK finds the stand-ins the way it finds any endpoint override: its standard variables.
      cleanups.push(
        overrideProcessEnv({
          AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
          AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME: agent?.url,
          AWS_ACCESS_KEY_ID: 'AKIDPLAYGROUND',
          AWS_SECRET_ACCESS_KEY: 'playground-not-a-secret',
          ...Object.fromEntries(AWS_VARIABLES_SET_ASIDE.map((name) => [name, undefined])),
        }),
      );
    }

    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(botEnv);
    } catch (error) {
      if (error instanceof ConfigError) throw new PlaygroundError(error.message);
      throw error;
    }

    const page = new PlaygroundPage(slack, {
      ...labels(mode, config, demo),
      switches: switches(slack, demo),
    });
    const logLines = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n')) {
          if (!line.trim()) continue;
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue; // Not JSON: nothing for the panel.
          }
          page.recordLog(parsed);
          // Real Bedrock has no stand-in to watch: the bot's per-answer line fills the Model panel.
          if (mode === 'bedrock' && parsed.msg === 'answer')
            page.recordModelRequest(answerView(parsed, config));
        }
        options.logDestination?.write(chunk);
        callback();
      },
    });
    const logger = createLogger({ level: config.log.level, destination: logLines });
    const bot = await startBot(config, { logger, defaultMetrics: false });
    cleanups.push(() => bot.shutdown(2_000).then(() => undefined));
    slack.setBotEndpoint(`http://127.0.0.1:${bot.port}/slack/events`);
    if (config.knowledge)
      await bot.store.updateChannelSettings(
        slack.teamId,
        'C0001',
        { learnFromFiles: true, learnFromAnswers: true },
        { by: 'playground', atMs: Date.now() },
      );
    page.attach();
    cleanups.push(() => page.detach());
    if (bedrock || agent) cleanups.push(followModelRequests(page, bedrock, agent));

    let stopped: Promise<void> | null = null;
    return {
      url: `${slack.baseUrl}/`,
      mode,
      knowledgeBaseId: config.bedrock.knowledgeBaseId,
      slack,
      bedrock,
      agent,
      demo,
      bot,
      stop: () => {
        stopped ??= cleanUp();
        return stopped;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

async function startSlack(port: number): Promise<FakeSlack> {
  try {
    return await FakeSlack.start({ port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PlaygroundError(
        `Port ${port} is already in use. Choose another with PLAYGROUND_PORT=<port> (or --port <port>).`,
      );
    }
    throw error;
  }
}

/** Real Bedrock: the region, the Knowledge Base when asked for, and credentials, checked up front. */
async function checkBedrockSetUp(env: NodeJS.ProcessEnv, knowledgeBase: boolean): Promise<void> {
  const region = env.AWS_REGION;
  if (!region) {
    throw new PlaygroundError(
      '--bedrock needs AWS_REGION (for example AWS_REGION=us-east-1), and optionally BEDROCK_MODEL_ID.',
    );
  }
  if (knowledgeBase && !env.BEDROCK_KNOWLEDGE_BASE_ID) {
    throw new PlaygroundError(
      '--kb with --bedrock needs BEDROCK_KNOWLEDGE_BASE_ID: the id of your Knowledge Base.',
    );
  }
  const client = new BedrockRuntimeClient({ region });
  try {
    await client.config.credentials();
  } catch (error) {
    throw new PlaygroundError(
      [
        `--bedrock found no AWS credentials (${(error as Error).message.split('\n')[0]}).`,
        'The AWS SDK looks in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), the shared',
        'config for AWS_PROFILE (run `aws sso login` when it uses SSO), and container or instance roles.',
        'Without --bedrock the playground uses its demo model and needs no AWS account.',
      ].join('\n'),
    );
  } finally {
    client.destroy();
  }
}

/** Sets (or, for undefined, removes) process environment variables; returns the undo. */
function overrideProcessEnv(values: Record<string, string | undefined>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  return () => apply(previous);
}

function labels(mode: 'demo' | 'bedrock', config: ReturnType<typeof loadConfig>, demo: DemoModel | null) {
  const { bedrock } = config;
  const storeLabel = config.redis ? 'store: Redis' : 'store: in-process (memory)';
  if (mode === 'demo' && demo) {
    return {
      modelLabel: 'Demo model: not a real LLM',
      modelIsDemo: true,
      modelDetail: `A built-in stand-in for Bedrock: first token after ${demo.firstTokenDelayMs} ms, then ${demo.tokensPerSecond} tokens/s. Start with --bedrock for a real model.`,
      knowledgeBaseLabel: bedrock.knowledgeBaseId
        ? `Knowledge Base: demo, ${demoDocuments.length} documents (${bedrock.kbMode})`
        : 'Knowledge Base: off (--kb)',
      storeLabel,
    };
  }
  return {
    modelLabel: `Amazon Bedrock: ${bedrock.modelId} (${bedrock.region})`,
    knowledgeBaseLabel: bedrock.knowledgeBaseId
      ? `Knowledge Base: ${bedrock.knowledgeBaseId} (${bedrock.kbMode})`
      : 'Knowledge Base: off',
    storeLabel,
  };
}

function switches(slack: FakeSlack, demo: DemoModel | null): PageSwitch[] {
  const modelOnly = demo ? {} : { disabledReason: 'Demo model only: real Bedrock cannot be told to fail.' };
  const modelSwitch = (
    id: string,
    label: string,
    description: string,
    fault: keyof DemoModel['faults'],
  ): PageSwitch => ({
    id,
    label,
    description,
    ...modelOnly,
    set: (on) => {
      if (demo) demo.faults[fault] = on;
    },
  });
  return [
    modelSwitch(
      'model-throttle',
      'Throttle the model',
      'Every model request answers ThrottlingException.',
      'throttle',
    ),
    modelSwitch(
      'model-access-denied',
      'Deny model access',
      'Every model request answers AccessDeniedException.',
      'accessDenied',
    ),
    modelSwitch(
      'model-slow-first-token',
      'Slow first token',
      `The model waits ${SLOW_FIRST_TOKEN_MS / 1000} s before its first token.`,
      'slowFirstToken',
    ),
    modelSwitch(
      'model-fail-midway',
      'Fail the stream midway',
      'The answer stream breaks halfway.',
      'failMidway',
    ),
    {
      id: 'slack-append-429',
      label: 'Slack 429s on chat.appendStream',
      description: 'Slack allows one chat.appendStream every 2 s and answers 429 with Retry-After.',
      set: (on) => slack.setRateLimit('chat.appendStream', on ? 0.5 : null),
    },
    {
      id: 'slack-start-429',
      label: 'Slack 429s on chat.startStream',
      description: 'Every chat.startStream answers 429: the bot posts and edits instead.',
      set: (on) => {
        slack.clearFailures('chat.startStream');
        if (on) slack.failNext('chat.startStream', { status: 429, retryAfterS: 30 }, Number.MAX_SAFE_INTEGER);
      },
    },
    {
      id: 'slack-append-lost',
      label: 'Lose chat.appendStream responses',
      description:
        'Slack applies every chat.appendStream but the response never arrives: the bot stops the stream and rewrites the message whole with chat.update, so nothing shows twice.',
      set: (on) => {
        slack.clearFailures('chat.appendStream');
        if (on) slack.failNext('chat.appendStream', { appliedButLost: true }, Number.MAX_SAFE_INTEGER);
      },
    },
  ];
}

/**
 * Shows the stand-ins' requests in the side panel as they arrive and end: model id, messages,
 * tokens (estimated like the stand-in's usage: about four characters a token), outcome. Returns
 * the stop function.
 */
function followModelRequests(
  page: PlaygroundPage,
  bedrock: FakeBedrockRuntime | null,
  agent: FakeBedrockAgentRuntime | null,
): () => void {
  const seen = new Map<object, { id: string; state: string }>();
  let seq = 0;
  const report = (
    request: RecordedModelRequest | RecordedAgentRequest,
    view: () => Omit<PageModelRequest, 'id'>,
  ) => {
    const state = `${request.outcome ?? 'open'}:${request.firstTokenAtMs ?? ''}`;
    let entry = seen.get(request);
    if (entry?.state === state) return;
    if (entry) entry.state = state;
    else {
      entry = { id: String(++seq), state };
      seen.set(request, entry);
    }
    page.recordModelRequest({ id: entry.id, ...view() });
  };
  const timer = setInterval(() => {
    for (const request of bedrock?.requests ?? []) {
      report(request, () => {
        const ended = request.outcome !== undefined;
        return {
          atMs: request.atMs,
          operation: request.operation,
          modelId: request.modelId,
          messages: request.body.messages?.length ?? 0,
          ...(request.error ? { error: request.error } : {}),
          ...(request.outcome ? { outcome: request.outcome } : {}),
          ...(ended && !request.error
            ? {
                inputTokens: estimateTokens(requestText(request)),
                outputTokens: estimateTokens(demoAnswer(request.body)),
              }
            : {}),
          ...(request.firstTokenAtMs ? { firstTokenMs: request.firstTokenAtMs - request.atMs } : {}),
          ...(request.endedAtMs ? { durationMs: request.endedAtMs - request.atMs } : {}),
        };
      });
    }
    for (const request of agent?.requests ?? []) {
      report(request, () => ({
        atMs: request.atMs,
        operation: request.operation,
        modelId: `Knowledge Base ${request.knowledgeBaseId ?? '?'}`,
        messages: null,
        ...(request.error ? { error: request.error } : {}),
        ...(request.outcome ? { outcome: request.outcome } : {}),
        ...(request.firstTokenAtMs ? { firstTokenMs: request.firstTokenAtMs - request.atMs } : {}),
        ...(request.endedAtMs ? { durationMs: request.endedAtMs - request.atMs } : {}),
      }));
    }
  }, 150);
  timer.unref();
  return () => clearInterval(timer);
}

let answerSeq = 0;

/** One answer of the real model, from the bot's log line (no message count: the log has none). */
function answerView(line: Record<string, unknown>, config: ReturnType<typeof loadConfig>): PageModelRequest {
  const number = (key: string) => (typeof line[key] === 'number' ? (line[key] as number) : undefined);
  const durationMs = number('durationMs');
  const firstTokenMs = number('timeToFirstTokenMs');
  return {
    id: `answer-${++answerSeq}`,
    atMs: (number('time') ?? Date.now()) - (durationMs ?? 0),
    operation: config.bedrock.knowledgeBaseId ? 'Knowledge Base answer' : 'ConverseStream answer',
    modelId: config.bedrock.modelId,
    messages: null,
    inputTokens: number('inputTokens') ?? 0,
    outputTokens: number('outputTokens') ?? 0,
    outcome: String(line.outcome ?? 'answered'),
    ...(typeof line.errorCode === 'string' ? { error: `${line.errorCode} (ref ${String(line.ref)})` } : {}),
    ...(firstTokenMs === undefined ? {} : { firstTokenMs }),
    ...(durationMs === undefined ? {} : { durationMs }),
  };
}

function requestText(request: RecordedModelRequest): string {
  const system = (request.body.system ?? []).map((block) => ('text' in block ? (block.text ?? '') : ''));
  const turns = (request.body.messages ?? []).flatMap((message) =>
    (message.content ?? []).map((block) => block.text ?? ''),
  );
  return [...system, ...turns].join('\n');
}
