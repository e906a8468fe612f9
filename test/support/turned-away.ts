/**
 * What the bot turned away without answering, read from its own metrics: the signal a negative
 * check waits for ("this delivery was settled") instead of sleeping and hoping nothing came.
 */
import type { RunningBot } from '../../src/bot.ts';

export interface TurnedAway {
  /** `slackbot_messages_ignored_total` by reason. */
  ignored: Record<string, number>;
  /** `slackbot_duplicate_deliveries_total`. */
  duplicates: number;
  /** `slackbot_early_model_calls_total{result="discarded"}`. */
  earlyCallsDiscarded: number;
}

export async function turnedAway(bot: RunningBot): Promise<TurnedAway> {
  const [ignored, duplicates, early] = await Promise.all([
    bot.metrics.messagesIgnored.get(),
    bot.metrics.duplicatesIgnored.get(),
    bot.metrics.earlyModelCalls.get(),
  ]);
  return {
    ignored: Object.fromEntries(ignored.values.map((v) => [String(v.labels.reason), v.value])),
    duplicates: duplicates.values.reduce((sum, v) => sum + v.value, 0),
    earlyCallsDiscarded: early.values.find((v) => v.labels.result === 'discarded')?.value ?? 0,
  };
}

/** Polls the bots' metrics until `done` holds for what they turned away together; fails after `timeoutMs`. */
export async function waitForTurnedAway(
  bots: RunningBot | RunningBot[],
  done: (all: TurnedAway) => boolean,
  timeoutMs = 5_000,
): Promise<TurnedAway> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const each = await Promise.all([bots].flat().map(turnedAway));
    const all: TurnedAway = {
      ignored: {},
      duplicates: each.reduce((sum, t) => sum + t.duplicates, 0),
      earlyCallsDiscarded: each.reduce((sum, t) => sum + t.earlyCallsDiscarded, 0),
    };
    for (const t of each)
      for (const [reason, count] of Object.entries(t.ignored))
        all.ignored[reason] = (all.ignored[reason] ?? 0) + count;
    if (done(all)) return all;
    if (Date.now() > deadline)
      throw new Error(`waitForTurnedAway: not met within ${timeoutMs} ms; saw ${JSON.stringify(all)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Total of `ignored` over every reason. */
export function ignoredCount(all: TurnedAway): number {
  return Object.values(all.ignored).reduce((sum, n) => sum + n, 0);
}
