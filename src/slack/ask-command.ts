/**
 * `/ask <question>`: the question is posted in the channel as "<@user> asked: …" and answered in
 * its thread. Where the bot cannot post (not a member, private channel, someone else's DM) the
 * answer goes back through the command's response_url instead, with a hint to invite the bot.
 */
import type { ConversationService } from '../conversation/conversation-service.ts';
import type { KnowledgeControls } from '../conversation/knowledge-ports.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { type ControlReplies, controlCommandOf } from './control-replies.ts';
import { knowledgeCommandOf, replyToKnowledgeCommand } from './knowledge-commands.ts';
import { type AskCommand, type BotIdentity, questionFromCommand } from './question-builder.ts';
import { escapeMrkdwn } from './render/slack-safe-text.ts';
import { type SlackApi, SlackCallError } from './slack-api.ts';
import type { SlackPeople } from './slack-people.ts';

export const ASK_USAGE =
  'Ask me anything: `/ask how do refunds work?` I post your question here and answer in its thread. `/ask settings` shows how I answer here, `/ask usage` your own use of me.';

export interface AskDeps {
  slack: SlackApi;
  people: SlackPeople;
  conversations: ConversationService;
  logger: Logger;
  metrics: Metrics;
  /** Answers the person privately through the command's response_url. */
  replyPrivately: (responseUrl: string, text: string) => Promise<void>;
  controlReplies: ControlReplies;
  /** Channel knowledge, for `/ask learn on|off` and `/ask forget`. */
  knowledge?: KnowledgeControls;
}

export async function answerAskCommand(command: AskCommand, bot: BotIdentity, deps: AskDeps): Promise<void> {
  // `/ask settings` and `/ask usage` are not questions: answered privately, no model call.
  // `/ask learn on|off` and `/ask forget`: a person's own knowledge in their DM (knowledge-commands.ts).
  const learning = knowledgeCommandOf(command.text);
  if (learning) {
    const where = { team_id: command.team_id || bot.teamId, channel_id: command.channel_id };
    return deps.replyPrivately(
      command.response_url,
      await replyToKnowledgeCommand(learning, where, deps.knowledge),
    );
  }
  const control = controlCommandOf(command.text);
  if (control)
    return deps.controlReplies.reply(control, { ...command, team_id: command.team_id || bot.teamId });
  let posted: { ts: string } | null = null;
  // Mentions become names and every control character is escaped: the repost pings nobody.
  const readable = await deps.people.readable(command.text, bot.botUserId);
  // Checked before "<@user> asked: …" goes into the channel: a refused question is never posted.
  const refusal = readable.trim()
    ? await deps.conversations
        .refusalBeforePosting({
          teamId: command.team_id || bot.teamId,
          channelId: command.channel_id,
          userId: command.user_id,
          text: readable,
        })
        // The store cannot say (Redis down): the question goes ahead and is told so in its thread.
        .catch(() => null)
    : { reason: 'empty', text: ASK_USAGE };
  if (refusal) {
    deps.logger.info({ reason: refusal.reason, channel: command.channel_id }, '/ask refused before posting');
    deps.metrics.answers.inc({ outcome: `refused_${refusal.reason}` });
    await deps.replyPrivately(command.response_url, refusal.text);
    return;
  }
  try {
    const result = await deps.slack.call<{ ts?: string }>('chat.postMessage', {
      channel: command.channel_id,
      text: `<@${command.user_id}> asked: ${escapeMrkdwn(readable)}`,
      unfurl_links: false,
    });
    if (result.ts) posted = { ts: result.ts };
  } catch (error) {
    // Any refusal to post here (not_in_channel, channel_not_found, …) means: answer privately.
    deps.logger.info(
      { code: error instanceof SlackCallError ? error.code : 'unknown', channel: command.channel_id },
      '/ask cannot post in the channel; answering through response_url',
    );
  }
  const question = questionFromCommand(command, readable, posted, bot);
  await deps.conversations.submit(question);
}
