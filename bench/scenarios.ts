/**
 * The benchmark's scenarios. Each is a list of questions with the time to send each one (from the
 * scenario's start), the thread it goes in, and the answer the model gives (size and pace; see
 * answers.ts), plus the Slack rate limits in force. `quick` shrinks every scenario for a short run.
 *
 * Model pace: Bedrock sends an answer as `contentBlockDelta` events of a few tokens each; here a
 * delta is `wordsPerChunk` words, `chunksPerSecond` of them a second.
 */
import type { RateLimit } from '../test/stand-ins/fake-slack.ts';
import type { AnswerSpec } from './answers.ts';

export interface QuestionPlan {
  spec: AnswerSpec;
  /** When to send it, from the scenario's start. */
  atMs: number;
  /** The id of an earlier question whose thread this one is asked in; a new thread when absent. */
  inThreadOf?: string;
  /** Where it is asked (a channel `C…` or a DM `D…`) and by whom; C0001 and U0001 by default. */
  channel?: string;
  user?: string;
}

export interface ScenarioDef {
  name: string;
  title: string;
  /**
   * Slack Web API limits per method (429 + Retry-After): a number is calls per second (a token
   * bucket holding a second's calls), `{ perMinute }` a window of a minute as Slack counts its tiers.
   */
  rateLimits: Record<string, number | RateLimit>;
  /** Bot settings for this scenario (beyond the defaults), e.g. its shared write budget's scale. */
  botEnv: Record<string, string>;
  questions: QuestionPlan[];
  /** How long to wait for answers after the last question was sent, before giving up on them. */
  maxWaitMs: { bot: number; naive: number };
  /** Also run the naive baseline. */
  naive: boolean;
  /** Also run Slack's own `chatStream` helper as a second baseline. */
  chatStream?: boolean;
  /** Answers streaming at once (the concurrency sweep), for the chart. */
  concurrency?: number;
  notes: string;
}

export const SCENARIO_NAMES = [
  'burst',
  'sustained',
  'long',
  'rate-limited',
  'one-thread',
  'concurrency',
  'tiers-30x',
  'tiers-30x-per-second',
  'busy',
  'flood',
] as const;
export type ScenarioGroup = (typeof SCENARIO_NAMES)[number];

export const CONCURRENCY_LEVELS = { full: [10, 50, 100, 250, 500], quick: [10, 100] } as const;

/**
 * Slack's tiers scaled up 30 times, counted as Slack counts them: per-minute windows (Tier 2 20 a
 * minute → 600, Tier 3 50 → 1,500, Tier 4 100 → 3,000; chat.postMessage 60 a minute per channel → 1,800).
 */
export const TIERS_30X: Record<string, RateLimit> = {
  'chat.startStream': { perMinute: 600 },
  'chat.stopStream': { perMinute: 600 },
  'chat.update': { perMinute: 1_500 },
  'chat.appendStream': { perMinute: 3_000 },
  'chat.postMessage': { perMinute: 1_800, perChannel: true },
};

/**
 * The same rates as token buckets holding one second's calls (Tier 2 ≈ 20/min → 10/s, Tier 3 ≈
 * 50/min → 25/s, Tier 4 ≈ 100/min → 50/s): stricter than Slack's minute windows, and what
 * tiers-30x used before Slack's limits were modelled as windows (kept to compare with those figures).
 */
export const TIERS_30X_PER_SECOND: Record<string, number> = {
  'chat.startStream': 10,
  'chat.stopStream': 10,
  'chat.update': 25,
  'chat.appendStream': 50,
  'chat.postMessage': 25,
};

/**
 * The bot budgets its Slack writes by Slack's real tiers (SLACK_WRITE_BUDGET_SCALE, default 1).
 * Where the stand-in imposes no limits the budget is scaled out of the way (1000×, still taking a
 * token per write, so its cost is measured); where the stand-in applies the tiers ×30, so does the
 * budget; under the flat 4/s limits, which no single scale matches, the budget is off and the bot
 * meets the limits through 429 + Retry-After.
 */
export const BUDGET = {
  unlimited: { SLACK_WRITE_BUDGET_SCALE: '1000' },
  tiers30x: { SLACK_WRITE_BUDGET_SCALE: '30' },
  off: { SLACK_WRITE_BUDGET_SCALE: '0' },
} as const;

/**
 * Slack's documented floors, counted as Slack counts them: at most this many calls in any minute,
 * per workspace (chat.postMessage: per channel, about one a second).
 */
export const REAL_TIERS: Record<string, RateLimit> = {
  'chat.startStream': { perMinute: 20 },
  'chat.stopStream': { perMinute: 20 },
  'chat.update': { perMinute: 50 },
  'chat.appendStream': { perMinute: 100 },
  'chat.postMessage': { perMinute: 60, perChannel: true },
};

/** The channels and DMs the real-tier scenarios ask in (the runner creates them). */
export const BUSY_CHANNELS = ['C0001', 'C0003', 'C0004', 'C0005', 'C0006'];
export const DM_CHANNELS = ['D1001', 'D1002', 'D1003', 'D1004', 'D1005'];

const FOUR_PER_SECOND: Record<string, number> = {
  'chat.startStream': 4,
  'chat.appendStream': 4,
  'chat.stopStream': 4,
  'chat.update': 4,
  'chat.postMessage': 4,
};

function spec(
  id: string,
  words: number,
  firstTokenDelayMs: number,
  chunksPerSecond: number,
  wordsPerChunk = 2,
): AnswerSpec {
  return { id, words, firstTokenDelayMs, chunksPerSecond, wordsPerChunk };
}

/** `count` questions in new threads, sent at `perSecond` (all at once when Infinity). */
function newThreads(
  prefix: string,
  count: number,
  perSecond: number,
  make: (id: string) => AnswerSpec,
): QuestionPlan[] {
  return Array.from({ length: count }, (_, index) => ({
    spec: make(`${prefix}-${index + 1}`),
    atMs: Number.isFinite(perSecond) ? Math.round((index * 1000) / perSecond) : 0,
  }));
}

export function buildScenarios(
  groups: readonly ScenarioGroup[],
  quick: boolean,
  concurrencyLevels?: readonly number[],
): ScenarioDef[] {
  const scenarios: ScenarioDef[] = [];
  const q = <T>(full: T, short: T) => (quick ? short : full);
  for (const group of groups) {
    switch (group) {
      case 'burst': {
        const n = q(50, 20);
        scenarios.push({
          name: 'burst',
          title: `Burst: ${n} mentions in ${n} threads at once`,
          rateLimits: {},
          botEnv: BUDGET.unlimited,
          questions: newThreads('burst', n, Number.POSITIVE_INFINITY, (id) => spec(id, 120, 400, 20)),
          maxWaitMs: { bot: 20_000, naive: 30_000 },
          naive: true,
          notes:
            'model: 400 ms to first token, 20 deltas/s of 2 words, ~120 words (about 3 s); no Slack limits',
        });
        break;
      }
      case 'sustained': {
        const seconds = q(8, 3);
        // 50 mentions a second; each arrives as two events (message + app_mention): 100 events/s.
        scenarios.push({
          name: 'sustained',
          title: `Sustained: 100 events/s (50 mentions/s) for ${seconds} s`,
          rateLimits: {},
          botEnv: BUDGET.unlimited,
          questions: newThreads('sustained', seconds * 50, 50, (id) => spec(id, 40, 200, 20)),
          maxWaitMs: { bot: 20_000, naive: 30_000 },
          naive: true,
          notes:
            'each mention is delivered twice (message and app_mention); model: 200 ms to first token, ~40 words',
        });
        break;
      }
      case 'long': {
        const n = q(8, 3);
        const words = q(2_400, 600);
        scenarios.push({
          name: 'long',
          title: `Long answers: ${n} threads, ~${words} words each`,
          rateLimits: {},
          botEnv: BUDGET.unlimited,
          questions: newThreads('long', n, Number.POSITIVE_INFINITY, (id) => spec(id, words, 500, 60, 3)),
          maxWaitMs: { bot: 40_000, naive: 60_000 },
          naive: true,
          notes: 'answers over 12,000 characters continue in a second message; model: 60 deltas/s of 3 words',
        });
        break;
      }
      case 'rate-limited': {
        const n = q(12, 4);
        scenarios.push({
          name: 'rate-limited',
          title: `Rate-limited: ${n} answers, every write method at 4 calls/s`,
          rateLimits: FOUR_PER_SECOND,
          botEnv: BUDGET.off,
          questions: newThreads('limited', n, Number.POSITIVE_INFINITY, (id) =>
            spec(id, q(150, 80), 300, 10),
          ),
          maxWaitMs: { bot: 30_000, naive: q(20_000, 5_000) },
          naive: true,
          notes:
            'startStream, appendStream, stopStream, postMessage and update each 4/s; model ~7.5 s per answer (quick: ~4 s)',
        });
        break;
      }
      case 'one-thread': {
        const n = q(8, 3);
        const questions: QuestionPlan[] = Array.from({ length: n }, (_, index) => ({
          spec: spec(`thread-${index + 1}`, 60, 300, 20),
          atMs: index * 250,
          ...(index === 0 ? {} : { inThreadOf: 'thread-1' }),
        }));
        scenarios.push({
          name: 'one-thread',
          title: `One thread: ${n} questions, 250 ms apart`,
          rateLimits: {},
          botEnv: BUDGET.unlimited,
          questions,
          maxWaitMs: { bot: 40_000, naive: 30_000 },
          naive: true,
          notes:
            'the bot answers them one after the other (thread lock), so the time to first text includes waiting for the earlier answers',
        });
        break;
      }
      case 'concurrency': {
        for (const n of concurrencyLevels ?? (quick ? CONCURRENCY_LEVELS.quick : CONCURRENCY_LEVELS.full)) {
          scenarios.push({
            name: `concurrency-${n}`,
            title: `${n} answers streaming at once`,
            rateLimits: {},
            botEnv: BUDGET.unlimited,
            // Sent at 250/s so that the last arrives while the first still streams (~6 s answers).
            questions: newThreads(`c${n}`, n, 250, (id) => spec(id, q(120, 60), 500, 10)),
            maxWaitMs: { bot: 30_000, naive: q(40_000, 15_000) },
            naive: true,
            concurrency: n,
            notes:
              'model: 500 ms to first token, 10 deltas/s of 2 words, ~120 words (about 6.5 s); no Slack limits',
          });
        }
        break;
      }
      case 'tiers-30x': {
        const seconds = q(4, 2);
        scenarios.push({
          name: 'tiers-30x',
          title: `30 questions/s for ${seconds} s, Slack tiers scaled 30×`,
          rateLimits: TIERS_30X,
          botEnv: BUDGET.tiers30x,
          questions: newThreads('tiers', seconds * 30, 30, (id) => spec(id, 100, 400, 20)),
          maxWaitMs: { bot: 30_000, naive: q(20_000, 5_000) },
          naive: true,
          notes:
            'per-minute windows: startStream/stopStream 600, update 1,500, appendStream 3,000, postMessage 1,800 per channel; model: 400 ms to first token, ~100 words (2.5 s)',
        });
        break;
      }
      case 'tiers-30x-per-second': {
        const seconds = q(4, 2);
        scenarios.push({
          name: 'tiers-30x-per-second',
          title: `30 questions/s for ${seconds} s, Slack tiers scaled 30× as one-second buckets`,
          rateLimits: TIERS_30X_PER_SECOND,
          botEnv: BUDGET.tiers30x,
          questions: newThreads('tiers', seconds * 30, 30, (id) => spec(id, 100, 400, 20)),
          maxWaitMs: { bot: 30_000, naive: q(20_000, 5_000) },
          naive: false,
          notes:
            'startStream/stopStream 10/s, update 25/s, appendStream 50/s, postMessage 25/s, each a token bucket holding one second (stricter than Slack)',
        });
        break;
      }
      case 'busy': {
        // A busy moment: a dozen people ask within a second, in four channels.
        const n = 12;
        scenarios.push({
          name: 'busy',
          title: `Busy moment, real tiers: ${n} mentions within 1 s in 4 channels`,
          rateLimits: REAL_TIERS,
          botEnv: {},
          questions: Array.from({ length: n }, (_, index) => ({
            spec: spec(`busy-${index + 1}`, 80, 300, 20),
            atMs: Math.round((index * 1000) / n),
            channel: BUSY_CHANNELS[index % 4],
            user: `U100${(index % 5) + 1}`,
          })),
          maxWaitMs: { bot: 30_000, naive: 30_000 },
          naive: true,
          chatStream: true,
          notes:
            'default configuration; Slack stand-in at the documented floors per minute (startStream/stopStream 20, update 50, appendStream 100, postMessage 60 per channel); model: 300 ms to first token, ~80 words (about 2.2 s)',
        });
        break;
      }
      case 'flood': {
        // Far beyond the budget: 80 questions within 1.5 s over 5 channels and 5 DMs.
        const n = 80;
        const conversations = [...BUSY_CHANNELS, ...DM_CHANNELS];
        scenarios.push({
          name: 'flood',
          title: `Flood, real tiers: ${n} questions within 1.5 s over ${conversations.length} conversations`,
          rateLimits: REAL_TIERS,
          botEnv: {},
          questions: Array.from({ length: n }, (_, index) => {
            const channel = conversations[index % conversations.length] ?? 'C0001';
            const dm = channel.startsWith('D');
            return {
              spec: spec(`flood-${index + 1}`, 80, 300, 20),
              atMs: Math.round((index * 1500) / n),
              channel,
              // A DM is with its own person; in channels, five people take turns.
              user: dm ? `U${channel.slice(1)}` : `U100${(index % 5) + 1}`,
            };
          }),
          maxWaitMs: { bot: 45_000, naive: 45_000 },
          naive: false,
          chatStream: true,
          notes:
            'mentions in 5 channels and questions in 5 DMs, new threads; default configuration; Slack stand-in at the floors per minute; model as in busy',
        });
        break;
      }
    }
  }
  return scenarios;
}
