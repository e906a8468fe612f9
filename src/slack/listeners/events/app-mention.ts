import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { questionFromMention } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';

export function appMention(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs) => {
    const question = await questionFromMention(event, deps.identity(context, body), deps.people, {
      retryNum: context.retryNum,
    });
    if ('ignored' in question) deps.metrics.messagesIgnored.inc({ reason: question.ignored });
    else void deps.conversations.submit(question);
  };
}
