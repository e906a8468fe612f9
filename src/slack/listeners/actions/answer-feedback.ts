import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../listener-deps.ts';

/** Thumbs up/down under an answer: counted and logged, so operators see how answers land. */
export function answerFeedback(deps: ListenerDeps) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    const value = (action as { value?: string }).value === 'positive' ? 'positive' : 'negative';
    deps.metrics.feedback.inc({ value });
    deps.logger.info(
      { feedback: value, channel: body.channel?.id, messageTs: body.message?.ts, user: body.user.id },
      'answer feedback',
    );
    await ack();
  };
}
