import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { questionFromMessage, type SlackMessageEvent } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';

export function message(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
    const question = await questionFromMessage(
      event as SlackMessageEvent,
      deps.identity(context, body),
      deps.people,
      { retryNum: context.retryNum },
    );
    if ('ignored' in question) deps.metrics.messagesIgnored.inc({ reason: question.ignored });
    else void deps.conversations.submit(question);
  };
}
