/**
 * JSON-lines logging with pino. Secrets are redacted by key wherever they appear in a logged
 * object, and `redactSecrets` scrubs token-shaped strings from free text (error messages).
 */
import { type Logger, pino } from 'pino';

export type { Logger };

const SECRET_KEYS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'secretAccessKey',
  'sessionToken',
  'authorization',
  'password',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];

const redactPaths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.headers.${key}`]);

const TOKEN_PATTERN = /\b(xox[abposr]|xapp)-[A-Za-z0-9-]+/g;
const URL_PASSWORD_PATTERN = /(rediss?:\/\/[^:/@\s]*:)[^@\s]+@/g;

/** Replaces Slack tokens and URL passwords inside free text. */
export function redactSecrets(text: string): string {
  return text.replace(TOKEN_PATTERN, '$1-[redacted]').replace(URL_PASSWORD_PATTERN, '$1[redacted]@');
}

export function createLogger(options: { level: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'bedrock-slack-assistant' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        // Error messages can carry tokens (e.g. a URL with a password); scrub every string argument.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<
              typeof method
            >,
          );
        },
      },
      serializers: {
        err: (err: unknown) => {
          const serialized = pino.stdSerializers.err(err as Error);
          return {
            ...serialized,
            message: redactSecrets(serialized.message),
            stack: serialized.stack ? redactSecrets(serialized.stack) : undefined,
          };
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
