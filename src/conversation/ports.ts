/**
 * The ports the core owns: what the conversation service needs from the world, each member with
 * its contract in a line. Adapters implement them (bedrock/, store/, slack/); main.ts and bot.ts
 * wire them. Nothing here knows Slack's or Bedrock's wire formats.
 *
 * - Model: a question and its context in; text deltas, citations, usage out (Converse, Knowledge Base).
 * - Store: what the bot keeps between events (Redis, or in-process for one replica).
 * - Surface: where answers are shown, and how the thread and its files are read (Slack).
 * - Tools: what the model may call, and how a call shows as a step.
 * - Stops: carries a person's Stop to the replica running the answer.
 *
 * And what a Slack listener hands to the core: one question, in one thread. Each port has its file
 * in ports/; this file is the one place the rest of the code imports them from.
 */

export * from './ports/model.ts';
export * from './ports/question.ts';
export * from './ports/stops.ts';
export * from './ports/store.ts';
export * from './ports/surface.ts';
export * from './ports/tools.ts';
