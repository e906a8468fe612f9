import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { clickOf } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';

/** Regenerate under the last answer of a thread: the question is asked again, its answer replaced. */
export function answerRegenerate(deps: ListenerDeps) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const click = clickOf(body, action, deps.identity(context, body).teamId);
    if (!click?.value) return;
    await deps.conversations.regenerate({ ...click, answerHash: click.value });
  };
}
