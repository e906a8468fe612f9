/**
 * Files and channel knowledge: a file shared in a channel (or a DM) is learned where that place
 * learns; a deleted file is forgotten everywhere, an unshared one in the channel it left.
 * Learning runs in the background: the event is acknowledged at once.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../listener-deps.ts';

/** The fields of `file_shared`, `file_unshared` and `file_deleted` read here. */
interface FileEvent {
  file_id?: string;
  file?: { id?: string };
  channel_id?: string;
  user_id?: string;
}

export function fileShared(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs & AllMiddlewareArgs) => {
    const shared = event as unknown as FileEvent;
    const fileId = shared.file_id ?? shared.file?.id;
    if (!deps.knowledge || !fileId || !shared.channel_id || !shared.user_id) return;
    // The bot's own uploads are not knowledge people shared.
    if (shared.user_id === deps.identity(context, body).botUserId) return;
    deps.knowledge.fileShared({
      teamId: deps.identity(context, body).teamId,
      channelId: shared.channel_id,
      userId: shared.user_id,
      fileId,
    });
  };
}

export function fileGone(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs & AllMiddlewareArgs) => {
    const gone = event as unknown as FileEvent & { type: string };
    const fileId = gone.file_id ?? gone.file?.id;
    if (!deps.knowledge || !fileId) return;
    const { teamId } = deps.identity(context, body);
    const channelId = gone.type === 'file_unshared' ? gone.channel_id : undefined;
    await deps.knowledge
      .forgetFile(teamId, fileId, channelId)
      .catch((err: unknown) =>
        deps.logger.warn({ err, fileId }, 'channel knowledge: could not forget a file'),
      );
  };
}

/** The fields of a `message_deleted` event read here. */
interface DeletedMessage {
  subtype?: string;
  channel?: string;
  previous_message?: { ts?: string; thread_ts?: string; user?: string; bot_id?: string };
}

/** One of the bot's answers was deleted: what its thread taught the channel is forgotten. */
export function answerDeleted(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs & AllMiddlewareArgs) => {
    const deleted = event as unknown as DeletedMessage;
    const previous = deleted.previous_message;
    if (!deps.knowledge || deleted.subtype !== 'message_deleted' || !previous || !deleted.channel) return;
    const { teamId, botUserId, botId } = deps.identity(context, body);
    const ours = (botId && previous.bot_id === botId) || (botUserId && previous.user === botUserId);
    const threadTs = previous.thread_ts ?? previous.ts;
    if (!ours || !threadTs) return;
    await deps.knowledge
      .forgetSource(teamId, deleted.channel, `thread:${threadTs}`)
      .catch((err: unknown) =>
        deps.logger.warn({ err }, 'channel knowledge: could not forget a deleted answer'),
      );
  };
}
