import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { ASK_USAGE, answerAskCommand } from '../../ask-command.ts';
import { connectionsReply } from '../../personal-connections.ts';
import type { ListenerDeps } from '../listener-deps.ts';

export function ask(deps: ListenerDeps) {
  return async ({ command, ack, context, body }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    if (!command.text.trim()) {
      await ack({ response_type: 'ephemeral', text: ASK_USAGE });
      return;
    }
    if (deps.accounts && command.text.trim().toLowerCase() === 'connections') {
      await ack(await connectionsReply(deps.accounts, command.user_id));
      return;
    }
    await ack(); // Slack wants this within 3 seconds; the answer follows.
    void answerAskCommand(command, deps.identity(context, body), deps).catch((err: unknown) =>
      deps.logger.error({ err }, '/ask failed'),
    );
  };
}
