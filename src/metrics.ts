/**
 * Prometheus metrics (prom-client), one registry per bot instance so that several instances in one
 * process (tests, the benchmark) do not share counters.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  events: Counter<'type'>;
  answers: Counter<'outcome'>;
  duplicatesIgnored: Counter;
  messagesIgnored: Counter<'reason'>;
  earlyModelCalls: Counter<'result'>;
  answersInFlight: Gauge;
  timeToFirstToken: Histogram;
  answerDuration: Histogram;
  modelTokens: Counter<'direction' | 'model'>;
  modelCost: Counter<'model'>;
  modelFeatureRefusals: Counter<'model' | 'feature'>;
  guardrailInterventions: Counter;
  settingsChanges: Counter<'result'>;
  slackCalls: Counter<'method' | 'result'>;
  slackRateLimited: Counter<'method'>;
  slackWriteAllowance: Gauge<'method'>;
  storeLatency: Histogram<'operation'>;
  storeUp: Gauge;
  feedback: Counter<'value'>;
  toolCalls: Counter<'tool' | 'outcome'>;
  toolDuration: Histogram<'tool'>;
  approvals: Counter<'outcome'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'slackbot_' });
  const registers = [registry];
  return {
    registry,
    events: new Counter({
      name: 'slackbot_events_total',
      help: 'Slack events, commands and actions received, by type.',
      labelNames: ['type'],
      registers,
    }),
    answers: new Counter({
      name: 'slackbot_answers_total',
      help: 'Questions handled, by outcome (answered, failed, interrupted, refused_*, store_unavailable, …).',
      labelNames: ['outcome'],
      registers,
    }),
    duplicatesIgnored: new Counter({
      name: 'slackbot_duplicate_deliveries_total',
      help: 'Slack deliveries ignored because the same message was already taken (retries, mention/message pairs).',
      registers,
    }),
    messagesIgnored: new Counter({
      name: 'slackbot_messages_ignored_total',
      help: 'Slack deliveries turned away before admission, by reason (bot, self, subtype, edited, hidden, incomplete, mention_copy, channel_chatter, not_bot_thread, not_participant, mention_only, channel_off, malformed).',
      labelNames: ['reason'],
      registers,
    }),
    earlyModelCalls: new Counter({
      name: 'slackbot_early_model_calls_total',
      help: 'Model calls started while the store was still admitting the question (first question of a new thread), by result: used, or discarded (duplicate, refused, store down).',
      labelNames: ['result'],
      registers,
    }),
    answersInFlight: new Gauge({
      name: 'slackbot_answers_in_flight',
      help: 'Answers being generated right now.',
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: 'slackbot_time_to_first_token_seconds',
      help: 'From taking a question to the first text from the model.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30],
      registers,
    }),
    answerDuration: new Histogram({
      name: 'slackbot_answer_duration_seconds',
      help: 'From taking a question to the answer being complete in Slack.',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    }),
    modelTokens: new Counter({
      name: 'slackbot_bedrock_tokens_total',
      help: 'Tokens reported by Bedrock, by direction (input: not from the prompt cache, output, cache_read, cache_write) and model.',
      labelNames: ['direction', 'model'],
      registers,
    }),
    modelCost: new Counter({
      name: 'slackbot_bedrock_cost_usd_total',
      help: 'Estimated cost of answers in USD from the price table, by model (models without a price count 0).',
      labelNames: ['model'],
      registers,
    }),
    modelFeatureRefusals: new Counter({
      name: 'slackbot_model_feature_fallbacks_total',
      help: 'Request features a model refused and the bot now leaves out for it (system, promptCache, serviceTier, …), by model.',
      labelNames: ['model', 'feature'],
      registers,
    }),
    guardrailInterventions: new Counter({
      name: 'slackbot_guardrail_interventions_total',
      help: 'Answers a Bedrock guardrail (or content filter) stopped.',
      registers,
    }),
    settingsChanges: new Counter({
      name: 'slackbot_channel_settings_changes_total',
      help: 'Channel settings changes from the Home tab, by result (changed, refused: not an admin, invalid).',
      labelNames: ['result'],
      registers,
    }),
    slackCalls: new Counter({
      name: 'slackbot_slack_calls_total',
      help: 'Slack Web API calls made by the bot, by method and result (ok, error code, rate_limited).',
      labelNames: ['method', 'result'],
      registers,
    }),
    slackRateLimited: new Counter({
      name: 'slackbot_slack_rate_limited_total',
      help: 'Slack Web API calls answered 429, by method.',
      labelNames: ['method'],
      registers,
    }),
    slackWriteAllowance: new Gauge({
      name: 'slackbot_slack_write_allowance_per_minute',
      help: 'Calls a minute the shared Slack write budget assumes for each method: the configured tier at first, lowered by 429s, raised by sustained demand without them.',
      labelNames: ['method'],
      registers,
    }),
    storeLatency: new Histogram({
      name: 'slackbot_store_operation_seconds',
      help: 'Store (Redis or in-process) call latency, by operation.',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    storeUp: new Gauge({
      name: 'slackbot_store_up',
      help: 'Whether the store (Redis) answered its last health check: 1 yes, 0 no. Readiness does not depend on it.',
      registers,
    }),
    toolCalls: new Counter({
      name: 'slackbot_tool_calls_total',
      help: 'Tool calls the model asked for, by tool and outcome (success, error: failed, timed out, cancelled).',
      labelNames: ['tool', 'outcome'],
      registers,
    }),
    toolDuration: new Histogram({
      name: 'slackbot_tool_call_seconds',
      help: 'How long tool calls took, by tool.',
      labelNames: ['tool'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    approvals: new Counter({
      name: 'slackbot_tool_approvals_total',
      help: 'Answers to approval requests for tool calls, by outcome (approved, denied, expired, refused: someone else clicked).',
      labelNames: ['outcome'],
      registers,
    }),
    feedback: new Counter({
      name: 'slackbot_answer_feedback_total',
      help: 'Feedback button clicks under answers, by value (positive, negative).',
      labelNames: ['value'],
      registers,
    }),
  };
}
