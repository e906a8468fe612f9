/** What every listener is given: the conversation service and the few Slack helpers around it. */
import type { Context } from '@slack/bolt';
import type { ConversationService } from '../../conversation/conversation-service.ts';
import type { KnowledgeControls } from '../../conversation/knowledge-ports.ts';
import type { Logger } from '../../logger.ts';
import type { Metrics } from '../../metrics.ts';
import type { ControlReplies } from '../control-replies.ts';
import type { HomeTab } from '../home-tab.ts';
import type { PersonalAccounts } from '../personal-connections.ts';
import type { BotIdentity } from '../question-builder.ts';
import type { SlackApi } from '../slack-api.ts';
import type { SlackPeople } from '../slack-people.ts';

export interface ListenerDeps {
  conversations: ConversationService;
  people: SlackPeople;
  slack: SlackApi;
  logger: Logger;
  metrics: Metrics;
  identity: (context: Context, body: unknown) => BotIdentity;
  /** Answers the person privately through a slash command's response_url. */
  replyPrivately: (responseUrl: string, text: string) => Promise<void>;
  /** The Home tab: channel settings for admins, everyone's own use. */
  homeTab: HomeTab;
  /** `/ask settings` and `/ask usage`. */
  controlReplies: ControlReplies;
  /** `/ask connections`: the person's own tool-server accounts (when a server has `auth: user`). */
  accounts?: PersonalAccounts;
  /** Channel knowledge (file events, `/ask learn`, `/ask forget`); absent with KNOWLEDGE_INDEX=off. */
  knowledge?: KnowledgeControls;
}
