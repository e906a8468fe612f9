/**
 * What the bot says in its own words (refusals, notices, marks under an answer), in one place so
 * that the service and the thread's turn-taking say things the same way.
 */
export const MESSAGES = {
  tooLong: (limit: number) =>
    `Your question is too long (over ${limit.toLocaleString('en-US')} characters). Please shorten it and ask again.`,
  notAllowedChannel: 'I only answer in some channels here, and this is not one of them.',
  notAllowedUser: "Sorry, you're not on the list of people I can answer.",
  emptyQuestion:
    'What would you like to know? Write your question in the same message, for example “@assistant how do refunds work?”',
  trimmed: (turns: number) =>
    `_Earlier parts of this thread (${turns} message${turns === 1 ? '' : 's'}) were left out to fit the model's context._`,
  maxTokens: '_The answer reached its length limit. Reply “continue” to get the rest._',
  guardrail: '_A content guardrail stopped this answer, so it is not kept in this thread’s memory._',
  interrupted: (ref: string) => `_The answer was interrupted. Ask again to get the rest. (ref ${ref})_`,
  restarted: '_Interrupted by a restart. Ask again to get the rest._',
  stopped: '_Stopped._',
  notLatestAnswer: 'Only the latest answer in a thread can be regenerated.',
  notYourThread: 'Only the people who asked in this thread can regenerate its answer.',
  stopRefused: 'Only the person who asked (or a workspace admin) can stop this answer.',
  failed: (message: string, ref: string) => `${message} (ref ${ref})`,
  shuttingDown: "I'm restarting and can't take new questions for a moment. Please ask again shortly.",
  restartingQueued: "I'm restarting, so I couldn't get to this question. Please ask again in a moment.",
  toolRoundsLimit: '_I stopped using tools here: this answer reached its limit of tool rounds._',
  waitingForApproval: '_Waiting for approval to go on (see below)._',
  approvalNotYours: 'Only the person who asked (or an approver) can answer this request.',
  approvalGone: 'This request was already answered.',
  approvalExpired: 'This request expired. Ask again if it is still needed.',
  approvalOnlyApprovers: 'Only an approver for this tool can answer this request (not the person who asked).',
  approvalChanged: 'This request no longer matches what it showed, so it was not run. Please ask again.',
  approvalStillOpen:
    'I could not go on with this just now, so nothing was run and the request is still open. Please try again in a moment.',
  approvalToolDown: (tools: string[]) =>
    `The ${tools.join(', ')} tool is not available right now, so nothing was run and the request is still open. Please try again once it is back.`,
  deniedResult: 'A person denied this call: it was not made. Go on without it, and say so.',
  toolsUnavailable: (names: string[]) =>
    `_Unavailable right now, so I answered without them: the ${names.join(', ')} tools._`,
};
