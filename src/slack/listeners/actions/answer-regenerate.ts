import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../index.ts';

/** Regenerate under the last answer of a thread: the question is asked again, its answer replaced. */
export function answerRegenerate(deps: ListenerDeps) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const answerHash = (action as { value?: string }).value;
    const channelId = body.channel?.id;
    if (!channelId || !message?.ts || !answerHash) return;
    const { teamId } = deps.identity(context, body);
    await deps.conversations.regenerate({
      thread: { teamId, channelId, threadTs: message.thread_ts ?? message.ts },
      userId: body.user.id,
      messageTs: message.ts,
      answerHash,
      clickId: (action as { action_ts?: string }).action_ts ?? body.trigger_id ?? message.ts,
    });
  };
}
