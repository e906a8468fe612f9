/** Bolt's Logger interface on top of pino, so Bolt's own lines are JSON and redacted like ours. */
import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from '../logger.ts';

export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  const text = (args: unknown[]) =>
    args
      .map((arg) =>
        typeof arg === 'string' ? arg : arg instanceof Error ? arg.message : JSON.stringify(arg),
      )
      .join(' ');
  return {
    // Bolt logs at debug on every event: build the line only when it will be written.
    debug: (...args) => {
      if (child.isLevelEnabled('debug')) child.debug(text(args));
    },
    info: (...args) => child.info(text(args)),
    warn: (...args) => child.warn(text(args)),
    error: (...args) => child.error(text(args)),
    setLevel: () => undefined,
    getLevel: () => (logger.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}
