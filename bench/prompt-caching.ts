/**
 * Prompt caching's effect on cost: input tokens billed per turn in a 30-turn thread, with and
 * without caching. The real bot (the same `startBot` as `npm start`, in this process) answers a
 * thread of 30 questions on the Slack and Bedrock stand-ins; the Bedrock stand-in accounts its
 * prompt cache the way Bedrock reports it (cacheReadInputTokens, cacheWriteInputTokens, inputTokens
 * without them). Tokens are the stand-in's estimate (four characters a token), so the figures are
 * about the shape of the saving, not a bill.
 *
 *   node bench/prompt-caching.ts                 (or: npm run bench -- --scenario prompt-caching)
 *   node bench/prompt-caching.ts --turns 60      a longer thread (past the history budget)
 *
 * "Billed input" counts each input token at its price relative to an uncached one, at Claude Sonnet
 * 4.x list prices: uncached 1, cache write 1.25, cache read 0.1.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { answerText } from './answers.ts';
import { markdownTable } from './metrics.ts';

const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const WEIGHTS = { input: 1, cacheWrite: 1.25, cacheRead: 0.1 };
const PRICES = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };

export interface TurnUsage {
  turn: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  /** Input tokens weighted by their price relative to an uncached input token. */
  billedInput: number;
  costUsd: number;
}

export interface CachingRun {
  caching: boolean;
  turns: TurnUsage[];
  totalBilledInput: number;
  totalCostUsd: number;
}

/** A thread of `turns` questions of ~25 words, answered in ~`answerWords` words each, on a fresh bot. */
export async function runThread(options: {
  caching: boolean;
  turns: number;
  answerWords: number;
  env?: Record<string, string>;
}): Promise<CachingRun> {
  // The harness and stand-ins are test support: loaded only when the benchmark runs.
  const { startHarness } = await import('../test/support/bot-harness.ts');
  const { waitForAnswers, answerLogs } = await import('../test/support/answers.ts');
  const h = await startHarness({
    env: {
      BEDROCK_MODEL_ID: MODEL,
      BEDROCK_PROMPT_CACHE: String(options.caching),
      SLACK_WRITE_BUDGET_SCALE: '0',
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  try {
    h.bedrock.setHandler((request) => {
      const turn = request.body.messages?.length ?? 1;
      const text = answerText({
        id: `t${turn}`,
        words: options.answerWords,
        firstTokenDelayMs: 0,
        chunksPerSecond: 1,
        wordsPerChunk: 1,
      });
      return { text: [text] };
    });
    const question = (turn: number) =>
      `Question ${turn}: how do refunds for order ${1000 + turn} work when the customer paid by card and the invoice was already sent?`;
    const first = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: `<@UBOT> ${question(1)}`,
    });
    await waitForAnswers(h, 1, 30_000);
    for (let turn = 2; turn <= options.turns; turn += 1) {
      await h.slack.postUserMessage({
        channel: 'C0001',
        user: 'U0001',
        text: question(turn),
        threadTs: first.ts,
      });
      await waitForAnswers(h, turn, 30_000);
    }
    const turns = answerLogs(h).map((line, index): TurnUsage => {
      const usage = {
        inputTokens: Number(line.inputTokens),
        cacheReadTokens: Number(line.cacheReadTokens),
        cacheWriteTokens: Number(line.cacheWriteTokens),
        outputTokens: Number(line.outputTokens),
      };
      return {
        turn: index + 1,
        ...usage,
        billedInput:
          usage.inputTokens * WEIGHTS.input +
          usage.cacheWriteTokens * WEIGHTS.cacheWrite +
          usage.cacheReadTokens * WEIGHTS.cacheRead,
        costUsd:
          (usage.inputTokens * PRICES.input +
            usage.outputTokens * PRICES.output +
            usage.cacheReadTokens * PRICES.cacheRead +
            usage.cacheWriteTokens * PRICES.cacheWrite) /
          1e6,
      };
    });
    return {
      caching: options.caching,
      turns,
      totalBilledInput: turns.reduce((sum, t) => sum + t.billedInput, 0),
      totalCostUsd: turns.reduce((sum, t) => sum + t.costUsd, 0),
    };
  } finally {
    await h.stop();
  }
}

export interface CachingBenchmark {
  turns: number;
  answerWords: number;
  without: CachingRun;
  with: CachingRun;
}

export async function promptCachingBenchmark(turns = 30, answerWords = 150): Promise<CachingBenchmark> {
  const without = await runThread({ caching: false, turns, answerWords });
  const withCache = await runThread({ caching: true, turns, answerWords });
  return { turns, answerWords, without, with: withCache };
}

export function cachingTable(result: CachingBenchmark): string {
  const marks = [1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 50, 60].filter((turn) => turn <= result.turns);
  const rows = marks.map((turn) => {
    const off = result.without.turns[turn - 1];
    const on = result.with.turns[turn - 1];
    return [
      String(turn),
      String(off?.inputTokens ?? ''),
      `${on?.inputTokens} / ${on?.cacheWriteTokens} / ${on?.cacheReadTokens}`,
      (on?.billedInput ?? 0).toFixed(0),
      `${(((on?.billedInput ?? 0) / (off?.billedInput || 1)) * 100).toFixed(0)}%`,
    ];
  });
  rows.push([
    `all ${result.turns}`,
    result.without.totalBilledInput.toFixed(0),
    '',
    result.with.totalBilledInput.toFixed(0),
    `${((result.with.totalBilledInput / result.without.totalBilledInput) * 100).toFixed(0)}%`,
  ]);
  return markdownTable(
    [
      'turn',
      'input tokens, no caching',
      'with caching: input / cache write / cache read',
      'billed input, with caching',
      'with / without',
    ],
    rows,
  );
}

/** Runs the benchmark, prints the table and writes bench/results/prompt-caching.json. */
export async function promptCachingMain(args: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { turns: { type: 'string', default: '30' }, 'answer-words': { type: 'string', default: '150' } },
  });
  const result = await promptCachingBenchmark(Number(values.turns), Number(values['answer-words']));
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`Prompt caching: a ${result.turns}-turn thread, ~${result.answerWords}-word answers, ${MODEL}`);
  say(cachingTable(result));
  say(
    `Estimated cost of the thread: $${result.without.totalCostUsd.toFixed(4)} without caching, $${result.with.totalCostUsd.toFixed(4)} with.`,
  );
  const out = fileURLToPath(new URL('./results/prompt-caching.json', import.meta.url));
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  say(`Written to ${out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await promptCachingMain();
