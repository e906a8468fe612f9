/**
 * JSON-lines logging with pino. Every logged object (and every child logger's bindings) is walked
 * before it is written: a value under a secret-looking key is replaced at any depth, whatever the
 * key's case or spelling (`Authorization`, `x-slack-signature`, `botToken`, `SLACK_BOT_TOKEN`), and
 * token-shaped text (Slack tokens, bearer tokens, URL passwords) is scrubbed from every string,
 * error messages and stacks included. pino's own `redact.paths` is case-sensitive and reaches only
 * the paths it is given, so it is not used.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';

/** Keys (lower case, letters and digits only) whose values are secrets, whatever they hold. */
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'credentials',
]);
/** So are keys that end like these: botToken, SLACK_SIGNING_SECRET, X-Slack-Signature, AWS_SESSION_TOKEN. */
const SECRET_KEY_ENDINGS = ['token', 'secret', 'password', 'signature', 'apikey', 'secretaccesskey'];

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_KEYS.has(normalized) || SECRET_KEY_ENDINGS.some((ending) => normalized.endsWith(ending));
}

const TOKEN_PATTERN = /\b(xox[abposre]|xapp)-[A-Za-z0-9-]+/g;
const BEARER_PATTERN = /\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*/gi;
const URL_PASSWORD_PATTERN = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s/]+@/gi;

/** Replaces Slack tokens, bearer tokens and URL passwords inside free text. */
export function redactSecrets(text: string): string {
  return text
    .replace(TOKEN_PATTERN, '$1-[redacted]')
    .replace(BEARER_PATTERN, '$1[redacted]')
    .replace(URL_PASSWORD_PATTERN, '$1[redacted]@');
}

/** Deeper than this a logged object is cut off: nothing the bot logs nests so far. */
const MAX_DEPTH = 12;

/**
 * A copy of `value` fit to log: secret keys censored, strings scrubbed, errors serialized (and
 * then scrubbed like the rest), cycles and runaway depth cut off.
 */
export function redactForLog(value: unknown): unknown {
  return scrub(value, 0, new Set());
}

function scrub(value: unknown, depth: number, path: Set<object>): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (typeof value !== 'object' || value === null) return value;
  if (path.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  let plain: object = value;
  if (value instanceof Error) plain = withoutCommandArgs(pino.stdSerializers.err(value));
  else if (value instanceof Date) return value;
  else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    const json = (value as { toJSON: () => unknown }).toJSON();
    if (typeof json !== 'object' || json === null) return scrub(json, depth, path);
    plain = json;
  }
  path.add(value);
  try {
    if (Array.isArray(plain)) return plain.map((item) => scrub(item, depth + 1, path));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(plain))
      copy[key] =
        isSecretKey(key) && item !== undefined && item !== null ? CENSOR : scrub(item, depth + 1, path);
    return copy;
  } finally {
    path.delete(value);
  }
}

/**
 * A Redis client's error carries the command it answered, arguments and all: `AUTH <password>`
 * on a refused login, the stored values on others. The command's name is enough to log.
 */
function withoutCommandArgs(serialized: object): object {
  const { command } = serialized as { command?: { name?: unknown; args?: unknown } };
  if (typeof command !== 'object' || command === null || !('args' in command)) return serialized;
  return { ...serialized, command: { name: command.name, args: CENSOR } };
}

export function createLogger(options: { level: string; destination?: NodeJS.WritableStream }): Logger {
  const logger = pino(
    {
      level: options.level,
      base: { service: 'bedrock-slack-assistant' },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactForLog(bindings) as Record<string, unknown>,
        log: (object) => redactForLog(object) as Record<string, unknown>,
      },
      // Errors are serialized while the log object is walked (above), wherever they sit.
      serializers: { err: (err: unknown) => err },
      hooks: {
        // The message and any format arguments are free text too.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<
              typeof method
            >,
          );
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // pino formats only the root's bindings; a child's are redacted on the way in (children inherit
  // this method, so grandchildren too).
  const child = logger.child;
  logger.child = function (this: Logger, bindings: Record<string, unknown>, childOptions?: object) {
    return child.call(this, redactForLog(bindings) as Record<string, unknown>, childOptions);
  } as Logger['child'];
  return logger;
}
