/** A logger writing its JSON lines to memory, for tests that read what the bot logs. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.ts';

export interface CapturedLogger {
  logger: Logger;
  /** Every line written so far, as written. */
  lines: string[];
  text: () => string;
  /** The last line, parsed. */
  last: () => Record<string, unknown>;
}

export function capturedLogger(level = 'debug'): CapturedLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return {
    logger: createLogger({ level, destination }),
    lines,
    text: () => lines.join('\n'),
    last: () => JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>,
  };
}
