import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { clickOf } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';

/** The Stop button in a streaming answer (where Slack's native Stop is not available). */
export function answerStop(deps: ListenerDeps) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const click = clickOf(body, action, deps.identity(context, body).teamId);
    if (click) await deps.conversations.requestStop(click.thread, click.userId);
  };
}
