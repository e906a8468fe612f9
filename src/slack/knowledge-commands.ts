/**
 * `/ask learn on`, `/ask learn off` and `/ask forget`: a person's own knowledge in their DM with
 * the bot (the files they share there, used to answer them only). In channels admins choose what
 * the bot learns, in the Home tab. Answered privately, no model call.
 */
import type { KnowledgeControls } from '../conversation/knowledge-ports.ts';

export type KnowledgeCommand = 'learn on' | 'learn off' | 'forget';

/** The knowledge subcommand `/ask <text>` names, or null. */
export function knowledgeCommandOf(text: string): KnowledgeCommand | null {
  const words = text.trim().toLowerCase().replace(/\s+/g, ' ');
  return words === 'learn on' || words === 'learn off' || words === 'forget' ? words : null;
}

export const KNOWLEDGE_REPLIES = {
  notSetUp: 'Learning is not set up for me here (an operator turns it on with `KNOWLEDGE_INDEX`).',
  inChannel:
    'In channels, admins choose what I learn, in my Home tab. In your direct messages with me, `/ask learn on` lets me learn from the files you share there.',
  learning:
    'From now on I learn from the files you share with me here, and use them to answer you only. `/ask forget` clears what I learned; `/ask learn off` stops.',
  stopped: (passages: number) =>
    `I stopped learning here and forgot what I had learned (${passages.toLocaleString('en-US')} passages).`,
  forgot: (passages: number) =>
    `I forgot what I learned from your files here (${passages.toLocaleString('en-US')} passages).${passages === 0 ? '' : ' Learning stays as it was.'}`,
};

export async function replyToKnowledgeCommand(
  which: KnowledgeCommand,
  command: { team_id: string; channel_id: string },
  knowledge: KnowledgeControls | undefined,
): Promise<string> {
  if (!knowledge) return KNOWLEDGE_REPLIES.notSetUp;
  const { team_id: teamId, channel_id: channelId } = command;
  if (!channelId.startsWith('D')) return KNOWLEDGE_REPLIES.inChannel;
  switch (which) {
    case 'learn on':
      await knowledge.setDmLearning(teamId, channelId, true);
      return KNOWLEDGE_REPLIES.learning;
    case 'learn off': {
      const passages = (await knowledge.sources(teamId, channelId)).reduce((sum, s) => sum + s.chunks, 0);
      await knowledge.setDmLearning(teamId, channelId, false);
      return KNOWLEDGE_REPLIES.stopped(passages);
    }
    case 'forget': {
      const wasLearning = await knowledge.dmLearning(teamId, channelId);
      const passages = await knowledge.forgetScope(teamId, channelId);
      // Forgetting clears what was learned, not the person's choice to go on learning.
      if (wasLearning) await knowledge.setDmLearning(teamId, channelId, true);
      return KNOWLEDGE_REPLIES.forgot(passages);
    }
  }
}
