/** Slack's write budget (see README.md in this folder): what the rest of the bot imports. */
export type { Acquired, AnswerBudget, TokenUse, WriteBudget } from './budget.ts';
export type { BucketGrant, BucketRequest, Ledger, LimitedRequest } from './ledger.ts';
export { type MethodLimit, SLACK_WRITE_LIMITS } from './limits.ts';
export { MemoryLedger, MemoryWriteBudget } from './memory-ledger.ts';
export { BackoffOnlyBudget, UNLIMITED_BUDGET } from './open-budgets.ts';
export { RedisLedger, RedisWriteBudget } from './redis-ledger.ts';
export { SharedWriteBudget } from './shared-write-budget.ts';
