/**
 * Runs one scenario against the bot or the naive baseline and turns what the stand-ins recorded into
 * figures. Layout of one run:
 *
 *   this process: the Slack stand-in (events out, Web API in) and the measuring
 *   child: the bot (src/bot.ts via bench/bot-process.ts) or the naive baseline, with the probe
 *   child: the Bedrock Runtime stand-in (shared by every run)
 *   redis-server: a private one when the machine has redis-server, else REDIS_URL, else none
 *
 * Each run gets a fresh Slack stand-in and a fresh app process, warms it up (see DEFAULT_WARM_UP_ANSWERS),
 * then measures only the scenario's window.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { renderMarkdown } from '../src/slack/render/markdown-renderer.ts';
import { paginate } from '../src/slack/render/message-paginator.ts';
import { FakeSlack } from '../test/stand-ins/fake-slack.ts';
import { type AnswerSpec, answerChunks, answerText, questionText } from './answers.ts';
import type { ModelRequestTiming } from './bedrock-process.ts';
import {
  CHILD_FILES,
  type ChildHandle,
  closeWindow,
  modelTimings,
  openWindow,
  PRODUCTION_NODE_FLAGS,
  startChild,
} from './children.ts';
import type { RedisCommandCounts } from './instrument.ts';
import { type Distribution, distribution, round } from './metrics.ts';
import type { ProcessStats } from './probe.ts';
import type { QuestionPlan, ScenarioDef } from './scenarios.ts';
import { type MessageTrack, nowMs, SlackObserver } from './slack-observer.ts';

export type Target = 'bot' | 'naive' | 'chatStream';

/**
 * The warm-up asks in other workspaces, one per round, so that its answers spend none of the
 * scenario workspace's Slack budget, and no round waits for the bot's own (per-workspace) budget.
 */
const WARM_UP_TEAM = 'TWARMUP';

export interface RedisTarget {
  url: string;
  /** Our own server: it may be flushed between runs. */
  private: boolean;
  stop(): Promise<void>;
}

/**
 * Answers each app process serves before its window opens, in rounds of 20: V8 compiles hot code
 * only after many calls, and a replica in service has served far more than this. Measuring a
 * process on its first answers would measure the interpreter.
 */
export const DEFAULT_WARM_UP_ANSWERS = 100;

export interface BenchContext {
  bedrock: ChildHandle;
  warmUpAnswers: number;
  redis: RedisTarget | null;
  /** Extra environment for the bot (`--env KEY=VALUE`). */
  botEnv: Record<string, string>;
  /** Write a V8 CPU profile of every bot and baseline process into this directory. */
  profileDir?: string;
  log(line: string): void;
}

export interface AnswerFigures {
  id: string;
  /** The question's message ts and its thread's root ts in the Slack stand-in. */
  messageTs: string | null;
  threadTs: string | null;
  complete: boolean;
  ackMs: number[];
  sentAtMs: number;
  modelTtftMs: number | null;
  /** Event sent → model request arrived. */
  preModelMs: number | null;
  /** First text in Slack − event sent − the model's own time to first token. */
  overheadMs: number | null;
  /** Event sent → the app's Bolt got it (the Slack stand-in's delivery, HTTP, signature check). */
  deliveryMs: number | null;
  /** First text in Slack − the app got the event − the model's own time to first token. */
  appOverheadMs: number | null;
  /** Model's last token → final Slack write. */
  finalDelayMs: number | null;
  /** Event sent → final Slack write. */
  completionMs: number | null;
  /** The first text shown was a prefix of the final answer. */
  firstTextConsistent: boolean | null;
  /** Every message of the answer was a native stream. */
  native: boolean;
  /** Every message of the answer was posted once, whole, and never edited. */
  postedWhole: boolean;
  /** The model's first token → the first text in Slack. */
  firstTextAfterTokenMs: number | null;
  /** Event sent → final Slack write, minus the model's own time (its request to its last token). */
  beyondModelMs: number | null;
}

export interface RunResult {
  scenario: string;
  target: Target;
  questions: number;
  complete: number;
  incompleteIds: string[];
  deliveriesFailed: number;
  ackMs: Distribution;
  overheadMs: Distribution;
  /** Event sent → the app's Bolt got it. */
  deliveryMs: Distribution;
  /** The app's own part of the overhead: from its receipt of the event. */
  appOverheadMs: Distribution;
  preModelMs: Distribution;
  modelTtftMs: Distribution;
  finalDelayMs: Distribution;
  completionMs: Distribution;
  /**
   * Slack write calls (including the ones answered 429) per answer. For answers left unfinished at
   * the cut-off, at least the writes the app's code must still make (the naive baseline: one post,
   * then one update per model chunk); see `writesLowerBound`.
   */
  writesPerAnswer: number;
  /** Write calls actually seen per answer, until the cut-off. */
  writesSeenPerAnswer: number;
  /** Some answers were unfinished, so `writesPerAnswer` is a lower bound. */
  writesLowerBound: boolean;
  writesPerAnswerMax: number;
  /** Accepted writes per answer (not 429). */
  acceptedWritesPerAnswer: number;
  writesByMethod: Record<string, number>;
  /** Answers complete and exact whose every message was a native stream. */
  nativeExact: number;
  /** Answers complete and exact, each message posted once whole (the flood's last resort). */
  postedWhole: number;
  firstTextAfterTokenMs: Distribution;
  beyondModelMs: Distribution;
  rateLimited: number;
  /** 429s by method (all calls, not only writes). */
  rateLimitedByMethod: Record<string, number>;
  failedWrites: number;
  /** Threads whose write calls exceeded 2 + the answer's duration in seconds (per answer). */
  writeBudgetExceeded: number;
  /** The same, counting only the writes Slack accepted (not the ones answered 429). */
  writeBudgetExceededAccepted: number;
  worstWriteBudget: { threadTs: string; writes: number; budget: number } | null;
  otherCalls: Record<string, number>;
  /** Redis commands per question on the conversation store's keys (claims, locks, thread state). */
  storeRoundTripsPerTurn: number | null;
  /** Redis commands per question on the shared Slack write budget's keys. */
  budgetRoundTripsPerTurn: number | null;
  storeCommands: Record<string, number> | null;
  budgetCommands: Record<string, number> | null;
  storeCallsPerTurn: Record<string, number> | null;
  unexpectedMessages: number;
  unexpectedSamples: string[];
  inconsistentFirstText: number;
  modelRequests: number;
  process: ProcessStats;
  cpuMsPerAnswer: number;
  wallMs: number;
  /** The machine's 1-minute load average when the run started (others share these cores). */
  loadAverage: number;
  logProblems: string[];
  answers: AnswerFigures[];
}

/** What the person should end up reading, message by message. */
export function expectedPages(target: Target, spec: AnswerSpec): string[] {
  // The baselines post the model's Markdown as it came; the bot renders it for Slack and paginates.
  const text = answerText(spec);
  return target === 'bot' ? paginate(renderMarkdown(text)) : [text];
}

export async function startRedis(log: (line: string) => void): Promise<RedisTarget | null> {
  if (process.env.REDIS_URL) {
    log(`store: Redis at REDIS_URL (shared; not flushed)`);
    return { url: process.env.REDIS_URL, private: false, stop: async () => undefined };
  }
  try {
    const { startRedisServer } = await import('../test/support/redis-server-process.ts');
    const server = await startRedisServer();
    log(`store: private redis-server on ${server.url}`);
    return { url: server.url, private: true, stop: () => server.stop() };
  } catch (error) {
    log(`store: in-process (no redis-server: ${(error as Error).message.split('\n')[0]})`);
    return null;
  }
}

export async function startContext(
  options: {
    botEnv?: Record<string, string>;
    log?: (line: string) => void;
    profileDir?: string;
    warmUpAnswers?: number;
  } = {},
): Promise<BenchContext & { stop(): Promise<void> }> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const redis = await startRedis(log);
  const bedrock = await startChild('bedrock stand-in', CHILD_FILES.bedrock, {});
  return {
    bedrock,
    redis,
    botEnv: options.botEnv ?? {},
    warmUpAnswers: options.warmUpAnswers ?? DEFAULT_WARM_UP_ANSWERS,
    ...(options.profileDir ? { profileDir: options.profileDir } : {}),
    log,
    async stop() {
      await bedrock.stop();
      await redis?.stop();
    },
  };
}

interface Sent {
  plan: QuestionPlan;
  /** When the first of its events was on the wire (until then, when the sender took it up). */
  sentAtMs: number;
  ackMs: number[];
  failed: boolean;
  done: Promise<void>;
}

export async function runScenario(def: ScenarioDef, target: Target, ctx: BenchContext): Promise<RunResult> {
  // The scenario's rate limits apply from its window on; the warm-up runs without them.
  const slack = await FakeSlack.start({ deliveryTimeoutMs: 30_000, streamIdleTimeoutMs: 300_000 });
  const observer = new SlackObserver(slack);
  await ctx.bedrock.request('reset');
  const keyPrefix = `bench-${def.name}-${randomBytes(3).toString('hex')}:`;
  if (ctx.redis?.private && target === 'bot') {
    const client = new Redis(ctx.redis.url);
    await client.flushall();
    client.disconnect();
  }
  const common = {
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: slack.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    AWS_REGION: 'us-east-1',
    PORT: '0',
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: String(ctx.bedrock.ready.url),
    AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    NODE_ENV: 'production',
  };
  const env: Record<string, string> =
    target === 'bot'
      ? {
          ...common,
          LOG_LEVEL: 'info',
          ...(ctx.redis ? { REDIS_URL: ctx.redis.url, REDIS_KEY_PREFIX: keyPrefix } : {}),
          ...def.botEnv,
          ...ctx.botEnv,
        }
      : common;
  const app = await startChild(target, CHILD_FILES[target], env, [
    // As in production (Dockerfile, npm start): both apps get the same heap bounds.
    ...PRODUCTION_NODE_FLAGS,
    ...(ctx.profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`, `--cpu-prof-name=${def.name}-${target}.cpuprofile`]
      : []),
  ]);
  try {
    slack.setBotEndpoint(`http://127.0.0.1:${String(app.ready.port)}/slack/events`);
    addConversations(slack, def.questions);
    await warmUp(slack, observer, target, def.name, ctx.warmUpAnswers);
    for (const [method, limit] of Object.entries(def.rateLimits)) slack.setRateLimit(method, limit);
    await sleep(200); // the warm-up's last writes land
    observer.resetCounts();
    await ctx.bedrock.request('reset');

    const loadAverage = Math.round((loadavg()[0] ?? 0) * 100) / 100;
    await openWindow(app);
    const startedAtMs = nowMs();
    const sent = await sendAll(slack, observer, def.questions);
    const lastSentAtMs = nowMs();
    const pages = new Map(sent.map((s) => [s.plan.spec.id, expectedPages(target, s.plan.spec)]));
    const deadlineMs = lastSentAtMs + def.maxWaitMs[target === 'bot' ? 'bot' : 'naive'];
    for (;;) {
      const pendingIds = sent.filter((s) => !isComplete(observer, s.plan.spec.id, pages)).length;
      if (pendingIds === 0 || nowMs() >= deadlineMs) break;
      await sleep(100);
    }
    await Promise.all(sent.map((s) => s.done));
    const wallMs = nowMs() - startedAtMs;
    // Let the last log lines and writes land before the window closes.
    await sleep(200);
    const processStats = await closeWindow(app);
    const redisCommands = (processStats.extra.redisCommands as RedisCommandCounts | undefined) ?? null;
    const timings = await modelTimings(ctx.bedrock);
    return figures({
      def,
      target,
      sent,
      pages,
      observer,
      timings,
      processStats,
      redisCommands,
      wallMs,
      loadAverage,
      logProblems: app.problems.slice(0, 10),
    });
  } finally {
    observer.detach();
    await app.stop();
    await slack.stop();
  }
}

async function warmUp(
  slack: FakeSlack,
  observer: SlackObserver,
  target: Target,
  name: string,
  answers: number,
): Promise<void> {
  const specs = Array.from({ length: answers }, (_, index) => ({
    id: `warm-${name}-${index + 1}`,
    words: 12,
    firstTokenDelayMs: 20,
    chunksPerSecond: 50,
    wordsPerChunk: 2,
  }));
  const pages = new Map(specs.map((spec) => [spec.id, expectedPages(target, spec)]));
  for (let at = 0; at < specs.length; at += WARM_UP_ROUND) {
    const round = specs.slice(at, at + WARM_UP_ROUND);
    await Promise.all(
      round.map((spec) =>
        slack.postUserMessage(
          { channel: 'C0001', user: 'U0001', text: questionText(spec) },
          { teamId: `${WARM_UP_TEAM}${at / WARM_UP_ROUND}` },
        ),
      ),
    );
    await slack.waitFor(() => round.every((spec) => isComplete(observer, spec.id, pages)), 15_000);
  }
}

const WARM_UP_ROUND = 20;

/** The channels (the app a member), DMs and people the scenario's questions use. */
function addConversations(slack: FakeSlack, plans: QuestionPlan[]): void {
  for (const plan of plans) {
    const user = plan.user ?? 'U0001';
    if (!slack.workspace.users.has(user)) slack.addUser({ id: user, name: `person-${user.toLowerCase()}` });
    const channel = plan.channel ?? 'C0001';
    if (slack.workspace.channels.has(channel)) continue;
    slack.addChannel(
      channel.startsWith('D')
        ? { id: channel, name: '', user }
        : { id: channel, name: channel.toLowerCase() },
    );
  }
}

async function sendAll(slack: FakeSlack, observer: SlackObserver, plans: QuestionPlan[]): Promise<Sent[]> {
  const ordered = [...plans].sort((a, b) => a.atMs - b.atMs);
  const start = performance.now();
  const sent: Sent[] = [];
  for (const plan of ordered) {
    const waitMs = plan.atMs - (performance.now() - start);
    if (waitMs > 1) await sleep(waitMs);
    const threadTs = plan.inThreadOf ? observer.questionTs.get(plan.inThreadOf)?.threadTs : undefined;
    const entry: Sent = {
      plan,
      sentAtMs: nowMs(),
      ackMs: [],
      failed: false,
      done: Promise.resolve(),
    };
    entry.done = slack
      .postUserMessage({
        channel: plan.channel ?? 'C0001',
        user: plan.user ?? 'U0001',
        text: questionText(plan.spec),
        ...(threadTs ? { threadTs } : {}),
      })
      .then(
        (result) => {
          for (const delivery of [result, result.mention]) {
            if (!delivery) continue;
            if (delivery.status === 200) entry.ackMs.push(delivery.elapsedMs);
            else entry.failed = true;
          }
          entry.sentAtMs = Math.min(result.sentAtMs, result.mention?.sentAtMs ?? result.sentAtMs);
        },
        () => {
          entry.failed = true;
        },
      );
    sent.push(entry);
  }
  return sent;
}

function threadOf(observer: SlackObserver, id: string) {
  const question = observer.questionTs.get(id);
  return question ? observer.threads.get(question.threadTs) : undefined;
}

/** Every page of the answer is shown exactly, in a message that is not an open stream. */
function isComplete(observer: SlackObserver, id: string, pages: Map<string, string[]>): boolean {
  const thread = threadOf(observer, id);
  const expected = pages.get(id);
  if (!thread || !expected) return false;
  return expected.every((page) => thread.messages.some((m) => !m.open && m.text === page));
}

/** The messages of each answer, page by page: exact matches first, then prefixes of unfinished ones. */
function assignMessages(
  observer: SlackObserver,
  ids: string[],
  pages: Map<string, string[]>,
): { byAnswer: Map<string, Array<MessageTrack | null>>; unexpected: MessageTrack[] } {
  const byAnswer = new Map<string, Array<MessageTrack | null>>();
  const used = new Set<MessageTrack>();
  const threads = new Set<string>();
  for (const id of ids) {
    const expected = pages.get(id) ?? [];
    const thread = threadOf(observer, id);
    if (thread) threads.add(thread.threadTs);
    byAnswer.set(
      id,
      expected.map((page) => {
        const match = thread?.messages.find((m) => !used.has(m) && m.text === page);
        if (match) used.add(match);
        return match ?? null;
      }),
    );
  }
  for (const id of ids) {
    const expected = pages.get(id) ?? [];
    const assigned = byAnswer.get(id) ?? [];
    const thread = threadOf(observer, id);
    expected.forEach((page, index) => {
      if (assigned[index]) return;
      const partial = thread?.messages.find(
        (m) => !used.has(m) && m.firstText !== null && m.text !== '' && page.startsWith(m.text),
      );
      if (partial) {
        used.add(partial);
        assigned[index] = partial;
      }
    });
  }
  const unexpected: MessageTrack[] = [];
  for (const threadTs of threads) {
    for (const message of observer.threads.get(threadTs)?.messages ?? []) {
      if (!used.has(message)) unexpected.push(message);
    }
  }
  return { byAnswer, unexpected };
}

function figures(input: {
  def: ScenarioDef;
  target: Target;
  sent: Sent[];
  pages: Map<string, string[]>;
  observer: SlackObserver;
  timings: ModelRequestTiming[];
  processStats: ProcessStats;
  redisCommands: RedisCommandCounts | null;
  wallMs: number;
  loadAverage: number;
  logProblems: string[];
}): RunResult {
  const { def, target, sent, pages, observer, timings, processStats } = input;
  const ids = sent.map((s) => s.plan.spec.id);
  const { byAnswer, unexpected } = assignMessages(observer, ids, pages);
  const receipts = (processStats.extra.receipts ?? {}) as Record<string, number>;
  const requestOf = new Map<string, ModelRequestTiming>();
  for (const timing of timings) {
    if (timing.id && (timing.firstTokenAtMs !== null || !requestOf.has(timing.id)))
      requestOf.set(timing.id, timing);
  }

  const answers: AnswerFigures[] = sent.map((s) => {
    const id = s.plan.spec.id;
    const messages = byAnswer.get(id) ?? [];
    const expected = pages.get(id) ?? [];
    const complete =
      messages.length > 0 &&
      messages.every((m, index) => m !== null && m.text === expected[index] && !m.open);
    const request = requestOf.get(id);
    const modelTtftMs = request?.firstTokenAtMs != null ? request.firstTokenAtMs - request.atMs : null;
    const first = messages[0] ?? null;
    const firstTextAtMs = first?.firstTextAtMs ?? null;
    const finalWriteAtMs = complete ? Math.max(...messages.map((m) => m?.lastChangeAtMs ?? 0)) : null;
    const question = observer.questionTs.get(id);
    const receivedAtMs = question ? (receipts[question.ts] ?? null) : null;
    const modelOwnMs = request?.lastTokenAtMs != null ? request.lastTokenAtMs - request.atMs : null;
    return {
      id,
      messageTs: question?.ts ?? null,
      threadTs: question?.threadTs ?? null,
      complete,
      ackMs: s.ackMs,
      sentAtMs: s.sentAtMs,
      modelTtftMs,
      preModelMs: request ? request.atMs - s.sentAtMs : null,
      overheadMs:
        firstTextAtMs !== null && modelTtftMs !== null ? firstTextAtMs - s.sentAtMs - modelTtftMs : null,
      deliveryMs: receivedAtMs !== null ? receivedAtMs - s.sentAtMs : null,
      appOverheadMs:
        firstTextAtMs !== null && modelTtftMs !== null && receivedAtMs !== null
          ? firstTextAtMs - receivedAtMs - modelTtftMs
          : null,
      finalDelayMs:
        finalWriteAtMs !== null && request?.lastTokenAtMs != null
          ? finalWriteAtMs - request.lastTokenAtMs
          : null,
      completionMs: finalWriteAtMs !== null ? finalWriteAtMs - s.sentAtMs : null,
      firstTextConsistent: first?.firstText != null ? (expected[0] ?? '').startsWith(first.firstText) : null,
      native: messages.length > 0 && messages.every((m) => m?.streamed === true),
      postedWhole: complete && messages.every((m) => m !== null && !m.streamed && m.changes === 1),
      firstTextAfterTokenMs:
        firstTextAtMs !== null && request?.firstTokenAtMs != null
          ? firstTextAtMs - request.firstTokenAtMs
          : null,
      beyondModelMs:
        finalWriteAtMs !== null && modelOwnMs !== null ? finalWriteAtMs - s.sentAtMs - modelOwnMs : null,
    };
  });

  // Writes, per thread (a thread may hold several answers), against 2 + duration per answer.
  const specOf = new Map(sent.map((s) => [s.plan.spec.id, s.plan.spec]));
  const threadAnswers = new Map<string, AnswerFigures[]>();
  for (const answer of answers) {
    const threadTs = observer.questionTs.get(answer.id)?.threadTs;
    if (!threadTs) continue;
    threadAnswers.set(threadTs, [...(threadAnswers.get(threadTs) ?? []), answer]);
  }
  let writes = 0;
  let projectedWrites = 0;
  let rateLimited = 0;
  let failedWrites = 0;
  let writeBudgetExceeded = 0;
  let writeBudgetExceededAccepted = 0;
  let worstWriteBudget: RunResult['worstWriteBudget'] = null;
  let writesPerAnswerMax = 0;
  const writesByMethod: Record<string, number> = {};
  for (const [threadTs, list] of threadAnswers) {
    const thread = observer.threads.get(threadTs);
    if (!thread) continue;
    writes += thread.writes;
    // What an unfinished answer must still write: known for the naive baseline's plain loop.
    const minimum = list.reduce(
      (total, answer) =>
        total +
        (target === 'naive' && !answer.complete
          ? 1 + answerChunks(specOf.get(answer.id) as AnswerSpec).length
          : 0),
      0,
    );
    projectedWrites += Math.max(thread.writes, minimum);
    rateLimited += thread.rateLimited;
    failedWrites += thread.failed;
    writesPerAnswerMax = Math.max(writesPerAnswerMax, thread.writes / list.length);
    for (const [method, count] of Object.entries(thread.byMethod)) {
      writesByMethod[method] = (writesByMethod[method] ?? 0) + count;
    }
    // The answer's duration: from the model request (queueing in a busy thread excluded) to its final write.
    let budget = 0;
    for (const answer of list) {
      const request = requestOf.get(answer.id);
      const endMs = answer.completionMs !== null ? answer.sentAtMs + answer.completionMs : nowMs();
      const fromMs = request?.atMs ?? answer.sentAtMs;
      budget += 2 + Math.max(0, endMs - fromMs) / 1000;
    }
    if (thread.writes - thread.rateLimited > budget) writeBudgetExceededAccepted += 1;
    if (thread.writes > budget) {
      writeBudgetExceeded += 1;
      if (!worstWriteBudget || thread.writes - budget > worstWriteBudget.writes - worstWriteBudget.budget) {
        worstWriteBudget = { threadTs, writes: thread.writes, budget: round(budget, 2) ?? budget };
      }
    }
  }
  const otherCalls: Record<string, number> = {};
  for (const [method, stats] of observer.calls) {
    if (!(method in writesByMethod)) otherCalls[method] = stats.total;
  }
  const questions = sent.length;
  const extraStoreCalls = processStats.extra.storeCalls as Record<string, number> | undefined;
  const sum = (counts: Record<string, number> | undefined) =>
    counts ? Object.values(counts).reduce((total, count) => total + count, 0) : null;
  const storeTotal = sum(input.redisCommands?.store);
  const budgetTotal = sum(input.redisCommands?.budget);
  const cpuMs = processStats.cpuUserMs + processStats.cpuSystemMs;
  const complete = answers.filter((a) => a.complete);
  return {
    scenario: def.name,
    target,
    questions,
    complete: complete.length,
    incompleteIds: answers
      .filter((a) => !a.complete)
      .map((a) => a.id)
      .slice(0, 20),
    deliveriesFailed: sent.filter((s) => s.failed).length,
    ackMs: distribution(answers.flatMap((a) => a.ackMs)),
    overheadMs: distribution(answers.flatMap((a) => (a.overheadMs === null ? [] : [a.overheadMs]))),
    deliveryMs: distribution(answers.flatMap((a) => (a.deliveryMs === null ? [] : [a.deliveryMs]))),
    appOverheadMs: distribution(answers.flatMap((a) => (a.appOverheadMs === null ? [] : [a.appOverheadMs]))),
    preModelMs: distribution(answers.flatMap((a) => (a.preModelMs === null ? [] : [a.preModelMs]))),
    modelTtftMs: distribution(answers.flatMap((a) => (a.modelTtftMs === null ? [] : [a.modelTtftMs]))),
    finalDelayMs: distribution(answers.flatMap((a) => (a.finalDelayMs === null ? [] : [a.finalDelayMs]))),
    completionMs: distribution(answers.flatMap((a) => (a.completionMs === null ? [] : [a.completionMs]))),
    writesPerAnswer: round(projectedWrites / questions, 2) ?? 0,
    writesSeenPerAnswer: round(writes / questions, 2) ?? 0,
    writesLowerBound: projectedWrites > writes,
    writesPerAnswerMax: round(writesPerAnswerMax, 2) ?? 0,
    acceptedWritesPerAnswer: round((writes - rateLimited) / questions, 2) ?? 0,
    writesByMethod,
    nativeExact: answers.filter((a) => a.complete && a.native).length,
    postedWhole: answers.filter((a) => a.postedWhole).length,
    firstTextAfterTokenMs: distribution(
      answers.flatMap((a) => (a.firstTextAfterTokenMs === null ? [] : [a.firstTextAfterTokenMs])),
    ),
    beyondModelMs: distribution(answers.flatMap((a) => (a.beyondModelMs === null ? [] : [a.beyondModelMs]))),
    rateLimited,
    rateLimitedByMethod: Object.fromEntries(
      [...observer.calls]
        .filter(([, stats]) => stats.rateLimited > 0)
        .map(([method, stats]) => [method, stats.rateLimited]),
    ),
    failedWrites,
    writeBudgetExceeded,
    writeBudgetExceededAccepted,
    worstWriteBudget,
    otherCalls,
    storeRoundTripsPerTurn: storeTotal === null ? null : round(storeTotal / questions, 2),
    budgetRoundTripsPerTurn: budgetTotal === null ? null : round(budgetTotal / questions, 2),
    storeCommands: input.redisCommands?.store ?? null,
    budgetCommands: input.redisCommands?.budget ?? null,
    storeCallsPerTurn: extraStoreCalls
      ? Object.fromEntries(
          Object.entries(extraStoreCalls).map(([operation, count]) => [
            operation,
            round(count / questions, 2) ?? 0,
          ]),
        )
      : null,
    unexpectedMessages: unexpected.length,
    unexpectedSamples: unexpected.slice(0, 3).map((m) => m.text.slice(0, 200)),
    inconsistentFirstText: answers.filter((a) => a.firstTextConsistent === false).length,
    modelRequests: timings.length,
    process: processStats,
    cpuMsPerAnswer: round(cpuMs / questions, 2) ?? 0,
    wallMs: round(input.wallMs, 0) ?? 0,
    loadAverage: input.loadAverage,
    logProblems: input.logProblems,
    answers,
  };
}
