import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { questionFromMention } from '../../question-builder.ts';
import type { ListenerDeps } from '../index.ts';

export function appMention(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs) => {
    const question = await questionFromMention(event, deps.identity(context, body), deps.people, {
      retryNum: context.retryNum,
    });
    if (question) void deps.conversations.submit(question);
  };
}
