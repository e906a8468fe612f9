import { describe, expect, it } from 'vitest';
import { capturedLogger } from '../support/captured-logger.ts';

const capture = () => capturedLogger();

const SECRET = 'sekrit-value-42';

describe('log redaction', () => {
  it.each([
    ['headers with a capitalised Authorization', { headers: { Authorization: `Bearer ${SECRET}` } }],
    ['X-Slack-Signature', { request: { headers: { 'X-Slack-Signature': `v0=${SECRET}` } } }],
    ['a token four levels down', { a: { b: { c: { token: SECRET } } } }],
    ['a token nine levels down', { a: { b: { c: { d: { e: { f: { g: { h: { token: SECRET } } } } } } } } }],
    ['camel-case config keys', { config: { slack: { botToken: SECRET, signingSecret: SECRET } } }],
    ['environment-style keys', { env: { SLACK_BOT_TOKEN: SECRET, AWS_SECRET_ACCESS_KEY: SECRET } }],
    ['a secret key in any case', { PASSWORD: SECRET, Cookie: SECRET, 'set-cookie': [SECRET] }],
    ['secrets inside arrays', { calls: [{ args: { token: SECRET } }, { args: { Token: SECRET } }] }],
    ['AWS credentials', { credentials: { accessKeyId: 'AKID', secretAccessKey: SECRET } }],
  ])('censors %s', (_name, object) => {
    const log = capture();

    log.logger.info(object, 'with a secret');

    expect(log.text()).not.toContain(SECRET);
    expect(log.text()).toContain('[redacted]');
  });

  it('scrubs token-shaped text in messages, nested strings and errors', () => {
    const log = capture();
    const error = Object.assign(new Error(`auth failed for xoxb-1234-${SECRET}`), {
      config: { headers: { authorization: `Bearer ${SECRET}` } },
      detail: `retried with Bearer ${SECRET}`,
    });

    log.logger.warn({ err: error, note: { text: `the app token is xapp-1-${SECRET}` } }, `xoxp-9-${SECRET}`);
    log.logger.error({ url: `rediss://default:${SECRET}@cache.example:6379` }, 'redis');

    expect(log.text()).not.toContain(SECRET);
    const [first] = log
      .text()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(first.err).toMatchObject({ type: 'Error', message: 'auth failed for xoxb-[redacted]' });
    expect(first.err.stack).toContain('auth failed for xoxb-[redacted]');
  });

  it("keeps a Redis client error's command name but not its arguments (AUTH carries the password)", () => {
    const log = capture();
    const refused = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'hello', args: ['3', 'AUTH', 'default', SECRET] },
    });

    log.logger.debug({ err: refused }, 'redis error');

    expect(log.text()).not.toContain(SECRET);
    expect((log.last().err as { command: unknown }).command).toEqual({ name: 'hello', args: '[redacted]' });
  });

  it('keeps what is not a secret as it was, types included', () => {
    const log = capture();

    log.logger.info(
      { inputTokens: 12, outputTokens: 34, timeToFirstTokenMs: 5, thread: 'T1:C1:1.2' },
      'answer',
    );

    expect(log.last()).toMatchObject({
      level: 'info',
      msg: 'answer',
      inputTokens: 12,
      outputTokens: 34,
      timeToFirstTokenMs: 5,
      thread: 'T1:C1:1.2',
    });
  });

  it('censors secrets in a child logger’s bindings', () => {
    const log = capture();

    log.logger.child({ component: 'x', apiKey: SECRET }).info('from a child');

    expect(log.text()).not.toContain(SECRET);
    expect(log.last()).toMatchObject({ component: 'x', apiKey: '[redacted]' });
  });

  it('logs a cyclic or very deep object without failing, bounded', () => {
    const log = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { token: SECRET };
    for (let i = 0; i < 100; i++) deep = { next: deep };

    log.logger.info({ cyclic, deep }, 'odd shapes');

    expect(log.last()).toMatchObject({ msg: 'odd shapes', cyclic: { name: 'loop', self: '[circular]' } });
    expect(log.text()).toContain('[too deep]');
    expect(log.text()).not.toContain(SECRET);
  });
});
