import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { clickOf, type MessageClick } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';

/**
 * A listener for a button in one of the bot's messages: acknowledged at once, then `handle` gets
 * the click, the button's action id and the click's trigger id, for opening a modal (nothing
 * happens for a click outside such a message).
 */
export function onMessageClick(
  deps: ListenerDeps,
  handle: (click: MessageClick, actionId: string | undefined, triggerId: string | undefined) => Promise<void>,
) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const click = clickOf(body, action, deps.identity(context, body).teamId);
    if (click) await handle(click, (action as { action_id?: string }).action_id, body.trigger_id);
  };
}
