import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../index.ts';

/** The Stop button in a streaming answer (where Slack's native Stop is not available). */
export function answerStop(deps: ListenerDeps) {
  return async ({ ack, body, context }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const channelId = body.channel?.id;
    const threadTs = message?.thread_ts ?? message?.ts;
    if (!channelId || !threadTs) return;
    const { teamId } = deps.identity(context, body);
    await deps.conversations.requestStop({ teamId, channelId, threadTs }, body.user.id);
  };
}
